import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain

public struct URISetRecord: Sendable, Equatable {
    public let tenantID: UUID
    public let version: Int
    public let host: String
    public let customDomain: String?
    public let javascriptOrigins: [String]
    public let redirectURIs: [String]
    public let issuedAt: Date
    public let issuedBy: String
    public let supersededAt: Date?

    public var issued: IssuedURISet {
        IssuedURISet(version: version, host: host, javascriptOrigins: javascriptOrigins, redirectURIs: redirectURIs)
    }
}

/// A tenant's current URI set looked up by the tenant's slug, in one round of queries.
public enum CurrentURISet: Sendable, Equatable {
    /// No such tenant, or not one the scope may see.
    case noTenant
    case notIssued(tenantID: UUID)
    case issued(URISetRecord)
}

public enum URISetStoreError: Error, Equatable {
    case hostInUse
    case tenantNotFound
}

public protocol URISetStore: Sendable {
    /// Issues the next version for the tenant: supersedes the current set and, in the same
    /// transaction, sends the tenant's newest upload back to verification against it.
    func issue(tenantSlug: String, uris: IssuedURIs, issuedBy: Actor, audit: AuditEntry) async throws -> URISetRecord
    func current(tenantID: UUID, scope: AccessScope) async throws -> URISetRecord?
    /// The hot read (`GET .../uri-sets/current`): the tenant and its current set at once.
    func current(tenantSlug: String, scope: AccessScope) async throws -> CurrentURISet
    /// Newest first; `beforeVersion` is the keyset cursor.
    func list(tenantID: UUID, scope: AccessScope, limit: Int, beforeVersion: Int?) async throws -> [URISetRecord]
}

public struct PostgresURISetStore: URISetStore {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    static let columns = "tenant_id, version, host, custom_domain, javascript_origins, redirect_uris, issued_at, issued_by, superseded_at"

    public func issue(tenantSlug: String, uris: IssuedURIs, issuedBy: Actor, audit: AuditEntry) async throws -> URISetRecord {
        do {
            return try await database.transaction(.allTenants) { connection in
                let logger = database.logger
                // The tenant row lock serialises issuances of one tenant.
                let tenantRows = try await connection.query(
                    "SELECT id, coalesce(current_uri_set_version, 0) FROM tenants WHERE slug = \(tenantSlug) FOR UPDATE",
                    logger: logger
                )
                guard let (tenantID, currentVersion) = try await tenantRows.decode((UUID, Int).self).first(where: { _ in true }) else {
                    throw URISetStoreError.tenantNotFound
                }
                let version = currentVersion + 1
                try await connection.query(
                    "UPDATE uri_sets SET superseded_at = now() WHERE tenant_id = \(tenantID) AND superseded_at IS NULL",
                    logger: logger
                )
                let rows = try await connection.query(
                    """
                    INSERT INTO uri_sets (tenant_id, version, host, custom_domain, javascript_origins, redirect_uris, issued_by, issued_by_token)
                    VALUES (\(tenantID), \(version), \(uris.host), \(uris.customDomain), \(uris.javascriptOrigins), \(uris.redirectURIs),
                            \(issuedBy.name ?? "unknown"), \(issuedBy.tokenID))
                    RETURNING \(unescaped: Self.columns)
                    """,
                    logger: logger
                )
                guard let record = try await Self.decode(rows).first else { throw DatabaseUnavailable() }
                // The newest upload goes back to verification against the new set; until it
                // passes, the tenant has no active credential (it was verified against the old one).
                let newestRows = try await connection.query(
                    "SELECT id FROM credentials WHERE tenant_id = \(tenantID) ORDER BY uploaded_at DESC, id DESC LIMIT 1",
                    logger: logger
                )
                var requeued = false
                if let newest = try await newestRows.decode(UUID.self).first(where: { _ in true }) {
                    requeued = try await VerificationRequests.requeue(newest, tenantID: tenantID, reason: .uriSetIssued, on: connection, logger: logger)
                }
                try await connection.query(
                    """
                    UPDATE tenants
                    SET current_uri_set_version = \(version), active_credential_id = NULL, updated_at = now(),
                        latest_credential_state = CASE WHEN \(requeued) THEN 'pending' ELSE latest_credential_state END
                    WHERE id = \(tenantID)
                    """,
                    logger: logger
                )
                var audit = audit
                audit.tenantID = tenantID
                audit.target = "uri_set:\(version)"
                try await PostgresAuditStore.append(audit, on: connection, logger: logger)
                return record
            }
        } catch let error as PSQLError where error.sqlState == "23505" {
            throw URISetStoreError.hostInUse
        }
    }

    public func current(tenantID: UUID, scope: AccessScope) async throws -> URISetRecord? {
        try await database.transaction(scope) { connection in
            let rows = try await connection.query(
                "SELECT \(unescaped: Self.columns) FROM uri_sets WHERE tenant_id = \(tenantID) AND superseded_at IS NULL",
                logger: database.logger
            )
            return try await Self.decode(rows).first
        }
    }

    public func current(tenantSlug: String, scope: AccessScope) async throws -> CurrentURISet {
        try await database.transaction(scope) { connection in
            let rows = try await connection.query(
                """
                SELECT t.id, u.version, u.host, u.custom_domain, u.javascript_origins, u.redirect_uris, u.issued_at, u.issued_by
                FROM tenants t LEFT JOIN uri_sets u ON u.tenant_id = t.id AND u.superseded_at IS NULL
                WHERE t.slug = \(tenantSlug)
                """,
                logger: database.logger
            )
            for try await (tenantID, version, host, customDomain, origins, redirects, issuedAt, issuedBy) in rows.decode(
                (UUID, Int?, String?, String?, [String]?, [String]?, Date?, String?).self
            ) {
                guard let version, let host, let origins, let redirects, let issuedAt, let issuedBy else {
                    return .notIssued(tenantID: tenantID)
                }
                return .issued(URISetRecord(
                    tenantID: tenantID, version: version, host: host, customDomain: customDomain, javascriptOrigins: origins,
                    redirectURIs: redirects, issuedAt: issuedAt, issuedBy: issuedBy, supersededAt: nil
                ))
            }
            return .noTenant
        }
    }

    public func list(tenantID: UUID, scope: AccessScope, limit: Int, beforeVersion: Int?) async throws -> [URISetRecord] {
        try await database.transaction(scope) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.columns) FROM uri_sets
                WHERE tenant_id = \(tenantID) AND (\(beforeVersion)::integer IS NULL OR version < \(beforeVersion))
                ORDER BY version DESC
                LIMIT \(limit)
                """,
                logger: database.logger
            )
            return try await Self.decode(rows)
        }
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [URISetRecord] {
        var records: [URISetRecord] = []
        for try await (tenantID, version, host, customDomain, origins, redirects, issuedAt, issuedBy, supersededAt) in rows.decode(
            (UUID, Int, String, String?, [String], [String], Date, String, Date?).self
        ) {
            records.append(URISetRecord(
                tenantID: tenantID, version: version, host: host, customDomain: customDomain, javascriptOrigins: origins,
                redirectURIs: redirects, issuedAt: issuedAt, issuedBy: issuedBy, supersededAt: supersededAt
            ))
        }
        return records
    }
}
