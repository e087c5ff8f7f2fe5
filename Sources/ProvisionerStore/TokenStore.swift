import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain

/// A bearer token as stored: never the token itself, only its SHA-256.
public struct TokenRecord: Sendable, Equatable {
    public let id: UUID
    public let role: Role
    public let name: String
    public let tenantID: UUID?
    public let tenantSlug: String?
    public let createdAt: Date
    public let expiresAt: Date?
    public let revokedAt: Date?
    public let lastUsedAt: Date?
    public let pageKey: PageKey

    public var actor: Actor { Actor(tokenID: id, role: role, name: name) }

    /// Usable now: neither revoked nor expired.
    public func isUsable(at now: Date) -> Bool {
        revokedAt == nil && (expiresAt.map { $0 > now } ?? true)
    }
}

public struct NewToken: Sendable {
    public let role: Role
    public let name: String
    public let tenant: (id: UUID, slug: String)?
    public let expiresAt: Date?

    public init(role: Role, name: String, tenant: (id: UUID, slug: String)?, expiresAt: Date?) {
        self.role = role
        self.name = name
        self.tenant = tenant
        self.expiresAt = expiresAt
    }
}

public protocol TokenStore: Sendable {
    /// Stores a new token's hash; returns the record and the token, which is shown once.
    func create(_ token: NewToken, createdBy: UUID?, audit: AuditEntry) async throws -> (record: TokenRecord, token: String)
    /// The token with this hash, usable or not, touching `last_used_at` at most once a minute.
    func authenticate(hash: [UInt8]) async throws -> TokenRecord?
    /// Newest first; `after` is the key of the last row of the previous page.
    func list(limit: Int, after: PageKey?) async throws -> [TokenRecord]
    /// Revokes at once; nil when there is no such token.
    func revoke(id: UUID, audit: AuditEntry) async throws -> TokenRecord?
}

public struct PostgresTokenStore: TokenStore {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    static let columns = "id, role, name, tenant_id, tenant_slug, created_at, expires_at, revoked_at, last_used_at, \(PageKey.microsColumn)"

    public func create(_ token: NewToken, createdBy: UUID?, audit: AuditEntry) async throws -> (record: TokenRecord, token: String) {
        let plaintext = BearerToken.generate()
        let hash = BearerToken.hash(plaintext)
        let record = try await database.transaction(.allTenants) { connection in
            let rows = try await connection.query(
                """
                INSERT INTO tokens (role, name, tenant_id, tenant_slug, token_hash, created_by, expires_at)
                VALUES (\(token.role.rawValue), \(token.name), \(token.tenant?.id), \(token.tenant?.slug), \(ByteBuffer(bytes: hash)), \(createdBy), \(token.expiresAt))
                RETURNING \(unescaped: Self.columns)
                """,
                logger: database.logger
            )
            guard let record = try await Self.decode(rows).first else { throw DatabaseUnavailable() }
            var audit = audit
            audit.target = "token:\(record.id.uuidString.lowercased())"
            try await PostgresAuditStore.append(audit, on: connection, logger: database.logger)
            return record
        }
        return (record, plaintext)
    }

    public func authenticate(hash: [UInt8]) async throws -> TokenRecord? {
        try await database.withConnection { [database] connection in
            // One round trip, outside any tenant scope (migration 0007).
            let rows = try await connection.query(
                "SELECT * FROM authenticate_token(\(ByteBuffer(bytes: hash)))",
                logger: database.logger
            )
            return try await Self.decode(rows).first
        }
    }

    public func list(limit: Int, after: PageKey?) async throws -> [TokenRecord] {
        try await database.transaction(.allTenants) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.columns) FROM tokens
                WHERE (\(after?.micros)::bigint IS NULL
                       OR (created_at, id) < ('epoch'::timestamptz + \(after?.micros) * interval '1 microsecond', \(after?.id)))
                ORDER BY created_at DESC, id DESC
                LIMIT \(limit)
                """,
                logger: database.logger
            )
            return try await Self.decode(rows)
        }
    }

    public func revoke(id: UUID, audit: AuditEntry) async throws -> TokenRecord? {
        try await database.transaction(.allTenants) { connection in
            let rows = try await connection.query(
                """
                UPDATE tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = \(id)
                RETURNING \(unescaped: Self.columns)
                """,
                logger: database.logger
            )
            guard let record = try await Self.decode(rows).first else { return nil }
            try await PostgresAuditStore.append(audit, on: connection, logger: database.logger)
            return record
        }
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [TokenRecord] {
        var records: [TokenRecord] = []
        for try await (id, role, name, tenantID, tenantSlug, createdAt, expiresAt, revokedAt, lastUsedAt, micros) in rows.decode(
            (UUID, String, String, UUID?, String?, Date, Date?, Date?, Date?, Int64).self
        ) {
            guard let role = Role(rawValue: role) else { continue }
            records.append(TokenRecord(
                id: id, role: role, name: name, tenantID: tenantID, tenantSlug: tenantSlug,
                createdAt: createdAt, expiresAt: expiresAt, revokedAt: revokedAt, lastUsedAt: lastUsedAt,
                pageKey: PageKey(micros: micros, id: id)
            ))
        }
        return records
    }
}
