import ArgumentParser
import Foundation
import Logging
import Metrics
import PostgresNIO
import Prometheus
import ProvisionerAPI
import ProvisionerDomain
import ProvisionerStore
import ProvisionerWorker
import ServiceLifecycle
import Tracing

@main
struct Provisioner: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provisioner",
        abstract: "Issues Google OAuth URIs to CRM tenants and verifies their client_secrets.json uploads.",
        subcommands: [Serve.self, Work.self, Run.self, Migrate.self, TokenCommand.self, KeysCommand.self]
    )
}

/// Reads the environment or stops with one line and exit status 2.
func loadEnvironment(need: ServiceEnvironment.Need) throws -> ServiceEnvironment {
    do {
        return try ServiceEnvironment(ProcessInfo.processInfo.environment, need: need)
    } catch {
        FileHandle.standardError.write(Data("provisioner: \(error.description)\n".utf8))
        throw ExitCode(2)
    }
}

/// Logging and metrics are bootstrapped once per process, here, never in library code.
func bootstrapObservability(_ environment: ServiceEnvironment) -> PrometheusCollectorRegistry {
    let level = Logger.Level(rawValue: environment.logLevel) ?? .info
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    return registry
}

/// `PROVISIONER_MIGRATIONS_DIR`, else `migrations` in the working directory, else the nearest
/// `migrations` holding SQL files beside the executable or above it, so that a checkout's
/// `.build/release/provisioner` finds the checkout's migrations from any directory.
func migrationsDirectory(_ environment: ServiceEnvironment) -> String {
    if let configured = environment.migrationsDirectory { return configured }
    let files = FileManager.default
    func holdsMigrations(_ path: String) -> Bool {
        ((try? files.contentsOfDirectory(atPath: path)) ?? []).contains { $0.hasSuffix(".sql") }
    }
    if holdsMigrations("migrations") { return "migrations" }
    if let executable = try? files.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("migrations").path
            if holdsMigrations(candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
    }
    return "migrations"
}

func loadMigrations(_ environment: ServiceEnvironment) throws -> [Migration] {
    do {
        return try Migration.load(from: migrationsDirectory(environment))
    } catch {
        FileHandle.standardError.write(Data("provisioner: \(error.description) (set PROVISIONER_MIGRATIONS_DIR)\n".utf8))
        throw ExitCode(2)
    }
}

/// The API's configuration from the environment.
func apiConfiguration(_ environment: ServiceEnvironment) -> APIConfiguration {
    APIConfiguration(
        host: environment.host, port: environment.port, uriIssuer: environment.uriIssuer, limits: environment.httpLimits,
        metricsToken: environment.metricsToken, metricsPort: environment.metricsPort, publicURL: environment.publicURL,
        webhookURLPolicy: environment.webhookURLPolicy, rateLimits: environment.rateLimits
    )
}

/// `serve`, `work` and `run` start only when every query will run as a
/// role row-level security binds (`ApplicationRoleCheck`). A wrong role stops the process with
/// one line saying what is wrong and exit status 1. A database that is not there yet, or not
/// migrated yet (the role does not exist), is waited for, as an orchestrator starts the service
/// and the migration together; any other failure to ask stops the process too.
func checkApplicationRole(_ environment: ServiceEnvironment, logger: Logger) async throws {
    var connectionLogger = logger
    connectionLogger.logLevel = max(logger.logLevel, .critical)
    let clock = ContinuousClock()
    var lastWarning: ContinuousClock.Instant?
    while true {
        do {
            try await ApplicationRoleCheck.verify(url: environment.databaseURL, logger: connectionLogger)
            return
        } catch let refusal as ApplicationRoleCheck.Refusal {
            FileHandle.standardError.write(Data("provisioner: \(refusal.description)\n".utf8))
            throw ExitCode(1)
        } catch {
            // No role yet, or no function to take it with: not migrated (or not to this binary).
            let notMigrated = Migrator.isNotMigrated(error)
            guard notMigrated || DatabaseUnavailable.isUnavailability(error) else {
                FileHandle.standardError.write(Data(
                    "provisioner: cannot check the database role at start-up: \(DatabaseUnavailable.safeDescription(of: error))\n".utf8
                ))
                throw ExitCode(1)
            }
            if lastWarning.map({ $0.duration(to: clock.now) >= .seconds(30) }) ?? true {
                let place = "\(environment.databaseURL.host):\(environment.databaseURL.port)"
                let why = notMigrated ? "the database is not migrated yet (run provisioner migrate)" : "the database at \(place) does not answer"
                logger.warning("waiting to check the database role before starting: \(why)")
                lastWarning = clock.now
            }
            try await Task.sleep(for: .seconds(2))
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the HTTP API only.")

    func run() async throws {
        let environment = try loadEnvironment(need: .databaseAndKeys)
        let registry = bootstrapObservability(environment)
        let logger = Logger(label: "provisioner.serve")
        let tracing = try ProcessTracing.start(logLevel: environment.logLevel)
        try await checkApplicationRole(environment, logger: logger)
        let app = try buildApplication(
            configuration: apiConfiguration(environment),
            dependencies: APIDependencies(
                postgres: DatabaseClientFactory.makeClient(url: environment.databaseURL, purpose: .application(maximumConnections: 20), logger: logger),
                listenURL: environment.databaseListenURL,
                migrations: try loadMigrations(environment),
                metrics: registry,
                keyring: try environment.requiredKeyring()
            ).traced(by: tracing),
            services: tracing.services([]),
            logger: logger
        )
        try await app.runService()
    }
}

struct Work: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the verification worker only (with /healthz and /metrics on PROVISIONER_HOST:PROVISIONER_PORT)."
    )

    func run() async throws {
        let environment = try loadEnvironment(need: .databaseAndKeys)
        let registry = bootstrapObservability(environment)
        let logger = Logger(label: "provisioner.work")
        let tracing = try ProcessTracing.start(logLevel: environment.logLevel)
        try await checkApplicationRole(environment, logger: logger)
        let (postgres, worker, dispatcher, checker) = try makeWorker(environment, tracer: tracing.tracer, logger: logger)
        let status = WorkerStatusService(
            host: environment.host, port: environment.port, metrics: registry,
            metricsAccess: MetricsAccess(token: environment.metricsToken), limits: environment.httpLimits, logger: logger
        )
        var services: [any Service] = [postgres, worker, dispatcher]
        if let checker { services.append(checker) }
        services.append(status)
        let group = ServiceGroup(configuration: .init(
            services: tracing.services(services).map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await group.run()
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the API and run the worker in one process.")

    func run() async throws {
        let environment = try loadEnvironment(need: .databaseAndKeys)
        let registry = bootstrapObservability(environment)
        let logger = Logger(label: "provisioner.run")
        let tracing = try ProcessTracing.start(logLevel: environment.logLevel)
        try await checkApplicationRole(environment, logger: logger)
        let postgres = DatabaseClientFactory.makeClient(url: environment.databaseURL, purpose: .application(maximumConnections: 20), logger: logger)
        let (workerPostgres, worker, dispatcher, checker) = try makeWorker(environment, tracer: tracing.tracer, logger: logger)
        var services: [any Service] = [workerPostgres, worker, dispatcher]
        if let checker { services.append(checker) }
        let app = try buildApplication(
            configuration: apiConfiguration(environment),
            dependencies: APIDependencies(postgres: postgres, listenURL: environment.databaseListenURL, migrations: try loadMigrations(environment), metrics: registry, keyring: try environment.requiredKeyring()).traced(by: tracing),
            services: tracing.services(services),
            logger: logger
        )
        try await app.runService()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply migrations/*.sql in order (idempotent, safe to run concurrently).")

    func run() async throws {
        let environment = try loadEnvironment(need: .database)
        _ = bootstrapObservability(environment)
        let logger = Logger(label: "provisioner.migrate")
        let migrations = try loadMigrations(environment)
        try await withOwnerClient(environment, logger: logger) { client in
            do {
                let applied = try await Migrator(client: client, logger: logger).migrate(migrations)
                print(applied.isEmpty ? "migrations: nothing to apply" : "migrations: applied \(applied.map(String.init).joined(separator: ", "))")
            } catch let error as MigrationError {
                FileHandle.standardError.write(Data("provisioner: \(error.description)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}

/// Runs `body` with a client of `purpose` running meanwhile, for one-shot commands; a failure
/// they can explain ends the command with one line on standard error and exit status 1.
func withDatabaseClient<T: Sendable>(
    _ environment: ServiceEnvironment,
    purpose: DatabaseClientFactory.Purpose,
    logger: Logger,
    _ body: @escaping @Sendable (PostgresClient) async throws -> T
) async throws -> T {
    // A one-shot command leases its first connection at once, often before the pool's run()
    // task has started, which PostgresNIO reports as a warning on every invocation. What
    // matters to the operator comes back as an error from the command itself.
    var poolLogger = logger
    poolLogger.logLevel = max(logger.logLevel, .error)
    let client = DatabaseClientFactory.makeClient(url: environment.databaseURL, purpose: purpose, logger: poolLogger)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            await client.run()
            return nil
        }
        defer { group.cancelAll() }
        do {
            return try await body(client)
        } catch let failure as CommandFailure {
            FileHandle.standardError.write(Data("provisioner: \(failure.description)\n".utf8))
            throw ExitCode(1)
        } catch let error as PSQLError where ["42P01", "22023", "42704", "3F000"].contains(error.serverInfo?[.sqlState] ?? "") {
            // undefined_table, the application role missing (invalid_parameter_value at
            // start-up), undefined_object, invalid_schema_name: a database never migrated.
            FileHandle.standardError.write(Data("provisioner: the database is not migrated; run provisioner migrate first\n".utf8))
            throw ExitCode(1)
        } catch let error where DatabaseUnavailable.isUnavailability(error) {
            let place = "\(environment.databaseURL.host):\(environment.databaseURL.port)"
            FileHandle.standardError.write(Data("provisioner: cannot reach the database at \(place), or it is not migrated (run provisioner migrate)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// For commands that own the schema: connected as the role of `DATABASE_URL` itself.
func withOwnerClient<T: Sendable>(
    _ environment: ServiceEnvironment,
    logger: Logger,
    _ body: @escaping @Sendable (PostgresClient) async throws -> T
) async throws -> T {
    try await withDatabaseClient(environment, purpose: .owner, logger: logger, body)
}

/// For commands that act like the service: as `provisioner_app`.
func withApplicationDatabase<T: Sendable>(
    _ environment: ServiceEnvironment,
    logger: Logger,
    _ body: @escaping @Sendable (Database) async throws -> T
) async throws -> T {
    try await withDatabaseClient(environment, purpose: .application(maximumConnections: 2), logger: logger) { client in
        try await body(Database(client: client, logger: logger))
    }
}

/// The worker, the webhook dispatcher and the client they run on: as `provisioner_app`, seeing
/// every tenant, since their queue statements are single statements across tenants. The pool
/// (10, the connection budget of deploy/README.md) holds both listeners, the verification
/// batches in flight (3) and the dispatcher's claim and completion, with room to spare.
///
/// The credential health checker runs beside them when the registration probe is on, or the live
/// check is on and the re-check interval is not zero; nil otherwise.
///
/// With `tracer` (tracing on), verifications, webhook deliveries and requests to Google are traced.
func makeWorker(
    _ environment: ServiceEnvironment, tracer: (any Tracer)? = nil, logger: Logger
) throws -> (PostgresClient, VerificationWorker, WebhookDispatcher, CredentialHealthChecker?) {
    let postgres = DatabaseClientFactory.makeClient(url: environment.databaseURL, purpose: .worker(maximumConnections: 10), logger: logger)
    let liveCheck: (any LiveCheck)? = switch environment.liveCheck {
    case .off: nil
    case .token: LiveGoogleCheck(configuration: .init(tokenURL: environment.googleTokenURL, retries: environment.liveCheckRetries), logger: logger, tracer: tracer)
    }
    var configuration = WorkerConfiguration(webhooks: environment.webhookDelivery, health: environment.credentialHealth)
    configuration.tracer = tracer
    let sealer = SecretSealer(keyring: try environment.requiredKeyring())
    let worker = VerificationWorker(
        queue: VerificationQueue(client: postgres, logger: logger),
        configuration: configuration,
        sealer: sealer,
        liveCheck: liveCheck,
        listenURL: environment.databaseListenURL,
        logger: logger
    )
    let dispatcher = WebhookDispatcher(
        queue: WebhookDeliveryQueue(client: postgres, logger: logger),
        configuration: configuration,
        sealer: sealer,
        listenURL: environment.databaseListenURL,
        logger: logger
    )
    var checker: CredentialHealthChecker?
    if configuration.health.enabled(liveCheck: liveCheck != nil) {
        checker = CredentialHealthChecker(
            queue: CredentialHealthQueue(client: postgres, logger: logger),
            configuration: configuration,
            sealer: sealer,
            liveCheck: liveCheck,
            logger: logger
        )
    }
    return (postgres, worker, dispatcher, checker)
}
