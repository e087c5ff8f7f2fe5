import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// Builds the `PostgresClient`s of the service.
///
/// Every query of the running service goes through the database role `provisioner_app`, taken
/// by each transaction with `SET LOCAL ROLE` (`Database.transaction`): connections carry no
/// session state (no role start-up parameter, no session settings, no named prepared
/// statements), so `DATABASE_URL` may name a connection pooler in transaction mode. Migrations
/// run with the role of `DATABASE_URL` itself, since they create and own the tables.
public enum DatabaseClientFactory {
    /// The role every query of the service runs as.
    public static let applicationRole = "provisioner_app"

    public enum Purpose: Sendable {
        /// The API: each transaction takes the role and its tenant scope.
        case application(maximumConnections: Int)
        /// The worker: each of its queue statements is a transaction seeing every tenant.
        case worker(maximumConnections: Int)
        /// `provisioner migrate` and operator commands that own the schema.
        case owner
    }

    /// What every connection sends when it starts, besides the user and database: only what a
    /// pooler keeps track of itself (PgBouncer refuses start-up parameters it does not know).
    static func startupParameters(applicationName: String = "provisioner") -> [(String, String)] {
        [("application_name", applicationName)]
    }

    /// The `application_name` of a listener's connection, so that an operator (and a test)
    /// finds it in `pg_stat_activity`.
    public static func listenerApplicationName(channel: String) -> String {
        "provisioner-listen:" + channel
    }

    /// The `application_name` of the short connection that sends a listener's probe.
    static func listenerProbeApplicationName(channel: String) -> String {
        "provisioner-listen-probe:" + channel
    }

    /// `sessionParameters` are for tests only, which query as a session of `provisioner_app`
    /// would (e.g. `[("role", "provisioner_app")]`); the service sets nothing for the session.
    public static func makeClient(
        url: DatabaseURL, purpose: Purpose, logger: Logger, sessionParameters: [(String, String)] = []
    ) -> PostgresClient {
        var configuration = if let socket = url.unixSocketPath {
            PostgresClient.Configuration(unixSocketPath: socket, username: url.username, password: url.password, database: url.database)
        } else {
            PostgresClient.Configuration(
                host: url.host,
                port: url.port,
                username: url.username,
                password: url.password,
                database: url.database,
                tls: url.tls
            )
        }
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.additionalStartupParameters = startupParameters() + sessionParameters
        switch purpose {
        case .application(let maximumConnections):
            configuration.options.maximumConnections = maximumConnections
            configuration.options.minimumConnections = 0
        case .worker(let maximumConnections):
            configuration.options.maximumConnections = maximumConnections
        case .owner:
            configuration.options.maximumConnections = 2
        }
        return PostgresClient(configuration: configuration, backgroundLogger: logger)
    }

    /// One connection, started as a connection of the service's clients would be, for the
    /// start-up role check and for LISTEN: where a pool retries quietly, a single connection
    /// says why it cannot start (a wrong password, a role that does not exist yet). The caller
    /// closes it.
    /// A connection of its own for `body`, closed when `body` ends, however it ends.
    static func withConnection<T: Sendable>(
        url: DatabaseURL, applicationName: String, logger: Logger, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let connection = try await connect(url: url, applicationName: applicationName, logger: logger)
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    public static func connect(url: DatabaseURL, applicationName: String = "provisioner", logger: Logger) async throws -> PostgresConnection {
        var configuration: PostgresConnection.Configuration
        if let socket = url.unixSocketPath {
            configuration = PostgresConnection.Configuration(unixSocketPath: socket, username: url.username, password: url.password, database: url.database)
        } else {
            let tls: PostgresConnection.Configuration.TLS = switch url.tlsPolicy {
            case .disable: .disable
            case .prefer: .prefer(try NIOSSLContext(configuration: url.tlsConfiguration))
            case .require: .require(try NIOSSLContext(configuration: url.tlsConfiguration))
            }
            configuration = PostgresConnection.Configuration(
                host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: tls
            )
        }
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.additionalStartupParameters = startupParameters(applicationName: applicationName)
        return try await PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: 0, logger: logger
        ).get()
    }
}
