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

    /// The service's deadline of a unit of work: a request answers 503 `database_unavailable`
    /// past it rather than hold its client and a connection.
    public static let serviceDeadline: Duration = .seconds(5)

    public init(
        client: PostgresClient, logger: Logger, deadline: Duration? = Database.serviceDeadline, role: String = DatabaseClientFactory.applicationRole
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
        try await underDeadline { [client, logger, role] in
            try await client.transaction(logger: logger) { connection in
                // Read to the end: an error of the statement (a role that may not be
                // taken) comes with its rows, and must stop the transaction here.
                _ = try await connection.query(Self.takeRoleAndScope(scope, role: role), logger: logger).collect()
                return try await body(connection)
            }
        }
    }

    /// Every unit of work, `transaction` or `call`: under the deadline, and "the database does
    /// not answer" for whatever means it is away.
    private func underDeadline<T: Sendable>(_ unit: @escaping @Sendable () async throws -> T) async throws -> T {
        do {
            guard let deadline else { return try await unit() }
            return try await withDeadline(deadline, unit)
        } catch let error where DatabaseUnavailable.isUnavailability(error) {
            throw DatabaseUnavailable()
        }
    }

    /// The first statement of every transaction: the role `provisioner_app` and the scope that
    /// the row-level-security policies read, transaction-local, in one round trip. The SQL
    /// function `take_role_and_scope` is the one definition of that step; a unit of work that is
    /// one function call (`call`) takes it inside the function instead.
    static func takeRoleAndScope(_ scope: AccessScope, role: String = DatabaseClientFactory.applicationRole) -> PostgresQuery {
        "SELECT take_role_and_scope(\(RoleAndScope(scope, role: role)))"
    }
}

extension Database {
    /// A unit of work that is one call of a function whose first statement takes the role and
    /// scope (`take_role_and_scope`): the query is given the arguments to pass it, e.g.
    /// `{ "SELECT * FROM credential_record(\($0), \(id), \(tenantID))" }`. One round trip in
    /// the call's implicit transaction, where `transaction` spends four (BEGIN, the role, the
    /// statement, COMMIT); the settings end with it as they do at COMMIT. Under the deadline,
    /// its rows read into memory.
    @discardableResult
    public func call(_ scope: AccessScope, _ query: (RoleAndScope) -> PostgresQuery) async throws -> [PostgresRow] {
        let query = query(RoleAndScope(scope, role: role))
        return try await underDeadline { [client, logger] in
            try await client.query(query, logger: logger).collect()
        }
    }
}

/// The arguments of `take_role_and_scope(role_name, all_tenants, tenant_id)`, which a function
/// that is a unit of work of its own (`Database.call`) takes first and passes on. Interpolated
/// into a `PostgresQuery` as those three binds.
public struct RoleAndScope: Sendable {
    let role: String
    let allTenants: String
    let tenantID: String

    init(_ scope: AccessScope, role: String) {
        self.role = role
        (allTenants, tenantID) = switch scope {
        case .allTenants: ("on", "")
        case .tenant(let id): ("off", id.uuidString.lowercased())
        }
    }
}

extension PostgresQuery.StringInterpolation {
    /// `role_name, all_tenants, tenant_id` as three binds.
    public mutating func appendInterpolation(_ taking: RoleAndScope) {
        appendInterpolation(taking.role)
        appendLiteral(", ")
        appendInterpolation(taking.allTenants)
        appendLiteral(", ")
        appendInterpolation(taking.tenantID)
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
    /// into memory: the queues' auto-committed statements (those that are a function taking the
    /// role itself go through `call`, one round trip).
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
