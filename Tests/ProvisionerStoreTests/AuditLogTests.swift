import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Testing

/// Every mutation writes one audit row in the same transaction as the
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
                // 40 concurrent writes through two connections: in a full parallel run the last
                // one has waited longer than 30 s for the 39 before it (`TestDatabase.deadline`).
                let database = TestDatabase.database(client, logger: logger)
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
            // An aggregated failed sign-in row too: only record_auth_failure may add to its count.
            try await stores.audit.recordFailedSignIns(sourceAddress: "192.0.2.7", requestID: "req-f", attempts: 1, attemptedAt: Date())
            let statements = [
                "UPDATE audit_events SET result = 'success'",
                "UPDATE audit_events SET count = 1000 WHERE action = 'auth.failed'",
                "INSERT INTO audit_events (action, result, source_address, count, attempts_minute) VALUES ('auth.failed', 'x', '192.0.2.7', 1, date_trunc('minute', now())) ON CONFLICT (coalesce(source_address, ''), attempts_minute) WHERE action = 'auth.failed' DO UPDATE SET count = 1000",
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
            #expect(try await stores.auditCount() == 2)
            let events = try await stores.audit.list(tenantSlug: nil, action: nil, limit: 10, beforeID: nil)
            #expect(events.map(\.result) == ["unauthenticated", "success"])
            #expect(events.map(\.count) == [1, 1])
            #expect(events.last?.actor.name == "desk-sato")
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

    /// Failed sign-ins are one `auth.failed` row per client address and
    /// minute, however many and however concurrent; its `count` is their number.
    /// The in-memory tail of a minute may reach the database before that minute's first
    /// request does (its write was slow): the row still ends with that request's id.
    @Test func aFailedSignInRowTakesTheFirstRequestIDItIsGiven() async throws {
        try await Self.withStores { stores in
            let at = Date()
            try await stores.audit.recordFailedSignIns(sourceAddress: "192.0.2.9", requestID: nil, attempts: 7, attemptedAt: at)
            try await stores.audit.recordFailedSignIns(sourceAddress: "192.0.2.9", requestID: "req-first", attempts: 1, attemptedAt: at)
            try await stores.audit.recordFailedSignIns(sourceAddress: "192.0.2.9", requestID: "req-later", attempts: 1, attemptedAt: at)
            let events = try await stores.audit.list(tenantSlug: nil, action: "auth.failed", limit: 10, beforeID: nil)
            #expect(events.map(\.requestID) == ["req-first"])
            #expect(events.map(\.count) == [9])
        }
    }

    @Test func failedSignInsShareOneRowPerAddressAndMinute() async throws {
        try await Self.withStores { stores in
            let at = Date()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<40 {
                    group.addTask {
                        try await stores.audit.recordFailedSignIns(
                            sourceAddress: index % 4 == 0 ? "2001:db8::1" : "192.0.2.7", requestID: "req-\(index)", attempts: 1, attemptedAt: at
                        )
                    }
                }
                try await group.waitForAll()
            }
            // A batch counted in memory adds to the same row; no address is a key of its own.
            #expect(try await stores.audit.recordFailedSignIns(sourceAddress: "192.0.2.7", requestID: nil, attempts: 5, attemptedAt: at) == 35)
            try await stores.audit.recordFailedSignIns(sourceAddress: nil, requestID: "req-none", attempts: 2, attemptedAt: at)
            try await stores.audit.recordFailedSignIns(sourceAddress: nil, requestID: "req-none-2", attempts: 1, attemptedAt: at)
            // Another minute is another row; a time far off is the database's current minute.
            try await stores.audit.recordFailedSignIns(sourceAddress: "192.0.2.7", requestID: "req-old", attempts: 1, attemptedAt: at.addingTimeInterval(-120))
            try await stores.audit.recordFailedSignIns(sourceAddress: "198.51.100.1", requestID: "req-far", attempts: 1, attemptedAt: at.addingTimeInterval(-86_400))

            let events = try await stores.audit.list(tenantSlug: nil, action: "auth.failed", limit: 50, beforeID: nil)
            #expect(events.count == 5, "\(events)")
            let total = events.map(\.count).reduce(0, +)
            #expect(total == 50, "40 one by one, a batch of 5, 3 without an address, 2 other rows")
            for event in events {
                #expect(event.actor == .anonymous)
                #expect(event.tenantSlug == nil && event.target == nil)
                #expect(event.result == "unauthenticated")
            }
            let rows = try await stores.database.transaction(.allTenants) { connection in
                var rows: [String: Int] = [:]
                for try await (address, minute, count) in try await connection.query(
                    "SELECT coalesce(source_address, '-'), to_char(attempts_minute, 'HH24:MI'), count FROM audit_events WHERE action = 'auth.failed'",
                    logger: Self.logger
                ).decode((String, String, Int32).self) {
                    rows["\(address)@\(minute)", default: 0] += Int(count)
                }
                return rows
            }
            #expect(rows.count == 5, "\(rows)")
            #expect(rows.filter { $0.key.hasPrefix("2001:db8::1@") }.map(\.value) == [10])
            #expect(rows.filter { $0.key.hasPrefix("-@") }.map(\.value) == [3])
            #expect(rows.filter { $0.key.hasPrefix("192.0.2.7@") }.map(\.value).sorted() == [1, 35])
            // The first request of the minute names the row.
            let none = try #require(events.first { $0.requestID == "req-none" })
            #expect(none.count == 3)
        }
    }

    @Test func tokenCascadeRevokesOffspringWithOneRowEach() async throws {
        try await Self.withStores { stores in
            func make(_ name: String, by parent: UUID?) async throws -> TokenRecord {
                try await stores.tokens.create(
                    NewToken(role: .support, name: name, tenant: nil, expiresAt: nil), createdBy: parent, audit: Self.entry("token.create")
                ).record
            }
            let root = try await make("root", by: nil)
            let child = try await make("child", by: root.id)
            let revokedEarlier = try await make("revoked-earlier", by: child.id)
            let grandchild = try await make("grandchild", by: revokedEarlier.id)
            let sibling = try await make("sibling", by: nil)
            #expect(child.createdBy == root.id)
            #expect(root.createdBy == nil)
            _ = try await stores.tokens.revoke(id: revokedEarlier.id, audit: Self.entry("token.revoke"))
            let before = try await stores.auditCount()

            var entry = Self.entry("token.revoke", requestID: "req-cascade")
            entry.target = "token:\(root.id.uuidString.lowercased())"
            let revocation = try #require(try await stores.tokens.revoke(id: root.id, cascade: true, audit: entry))
            #expect(revocation.record.id == root.id)
            #expect(Set(revocation.offspring) == [child.id, grandchild.id], "revoked earlier is walked through, not revoked again")
            #expect(try await stores.auditCount() == before + 3)
            let rows = try await stores.audit.list(tenantSlug: nil, action: "token.revoke", limit: 3, beforeID: nil)
            #expect(Set(rows.compactMap(\.target)) == Set([root, child, grandchild].map { "token:\($0.id.uuidString.lowercased())" }))
            #expect(rows.allSatisfy { $0.requestID == "req-cascade" && $0.result == "success" })

            let listed = try await stores.tokens.list(limit: 10, after: nil)
            for token in [root, child, grandchild, revokedEarlier] {
                #expect(listed.first { $0.id == token.id }?.revokedAt != nil, "\(token.name)")
            }
            #expect(listed.first { $0.id == sibling.id }?.revokedAt == nil)
            // Without a cascade only the one token; unknown ids are nil either way.
            #expect(try await stores.tokens.revoke(id: UUID(), cascade: true, audit: Self.entry("token.revoke")) == nil)
        }
    }
}
