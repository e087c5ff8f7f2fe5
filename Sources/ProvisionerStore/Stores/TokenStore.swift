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
    /// The token that created this one through the API; nil for a token of the CLI.
    public let createdBy: UUID?
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

/// What a revocation did: the token asked for, and the tokens revoked with it by a cascade.
public struct TokenRevocation: Sendable, Equatable {
    public let record: TokenRecord
    /// Every token the revoked one created, transitively, that was still unrevoked and is
    /// revoked now (empty without a cascade).
    public let offspring: [UUID]

    public init(record: TokenRecord, offspring: [UUID]) {
        self.record = record
        self.offspring = offspring
    }
}

public protocol TokenStore: Sendable {
    /// Stores a new token's hash; returns the record and the token, which is shown once.
    func create(_ token: NewToken, createdBy: UUID?, audit: AuditEntry) async throws -> (record: TokenRecord, token: String)
    /// The token with this hash, usable or not, touching `last_used_at` at most once a minute.
    func authenticate(hash: [UInt8]) async throws -> TokenRecord?
    /// Newest first; `after` is the key of the last row of the previous page.
    func list(limit: Int, after: PageKey?) async throws -> [TokenRecord]
    /// Revokes at once; nil when there is no such token. With `cascade`, also every token it
    /// created, transitively, in the same transaction, with an audit row for each (`audit`
    /// with the target changed).
    func revoke(id: UUID, cascade: Bool, audit: AuditEntry) async throws -> TokenRevocation?
}

extension TokenStore {
    /// Revokes this one token only.
    public func revoke(id: UUID, audit: AuditEntry) async throws -> TokenRecord? {
        try await revoke(id: id, cascade: false, audit: audit)?.record
    }
}

public struct PostgresTokenStore: TokenStore {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    static let columns = "id, role, name, tenant_id, tenant_slug, created_at, expires_at, revoked_at, last_used_at, \(PageKey.microsColumn), created_by"

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
        // Behind `CachingTokenStore`, so this runs once per token until the token changes.
        try await database.transaction(.allTenants) { [database] connection in
            // `authenticate_bearer` sets its own scope (migrations 0007 and 0013).
            let rows = try await connection.query(
                "SELECT * FROM authenticate_bearer(\(ByteBuffer(bytes: hash)))",
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

    public func revoke(id: UUID, cascade: Bool, audit: AuditEntry) async throws -> TokenRevocation? {
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
            guard cascade else { return TokenRevocation(record: record, offspring: []) }
            // Every descendant by created_by, however deep (UNION, not UNION ALL: a cycle,
            // which only a hand-edited row could make, ends the walk instead of looping). Tokens
            // revoked earlier are walked through but keep their revoked_at and get no new row.
            // Each revocation fires the NOTIFY of migration 0010 at commit, so every replica's
            // cache drops them as it drops a single one.
            let offspringRows = try await connection.query(
                """
                WITH RECURSIVE offspring(id) AS (
                    SELECT t.id FROM tokens t WHERE t.created_by = \(id)
                    UNION
                    SELECT t.id FROM tokens t JOIN offspring o ON t.created_by = o.id
                )
                UPDATE tokens SET revoked_at = now()
                WHERE id IN (SELECT offspring.id FROM offspring) AND id <> \(id) AND revoked_at IS NULL
                RETURNING id
                """,
                logger: database.logger
            )
            var offspring: [UUID] = []
            for try await childID in offspringRows.decode(UUID.self) { offspring.append(childID) }
            offspring.sort { $0.uuidString < $1.uuidString }
            for childID in offspring {
                var entry = audit
                entry.target = "token:\(childID.uuidString.lowercased())"
                try await PostgresAuditStore.append(entry, on: connection, logger: database.logger)
            }
            return TokenRevocation(record: record, offspring: offspring)
        }
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [TokenRecord] {
        var records: [TokenRecord] = []
        for try await (id, role, name, tenantID, tenantSlug, createdAt, expiresAt, revokedAt, lastUsedAt, micros, createdBy) in rows.decode(
            (UUID, String, String, UUID?, String?, Date, Date?, Date?, Date?, Int64, UUID?).self
        ) {
            guard let role = Role(rawValue: role) else { continue }
            records.append(TokenRecord(
                id: id, role: role, name: name, tenantID: tenantID, tenantSlug: tenantSlug,
                createdAt: createdAt, expiresAt: expiresAt, revokedAt: revokedAt, lastUsedAt: lastUsedAt,
                createdBy: createdBy, pageKey: PageKey(micros: micros, id: id)
            ))
        }
        return records
    }
}
