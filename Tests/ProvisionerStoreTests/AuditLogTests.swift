import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Testing

/// Contract section 8: every mutation writes one audit row in the same transaction as the
/// change; audit rows cannot be changed or deleted by `provisioner_app`; no audit row holds a token.
@Suite struct AuditLogTests {
    static let logger = TestDatabase.logger

    struct Stores: Sendable {
        let database: Database
        let tenants: PostgresTenantStore
        let tokens: PostgresTokenStore
        let audit: PostgresAuditStore
        let client: PostgresClient

        /// Rows of audit_events, all tenants.
        func auditCount() async throws -> Int64 {
            try await database.transaction(.allTenants) { connection in
                var total: Int64 = -1
                for try await value in try await connection.query("SELECT count(*) FROM audit_events", logger: AuditLogTests.logger).decode(Int64.self) {
                    total = value
                }
                return total
            }
        }

        func latest() async throws -> AuditEvent? {
            try await audit.list(tenantSlug: nil, action: nil, limit: 1, beforeID: nil).first
        }
    }

    static func withStores<T: Sendable>(_ body: @Sendable (Stores) async throws -> T) async throws -> T {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url, purpose: .application(maximumConnections: 2)) { client in
                let database = Database(client: client, logger: logger)
                return try await body(Stores(
                    database: database, tenants: PostgresTenantStore(database: database), tokens: PostgresTokenStore(database: database),
                    audit: PostgresAuditStore(database: database), client: client
                ))
            }
        }
    }

    static let actor = Actor(tokenID: UUID(), role: .support, name: "desk-sato")

    static func entry(_ action: String, requestID: String? = "req-1", name: String? = nil) -> AuditEntry {
        AuditEntry(
            actor: name.map { Actor(tokenID: actor.tokenID, role: actor.role, name: $0) } ?? actor,
            action: action, requestID: requestID, sourceAddress: "127.0.0.1"
        )
    }

    /// An actor name PostgreSQL refuses (text may not hold NUL): the audit INSERT fails, after
    /// the change it records was made in the same transaction.
    static let poison = "bad\u{0}name"

    @Test func tenantCreateAndUpdateWriteOneRowEach() async throws {
        try await Self.withStores { stores in
            #expect(try await stores.auditCount() == 0)
            let acme = try await stores.tenants.create(slug: TenantSlug(validating: "acme"), displayName: "Acme", audit: Self.entry("tenant.create", requestID: "req-create"))
            #expect(try await stores.auditCount() == 1)
            let created = try #require(try await stores.latest())
            #expect(created.action == "tenant.create")
            #expect(created.result == "success")
            #expect(created.tenantSlug == nil || created.tenantSlug == "acme")
            #expect(created.actor == Self.actor)
            #expect(created.requestID == "req-create")
            // The row is the tenant's: a tenant_admin scope of acme reads it.
            let visible = try await stores.database.transaction(.tenant(acme.id)) { connection in
                var count: Int64 = 0
                for try await value in try await connection.query("SELECT count(*) FROM audit_events", logger: Self.logger).decode(Int64.self) { count = value }
                return count
            }
            #expect(visible == 1)

            _ = try await stores.tenants.update(slug: "acme", displayName: "Acme 2", suspended: nil, audit: Self.entry("tenant.update"))
            #expect(try await stores.auditCount() == 2)
            #expect(try await stores.latest()?.action == "tenant.update")
            _ = try await stores.tenants.update(slug: "acme", displayName: nil, suspended: true, audit: Self.entry("tenant.update"))
            #expect(try await stores.auditCount() == 3)

            // No tenant, no change, no row.
            #expect(try await stores.tenants.update(slug: "nosuch", displayName: "X", suspended: nil, audit: Self.entry("tenant.update")) == nil)
            #expect(try await stores.auditCount() == 3)
            // Reads write nothing.
            _ = try await stores.tenants.get(slug: "acme", scope: .allTenants)
            _ = try await stores.tenants.list(filter: TenantFilter(), limit: 10, after: nil)
            #expect(try await stores.auditCount() == 3)
        }
    }

    @Test func aFailingCreateWritesNoRow() async throws {
        try await Self.withStores { stores in
            _ = try await stores.tenants.create(slug: TenantSlug(validating: "acme"), displayName: "Acme", audit: Self.entry("tenant.create"))
            #expect(try await stores.auditCount() == 1)
            await #expect(throws: TenantStoreError.slugTaken) {
                _ = try await stores.tenants.create(slug: TenantSlug(validating: "acme"), displayName: "Other", audit: Self.entry("tenant.create"))
            }
            #expect(try await stores.auditCount() == 1)
            #expect(try await stores.tenants.get(slug: "acme", scope: .allTenants)?.displayName == "Acme")
        }
    }

    /// Same transaction: when the audit row cannot be written, the change is rolled back too.
    @Test func aChangeWhoseAuditRowFailsIsRolledBack() async throws {
        try await Self.withStores { stores in
            await #expect(throws: (any Error).self) {
                _ = try await stores.tenants.create(slug: TenantSlug(validating: "acme"), displayName: "Acme", audit: Self.entry("tenant.create", name: Self.poison))
            }
            #expect(try await stores.tenants.get(slug: "acme", scope: .allTenants) == nil, "tenant created without its audit row")
            #expect(try await stores.auditCount() == 0)

            _ = try await stores.tenants.create(slug: TenantSlug(validating: "acme"), displayName: "Acme", audit: Self.entry("tenant.create"))
            await #expect(throws: (any Error).self) {
                _ = try await stores.tenants.update(slug: "acme", displayName: "Changed", suspended: true, audit: Self.entry("tenant.update", name: Self.poison))
            }
            let acme = try #require(try await stores.tenants.get(slug: "acme", scope: .allTenants))
            #expect(acme.displayName == "Acme", "tenant changed without its audit row")
            #expect(!acme.suspended)

            await #expect(throws: (any Error).self) {
                _ = try await stores.tokens.create(
                    NewToken(role: .dashboard, name: "d", tenant: nil, expiresAt: nil), createdBy: nil, audit: Self.entry("token.create", name: Self.poison)
                )
            }
            #expect(try await stores.tokens.list(limit: 10, after: nil).isEmpty, "token created without its audit row")

            let made = try await stores.tokens.create(NewToken(role: .dashboard, name: "d", tenant: nil, expiresAt: nil), createdBy: nil, audit: Self.entry("token.create"))
            await #expect(throws: (any Error).self) {
                _ = try await stores.tokens.revoke(id: made.record.id, audit: Self.entry("token.revoke", name: Self.poison))
            }
            #expect(try await stores.tokens.list(limit: 10, after: nil).first?.revokedAt == nil, "token revoked without its audit row")
            #expect(try await stores.auditCount() == 2)
        }
    }

    @Test func tokenCreateAndRevokeWriteOneRowEach() async throws {
        try await Self.withStores { stores in
            let acme = try await stores.tenants.create(slug: TenantSlug(validating: "acme"), displayName: "Acme", audit: Self.entry("tenant.create"))
            var expected: Int64 = 1
            var made: [TokenRecord] = []
            for (role, tenant) in [(Role.support, nil), (.dashboard, nil), (.runtime, nil), (.tenantAdmin, (acme.id, acme.slug))] as [(Role, (UUID, String)?)] {
                let result = try await stores.tokens.create(
                    NewToken(role: role, name: "t-\(role.rawValue)", tenant: tenant.map { (id: $0.0, slug: $0.1) }, expiresAt: nil), createdBy: Self.actor.tokenID, audit: Self.entry("token.create")
                )
                expected += 1
                #expect(try await stores.auditCount() == expected)
                let event = try #require(try await stores.latest())
                #expect(event.action == "token.create")
                #expect(event.result == "success")
                #expect(event.target?.contains(result.record.id.uuidString.lowercased()) == true, "target \(String(describing: event.target))")
                made.append(result.record)
            }
            for record in made {
                #expect(try await stores.tokens.revoke(id: record.id, audit: Self.entry("token.revoke")) != nil)
                expected += 1
                #expect(try await stores.auditCount() == expected)
                #expect(try await stores.latest()?.action == "token.revoke")
            }
            // Unknown token: nothing revoked, no row.
            #expect(try await stores.tokens.revoke(id: UUID(), audit: Self.entry("token.revoke")) == nil)
            #expect(try await stores.auditCount() == expected)
            // Authentication (which touches last_used_at) is not an audited mutation.
            _ = try await stores.tokens.authenticate(hash: [UInt8](repeating: 0, count: 32))
            #expect(try await stores.auditCount() == expected)
        }
    }

    @Test func recordDenialWritesOneRow() async throws {
        try await Self.withStores { stores in
            var denial = Self.entry("tenant.create", requestID: "req-denied")
            denial.result = "forbidden"
            denial.tenantSlug = "acme"
            try await stores.audit.recordDenial(denial)
            #expect(try await stores.auditCount() == 1)
            let event = try #require(try await stores.latest())
            #expect(event.result == "forbidden")
            #expect(event.action == "tenant.create")
            #expect(event.tenantSlug == "acme")
            #expect(event.requestID == "req-denied")
            #expect(event.actor == Self.actor)

            var anonymous = AuditEntry(actor: .anonymous, action: "tenant.list", result: "token_revoked", requestID: nil, sourceAddress: nil)
            anonymous.target = nil
            try await stores.audit.recordDenial(anonymous)
            #expect(try await stores.auditCount() == 2)
            #expect(try await stores.latest()?.actor == .anonymous)
        }
    }

    @Test func theApplicationCannotChangeOrDeleteAuditRows() async throws {
        try await Self.withStores { stores in
            _ = try await stores.tenants.create(slug: TenantSlug(validating: "acme"), displayName: "Acme", audit: Self.entry("tenant.create"))
            let statements = [
                "UPDATE audit_events SET result = 'success'",
                "UPDATE audit_events SET actor_name = 'nobody' WHERE id = (SELECT min(id) FROM audit_events)",
                "DELETE FROM audit_events",
                "TRUNCATE audit_events",
            ]
            for statement in statements {
                // Plain, and inside a scoped transaction of the service (where rows are visible).
                do {
                    try await stores.client.query(PostgresQuery(unsafeSQL: statement), logger: Self.logger)
                    Issue.record("\(statement) succeeded")
                } catch let error as PSQLError {
                    #expect(error.sqlState == "42501", "\(statement): \(String(reflecting: error))")
                    #expect(error.serverInfo?[.sqlState] == "42501")
                }
                do {
                    try await stores.database.transaction(.allTenants) { connection in
                        _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: Self.logger)
                    }
                    Issue.record("\(statement) succeeded in a transaction")
                } catch let error as PSQLError {
                    #expect(error.sqlState == "42501", "\(statement): \(String(reflecting: error))")
                }
            }
            #expect(try await stores.auditCount() == 1)
            #expect(try await stores.latest()?.result == "success")
            #expect(try await stores.latest()?.actor.name == "desk-sato")
        }
    }

    /// No column of any audit row holds a token, its SHA-256 (hex or base64), nor the random part.
    @Test func noAuditRowContainsAToken() async throws {
        try await Self.withStores { stores in
            let acme = try await stores.tenants.create(slug: TenantSlug(validating: "acme"), displayName: "Acme", audit: Self.entry("tenant.create"))
            var secrets: [String] = []
            for (role, tenant) in [(Role.support, nil), (.dashboard, nil), (.runtime, nil), (.tenantAdmin, (acme.id, acme.slug))] as [(Role, (UUID, String)?)] {
                let made = try await stores.tokens.create(
                    NewToken(role: role, name: "t-\(role.rawValue)", tenant: tenant.map { (id: $0.0, slug: $0.1) }, expiresAt: nil), createdBy: nil, audit: Self.entry("token.create")
                )
                _ = try await stores.tokens.authenticate(hash: BearerToken.hash(made.token))
                _ = try await stores.tokens.revoke(id: made.record.id, audit: Self.entry("token.revoke"))
                let hash = BearerToken.hash(made.token)
                let hex = hash.map { String(format: "%02x", $0) }.joined()
                secrets += [
                    made.token, String(made.token.dropFirst(BearerToken.prefix.count)), hex, hex.uppercased(),
                    Data(hash).base64EncodedString(),
                ]
            }
            let rows = try await stores.database.transaction(.allTenants) { connection in
                var rows: [String] = []
                for try await row in try await connection.query("SELECT row_to_json(a)::text FROM audit_events a", logger: Self.logger).decode(String.self) {
                    rows.append(row)
                }
                return rows
            }
            #expect(rows.count == 9)
            for row in rows {
                for secret in secrets {
                    #expect(!row.contains(secret), "audit row holds a token or its hash: \(row)")
                }
                // bytea would show as \x...: no hash-sized hex blob in any column.
                #expect(row.range(of: "[0-9a-fA-F]{64}", options: .regularExpression) == nil, "\(row)")
            }
        }
    }
}
