import Foundation
import Logging
import PostgresNIO

/// Which tenants a transaction may see through row-level security.
public enum AccessScope: Sendable, Equatable {
    /// Support, dashboard, runtime and the worker.
    case allTenants
    /// A tenant_admin: its tenant only.
    case tenant(UUID)
}

/// The application's access to PostgreSQL: every unit of work is one transaction, with its
/// row-level-security scope set first and a deadline, so a request answers 503 rather than
/// hang while the database is away.
public struct Database: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    public var deadline: Duration

    public init(client: PostgresClient, logger: Logger, deadline: Duration = .seconds(5)) {
        self.client = client
        self.logger = logger
        self.deadline = deadline
    }

    public func transaction<T: Sendable>(
        _ scope: AccessScope,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let (allTenants, tenantID): (String, String) = switch scope {
        case .allTenants: ("on", "")
        case .tenant(let id): ("off", id.uuidString.lowercased())
        }
        do {
            return try await withDeadline(deadline) { [client, logger] in
                try await client.transaction(logger: logger) { connection in
                    try await connection.query(
                        "SELECT set_config('provisioner.all_tenants', \(allTenants), true), set_config('provisioner.tenant_id', \(tenantID), true)",
                        logger: logger
                    )
                    return try await body(connection)
                }
            }
        } catch let error where DatabaseUnavailable.isUnavailability(error) {
            throw DatabaseUnavailable()
        }
    }

    /// One statement outside an explicit transaction, for SQL functions that set their own
    /// scope for the length of the call (`authenticate_token`, `audit_events_page`): one round
    /// trip instead of four.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await withDeadline(deadline) { [client] in
                try await client.withConnection { try await body($0) }
            }
        } catch let error where DatabaseUnavailable.isUnavailability(error) {
            throw DatabaseUnavailable()
        }
    }
}

extension PSQLError {
    /// The SQLSTATE of a server error, e.g. `23505` for a unique violation.
    public var sqlState: String? { serverInfo?[.sqlState] }
}

extension PostgresClient {
    /// `withTransaction`, throwing the error that caused a rollback itself rather than
    /// PostgresNIO's wrapper, so that callers can match on it.
    func transaction<T: Sendable>(
        logger: Logger,
        file: String = #file,
        line: Int = #line,
        _ body: (PostgresConnection) async throws -> sending T
    ) async throws -> sending T {
        do {
            return try await withTransaction(logger: logger, file: file, line: line, body)
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError ?? error
        }
    }
}
