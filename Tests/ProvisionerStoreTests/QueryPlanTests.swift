import Foundation
import Logging
import NIOCore
import PostgresNIO
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Testing

/// The dashboard's request-path queries are answered from indexes, as `provisioner_app` under
/// row-level security (where only LEAKPROOF quals may become index conditions), on a database
/// of a realistic shape. Each query is EXPLAINed exactly as its store sends it: the same SQL
/// text (the stores' `...Query` functions) and the same bind parameters, so the plan is the
/// custom plan the server makes for the service's unnamed statements.
@Suite struct QueryPlanTests {
    static let logger = TestDatabase.logger

    /// One plan node: its type, relation and index (when it has them).
    struct Node: CustomStringConvertible {
        let type: String
        let relation: String?
        let index: String?
        var description: String { "\(type)\(relation.map { " on \($0)" } ?? "")\(index.map { " using \($0)" } ?? "")" }
    }

    /// 20,000 tenants (words in their names, a URI set for most, mixed states), 100,000
    /// credentials (a few waiting, some verdicts in the last day) and 100,000 audit events; then
    /// VACUUM ANALYZE, as autovacuum leaves a database in use: visibility maps set and the
    /// trigram indexes' pending lists flushed. (With ANALYZE alone, some plans depended on
    /// whether autovacuum had run yet: with the pending lists of 20,000 inserts unflushed, a
    /// join of a common pattern and a rare state scanned tenant_search.)
    static let seedSQL = [
        "SELECT set_config('provisioner.all_tenants', 'on', false)",
        """
        INSERT INTO tenants (slug, display_name, suspended, current_uri_set_version, created_at)
        SELECT (ARRAY['acme','globex','initech','umbrella','hooli','wonka','sakura','fuji','north','blue'])[1 + i % 10] || '-' || i,
               initcap((ARRAY['stark','wayne','tyrell','soylent','monarch','vandelay','hikari','midori','silver','iron'])[1 + (i / 10) % 10])
                   || CASE WHEN i % 500 = 0 THEN ' Acme' ELSE '' END || ' 株式会社',
               i % 50 = 0, CASE WHEN i % 20 <> 0 THEN 1 END, now() - i * interval '1 hour'
        FROM generate_series(1, 20000) AS i
        """,
        """
        INSERT INTO credentials (id, tenant_id, state, uploaded_at, uploaded_by, sha256, sealed_key_id, sealed_file,
                                 verified_at, requested_at)
        SELECT gen_random_uuid(), t.id, s.state, s.at, 'plan-test', md5(t.id::text || k) || md5(k || t.id::text), 'k', '\\x00'::bytea,
               CASE WHEN s.state IN ('verified', 'rejected', 'superseded') THEN s.at + interval '3 seconds' END, s.at
        FROM (SELECT id, row_number() OVER (ORDER BY created_at) AS n FROM tenants WHERE current_uri_set_version IS NOT NULL) t
        CROSS JOIN generate_series(1, 5) AS k
        CROSS JOIN LATERAL (
            SELECT now() - ((t.n * 5 + 5 - k) * interval '7 minutes') AS at,
                   CASE WHEN k < 5 THEN 'superseded'
                        WHEN t.n % 100 = 0 THEN 'pending' WHEN t.n % 100 = 1 THEN 'verifying'
                        WHEN t.n % 6 = 0 THEN 'rejected' ELSE 'verified' END AS state
        ) s
        """,
        """
        UPDATE tenants t SET latest_credential_id = c.id, latest_credential_state = c.state,
               latest_credential_uploaded_at = c.uploaded_at,
               active_credential_id = CASE WHEN c.state = 'verified' THEN c.id END
        FROM (SELECT DISTINCT ON (tenant_id) tenant_id, id, state, uploaded_at FROM credentials
              ORDER BY tenant_id, uploaded_at DESC, id DESC) c
        WHERE t.id = c.tenant_id
        """,
        """
        INSERT INTO audit_events (tenant_id, tenant_slug, action, result, at)
        SELECT t.id, t.slug, (ARRAY['tenant.create','uri_set.issue','credential.upload','credential.verify','token.create'])[1 + i % 5],
               'success', now() - (100000 - i) * interval '1 minute'
        FROM generate_series(1, 100000) AS i
        JOIN (SELECT id, slug, row_number() OVER (ORDER BY id) AS n FROM tenants) t ON t.n = 1 + (i * 7919) % 20000
        """,
        "VACUUM ANALYZE",
    ]

    /// Every node of an `EXPLAIN (FORMAT JSON)` answer.
    static func nodes(ofExplain json: String) throws -> [Node] {
        guard let top = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]],
              let plan = top.first?["Plan"] as? [String: Any]
        else { throw TestDatabaseError("unexpected EXPLAIN output: \(json)") }
        var found: [Node] = []
        func walk(_ node: [String: Any]) {
            found.append(Node(type: node["Node Type"] as? String ?? "?", relation: node["Relation Name"] as? String,
                              index: node["Index Name"] as? String))
            for child in node["Plans"] as? [[String: Any]] ?? [] { walk(child) }
        }
        walk(plan)
        return found
    }

    /// The plan of `query`, with its own binds, as provisioner_app in the all-tenant scope.
    static func plan(_ query: PostgresQuery, database: Database) async throws -> [Node] {
        let explain = PostgresQuery(unsafeSQL: "EXPLAIN (FORMAT JSON) " + query.sql, binds: query.binds)
        let json = try await database.transaction(.allTenants) { connection in
            var text = ""
            for try await row in try await connection.query(explain, logger: logger) {
                for cell in row { if var bytes = cell.bytes { text += bytes.readString(length: bytes.readableBytes) ?? "" } }
            }
            return text
        }
        return try nodes(ofExplain: json)
    }

    /// The plan of what a page function of migration 0009 runs: the text its `..._sql` function
    /// gives for these flags, prepared with the function's parameter types and EXPLAINed as
    /// `EXECUTE` with `arguments` (the first EXECUTE of a prepared statement is planned with its
    /// values, as the function's EXECUTE ... USING is), in the all-tenant scope, without parallel
    /// workers (the functions' SET clause). `textQuery` returns the text as its one column;
    /// `arguments` are SQL literals (`literal(_:)`), since EXECUTE cannot take bind parameters.
    static func planOfPageQuery(
        _ textQuery: PostgresQuery, parameterTypes: String, arguments: [String], database: Database
    ) async throws -> [Node] {
        let json = try await database.transaction(.allTenants) { connection in
            var sql = ""
            for try await text in try await connection.query(textQuery, logger: logger).decode(String.self) { sql = text }
            try await connection.query("SET LOCAL max_parallel_workers_per_gather = 0", logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "PREPARE page_plan (\(parameterTypes)) AS \(sql)"), logger: logger)
            var text = ""
            let explain = PostgresQuery(unsafeSQL: "EXPLAIN (FORMAT JSON) EXECUTE page_plan (" + arguments.joined(separator: ", ") + ")")
            for try await row in try await connection.query(explain, logger: logger) {
                for cell in row { if var bytes = cell.bytes { text += bytes.readString(length: bytes.readableBytes) ?? "" } }
            }
            try await connection.query("DEALLOCATE page_plan", logger: logger)
            return text
        }
        return try nodes(ofExplain: json)
    }

    /// A test constant as an SQL literal: NULL, or quoted.
    static func literal(_ value: (any CustomStringConvertible)?) -> String {
        guard let value else { return "NULL" }
        return "'" + value.description.replacingOccurrences(of: "'", with: "''") + "'"
    }

    static func expectNoSeqScan(_ nodes: [Node], on tables: Set<String>, _ what: String) {
        let scans = nodes.filter { $0.type == "Seq Scan" && tables.contains($0.relation ?? "") }
        #expect(scans.isEmpty, "\(what): \(nodes)")
    }

    /// Read through an index: an index scan of it, or a bitmap heap scan (fed by index scans).
    static func readThroughIndex(_ node: Node, _ table: String) -> Bool {
        node.relation == table && ["Index Scan", "Index Only Scan", "Bitmap Heap Scan"].contains(node.type)
    }

    static func expectIndex(_ nodes: [Node], on table: String, _ what: String) {
        #expect(nodes.contains { readThroughIndex($0, table) }, "\(what): no index scan of \(table): \(nodes)")
    }

    @Test func dashboardQueriesAreAnsweredFromIndexesUnderRowLevelSecurity() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url, purpose: .owner) { owner in
                try await owner.withConnection { connection in
                    for statement in Self.seedSQL {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: Self.logger)
                    }
                }
            }
            try await TestDatabase.withClient(url, purpose: .application(maximumConnections: 2)) { client in
                let database = TestDatabase.database(client, logger: Self.logger)
                // Really provisioner_app, really under RLS.
                let who = try await database.transaction(.allTenants) { connection in
                    var role = ""
                    for try await (name, superuser, bypass) in try await connection.query(
                        "SELECT current_user::text, r.rolsuper, r.rolbypassrls FROM pg_roles r WHERE r.rolname = current_user",
                        logger: Self.logger
                    ).decode((String, Bool, Bool).self) {
                        #expect(!superuser && !bypass)
                        role = name
                    }
                    return role
                }
                #expect(who == "provisioner_app")

                // The summary.
                let counts = try await Self.plan(PostgresDashboardStore.stateCountsQuery, database: database)
                Self.expectNoSeqScan(counts, on: ["tenants"], "summary by_state")
                #expect(!counts.contains { $0.relation == "tenants" }, "by_state must not count tenants: \(counts)")
                let figures = try await Self.plan(PostgresDashboardStore.credentialFiguresQuery, database: database)
                Self.expectNoSeqScan(figures, on: ["credentials"], "summary credentials")
                #expect(figures.filter { $0.relation == "credentials" }.allSatisfy { Self.readThroughIndex($0, "credentials") }, "\(figures)")
                // by_health: from the counter table, never counting tenants.
                let health = try await Self.plan(PostgresDashboardStore.healthCountsQuery, database: database)
                #expect(!health.contains { $0.relation == "tenants" || $0.relation == "credentials" }, "by_health must not count tenants: \(health)")

                // Tenant pages.
                let after = PageKey(micros: Int64(Date().timeIntervalSince1970 * 1_000_000) - 3_600_000_000 * 500, id: UUID())
                let tenantPages: [(String, TenantFilter, PageKey?)] = [
                    ("state", TenantFilter(state: .verified), nil),
                    ("state, next page", TenantFilter(state: .verified), after),
                    ("rare state", TenantFilter(state: .suspended), nil),
                    ("q", TenantFilter(query: "acme"), nil),
                    ("q, next page", TenantFilter(query: "acme"), after),
                    ("rare q", TenantFilter(query: "wonka-1999"), nil),
                    ("q with % and _", TenantFilter(query: "50%_off"), nil),
                    ("short q", TenantFilter(query: "a"), nil),
                    ("state and q", TenantFilter(state: .rejected, query: "sakura"), nil),
                    ("no filter", TenantFilter(), nil),
                    ("no filter, next page", TenantFilter(), after),
                ]
                for (what, filter, key) in tenantPages {
                    let nodes = try await Self.plan(PostgresTenantStore.listQuery(filter: filter, limit: 51, after: key), database: database)
                    Self.expectNoSeqScan(nodes, on: ["tenants", "tenant_search", "credentials"], "tenants: \(what)")
                    Self.expectIndex(nodes, on: "tenants", "tenants: \(what)")
                }

                // Audit pages.
                let auditPages: [(String, String?, String?, Int64?)] = [
                    ("tenant", "acme-10", nil, nil),
                    ("tenant, next page", "acme-10", nil, 50_000),
                    ("action", nil, "token.create", nil),
                    ("action, next page", nil, "token.create", 50_000),
                    ("tenant and action", "acme-10", "token.create", nil),
                    ("no filter", nil, nil, nil),
                    ("no filter, next page", nil, nil, 50_000),
                ]
                for (what, tenant, action, before) in auditPages {
                    // The store's statement calls audit_events_page ...
                    let call = try await Self.plan(
                        PostgresAuditStore.listQuery(tenantSlug: tenant, action: action, limit: 51, beforeID: before), database: database
                    )
                    #expect(call.contains { $0.type == "Function Scan" }, "audit: \(what): \(call)")
                    // ... which runs this query, as provisioner_app in the all-tenant scope.
                    let nodes = try await Self.planOfPageQuery(
                        "SELECT audit_events_page_sql(\(tenant != nil), \(action != nil), \(before != nil))",
                        parameterTypes: "text, text, bigint, bigint",
                        arguments: [Self.literal(tenant), Self.literal(action), Self.literal(before), "51"],
                        database: database
                    )
                    Self.expectNoSeqScan(nodes, on: ["audit_events"], "audit: \(what)")
                    Self.expectIndex(nodes, on: "audit_events", "audit: \(what)")
                }

            }

            // What tenant_search_page runs, as its owner (the migration owner): a common pattern walks
            // tenant_search_newest or the trigram indexes, a rare one the trigram indexes; with a
            // state, tenants are read through an index too. Not pinned here: a pattern and a state
            // that each keep 10-15 % of these 20,000 tenants (sakura, rejected), which the planner
            // may join through a scan of tenants, at this size about as cheap as an index and
            // chosen or not with the visibility map; at 100,000 tenants it walks tenant_search_newest.
            try await TestDatabase.withClient(url, purpose: .owner) { owner in
                let database = TestDatabase.database(owner, logger: Self.logger, role: url.username)
                let cursorAt = "now() - interval '500 hours'"
                let searches: [(String, String, TenantState?, Bool, rare: Bool)] = [
                    ("q", "acme", nil, false, rare: false),
                    ("q, next page", "acme", nil, true, rare: false),
                    ("rare q", "wonka-1999", nil, false, rare: true),
                    ("state and q", "acme", .verified, false, rare: false),
                    ("state and q, next page", "acme", .verified, true, rare: false),
                    ("rare state and q", "acme", .suspended, false, rare: false),
                    ("state and rare q", "wonka-1999", .verified, false, rare: true),
                ]
                for (what, text, state, next, rare) in searches {
                    let nodes = try await Self.planOfPageQuery(
                        "SELECT tenant_search_page_sql(\(state != nil), \(next))",
                        parameterTypes: "text, text, timestamptz, uuid, bigint",
                        arguments: [
                            Self.literal("%\(text)%"), Self.literal(state?.rawValue),
                            next ? cursorAt : "NULL", next ? Self.literal(UUID().uuidString) : "NULL", "51",
                        ],
                        database: database
                    )
                    Self.expectNoSeqScan(nodes, on: ["tenants", "tenant_search"], "search: \(what)")
                    Self.expectIndex(nodes, on: "tenant_search", "search: \(what)")
                    if state != nil { Self.expectIndex(nodes, on: "tenants", "search: \(what)") }
                    if rare {
                        #expect(nodes.contains { $0.index == "tenant_search_slug" } && nodes.contains { $0.index == "tenant_search_name" },
                                "search: \(what): \(nodes)")
                    }
                }
            }
        }
    }

    /// The by_state figures kept by the triggers match a count of the tenants, through inserts,
    /// state changes and folds of the delta rows.
    @Test func stateCountsFollowTheTenants() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url, purpose: .owner) { owner in
                try await owner.withConnection { connection in
                    try await connection.query("SELECT set_config('provisioner.all_tenants', 'on', false)", logger: Self.logger)
                    try await connection.query(
                        "INSERT INTO tenants (slug, display_name) SELECT 'count-' || i, 'Count ' || i FROM generate_series(1, 300) AS i",
                        logger: Self.logger
                    )
                    for i in 1...100 {
                        try await connection.query(
                            "UPDATE tenants SET current_uri_set_version = 1, suspended = (\(i) % 7 = 0) WHERE slug = \("count-\(i)")",
                            logger: Self.logger
                        )
                    }
                    try await connection.query("UPDATE tenants SET suspended = true WHERE slug LIKE 'count-2_'", logger: Self.logger)
                }
            }
            try await TestDatabase.withClient(url, purpose: .application(maximumConnections: 2)) { client in
                let database = TestDatabase.database(client, logger: Self.logger)
                let summary = try await PostgresDashboardStore(database: database).summary()
                let truth = try await database.transaction(.allTenants) { connection in
                    var counts: [TenantState: Int] = [:]
                    for try await (state, n) in try await connection.query("SELECT state, count(*) FROM tenants GROUP BY state", logger: Self.logger)
                        .decode((String, Int).self)
                    {
                        counts[TenantState(rawValue: state)!] = n
                    }
                    return counts
                }
                #expect(summary.tenants == 300)
                for state in TenantState.allCases {
                    #expect(summary.byState[state] == truth[state, default: 0], "\(state)")
                }
                let deltaRows = try await database.transaction(.allTenants) { connection in
                    try await RowCount.of("tenant_state_counts", on: connection)
                }
                #expect(deltaRows <= 80, "the delta rows are folded: \(deltaRows)")
            }
        }
    }

    /// A search pages through every match exactly once, newest first with ties broken by id, from
    /// the keyset cursor, with and without a state, as a plain filter of `tenants` would; a
    /// rename is searchable at once and a new tenant is found in its place.
    @Test func searchPagesFollowTheCursorNewestFirst() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url, purpose: .owner) { owner in
                try await owner.withConnection { connection in
                    try await connection.query("SELECT set_config('provisioner.all_tenants', 'on', false)", logger: Self.logger)
                    // Three tenants share each creation time; every other one matches, a few are suspended.
                    try await connection.query(
                        """
                        INSERT INTO tenants (slug, display_name, suspended, created_at)
                        SELECT CASE WHEN i % 2 = 0 THEN 'acme-' ELSE 'other-' END || i, 'Tenant ' || i, i % 5 = 0,
                               timestamptz '2025-01-01 00:00:00+00' + (i / 3) * interval '1 hour'
                        FROM generate_series(1, 60) AS i
                        """,
                        logger: Self.logger
                    )
                }
            }
            try await TestDatabase.withClient(url, purpose: .application(maximumConnections: 2)) { client in
                let database = TestDatabase.database(client, logger: Self.logger)
                let tenants = PostgresTenantStore(database: database)
                func expected(_ filter: TenantFilter) async throws -> [String] {
                    try await database.transaction(.allTenants) { connection in
                        var slugs: [String] = []
                        let rows = try await connection.query(
                            """
                            SELECT slug FROM tenants
                            WHERE (slug LIKE \("%" + (filter.query ?? "") + "%") OR lower(display_name) LIKE \("%" + (filter.query ?? "") + "%"))
                              AND (\(filter.state?.rawValue)::text IS NULL OR state = \(filter.state?.rawValue))
                            ORDER BY created_at DESC, id DESC
                            """,
                            logger: Self.logger
                        )
                        for try await slug in rows.decode(String.self) { slugs.append(slug) }
                        return slugs
                    }
                }
                func paged(_ filter: TenantFilter, limit: Int) async throws -> [String] {
                    var slugs: [String] = []
                    var after: PageKey?
                    for _ in 0..<100 {
                        let page = try await tenants.list(filter: filter, limit: limit + 1, after: after)
                        slugs += page.prefix(limit).map(\.slug)
                        guard page.count > limit else { return slugs }
                        after = page[limit - 1].pageKey
                    }
                    Issue.record("paging does not end")
                    return slugs
                }
                for filter in [TenantFilter(query: "acme"), TenantFilter(state: .awaitingURIs, query: "acme"), TenantFilter(state: .suspended, query: "acme")] {
                    let all = try await expected(filter)
                    #expect(!all.isEmpty, "\(filter)")
                    for limit in [1, 4, 50] {
                        #expect(try await paged(filter, limit: limit) == all, "\(filter), limit \(limit)")
                    }
                }
                let audit = AuditEntry(actor: .anonymous, action: "tenant.update", requestID: nil, sourceAddress: nil)
                #expect(try await tenants.update(slug: "other-7", displayName: "Now Acme Too", suspended: nil, audit: audit) != nil)
                let created = try await tenants.create(slug: try TenantSlug(validating: "acme-new"), displayName: "Fresh", audit: audit)
                let all = try await expected(TenantFilter(query: "acme"))
                #expect(all.first == created.slug && all.contains("other-7"))
                #expect(try await paged(TenantFilter(query: "acme"), limit: 4) == all)
            }
        }
    }

    /// `%`, `_` and `\` in a search are literal, on the trigram path and the short path.
    @Test func searchTreatsWildcardsLiterally() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url, purpose: .application(maximumConnections: 2)) { client in
                let database = TestDatabase.database(client, logger: Self.logger)
                let tenants = PostgresTenantStore(database: database)
                let audit = AuditEntry(actor: .anonymous, action: "tenant.create", requestID: nil, sourceAddress: nil)
                for (slug, name) in [("wild-one", "Half 50%_Off Shop"), ("wild-two", "Half 50xyOff Shop"), ("wild-three", "A_B"), ("wild-four", "AxB")] {
                    _ = try await tenants.create(slug: try TenantSlug(validating: slug), displayName: name, audit: audit)
                }
                let percent = try await tenants.list(filter: TenantFilter(query: "50%_off"), limit: 10, after: nil)
                #expect(percent.map(\.slug) == ["wild-one"])
                let underscore = try await tenants.list(filter: TenantFilter(query: "a_b"), limit: 10, after: nil)
                #expect(underscore.map(\.slug) == ["wild-three"])
                let renamed = try await tenants.update(
                    slug: "wild-four", displayName: "Renamed Zebra", suspended: nil, audit: audit
                )
                #expect(renamed != nil)
                #expect(try await tenants.list(filter: TenantFilter(query: "ZEBRA"), limit: 10, after: nil).map(\.slug) == ["wild-four"])
                #expect(try await tenants.list(filter: TenantFilter(query: "axb"), limit: 10, after: nil).isEmpty)
            }
        }
    }
}

enum RowCount {
    static func of(_ table: String, on connection: PostgresConnection) async throws -> Int {
        var total = 0
        for try await n in try await connection.query("SELECT count(*) FROM \(unescaped: table)", logger: TestDatabase.logger).decode(Int.self) {
            total = n
        }
        return total
    }
}
