import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Testing

/// Every query runs as `provisioner_app`, which is neither superuser nor
/// BYPASSRLS nor the owner of any table, and every tenant-owned table has row-level security
/// ENABLEd and FORCEd, so that without a scope such a table shows no rows.
@Suite struct RowLevelSecurityTests {
    static let logger = TestDatabase.logger

    /// The tables whose migrations ENABLE and FORCE row-level security, read from `migrations/*.sql`
    /// so that tables added later are covered without editing this test.
    static func rowLevelSecurityTables() throws -> (enabled: Set<String>, forced: Set<String>) {
        let directory = TestDatabase.migrationsDirectory
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".sql") }.sorted()
        var enabled: Set<String> = []
        var forced: Set<String> = []
        let pattern = try Regex(#"(?i)ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(?:public\.)?"?([a-z_][a-z0-9_]*)"?\s+(ENABLE|FORCE)\s+ROW\s+LEVEL\s+SECURITY"#)
        for file in files {
            let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            // Comments may mention the words; only statements count.
            let statements = text.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("--") }.joined(separator: "\n")
            for match in statements.matches(of: pattern) {
                let table = String(match.output[1].substring ?? "").lowercased()
                let kind = String(match.output[2].substring ?? "").uppercased()
                if kind == "ENABLE" { enabled.insert(table) } else { forced.insert(table) }
            }
        }
        return (enabled, forced)
    }

    static func audit(_ action: String) -> AuditEntry {
        AuditEntry(actor: Actor(tokenID: nil, role: nil, name: "rls-test"), action: action, requestID: nil, sourceAddress: nil)
    }

    static func count(_ table: String, on connection: PostgresConnection) async throws -> Int64 {
        let rows = try await connection.query("SELECT count(*) FROM \(unescaped: table)", logger: logger)
        var total: Int64 = -1
        for try await value in rows.decode(Int64.self) { total = value }
        return total
    }

    static func count(_ table: String, on client: PostgresClient) async throws -> Int64 {
        let rows = try await client.query("SELECT count(*) FROM \(unescaped: table)", logger: logger)
        var total: Int64 = -1
        for try await value in rows.decode(Int64.self) { total = value }
        return total
    }

    /// Tenants acme, globex and initech, and a token of each role (so audit_events has rows of
    /// several tenants and of none).
    static func seed(_ client: PostgresClient) async throws -> [TenantRecord] {
        let database = TestDatabase.database(client, logger: logger)
        let tenants = PostgresTenantStore(database: database)
        let tokens = PostgresTokenStore(database: database)
        var made: [TenantRecord] = []
        for (slug, name) in [("acme", "Acme 株式会社"), ("globex", "Globex"), ("initech", "Initech")] {
            made.append(try await tenants.create(slug: TenantSlug(validating: slug), displayName: name, audit: audit("tenant.create")))
        }
        _ = try await tenants.update(slug: "globex", displayName: nil, suspended: true, audit: audit("tenant.update"))
        _ = try await tokens.create(NewToken(role: .support, name: "s", tenant: nil, expiresAt: nil), createdBy: nil, audit: audit("token.create"))
        _ = try await tokens.create(
            NewToken(role: .tenantAdmin, name: "a", tenant: (made[0].id, made[0].slug), expiresAt: nil), createdBy: nil, audit: audit("token.create")
        )
        return made
    }

    @Test func migrationsEnableAndForceRowLevelSecurityOnTenantOwnedTables() throws {
        let (enabled, forced) = try Self.rowLevelSecurityTables()
        #expect(enabled.isSuperset(of: ["tenants", "audit_events"]), "\(enabled)")
        #expect(enabled == forced, "ENABLEd but not FORCEd: \(enabled.subtracting(forced)); FORCEd but not ENABLEd: \(forced.subtracting(enabled))")
    }

    /// (a) As provisioner_app with no scope set, outside `Database.transaction`: no rows, though
    /// there are rows.
    @Test func withoutAScopeTenantOwnedTablesShowNoRows() async throws {
        let tables = try Self.rowLevelSecurityTables().enabled
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url, purpose: .application(maximumConnections: 2)) { client in
                _ = try await Self.seed(client)
                let database = TestDatabase.database(client, logger: Self.logger)
                for table in tables.sorted() {
                    let visible = try await database.transaction(.allTenants) { try await Self.count(table, on: $0) }
                    if ["tenants", "audit_events"].contains(table) {
                        #expect(visible > 0, "\(table) should have rows to hide")
                    }
                    // Plain statements on the pool, and on one connection without a transaction.
                    #expect(try await Self.count(table, on: client) == 0, "\(table): rows visible without a scope")
                    let onConnection = try await client.withConnection { try await Self.count(table, on: $0) }
                    #expect(onConnection == 0, "\(table): rows visible without a scope")
                    // A scope set inside a transaction does not leak onto the next use of the connection.
                    #expect(try await Self.count(table, on: client) == 0, "\(table): scope leaked after a transaction")
                }
                // Explicit "off"/empty settings are no scope either.
                let off = try await client.withConnection { connection in
                    try await connection.query("SELECT set_config('provisioner.all_tenants', 'off', false), set_config('provisioner.tenant_id', '', false)", logger: Self.logger)
                    let count = try await Self.count("tenants", on: connection)
                    try await connection.query("RESET provisioner.all_tenants", logger: Self.logger)
                    try await connection.query("RESET provisioner.tenant_id", logger: Self.logger)
                    return count
                }
                #expect(off == 0)
                // Writing without a scope reaches nothing either.
                let rows = try await client.query("UPDATE tenants SET display_name = 'hijacked' RETURNING id", logger: Self.logger)
                var changed = 0
                for try await _ in rows { changed += 1 }
                #expect(changed == 0)
            }
        }
    }

    /// (b) `.tenant(id)` sees that tenant only; `.allTenants` sees all.
    @Test func scopesSeeTheirTenantOrAll() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url, purpose: .application(maximumConnections: 2)) { client in
                let made = try await Self.seed(client)
                let database = TestDatabase.database(client, logger: Self.logger)
                let store = PostgresTenantStore(database: database)
                for tenant in made {
                    let (slugs, auditTenants) = try await database.transaction(.tenant(tenant.id)) { connection in
                        var slugs: [String] = []
                        for try await slug in try await connection.query("SELECT slug FROM tenants", logger: Self.logger).decode(String.self) {
                            slugs.append(slug)
                        }
                        var auditTenants: [UUID?] = []
                        for try await id in try await connection.query("SELECT tenant_id FROM audit_events", logger: Self.logger).decode(UUID?.self) {
                            auditTenants.append(id)
                        }
                        return (slugs, auditTenants)
                    }
                    #expect(slugs == [tenant.slug])
                    #expect(!auditTenants.isEmpty)
                    #expect(auditTenants.allSatisfy { $0 == tenant.id }, "\(tenant.slug) sees audit rows of others: \(auditTenants)")
                    // Through the store: its own by slug, the others are invisible.
                    #expect(try await store.get(slug: tenant.slug, scope: .tenant(tenant.id))?.id == tenant.id)
                    for other in made where other.id != tenant.id {
                        #expect(try await store.get(slug: other.slug, scope: .tenant(tenant.id)) == nil)
                    }
                }
                // A tenant scope cannot change another tenant.
                let acme = made[0]
                let changed = try await database.transaction(.tenant(acme.id)) { connection in
                    var changed = 0
                    for try await _ in try await connection.query("UPDATE tenants SET display_name = 'x' WHERE slug = 'globex' RETURNING id", logger: Self.logger) {
                        changed += 1
                    }
                    return changed
                }
                #expect(changed == 0)
                #expect(try await store.get(slug: "globex", scope: .allTenants)?.displayName == "Globex")
                // A scope of a tenant that does not exist sees nothing.
                let none = try await database.transaction(.tenant(UUID())) { try await Self.count("tenants", on: $0) }
                #expect(none == 0)

                let all = try await database.transaction(.allTenants) { connection in
                    (try await Self.count("tenants", on: connection), try await Self.count("audit_events", on: connection))
                }
                #expect(all.0 == 3)
                #expect(all.1 == 6, "3 tenant creates, 1 update, 2 token creates; got \(all.1)")
                #expect(Set(try await store.list(filter: TenantFilter(), limit: 10, after: nil).map(\.slug)) == ["acme", "globex", "initech"])
            }
        }
    }

    /// (c) The catalog, read as the owner: ENABLE and FORCE on every table the migrations name,
    /// and no other table has row-level security half set.
    @Test func catalogShowsRowLevelSecurityEnabledAndForced() async throws {
        let tables = try Self.rowLevelSecurityTables().enabled
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url, purpose: .owner) { client in
                let rows = try await client.query(
                    """
                    SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
                    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
                    """,
                    logger: Self.logger
                )
                var catalog: [String: (Bool, Bool)] = [:]
                for try await (name, enabled, forced) in rows.decode((String, Bool, Bool).self) {
                    catalog[name] = (enabled, forced)
                }
                for table in tables {
                    let flags = try #require(catalog[table], "\(table) is not in the catalog")
                    #expect(flags.0, "\(table): relrowsecurity is false")
                    #expect(flags.1, "\(table): relforcerowsecurity is false")
                }
                for (table, flags) in catalog where flags.0 || flags.1 {
                    #expect(flags.0 && flags.1, "\(table): row-level security only half set \(flags)")
                }
                // Every RLS table has at least one policy (else it would be empty for everyone).
                let policies = try await client.query("SELECT DISTINCT tablename FROM pg_policies WHERE schemaname = 'public'", logger: Self.logger)
                var withPolicy: Set<String> = []
                for try await name in policies.decode(String.self) { withPolicy.insert(name) }
                #expect(tables.isSubset(of: withPolicy), "no policy on \(tables.subtracting(withPolicy))")
            }
        }
    }

    /// Tables that carry a `tenant_id` hold one tenant's data and must be behind row-level
    /// security, `tokens` included (authentication reads it through `authenticate_token`).
    @Test func everyTableWithATenantColumnHasRowLevelSecurity() async throws {
        let exceptions: Set<String> = []
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url, purpose: .owner) { client in
                let rows = try await client.query(
                    """
                    SELECT DISTINCT c.relname, c.relrowsecurity AND c.relforcerowsecurity
                    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attname = 'tenant_id' AND NOT a.attisdropped
                    """,
                    logger: Self.logger
                )
                var found: [String: Bool] = [:]
                for try await (name, protected) in rows.decode((String, Bool).self) { found[name] = protected }
                #expect(found["audit_events"] == true)
                for (table, protected) in found where !exceptions.contains(table) {
                    #expect(protected, "\(table) has tenant_id but no ENABLEd and FORCEd row-level security")
                }
            }
        }
    }

    /// (d) The service's role: provisioner_app, not superuser, not BYPASSRLS, NOLOGIN, owns no
    /// table and is a member of no role.
    @Test func theServiceRunsAsAnUnprivilegedRole() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url, purpose: .application(maximumConnections: 2)) { client in
                var users: [String] = []
                for try await user in try await client.query("SELECT current_user::text", logger: Self.logger).decode(String.self) {
                    users.append(user)
                }
                #expect(users == ["provisioner_app"])
                // Also inside the transactions of the service.
                let inside = try await TestDatabase.database(client, logger: Self.logger).transaction(.allTenants) { connection in
                    var users: [String] = []
                    for try await user in try await connection.query("SELECT current_user::text", logger: Self.logger).decode(String.self) {
                        users.append(user)
                    }
                    return users
                }
                #expect(inside == ["provisioner_app"])
            }
            try await TestDatabase.withClient(url, purpose: .owner) { client in
                let rows = try await client.query(
                    "SELECT rolsuper, rolbypassrls, rolcanlogin, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = 'provisioner_app'",
                    logger: Self.logger
                )
                var found = false
                for try await (superuser, bypass, login, createRole, createDB) in rows.decode((Bool, Bool, Bool, Bool, Bool).self) {
                    found = true
                    #expect(!superuser, "provisioner_app is superuser")
                    #expect(!bypass, "provisioner_app has BYPASSRLS")
                    #expect(!login, "provisioner_app can log in")
                    #expect(!createRole)
                    #expect(!createDB)
                }
                #expect(found)
                let owned = try await client.query(
                    """
                    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE c.relowner = 'provisioner_app'::regrole AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                    """,
                    logger: Self.logger
                )
                var names: [String] = []
                for try await name in owned.decode(String.self) { names.append(name) }
                #expect(names.isEmpty, "provisioner_app owns \(names)")
                let schemas = try await client.query("SELECT nspname FROM pg_namespace WHERE nspowner = 'provisioner_app'::regrole", logger: Self.logger)
                var schemaNames: [String] = []
                for try await name in schemas.decode(String.self) { schemaNames.append(name) }
                #expect(schemaNames.isEmpty, "provisioner_app owns schemas \(schemaNames)")
                let memberships = try await client.query(
                    "SELECT roleid::regrole::text FROM pg_auth_members WHERE member = 'provisioner_app'::regrole", logger: Self.logger
                )
                var granted: [String] = []
                for try await name in memberships.decode(String.self) { granted.append(name) }
                #expect(granted.isEmpty, "provisioner_app is a member of \(granted)")
                // And it may not create anything in the schema.
                let canCreate = try await client.query("SELECT has_schema_privilege('provisioner_app', 'public', 'CREATE')", logger: Self.logger)
                for try await value in canCreate.decode(Bool.self) { #expect(!value) }
            }
            try await TestDatabase.withClient(url, purpose: .application(maximumConnections: 1)) { client in
                do {
                    try await client.query("CREATE TABLE sneaky (id int)", logger: Self.logger)
                    Issue.record("provisioner_app created a table")
                } catch let error as PSQLError {
                    #expect(error.sqlState == "42501", "\(String(reflecting: error))")
                }
            }
        }
    }

    /// (e) What RESET ROLE and SET ROLE do on a connection of the service. Observed on
    /// PostgreSQL: the role is a start-up parameter, so it is the session default and
    /// `RESET ROLE` leaves provisioner_app. `SET ROLE NONE` and `SET ROLE <login role>` are
    /// checked against the *session* user (the role of DATABASE_URL), not against
    /// provisioner_app, so they succeed and leave provisioner_app (to the login role) whenever
    /// the login role may take that role: always for NONE and for itself. The guarantee thus
    /// rests on the service never issuing SET ROLE (see `noSourceChangesTheRole`), not on the
    /// database refusing it. This test pins that behaviour so that a change to it is noticed.
    @Test func resetRoleKeepsTheApplicationRoleAndSetRoleIsUpToTheSessionUser() async throws {
        let loginRole = try TestDatabase.serverURL().username
        try await TestDatabase.withFreshDatabase { url in
            // A client of its own: a connection whose role was changed must not go back to a pool
            // that other tests use.
            try await TestDatabase.withClient(url, purpose: .application(maximumConnections: 1)) { client in
                try await client.withConnection { connection in
                    func currentUser() async throws -> String {
                        var user = ""
                        for try await value in try await connection.query("SELECT current_user::text", logger: Self.logger).decode(String.self) {
                            user = value
                        }
                        return user
                    }
                    #expect(try await currentUser() == "provisioner_app")
                    try await connection.query("RESET ROLE", logger: Self.logger)
                    #expect(try await currentUser() == "provisioner_app", "RESET ROLE left provisioner_app")
                    try await connection.query("SET ROLE provisioner_app", logger: Self.logger)
                    #expect(try await currentUser() == "provisioner_app")

                    // SET ROLE to the login role: allowed because the session user is that role.
                    do {
                        try await connection.query("SET ROLE \(unescaped: "\"" + loginRole.replacingOccurrences(of: "\"", with: "\"\"") + "\"")", logger: Self.logger)
                        #expect(try await currentUser() == loginRole)
                    } catch let error as PSQLError {
                        #expect(error.sqlState == "42501", "\(String(reflecting: error))")
                        #expect(try await currentUser() == "provisioner_app")
                    }
                    try await connection.query("RESET ROLE", logger: Self.logger)
                    #expect(try await currentUser() == "provisioner_app", "RESET ROLE goes back to the start-up role")

                    // A role the session user is not a member of is refused (unless it is superuser).
                    var isSuperuser = false
                    for try await value in try await connection.query(
                        "SELECT rolsuper FROM pg_roles WHERE rolname = session_user", logger: Self.logger
                    ).decode(Bool.self) { isSuperuser = value }
                    if !isSuperuser {
                        do {
                            try await connection.query("SET ROLE pg_read_all_data", logger: Self.logger)
                            Issue.record("SET ROLE to a role the session user does not hold succeeded")
                        } catch let error as PSQLError {
                            #expect(error.sqlState == "42501")
                        }
                    }
                    try await connection.query("RESET ROLE", logger: Self.logger)
                    #expect(try await currentUser() == "provisioner_app")
                }
            }
        }
    }

    /// The role is taken in one place, the SQL function `take_role_and_scope` (migration 0025),
    /// which `Database.takeRoleAndScope` calls first in every transaction and a one-call unit
    /// calls first in its function: no SQL of `Sources/` issues SET ROLE, RESET ROLE,
    /// SET SESSION AUTHORIZATION or set_config('role', ...), and no migration but that one does.
    @Test func noSourceChangesTheRole() throws {
        let sources = try SourceLines()
        var offenders: [String] = []
        for line in sources.lines {
            let upper = line.text.uppercased()
            if upper.contains("SET ROLE") || upper.contains("RESET ROLE") || upper.contains("SESSION AUTHORIZATION")
                || upper.contains("SET_CONFIG('ROLE'") || upper.contains("SET LOCAL ROLE") {
                offenders.append("\(line.file): \(line.text)")
            }
        }
        #expect(sources.filesScanned > 10)
        #expect(offenders.isEmpty, "\(offenders)")

        let migrations = try FileManager.default.contentsOfDirectory(atPath: TestDatabase.migrationsDirectory).filter { $0.hasSuffix(".sql") }
        var setters: [String] = []
        for name in migrations {
            let text = try String(contentsOfFile: TestDatabase.migrationsDirectory + "/" + name, encoding: .utf8)
            for line in text.split(separator: "\n") where !line.trimmingCharacters(in: .whitespaces).hasPrefix("--") {
                let upper = line.uppercased()
                if upper.contains("SET ROLE") || upper.contains("SET_CONFIG('ROLE'") || upper.contains("SESSION AUTHORIZATION") {
                    setters.append("\(name): \(line.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        #expect(migrations.count > 20)
        #expect(setters == ["0025_one_call_units.sql: SELECT set_config('role', role_name, true),"], "\(setters)")
    }
}
