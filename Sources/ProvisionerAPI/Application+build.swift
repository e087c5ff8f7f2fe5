import Hummingbird
import HummingbirdCore
import Logging
import OpenAPIRuntime
import PostgresNIO
import Prometheus
import ProvisionerDomain
import ProvisionerNetwork
import ProvisionerStore
import ServiceLifecycle
import Tracing

/// What the API needs from its environment; the executable reads it from the process
/// environment, tests build it directly.
public struct APIConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Tenants live under `{slug}.{cloudDomain}` unless given a custom domain.
    public var uriIssuer: URISetIssuer
    /// The connection limits of the listeners (`PROVISIONER_HTTP_IDLE_TIMEOUT`,
    /// `PROVISIONER_HTTP_MAX_CONNECTIONS`).
    public var limits: HTTPLimits
    /// `PROVISIONER_METRICS_TOKEN`: when set, `/metrics` needs it as a bearer token.
    public var metricsToken: String?
    /// `PROVISIONER_METRICS_PORT`: when set, `/metrics` (and `/healthz`) are served on
    /// `host:metricsPort` by a listener of their own, and the API's port answers 404 for them.
    public var metricsPort: Int?
    /// `PROVISIONER_PUBLIC_URL`: the base URL people reach, used in onboarding links and to
    /// decide whether the console's cookie is `Secure` (https). Default `http://host:port`.
    public var publicURL: String
    /// Which webhook URLs may be registered (`PROVISIONER_WEBHOOK_ALLOW_HTTP`,
    /// `PROVISIONER_WEBHOOK_ALLOW_PRIVATE`).
    public var webhookURLPolicy: WebhookURLPolicy
    /// `PROVISIONER_RATE_LIMIT_*`: failed authentications per client address, requests per
    /// token, uploads and onboarding links per tenant, a minute each in this process.
    public var rateLimits: RateLimitSettings

    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        uriIssuer: URISetIssuer,
        limits: HTTPLimits = HTTPLimits(),
        metricsToken: String? = nil,
        metricsPort: Int? = nil,
        publicURL: String? = nil,
        webhookURLPolicy: WebhookURLPolicy = WebhookURLPolicy(),
        rateLimits: RateLimitSettings = RateLimitSettings()
    ) {
        self.host = host
        self.port = port
        self.uriIssuer = uriIssuer
        self.limits = limits
        self.metricsToken = metricsToken
        self.metricsPort = metricsPort
        self.publicURL = publicURL ?? Self.defaultPublicURL(host: host, port: port)
        self.webhookURLPolicy = webhookURLPolicy
        self.rateLimits = rateLimits
    }

    /// `http://HOST:PORT`, with an IPv6 literal in brackets.
    public static func defaultPublicURL(host: String, port: Int) -> String {
        "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }
}

/// What one client may hold of a listener.
public struct HTTPLimits: Sendable, Equatable {
    /// A connection that sends nothing for this long is closed: idle between requests, or
    /// stalled in the middle of a request's head or body (a slow client cannot hold a socket).
    public var idleTimeout: Duration
    /// Open connections at most; beyond it, new connections wait in the listen backlog until
    /// one closes (the process never runs out of file descriptors under a flood).
    public var maximumConnections: Int

    public static let defaultIdleTimeout: Duration = .seconds(30)
    /// Well under the usual soft limit of 1,024 open files, with room for the database pool.
    public static let defaultMaximumConnections = 512

    public init(idleTimeout: Duration = defaultIdleTimeout, maximumConnections: Int = defaultMaximumConnections) {
        self.idleTimeout = idleTimeout
        self.maximumConnections = maximumConnections
    }

    /// The server of a listener under these limits.
    var server: HTTPServerBuilder {
        .http1(configuration: .init(idleTimeout: Self.timeAmount(idleTimeout)))
    }

    /// A listener's configuration under these limits.
    func applicationConfiguration(host: String, port: Int, serverName: String, logger: Logger) -> ApplicationConfiguration {
        ApplicationConfiguration(
            address: .hostname(host, port: port),
            serverName: serverName,
            availableConnectionsDelegate: MaximumAvailableConnections(maximumConnections, logger: logger)
        )
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// The parts the API is built from, so that tests build the same application with others.
public struct APIDependencies: Sendable {
    public var postgres: PostgresClient
    /// Where the cache listener's LISTEN connects (`DATABASE_LISTEN_URL`): PostgreSQL itself,
    /// never a pooler in transaction mode.
    public var listenURL: DatabaseURL
    public var migrations: [Migration]
    public var metrics: PrometheusCollectorRegistry
    public var keyring: EncryptionKeyring
    /// Resolves the host of a webhook URL when one is registered.
    public var hostResolver: any HostResolver
    /// The rate limits' monotonic clock (time since any origin); nil for the real one. Tests
    /// stop it, so that no bucket refills while a slow run is between two requests.
    public var rateLimitClock: (@Sendable () -> Duration)?
    /// The tracer of the server spans (README, "Tracing"); nil, the default, when tracing is
    /// off: then the router has no tracing middleware at all.
    public var tracer: (any Tracer)? = nil
    /// How long a request's unit of work may take before it answers 503 `database_unavailable`
    /// ("the database does not answer"). The service's is 5 s; tests run under a longer one.
    public var databaseDeadline: Duration?

    public init(
        postgres: PostgresClient, listenURL: DatabaseURL, migrations: [Migration], metrics: PrometheusCollectorRegistry,
        keyring: EncryptionKeyring, hostResolver: any HostResolver = SystemHostResolver(),
        rateLimitClock: (@Sendable () -> Duration)? = nil, databaseDeadline: Duration? = Database.serviceDeadline
    ) {
        self.rateLimitClock = rateLimitClock
        self.databaseDeadline = databaseDeadline
        self.postgres = postgres
        self.listenURL = listenURL
        self.migrations = migrations
        self.metrics = metrics
        self.keyring = keyring
        self.hostResolver = hostResolver
    }
}

/// Builds the HTTP application. The PostgreSQL client is one of its services, so it starts
/// before the server and stops after it; `services` adds more (the worker, in `provisioner run`).
public func buildApplication(
    configuration: APIConfiguration,
    dependencies: APIDependencies,
    services: [any Service] = [],
    logger: Logger
) throws -> some ApplicationProtocol {
    let stores = APIStores(database: Database(client: dependencies.postgres, logger: logger, deadline: dependencies.databaseDeadline))
    let router = try buildRouter(configuration: configuration, dependencies: dependencies, stores: stores, logger: logger)
    let cleaner = IdempotencyKeyCleaner(store: stores.idempotency, interval: .seconds(300), logger: logger)
    let cacheListener = CacheInvalidationListener(listenURL: dependencies.listenURL, caches: stores.caches, logger: logger)
    var extraServices: [any Service] = []
    if let metricsPort = configuration.metricsPort {
        // Not optional as the worker's status endpoints are: the operator asked for this port,
        // so failing to listen on it stops the process.
        extraServices.append(buildStatusApplication(
            host: configuration.host, port: metricsPort, metrics: dependencies.metrics,
            metricsAccess: MetricsAccess(token: configuration.metricsToken), limits: configuration.limits,
            serverName: "provisioner-metrics", logger: logger
        ))
    }
    return Application(
        router: router,
        server: configuration.limits.server,
        configuration: configuration.limits.applicationConfiguration(
            host: configuration.host, port: configuration.port, serverName: "provisioner", logger: logger
        ),
        services: [dependencies.postgres, cleaner, cacheListener] + extraServices + services,
        logger: logger
    )
}

/// The stores the API reads and writes through. The hot read path (authentication, the tenant
/// a path names, and the current URI set) goes through in-process caches, which serve only while
/// `CacheInvalidationListener` runs (a service of `buildApplication`).
struct APIStores: Sendable {
    let database: Database
    let tokens: CachingTokenStore
    let tenants: CachingTenantStore
    let uriSets: CachingURISetStore
    let idempotency: PostgresIdempotencyStore

    init(database: Database) {
        self.database = database
        self.tokens = CachingTokenStore(base: PostgresTokenStore(database: database))
        self.tenants = CachingTenantStore(base: PostgresTenantStore(database: database))
        self.uriSets = CachingURISetStore(base: PostgresURISetStore(database: database))
        self.idempotency = PostgresIdempotencyStore(database: database)
    }

    var caches: [any InvalidatableCache] { [tokens, tenants, uriSets] }
}

/// Builds the router: middlewares outermost first, then every generated operation.
func buildRouter(
    configuration: APIConfiguration,
    dependencies: APIDependencies,
    stores: APIStores,
    logger: Logger
) throws -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints)
    let routes = RouteTable()
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: RequestIDMiddleware())
    // Inside the request id (the span records it), outside everything that answers.
    if let tracer = dependencies.tracer { router.add(middleware: RequestTracingMiddleware(tracer: tracer)) }
    router.add(middleware: HeadRequestMiddleware())
    // Outside the problem middleware, so that what it answers (404, 405...) is counted and timed
    // as sent.
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: HTTPProblemMiddleware(routes: routes))
    router.add(middleware: MetricsAccessMiddleware(
        access: MetricsAccess(token: configuration.metricsToken, served: configuration.metricsPort == nil)
    ))

    let database = stores.database
    let sealer = SecretSealer(keyring: dependencies.keyring)
    let tokens = stores.tokens
    let audit = PostgresAuditStore(database: database)
    // One set of limits for the bearer API, its handlers and the console's sign-ins, so that
    // guesses count against the same address whichever door they knock at.
    let rateLimits = RateLimits(settings: configuration.rateLimits, clock: dependencies.rateLimitClock)
    let api = ServiceAPI(
        readiness: ReadinessProbe(client: dependencies.postgres, expectedMigrations: dependencies.migrations, logger: logger),
        metrics: dependencies.metrics,
        tenants: stores.tenants,
        tokens: tokens,
        audit: audit,
        uriSets: stores.uriSets,
        uriIssuer: configuration.uriIssuer,
        credentials: PostgresCredentialStore(database: database),
        dashboard: PostgresDashboardStore(database: database),
        sealer: sealer,
        onboardingLinks: PostgresOnboardingLinkStore(database: database),
        publicURL: configuration.publicURL,
        webhookEndpoints: PostgresWebhookEndpointStore(database: database),
        webhookURLPolicy: configuration.webhookURLPolicy,
        hostResolver: dependencies.hostResolver,
        rateLimits: rateLimits
    )
    // Outermost first: problems for every error, then who is calling (and its rate limits),
    // the tenant limits' fields on success, then the body read with its ceiling, then replays
    // of idempotent POSTs, then the raw upload.
    try api.registerHandlers(
        on: RecordingTransport(router: router, routes: routes),
        configuration: .init(dateTranscoder: LenientDateTranscoder(), jsonEncodingOptions: [.sortedKeys, .withoutEscapingSlashes]),
        middlewares: [
            ProblemMiddleware(),
            AcceptHeaderMiddleware(),
            AuthorizationMiddleware(tokens: tokens, audit: audit, rateLimits: rateLimits),
            RateLimitFieldsMiddleware(),
            QueryEncodingMiddleware(),
            RequestBodyMiddleware(),
            IdempotencyMiddleware(store: stores.idempotency, sealer: sealer),
            CredentialIntakeMiddleware(),
        ]
    )
    // The web pages for people: routes of their own, outside the
    // generated API and its bearer-token middleware; they call the same handlers.
    Console(
        api: api, sessions: PostgresSessionStore(database: database), links: PostgresOnboardingLinkStore(database: database),
        audit: audit, failedSignIns: FailedSignInCounter(audit: audit), rateLimits: rateLimits, renderer: try ConsoleRenderer(),
        publicURL: configuration.publicURL
    ).register(on: router)
    return router
}
