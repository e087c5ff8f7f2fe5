import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain

public struct TenantRecord: Sendable, Equatable {
    public let id: UUID
    public let slug: String
    public let displayName: String
    public let suspended: Bool
    public let state: TenantState
    public let currentURISetVersion: Int?
    public let activeCredentialID: UUID?
    public let latestCredentialState: CredentialState?
    public let latestCredentialUploadedAt: Date?
    public let calendarSyncEnabled: Bool
    public let calendarDefaultEventColor: String
    public let createdAt: Date
    public let updatedAt: Date
    public let pageKey: PageKey
}

/// Who a tenant is, which is all most requests under `/v1/tenants/{slug}` need of it: the id the
/// rows are keyed by, the slug, and whether it is suspended. The hot paths read it from memory
/// (`CachingTenantStore`).
public struct TenantIdentity: Sendable, Equatable {
    public let id: UUID
    public let slug: String
    public let suspended: Bool

    public init(id: UUID, slug: String, suspended: Bool) {
        self.id = id
        self.slug = slug
        self.suspended = suspended
    }
}

extension TenantRecord {
    public var identity: TenantIdentity { TenantIdentity(id: id, slug: slug, suspended: suspended) }
}

public struct TenantFilter: Sendable, Equatable {
    public var state: TenantState?
    /// Slug or display name contains this, ignoring case.
    public var query: String?

    public init(state: TenantState? = nil, query: String? = nil) {
        self.state = state
        self.query = query
    }
}

public enum TenantStoreError: Error, Equatable {
    case slugTaken
}

public protocol TenantStore: Sendable {
    func create(slug: TenantSlug, displayName: String, audit: AuditEntry) async throws -> TenantRecord
    func get(slug: String, scope: AccessScope) async throws -> TenantRecord?
    /// The tenant's identity, as `scope` may see it.
    func identity(slug: String, scope: AccessScope) async throws -> TenantIdentity?
    /// Newest first; `after` is the key of the last row of the previous page.
    func list(filter: TenantFilter, limit: Int, after: PageKey?) async throws -> [TenantRecord]
    /// Changes what is given; nil when there is no such tenant.
    func update(slug: String, displayName: String?, suspended: Bool?, audit: AuditEntry) async throws -> TenantRecord?
}

public struct PostgresTenantStore: TenantStore {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    static let columns = """
        id, slug, display_name, suspended, state, current_uri_set_version, active_credential_id, latest_credential_state,
        latest_credential_uploaded_at, calendar_sync_enabled, calendar_default_event_color, created_at, updated_at,
        \(PageKey.microsColumn)
        """

    public func create(slug: TenantSlug, displayName: String, audit: AuditEntry) async throws -> TenantRecord {
        do {
            return try await database.transaction(.allTenants) { connection in
                let rows = try await connection.query(
                    "INSERT INTO tenants (slug, display_name) VALUES (\(slug.rawValue), \(displayName)) RETURNING \(unescaped: Self.columns)",
                    logger: database.logger
                )
                guard let tenant = try await Self.decode(rows).first else { throw DatabaseUnavailable() }
                var audit = audit
                audit.tenantID = tenant.id
                try await PostgresAuditStore.append(audit, on: connection, logger: database.logger)
                return tenant
            }
        } catch let error as PSQLError where error.sqlState == "23505" {
            throw TenantStoreError.slugTaken
        }
    }

    public func get(slug: String, scope: AccessScope) async throws -> TenantRecord? {
        try await database.transaction(scope) { connection in
            let rows = try await connection.query(
                "SELECT \(unescaped: Self.columns) FROM tenants WHERE slug = \(slug)",
                logger: database.logger
            )
            return try await Self.decode(rows).first
        }
    }

    public func identity(slug: String, scope: AccessScope) async throws -> TenantIdentity? {
        try await database.transaction(scope) { connection in
            let rows = try await connection.query("SELECT id, slug, suspended FROM tenants WHERE slug = \(slug)", logger: database.logger)
            for try await (id, slug, suspended) in rows.decode((UUID, String, Bool).self) {
                return TenantIdentity(id: id, slug: slug, suspended: suspended)
            }
            return nil
        }
    }

    public func list(filter: TenantFilter, limit: Int, after: PageKey?) async throws -> [TenantRecord] {
        let query = Self.listQuery(filter: filter, limit: limit, after: after)
        return try await database.transaction(.allTenants) { connection in
            try await Self.decode(try await connection.query(query, logger: database.logger))
        }
    }

    /// The SQL of `list`, written for the filters given so that each one is an index condition
    /// (no `($1 IS NULL OR ...)`, which no index answers). Values are bind parameters.
    ///
    /// Under row-level security only LEAKPROOF quals become index conditions, and LIKE is not
    /// one: a search with a trigram in it asks `tenant_search_page` (migration 0009; trigram and
    /// newest-first indexes, scoped by the function itself) for the ids of the page, state and
    /// cursor included, and reads those few tenants by primary key. A shorter search (no three
    /// letters or digits in a row, which a trigram index cannot narrow) walks the newest-first
    /// index, which finds a page of such common matches at once.
    public static func listQuery(filter: TenantFilter, limit: Int, after: PageKey?) -> PostgresQuery {
        var sql = PostgresQuery.StringInterpolation(literalCapacity: 512, interpolationCount: 6)
        sql.appendLiteral("SELECT ")
        sql.appendInterpolation(unescaped: columns)
        if let text = filter.query, hasTrigram(text) {
            sql.appendLiteral(" FROM tenants WHERE id = ANY (ARRAY(SELECT tenant_search_page(")
            sql.appendInterpolation(likePattern(text))
            sql.appendLiteral(", ")
            sql.appendInterpolation(filter.state?.rawValue)
            if let after {
                sql.appendLiteral(", 'epoch'::timestamptz + ")
                sql.appendInterpolation(after.micros)
                sql.appendLiteral(" * interval '1 microsecond', ")
                sql.appendInterpolation(after.id)
            } else {
                sql.appendLiteral(", NULL, NULL")
            }
            sql.appendLiteral(", ")
            sql.appendInterpolation(limit)
            sql.appendLiteral(")))")
        } else {
            sql.appendLiteral(" FROM tenants WHERE true")
            if let state = filter.state {
                sql.appendLiteral(" AND state = ")
                sql.appendInterpolation(state.rawValue)
            }
            if let text = filter.query {
                let pattern = likePattern(text)
                sql.appendLiteral(" AND (slug LIKE ")
                sql.appendInterpolation(pattern)
                sql.appendLiteral(" OR lower(display_name) LIKE ")
                sql.appendInterpolation(pattern)
                sql.appendLiteral(")")
            }
            if let after {
                sql.appendLiteral(" AND (created_at, id) < ('epoch'::timestamptz + ")
                sql.appendInterpolation(after.micros)
                sql.appendLiteral(" * interval '1 microsecond', ")
                sql.appendInterpolation(after.id)
                sql.appendLiteral(")")
            }
        }
        sql.appendLiteral(" ORDER BY created_at DESC, id DESC LIMIT ")
        sql.appendInterpolation(limit)
        return PostgresQuery(stringInterpolation: sql)
    }

    /// `%text%` for LIKE, in lower case, with the search's own wildcards escaped.
    static func likePattern(_ text: String) -> String {
        "%" + escapeLike(text.lowercased()) + "%"
    }

    /// Whether pg_trgm can take a trigram from `%text%`: three letters or digits in a row.
    static func hasTrigram(_ text: String) -> Bool {
        var run = 0
        for character in text {
            run = character.isLetter || character.isNumber ? run + 1 : 0
            if run >= 3 { return true }
        }
        return false
    }

    public func update(slug: String, displayName: String?, suspended: Bool?, audit: AuditEntry) async throws -> TenantRecord? {
        try await database.transaction(.allTenants) { connection in
            let rows = try await connection.query(
                """
                UPDATE tenants SET display_name = coalesce(\(displayName), display_name),
                                   suspended = coalesce(\(suspended), suspended),
                                   updated_at = now()
                WHERE slug = \(slug)
                RETURNING \(unescaped: Self.columns)
                """,
                logger: database.logger
            )
            guard let tenant = try await Self.decode(rows).first else { return nil }
            var audit = audit
            audit.tenantID = tenant.id
            try await PostgresAuditStore.append(audit, on: connection, logger: database.logger)
            return tenant
        }
    }

    /// `%`, `_` and `\` in a search are literal characters, not patterns.
    static func escapeLike(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character == "%" || character == "_" || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [TenantRecord] {
        var tenants: [TenantRecord] = []
        for try await (id, slug, displayName, suspended, state, version, active, latestState, latestAt, syncEnabled, color, createdAt, updatedAt, micros)
            in rows.decode((UUID, String, String, Bool, String, Int?, UUID?, String?, Date?, Bool, String, Date, Date, Int64).self)
        {
            tenants.append(TenantRecord(
                id: id, slug: slug, displayName: displayName, suspended: suspended,
                state: TenantState(rawValue: state) ?? .awaitingURIs,
                currentURISetVersion: version, activeCredentialID: active,
                latestCredentialState: latestState.flatMap(CredentialState.init(rawValue:)),
                latestCredentialUploadedAt: latestAt, calendarSyncEnabled: syncEnabled,
                calendarDefaultEventColor: color, createdAt: createdAt, updatedAt: updatedAt,
                pageKey: PageKey(micros: micros, id: id)
            ))
        }
        return tenants
    }
}
