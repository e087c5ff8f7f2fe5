import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain

/// A live browser session of the web console, as its cookie found it.
public struct ConsoleSession: Sendable, Equatable {
    public enum Holder: Sendable, Equatable {
        /// Opened with an onboarding link: the rights of tenant_admin on that tenant.
        case link(id: UUID, tenantID: UUID, tenantSlug: String)
        /// Signed in with a support or dashboard token: that token's rights, while it is usable.
        case token(TokenRecord)
    }

    public let id: UUID
    public let holder: Holder
    public let createdAt: Date
    public let expiresAt: Date

    /// The token the session acts as: the signed-in token, or for a link's session a
    /// tenant_admin record standing for the link (its id is the link's id, never a token's).
    public var token: TokenRecord {
        switch holder {
        case .token(let token):
            return token
        case .link(let id, let tenantID, let tenantSlug):
            return TokenRecord(
                id: id, role: .tenantAdmin, name: OnboardingLinkRecord.actorName(id), tenantID: tenantID, tenantSlug: tenantSlug,
                createdAt: createdAt, expiresAt: expiresAt, revokedAt: nil, lastUsedAt: nil, createdBy: nil,
                pageKey: PageKey(micros: 0, id: id)
            )
        }
    }
}

public protocol SessionStore: Sendable {
    /// Starts a session for a support or dashboard token; returns the cookie's secret.
    func start(token: TokenRecord, lifetime: Duration, audit: AuditEntry) async throws -> String
    /// The live session of this cookie: nil when unknown, ended, idle too long, past its
    /// lifetime, or when its link was revoked or its token revoked or expired. Notes its use
    /// at most once a minute.
    func session(hash: [UInt8], idleTimeout: Duration) async throws -> ConsoleSession?
    /// Ends the session (sign-out); audited when there was one.
    func end(hash: [UInt8], audit: AuditEntry) async throws -> Bool
}

public struct PostgresSessionStore: SessionStore {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    public func start(token: TokenRecord, lifetime: Duration, audit: AuditEntry) async throws -> String {
        let secret = ConsoleSecret.generate()
        let hash = ConsoleSecret.hash(secret)
        let seconds = Double(lifetime.components.seconds)
        try await database.transaction(.allTenants) { connection in
            try await connection.query(
                """
                INSERT INTO console_sessions (session_hash, token_id, expires_at)
                VALUES (\(ByteBuffer(bytes: hash)), \(token.id), now() + \(seconds) * interval '1 second')
                """,
                logger: database.logger
            )
            try await PostgresAuditStore.append(audit, on: connection, logger: database.logger)
        }
        return secret
    }

    public func session(hash: [UInt8], idleTimeout: Duration) async throws -> ConsoleSession? {
        let idleSeconds = Double(idleTimeout.components.seconds)
        return try await database.transaction(.allTenants) { connection in
            let rows = try await connection.query(
                """
                SELECT s.id, s.tenant_id, t.slug, s.link_id, s.token_id, s.created_at, s.expires_at
                FROM console_sessions s
                LEFT JOIN tenants t ON t.id = s.tenant_id
                LEFT JOIN onboarding_links l ON l.id = s.link_id
                WHERE s.session_hash = \(ByteBuffer(bytes: hash))
                  AND s.ended_at IS NULL AND s.expires_at > now()
                  AND s.last_seen_at > now() - \(idleSeconds) * interval '1 second'
                  AND (s.link_id IS NULL OR l.revoked_at IS NULL)
                """,
                logger: database.logger
            )
            var found: (UUID, UUID?, String?, UUID?, UUID?, Date, Date)?
            for try await row in rows.decode((UUID, UUID?, String?, UUID?, UUID?, Date, Date).self) { found = row }
            guard let (id, tenantID, slug, linkID, tokenID, createdAt, expiresAt) = found else { return nil }
            let holder: ConsoleSession.Holder
            if let linkID, let tenantID, let slug {
                holder = .link(id: linkID, tenantID: tenantID, tenantSlug: slug)
            } else if let tokenID {
                let tokenRows = try await connection.query(
                    "SELECT \(unescaped: PostgresTokenStore.columns) FROM tokens WHERE id = \(tokenID)",
                    logger: database.logger
                )
                guard let token = try await PostgresTokenStore.decode(tokenRows).first, token.isUsable(at: Date()) else { return nil }
                holder = .token(token)
            } else {
                return nil
            }
            try await connection.query(
                "UPDATE console_sessions SET last_seen_at = now() WHERE id = \(id) AND last_seen_at < now() - interval '60 seconds'",
                logger: database.logger
            )
            return ConsoleSession(id: id, holder: holder, createdAt: createdAt, expiresAt: expiresAt)
        }
    }

    public func end(hash: [UInt8], audit: AuditEntry) async throws -> Bool {
        try await database.transaction(.allTenants) { connection in
            let rows = try await connection.query(
                """
                UPDATE console_sessions SET ended_at = now()
                WHERE session_hash = \(ByteBuffer(bytes: hash)) AND ended_at IS NULL
                RETURNING id
                """,
                logger: database.logger
            )
            var ended = false
            for try await _ in rows.decode(UUID.self) { ended = true }
            if ended { try await PostgresAuditStore.append(audit, on: connection, logger: database.logger) }
            return ended
        }
    }
}
