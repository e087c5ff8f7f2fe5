import Logging
import PostgresNIO

/// Builds the `PostgresClient`s of the service.
///
/// Every query of the running service goes through the database role `provisioner_app`
/// (contract section 8). The role is taken when each connection starts, through the
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
    }

    public static func makeClient(url: DatabaseURL, purpose: Purpose, logger: Logger) -> PostgresClient {
        var configuration = PostgresClient.Configuration(
            host: url.host,
            port: url.port,
            username: url.username,
            password: url.password,
            database: url.database,
            tls: url.tls
        )
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.additionalStartupParameters = [("application_name", "provisioner")]
        switch purpose {
        case .application(let maximumConnections):
            configuration.options.maximumConnections = maximumConnections
            configuration.options.minimumConnections = 0
            configuration.options.additionalStartupParameters.append(("role", applicationRole))
        case .worker(let maximumConnections):
            configuration.options.maximumConnections = maximumConnections
            configuration.options.additionalStartupParameters.append(("role", applicationRole))
            configuration.options.additionalStartupParameters.append(("provisioner.all_tenants", "on"))
        case .owner:
            configuration.options.maximumConnections = 2
        }
        return PostgresClient(configuration: configuration, backgroundLogger: logger)
    }
}
