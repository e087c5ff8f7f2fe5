import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain

/// Who did something: the token, its role and its name (never the token itself).
public struct Actor: Sendable, Equatable {
    public let tokenID: UUID?
    public let role: Role?
    public let name: String?

    public init(tokenID: UUID?, role: Role?, name: String?) {
        self.tokenID = tokenID
        self.role = role
        self.name = name
    }

    public static let anonymous = Actor(tokenID: nil, role: nil, name: nil)
}

/// One row of the audit log, written in the same transaction as the change it records.
public struct AuditEntry: Sendable {
    public var actor: Actor
    public var tenantID: UUID?
    public var tenantSlug: String?
    public var action: String
    public var target: String?
    /// `success`, or why the attempt was denied: `unauthenticated`, `token_revoked`,
    /// `token_expired`, `forbidden`, or the code of the problem that refused it.
    public var result: String
    public var requestID: String?
    public var sourceAddress: String?

    public init(
        actor: Actor, tenantID: UUID? = nil, tenantSlug: String? = nil, action: String, target: String? = nil,
        result: String = "success", requestID: String?, sourceAddress: String?
    ) {
        self.actor = actor
        self.tenantID = tenantID
        // The slug of a refused path is whatever the caller sent, U+0000 included.
        self.tenantSlug = StorableText.make(tenantSlug)
        self.action = action
        self.target = target
        self.result = result
        self.requestID = requestID
        self.sourceAddress = sourceAddress
    }
}

public struct AuditEvent: Sendable, Equatable {
    public let id: Int64
    public let at: Date
    public let actor: Actor
    public let tenantSlug: String?
    public let action: String
    public let target: String?
    public let result: String
    public let requestID: String?
    /// How many attempts the row stands for: 1, except for `auth.failed` rows, which count the
    /// failed sign-ins of one client address in one minute (migration 0013).
    public let count: Int

    public init(
        id: Int64, at: Date, actor: Actor, tenantSlug: String?, action: String, target: String?, result: String,
        requestID: String?, count: Int = 1
    ) {
        self.id = id
        self.at = at
        self.actor = actor
        self.tenantSlug = tenantSlug
        self.action = action
        self.target = target
        self.result = result
        self.requestID = requestID
        self.count = count
    }
}

/// The append-only audit log.
public protocol AuditStore: Sendable {
    /// Records a denied attempt on its own (there is no change to join).
    func recordDenial(_ entry: AuditEntry) async throws
    /// Counts `attempts` failed sign-ins (no token, or an unknown one) from `sourceAddress` in
    /// the minute of `attemptedAt`: the first of a minute appends the `auth.failed` row, with
    /// `requestID`; later ones add to its `count`. Returns the minute's count so far.
    @discardableResult
    func recordFailedSignIns(sourceAddress: String?, requestID: String?, attempts: Int, attemptedAt: Date) async throws -> Int
    /// Newest first, keyset-paginated by id.
    func list(tenantSlug: String?, action: String?, limit: Int, beforeID: Int64?) async throws -> [AuditEvent]
}

public struct PostgresAuditStore: AuditStore {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    public func recordDenial(_ entry: AuditEntry) async throws {
        try await database.transaction(.allTenants) { connection in
            try await Self.append(entry, on: connection, logger: database.logger)
        }
    }

    /// `record_auth_failure` (migration 0013) is the only way a row's `count` grows, and
    /// `provisioner_app` may call nothing else that changes an audit row.
    @discardableResult
    public func recordFailedSignIns(sourceAddress: String?, requestID: String?, attempts: Int, attemptedAt: Date) async throws -> Int {
        try await database.transaction(.allTenants) { [database] connection in
            let rows = try await connection.query(
                "SELECT record_auth_failure(\(sourceAddress), \(requestID), \(Int32(clamping: attempts)), \(attemptedAt))",
                logger: database.logger
            )
            for try await total in rows.decode(Int32.self) { return Int(total) }
            return 0
        }
    }

    /// Appends one row on a connection inside the caller's transaction, by `append_audit_event`
    /// (migration 0026), which a one-call unit of work such as `upload_credential` calls too.
    public static func append(_ entry: AuditEntry, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT append_audit_event(\(entry))", logger: logger)
    }

    /// The page comes from `audit_events_page` (migration 0009), whose SET clause gives it the
    /// all-tenant scope for the call only; the transaction takes the role.
    public func list(tenantSlug: String?, action: String?, limit: Int, beforeID: Int64?) async throws -> [AuditEvent] {
        let query = Self.listQuery(tenantSlug: tenantSlug, action: action, limit: limit, beforeID: beforeID)
        return try await database.transaction(.allTenants) { [database] connection in
            let rows = try await connection.query(query, logger: database.logger)
            var events: [AuditEvent] = []
            events.reserveCapacity(limit)
            for try await (id, at, tokenID, role, name, slug, action, target, result, requestID, count) in rows.decode(
                (Int64, Date, UUID?, String?, String?, String?, String, String?, String, String?, Int32).self
            ) {
                events.append(AuditEvent(
                    id: id, at: at, actor: Actor(tokenID: tokenID, role: role.flatMap(Role.init(rawValue:)), name: name),
                    tenantSlug: slug, action: action, target: target, result: result, requestID: requestID, count: Int(count)
                ))
            }
            return events
        }
    }

    /// The SQL of `list`: `audit_events_page` with the filters as bind parameters (NULL for none).
    /// The function runs `audit_events_page_sql(...)`, the query written for the filters given so
    /// that each is an index condition (audit_events_tenant, audit_events_action,
    /// audit_events_tenant_action, or the primary key newest first), planned with its values.
    public static func listQuery(tenantSlug: String?, action: String?, limit: Int, beforeID: Int64?) -> PostgresQuery {
        """
        SELECT id, at, token_id, actor_role, actor_name, tenant_slug, action, target, result, request_id, count
        FROM audit_events_page(\(tenantSlug), \(action), \(beforeID), \(limit))
        """
    }
}

extension PostgresQuery.StringInterpolation {
    /// The arguments of `append_audit_event(token_id, actor_role, actor_name, tenant_id,
    /// tenant_slug, action, target, result, request_id, source_address)` as ten binds.
    mutating func appendInterpolation(_ entry: AuditEntry) {
        appendInterpolation(entry.actor.tokenID)
        appendLiteral(", ")
        appendInterpolation(entry.actor.role?.rawValue)
        appendLiteral(", ")
        appendInterpolation(entry.actor.name)
        appendLiteral(", ")
        appendInterpolation(entry.tenantID)
        appendLiteral(", ")
        appendInterpolation(entry.tenantSlug)
        appendLiteral(", ")
        appendInterpolation(entry.action)
        appendLiteral(", ")
        appendInterpolation(entry.target)
        appendLiteral(", ")
        appendInterpolation(entry.result)
        appendLiteral(", ")
        appendInterpolation(entry.requestID)
        appendLiteral(", ")
        appendInterpolation(entry.sourceAddress)
    }
}
