import Crypto
import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain

/// A secret of the web console (an onboarding link's code, a session's cookie): 256 random
/// bits as 43 base64url characters, of which only the SHA-256 is stored.
public enum ConsoleSecret {
    public static let encodedLength = 43

    /// A new secret from the system's cryptographically secure generator.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for _ in 0..<32 { bytes.append(UInt8.random(in: .min ... .max, using: &generator)) }
        return base64URL(bytes)
    }

    /// SHA-256 of the secret's UTF-8 bytes: what the database stores and looks up.
    public static func hash(_ secret: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(secret.utf8)))
    }

    /// Whether `secret` has the shape of one this service makes (43 base64url characters).
    public static func looksValid(_ secret: String) -> Bool {
        secret.utf8.count == encodedLength && secret.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
    }

    /// base64url without padding.
    public static func base64URL(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

/// An onboarding link as stored: never its code, only the code's SHA-256.
public struct OnboardingLinkRecord: Sendable, Equatable {
    public let id: UUID
    public let tenantID: UUID
    public let tenantSlug: String
    public let createdAt: Date
    public let createdBy: UUID?
    public let expiresAt: Date
    public let revokedAt: Date?
    public let lastUsedAt: Date?
    public let useCount: Int
    public let pageKey: PageKey

    /// Who acts in a session this link opened, in audit rows and as an upload's `uploaded_by`:
    /// a tenant_admin whose token id is the link's id.
    public var sessionActor: Actor {
        Actor(tokenID: id, role: .tenantAdmin, name: Self.actorName(id))
    }

    public static func actorName(_ id: UUID) -> String {
        "onboarding-link-" + id.uuidString.lowercased().prefix(8)
    }
}

/// What opening a link found.
public enum OnboardingLinkUse: Sendable, Equatable {
    /// No link has this code.
    case unknown
    /// The link was revoked (410).
    case revoked(tenantSlug: String)
    /// The link expired (410).
    case expired(tenantSlug: String)
    /// The tenant is suspended: no session, a page saying so.
    case suspended(tenantSlug: String, displayName: String)
    /// A session started; `sessionSecret` goes in the cookie and is shown nowhere else.
    case started(link: OnboardingLinkRecord, sessionSecret: String)
}

public protocol OnboardingLinkStore: Sendable {
    /// Stores a new link's hash; returns the record and the code, which is shown once.
    func create(tenantID: UUID, expiresAt: Date, createdBy: UUID?, audit: AuditEntry) async throws -> (record: OnboardingLinkRecord, code: String)
    /// A tenant's links, newest first; `after` is the key of the last row of the previous page.
    func list(tenantID: UUID, scope: AccessScope, limit: Int, after: PageKey?) async throws -> [OnboardingLinkRecord]
    /// Revokes at once and ends every session the link opened; nil when the tenant has no such link.
    func revoke(tenantID: UUID, id: UUID, scope: AccessScope, audit: AuditEntry) async throws -> OnboardingLinkRecord?
    /// Opens a link: a session of `sessionLifetime` at most when it is usable, audited
    /// (`audit` with its actor and tenant filled in here) whatever it found but `.unknown`.
    func use(codeHash: [UInt8], sessionLifetime: Duration, audit: AuditEntry) async throws -> OnboardingLinkUse
}

public struct PostgresOnboardingLinkStore: OnboardingLinkStore {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    static let columns = """
        l.id, l.tenant_id, t.slug, l.created_at, l.created_by, l.expires_at, l.revoked_at, l.last_used_at, l.use_count,
        (extract(epoch FROM l.created_at) * 1000000)::bigint
        """

    public func create(tenantID: UUID, expiresAt: Date, createdBy: UUID?, audit: AuditEntry) async throws -> (record: OnboardingLinkRecord, code: String) {
        let code = ConsoleSecret.generate()
        let hash = ConsoleSecret.hash(code)
        let record = try await database.transaction(.allTenants) { connection in
            let rows = try await connection.query(
                """
                WITH l AS (
                    INSERT INTO onboarding_links (tenant_id, code_hash, created_by, expires_at)
                    VALUES (\(tenantID), \(ByteBuffer(bytes: hash)), \(createdBy), \(expiresAt))
                    RETURNING *
                )
                SELECT \(unescaped: Self.columns) FROM l JOIN tenants t ON t.id = l.tenant_id
                """,
                logger: database.logger
            )
            guard let record = try await Self.decode(rows).first else { throw DatabaseUnavailable() }
            var audit = audit
            audit.target = "onboarding_link:\(record.id.uuidString.lowercased())"
            try await PostgresAuditStore.append(audit, on: connection, logger: database.logger)
            return record
        }
        return (record, code)
    }

    public func list(tenantID: UUID, scope: AccessScope, limit: Int, after: PageKey?) async throws -> [OnboardingLinkRecord] {
        try await database.transaction(scope) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.columns) FROM onboarding_links l JOIN tenants t ON t.id = l.tenant_id
                WHERE l.tenant_id = \(tenantID)
                  AND (\(after?.micros)::bigint IS NULL
                       OR (l.created_at, l.id) < ('epoch'::timestamptz + \(after?.micros) * interval '1 microsecond', \(after?.id)))
                ORDER BY l.created_at DESC, l.id DESC
                LIMIT \(limit)
                """,
                logger: database.logger
            )
            return try await Self.decode(rows)
        }
    }

    public func revoke(tenantID: UUID, id: UUID, scope: AccessScope, audit: AuditEntry) async throws -> OnboardingLinkRecord? {
        try await database.transaction(scope) { connection in
            let rows = try await connection.query(
                """
                WITH l AS (
                    UPDATE onboarding_links SET revoked_at = coalesce(revoked_at, now())
                    WHERE id = \(id) AND tenant_id = \(tenantID)
                    RETURNING *
                )
                SELECT \(unescaped: Self.columns) FROM l JOIN tenants t ON t.id = l.tenant_id
                """,
                logger: database.logger
            )
            guard let record = try await Self.decode(rows).first else { return nil }
            try await connection.query(
                "UPDATE console_sessions SET ended_at = now() WHERE link_id = \(id) AND ended_at IS NULL",
                logger: database.logger
            )
            try await PostgresAuditStore.append(audit, on: connection, logger: database.logger)
            return record
        }
    }

    public func use(codeHash: [UInt8], sessionLifetime: Duration, audit: AuditEntry) async throws -> OnboardingLinkUse {
        let sessionSecret = ConsoleSecret.generate()
        let sessionHash = ConsoleSecret.hash(sessionSecret)
        let lifetimeSeconds = Double(sessionLifetime.components.seconds)
        return try await database.transaction(.allTenants) { connection in
            // Locked, so that a revocation committing meanwhile either comes first (and this
            // sees it) or ends the session made here.
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.columns), t.suspended, t.display_name, l.expires_at <= now()
                FROM onboarding_links l JOIN tenants t ON t.id = l.tenant_id
                WHERE l.code_hash = \(ByteBuffer(bytes: codeHash))
                FOR UPDATE OF l
                """,
                logger: database.logger
            )
            var found: (OnboardingLinkRecord, Bool, String, Bool)?
            for try await (id, tenantID, slug, createdAt, createdBy, expiresAt, revokedAt, lastUsedAt, useCount, micros, suspended, displayName, expired) in rows.decode(
                (UUID, UUID, String, Date, UUID?, Date, Date?, Date?, Int32, Int64, Bool, String, Bool).self
            ) {
                found = (
                    OnboardingLinkRecord(
                        id: id, tenantID: tenantID, tenantSlug: slug, createdAt: createdAt, createdBy: createdBy, expiresAt: expiresAt,
                        revokedAt: revokedAt, lastUsedAt: lastUsedAt, useCount: Int(useCount), pageKey: PageKey(micros: micros, id: id)
                    ),
                    suspended, displayName, expired
                )
            }
            guard let (link, suspended, displayName, expired) = found else { return .unknown }
            var audit = audit
            audit.actor = link.sessionActor
            audit.tenantID = link.tenantID
            audit.tenantSlug = link.tenantSlug
            audit.target = "onboarding_link:\(link.id.uuidString.lowercased())"
            let outcome: OnboardingLinkUse
            if link.revokedAt != nil {
                audit.result = "link_revoked"
                outcome = .revoked(tenantSlug: link.tenantSlug)
            } else if expired {
                audit.result = "link_expired"
                outcome = .expired(tenantSlug: link.tenantSlug)
            } else if suspended {
                audit.result = "tenant_suspended"
                outcome = .suspended(tenantSlug: link.tenantSlug, displayName: displayName)
            } else {
                try await connection.query(
                    "UPDATE onboarding_links SET last_used_at = now(), use_count = use_count + 1 WHERE id = \(link.id)",
                    logger: database.logger
                )
                try await connection.query(
                    """
                    INSERT INTO console_sessions (session_hash, tenant_id, link_id, expires_at)
                    VALUES (\(ByteBuffer(bytes: sessionHash)), \(link.tenantID), \(link.id), now() + \(lifetimeSeconds) * interval '1 second')
                    """,
                    logger: database.logger
                )
                outcome = .started(link: link, sessionSecret: sessionSecret)
            }
            try await PostgresAuditStore.append(audit, on: connection, logger: database.logger)
            return outcome
        }
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [OnboardingLinkRecord] {
        var records: [OnboardingLinkRecord] = []
        for try await (id, tenantID, slug, createdAt, createdBy, expiresAt, revokedAt, lastUsedAt, useCount, micros) in rows.decode(
            (UUID, UUID, String, Date, UUID?, Date, Date?, Date?, Int32, Int64).self
        ) {
            records.append(OnboardingLinkRecord(
                id: id, tenantID: tenantID, tenantSlug: slug, createdAt: createdAt, createdBy: createdBy, expiresAt: expiresAt,
                revokedAt: revokedAt, lastUsedAt: lastUsedAt, useCount: Int(useCount), pageKey: PageKey(micros: micros, id: id)
            ))
        }
        return records
    }
}
