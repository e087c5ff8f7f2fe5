import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// Builds the `PostgresClient`s of the service.
///
/// Every query of the running service goes through the database role `provisioner_app`.
/// The role is taken when each connection starts, through the
/// `role` start-up parameter, which is the same as a `SET ROLE` as the connection's first
/// statement but cannot be forgotten and survives a `RESET ROLE`. Migrations run with the
/// role of `DATABASE_URL` itself, since they create and own the tables.
public enum DatabaseClientFactory {
    /// The role every query of the service runs as.
    public static let applicationRole = "provisioner_app"

    public enum Purpose: Sendable {
        /// The API: queries run as `provisioner_app`; each transaction sets its tenant scope.
        case application(maximumConnections: Int)
        /// The worker: as `provisioner_app`, seeing every tenant for the whole session, since
        /// its queue statements are single auto-committed statements across tenants.
        case worker(maximumConnections: Int)
        /// `provisioner migrate` and operator commands that own the schema.
        case owner

        /// What a connection of this purpose sends when it starts, besides the user and database.
        var startupParameters: [(String, String)] {
            var parameters = [("application_name", "provisioner")]
            switch self {
            case .application:
                parameters.append(("role", DatabaseClientFactory.applicationRole))
            case .worker:
                parameters.append(("role", DatabaseClientFactory.applicationRole))
                parameters.append(("provisioner.all_tenants", "on"))
            case .owner:
                break
            }
            return parameters
        }
    }

    public static func makeClient(url: DatabaseURL, purpose: Purpose, logger: Logger) -> PostgresClient {
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
        configuration.options.additionalStartupParameters = purpose.startupParameters
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

    /// One connection, started as a connection of `purpose`'s client would be, for the start-up
    /// role check: where a pool retries quietly, a single connection says why it cannot start
    /// (a wrong password, a role that does not exist yet). The caller closes it.
    public static func connect(url: DatabaseURL, purpose: Purpose, logger: Logger) async throws -> PostgresConnection {
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
        configuration.options.additionalStartupParameters = purpose.startupParameters
        return try await PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: 0, logger: logger
        ).get()
    }
}
