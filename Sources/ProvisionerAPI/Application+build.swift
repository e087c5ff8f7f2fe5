import Hummingbird
import HummingbirdCore
import Logging
import OpenAPIRuntime
import PostgresNIO
import Prometheus
import ProvisionerDomain
import ProvisionerStore
import ServiceLifecycle

/// What the API needs from its environment; the executable reads it from the process
/// environment, tests build it directly.
public struct APIConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Tenants live under `{slug}.{cloudDomain}` unless given a custom domain.
    public var uriIssuer: URISetIssuer

    public init(host: String = "127.0.0.1", port: Int = 8080, uriIssuer: URISetIssuer) {
        self.host = host
        self.port = port
        self.uriIssuer = uriIssuer
    }
}

/// The parts the API is built from, so that tests build the same application with others.
public struct APIDependencies: Sendable {
    public var postgres: PostgresClient
    public var migrations: [Migration]
    public var metrics: PrometheusCollectorRegistry
    public var keyring: EncryptionKeyring

    public init(postgres: PostgresClient, migrations: [Migration], metrics: PrometheusCollectorRegistry, keyring: EncryptionKeyring) {
        self.postgres = postgres
        self.migrations = migrations
        self.metrics = metrics
        self.keyring = keyring
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
    let stores = APIStores(database: Database(client: dependencies.postgres, logger: logger))
    let router = try buildRouter(configuration: configuration, dependencies: dependencies, stores: stores, logger: logger)
    let cleaner = IdempotencyKeyCleaner(store: stores.idempotency, interval: .seconds(300), logger: logger)
    let cacheListener = CacheInvalidationListener(postgres: dependencies.postgres, caches: stores.caches, logger: logger)
    return Application(
        router: router,
        server: .provisioner,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "provisioner"),
        services: [dependencies.postgres, cleaner, cacheListener] + services,
        logger: logger
    )
}

extension HTTPServerBuilder {
    /// HTTP/1.1 for the API and the worker's status endpoints. A connection that sends nothing
    /// for 30 s (idle between requests, or stalled in the middle of one) is closed, so slow or
    /// abandoned clients cannot hold sockets for ever.
    static var provisioner: HTTPServerBuilder {
        .http1(configuration: .init(idleTimeout: .seconds(30)))
    }
}

/// The stores the API reads and writes through. The hot read path (authentication and the
/// current URI set) goes through in-process caches, which serve only while
/// `CacheInvalidationListener` runs (a service of `buildApplication`).
struct APIStores: Sendable {
    let database: Database
    let tokens: CachingTokenStore
    let uriSets: CachingURISetStore
    let idempotency: PostgresIdempotencyStore

    init(database: Database) {
        self.database = database
        self.tokens = CachingTokenStore(base: PostgresTokenStore(database: database))
        self.uriSets = CachingURISetStore(base: PostgresURISetStore(database: database))
        self.idempotency = PostgresIdempotencyStore(database: database)
    }

    var caches: [any InvalidatableCache] { [tokens, uriSets] }
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
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: HeadRequestMiddleware())
    // Outside the problem middleware, so that what it answers (404, 405...) is counted and timed
    // as sent.
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: HTTPProblemMiddleware(routes: routes))

    let database = stores.database
    let sealer = SecretSealer(keyring: dependencies.keyring)
    let tokens = stores.tokens
    let audit = PostgresAuditStore(database: database)
    let api = ServiceAPI(
        readiness: ReadinessProbe(client: dependencies.postgres, expectedMigrations: dependencies.migrations, logger: logger),
        metrics: dependencies.metrics,
        tenants: PostgresTenantStore(database: database),
        tokens: tokens,
        audit: audit,
        uriSets: stores.uriSets,
        uriIssuer: configuration.uriIssuer,
        credentials: PostgresCredentialStore(database: database),
        dashboard: PostgresDashboardStore(database: database),
        sealer: sealer
    )
    // Outermost first: problems for every error, then who is calling, then the body read
    // with its ceiling, then replays of idempotent POSTs, then the raw upload.
    try api.registerHandlers(
        on: RecordingTransport(router: router, routes: routes),
        configuration: .init(dateTranscoder: LenientDateTranscoder(), jsonEncodingOptions: [.sortedKeys, .withoutEscapingSlashes]),
        middlewares: [
            ProblemMiddleware(),
            AcceptHeaderMiddleware(),
            AuthorizationMiddleware(tokens: tokens, audit: audit),
            QueryEncodingMiddleware(),
            RequestBodyMiddleware(),
            IdempotencyMiddleware(store: stores.idempotency, sealer: sealer),
            CredentialIntakeMiddleware(),
        ]
    )
    return router
}
