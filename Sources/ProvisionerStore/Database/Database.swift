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

/// The application's access to PostgreSQL: every unit of work is one transaction that first
/// takes the role `provisioner_app` and its row-level-security scope, both transaction-local
/// (`set_config(..., true)`, i.e. `SET LOCAL`), and runs under a deadline, so a request answers
/// 503 rather than hang while the database is away.
///
/// Nothing is left on the connection when the transaction ends: no role, no scope, no named
/// prepared statement (PostgresNIO sends each query as the unnamed statement). So a connection
/// pooler in transaction mode (PgBouncer) may hand the next transaction to any server
/// connection, and the connection's own login role, whatever it is, never runs a query of the
/// service. LISTEN, the one session feature the service uses, has its own direct connection
/// (`PostgresListener`).
public struct Database: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    /// How long a unit of work may take; nil for none (the worker's queue statements, whose
    /// batches are bounded by their own limits).
    public var deadline: Duration?
    /// The role each transaction takes: `provisioner_app` for everything the service runs.
    public var role: String

    public init(
        client: PostgresClient, logger: Logger, deadline: Duration? = .seconds(5), role: String = DatabaseClientFactory.applicationRole
    ) {
        self.client = client
        self.logger = logger
        self.deadline = deadline
        self.role = role
    }

    public func transaction<T: Sendable>(
        _ scope: AccessScope,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        do {
            let unit: @Sendable () async throws -> T = { [client, logger, role] in
                try await client.transaction(logger: logger) { connection in
                    // Read to the end: an error of the statement (a role that may not be
                    // taken) comes with its rows, and must stop the transaction here.
                    _ = try await connection.query(Self.takeRoleAndScope(scope, role: role), logger: logger).collect()
                    return try await body(connection)
                }
            }
            guard let deadline else { return try await unit() }
            return try await withDeadline(deadline, unit)
        } catch let error where DatabaseUnavailable.isUnavailability(error) {
            throw DatabaseUnavailable()
        }
    }

    /// The first statement of every transaction: `SET LOCAL ROLE provisioner_app` and the
    /// scope that the row-level-security policies read, in one round trip.
    static func takeRoleAndScope(_ scope: AccessScope, role: String = DatabaseClientFactory.applicationRole) -> PostgresQuery {
        let (allTenants, tenantID): (String, String) = switch scope {
        case .allTenants: ("on", "")
        case .tenant(let id): ("off", id.uuidString.lowercased())
        }
        return """
            SELECT set_config('role', \(role), true),
                   set_config('provisioner.all_tenants', \(allTenants), true),
                   set_config('provisioner.tenant_id', \(tenantID), true)
            """
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

extension Database {
    /// One statement as a transaction of its own (the role and `scope` first), its rows read
    /// into memory: the queues' auto-committed claims and completions.
    @discardableResult
    public func statement(_ scope: AccessScope, _ query: PostgresQuery) async throws -> [PostgresRow] {
        try await transaction(scope) { [logger] connection in
            try await connection.query(query, logger: logger).collect()
        }
    }
}

extension Array where Element == PostgresRow {
    /// Each row decoded as `type`.
    public func decode<each Column: PostgresDecodable>(_ type: (repeat each Column).Type) throws -> [(repeat each Column)] {
        try map { try $0.decode(type) }
    }
}
