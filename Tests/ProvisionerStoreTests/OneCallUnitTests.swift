import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Testing

/// A unit of work that is one function call (`Database.call`): the function takes the role and
/// scope itself (`take_role_and_scope`, migration 0025), row-level security binds what it does,
/// and nothing of it is left on the connection.
@Suite struct OneCallUnitTests {
    static let logger = TestDatabase.logger

    /// A one-call unit as the service's own are written, reporting what it runs as.
    static let sessionProbe: PostgresQuery = """
        CREATE FUNCTION session_in_call(role_name text, all_tenants text, scope_tenant_id text)
        RETURNS TABLE (role text, all_tenants_setting text, tenant_setting text)
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM take_role_and_scope(role_name, all_tenants, scope_tenant_id);
            RETURN QUERY SELECT current_user::text, current_setting('provisioner.all_tenants', true),
                                current_setting('provisioner.tenant_id', true);
        END
        $$
        """

    @Test func aCallRunsInItsScopeAndLeavesNothingOnItsConnection() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url, purpose: .owner) { owner in
                try await owner.query(Self.sessionProbe, logger: Self.logger)
            }
            // One connection, logged in as the URL's role with no session settings, so the
            // second query surely runs where the call ran.
            let client = DatabaseClientFactory.makeClient(url: url, purpose: .application(maximumConnections: 1), logger: Self.logger)
            try await withThrowingTaskGroup(of: Void.self) { (group: inout ThrowingTaskGroup<Void, any Error>) async throws -> Void in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                let database = TestDatabase.database(client, logger: Self.logger)
                let tenant = UUID()
                for (scope, allTenants, tenantID) in [(AccessScope.tenant(tenant), "off", tenant.uuidString.lowercased()), (.allTenants, "on", "")] {
                    let rows = try await database.call(scope) { "SELECT * FROM session_in_call(\($0))" }
                    let inside = try rows.decode((String, String, String).self)
                    #expect(inside.count == 1)
                    #expect(inside.first?.0 == DatabaseClientFactory.applicationRole)
                    #expect(inside.first?.1 == allTenants)
                    #expect(inside.first?.2 == tenantID)
                    let after = try await client.withConnection { try await SessionStateTests.session(on: $0) }
                    #expect(after.role == url.username, "the connection kept the role: \(after)")
                    #expect(after.allTenants == "", "the connection kept the scope: \(after)")
                    #expect(after.tenantID == "", "the connection kept the tenant: \(after)")
                }
            }
        }
    }

    /// `credential_record` (every GET of a credential) as a tenant scope: its own tenant's
    /// upload, never another's, though the caller names the other tenant's ids exactly.
    @Test func aTenantScopedCallSeesItsOwnTenantOnly() async throws {
        try await TestDatabase.withFreshDatabase { url in
            let (acme, globex) = (UUID(), UUID())
            let (acmeUpload, globexUpload) = (UUID(), UUID())
            try await TestDatabase.withClient(url, purpose: .owner) { owner in
                try await owner.query(
                    """
                    INSERT INTO tenants (id, slug, display_name) VALUES (\(acme), 'acme', 'Acme'), (\(globex), 'globex', 'Globex')
                    """,
                    logger: Self.logger
                )
                try await owner.query(
                    """
                    INSERT INTO credentials (id, tenant_id, uploaded_by, sha256, sealed_key_id, sealed_file)
                    VALUES (\(acmeUpload), \(acme), 'one-call', repeat('0', 64), 'k', '\\x00'::bytea),
                           (\(globexUpload), \(globex), 'one-call', repeat('1', 64), 'k', '\\x00'::bytea)
                    """,
                    logger: Self.logger
                )
            }
            let client = DatabaseClientFactory.makeClient(url: url, purpose: .application(maximumConnections: 2), logger: Self.logger)
            try await withThrowingTaskGroup(of: Void.self) { (group: inout ThrowingTaskGroup<Void, any Error>) async throws -> Void in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                let store = PostgresCredentialStore(database: TestDatabase.database(client, logger: Self.logger))
                #expect(try await store.get(tenantID: acme, id: acmeUpload, scope: .tenant(acme))?.tenantSlug == "acme")
                #expect(try await store.get(tenantID: globex, id: globexUpload, scope: .tenant(acme)) == nil)
                #expect(try await store.get(tenantID: globex, id: globexUpload, scope: .tenant(UUID())) == nil)
                #expect(try await store.get(tenantID: globex, id: globexUpload, scope: .allTenants)?.sha256 == String(repeating: "1", count: 64))
                // The tenant and the upload must match, whatever the scope.
                #expect(try await store.get(tenantID: acme, id: globexUpload, scope: .allTenants) == nil)
            }
        }
    }

    /// Every function that is a unit of work of its own (its first argument `role_name`) takes
    /// the role and scope as its first statement, with the arguments it was given: a function
    /// that forgot would run as the login role, which for a NOINHERIT login is no privilege at
    /// all, and for an owner no row-level security.
    @Test func everyOneCallUnitTakesTheRoleFirst() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url, purpose: .owner) { owner in
                let rows = try await owner.query(
                    """
                    SELECT p.proname::text, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                    WHERE n.nspname = 'public' AND p.proargnames[1] = 'role_name' AND p.proname <> 'take_role_and_scope'
                    ORDER BY 1
                    """,
                    logger: Self.logger
                ).collect().decode((String, String).self)
                let names = Set(rows.map(\.0))
                #expect(names.isSuperset(of: ["claim_verifications", "complete_verifications", "credential_record"]), "\(names)")
                for (name, source) in rows {
                    // The body's first statement: after the first BEGIN (declarations come before it).
                    let words = source.split(whereSeparator: \.isWhitespace)
                    let body = words.firstIndex(of: "BEGIN").map { words[($0 + 1)...].joined(separator: " ") } ?? ""
                    let first = body.split(separator: ";").first.map(String.init)
                    #expect(first == "PERFORM take_role_and_scope(role_name, all_tenants, scope_tenant_id)", "\(name) starts with \(first ?? "nothing")")
                }
            }
        }
    }
}
