import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain
import ProvisionerTestSupport
import Testing
@testable import ProvisionerStore

/// The hot read's caches against a real PostgreSQL: a change made by another process (its own
/// client and uncached stores, as another replica would) reaches them by NOTIFY, well before
/// any time to live; and they stop serving while their listener is disconnected.
@Suite struct CacheInvalidationTests {
    static let logger = TestDatabase.logger
    static let audit = AuditEntry(actor: Actor(tokenID: nil, role: .support, name: "desk"), action: "test", requestID: nil, sourceAddress: nil)
    /// Far longer than any wait below: what is seen is the NOTIFY's doing.
    static let timeToLive = Duration.seconds(600)

    struct Fixture: Sendable {
        let tokens: CachingTokenStore
        let tenants: CachingTenantStore
        let uriSets: CachingURISetStore
        /// Another process's stores, on a client of its own.
        let otherTokens: PostgresTokenStore
        let otherTenants: PostgresTenantStore
        let otherURISets: PostgresURISetStore
        let tenant: TenantRecord
        let token: TokenRecord
        let hash: [UInt8]
        let owner: PostgresClient

        /// Authenticates until the token is served from memory (the listener is in place).
        func tokenCached(timeout: Duration = .seconds(20)) async throws {
            try await waitUntil(timeout: timeout, "the token cached") {
                // A request that meets the pool while it replaces a lost connection may fail.
                _ = try? await tokens.authenticate(hash: hash)
                return tokens.cache.count == 1
            }
        }

        func issue(_ customDomain: String?) async throws -> URISetRecord {
            let uris = try URISetIssuer(cloudDomain: "crm.example.com").issue(slug: TenantSlug(validating: tenant.slug), customDomain: customDomain)
            return try await otherURISets.issue(tenantSlug: tenant.slug, uris: uris, issuedBy: CacheInvalidationTests.audit.actor, audit: CacheInvalidationTests.audit)
        }
    }

    static func withListeningCaches(_ body: @Sendable (Fixture) async throws -> Void) async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url, purpose: .owner) { owner in
                try await TestDatabase.withClient(url, purpose: .application(maximumConnections: 4)) { client in
                    try await TestDatabase.withClient(url, purpose: .application(maximumConnections: 2)) { other in
                        let database = TestDatabase.database(client, logger: logger)
                        let tokens = CachingTokenStore(base: PostgresTokenStore(database: database), timeToLive: timeToLive)
                        let tenants = CachingTenantStore(base: PostgresTenantStore(database: database), timeToLive: timeToLive)
                        let uriSets = CachingURISetStore(base: PostgresURISetStore(database: database), timeToLive: timeToLive)
                        let otherDatabase = TestDatabase.database(other, logger: logger)
                        let tenant = try await PostgresTenantStore(database: otherDatabase)
                            .create(slug: TenantSlug(validating: "acme"), displayName: "Acme", audit: audit)
                        let otherTokens = PostgresTokenStore(database: otherDatabase)
                        let (token, plaintext) = try await otherTokens.create(
                            NewToken(role: .tenantAdmin, name: "acme-admin", tenant: (tenant.id, tenant.slug), expiresAt: nil),
                            createdBy: nil, audit: audit
                        )
                        let fixture = Fixture(
                            tokens: tokens, tenants: tenants, uriSets: uriSets, otherTokens: otherTokens,
                            otherTenants: PostgresTenantStore(database: otherDatabase), otherURISets: PostgresURISetStore(database: otherDatabase),
                            tenant: tenant, token: token, hash: BearerToken.hash(plaintext), owner: owner
                        )
                        let listener = CacheInvalidationListener(listenURL: url, caches: [tokens, tenants, uriSets], logger: logger)
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask { try await listener.run() }
                            defer { group.cancelAll() }
                            try await body(fixture)
                        }
                    }
                }
            }
        }
    }

    @Test("a token revoked by another process is seen revoked at once, by NOTIFY")
    func revocationElsewhere() async throws {
        try await Self.withListeningCaches { fixture in
            try await fixture.tokenCached()
            #expect(try await fixture.tokens.authenticate(hash: fixture.hash)?.revokedAt == nil)

            _ = try await fixture.otherTokens.revoke(id: fixture.token.id, audit: Self.audit)
            try await waitUntil(timeout: .seconds(3), "the revocation seen through the cache") {
                try await fixture.tokens.authenticate(hash: fixture.hash)?.revokedAt != nil
            }
        }
    }

    @Test("a URI set issued by another process replaces the cached one, by NOTIFY")
    func reissueElsewhere() async throws {
        try await Self.withListeningCaches { fixture in
            #expect(try await fixture.uriSets.current(tenantSlug: "acme", scope: .allTenants) == .notIssued(tenantID: fixture.tenant.id))
            let first = try await fixture.issue(nil)
            try await waitUntil(timeout: .seconds(20), "the first set cached") {
                try await fixture.uriSets.current(tenantSlug: "acme", scope: .allTenants) == .issued(first)
                    && fixture.uriSets.cache.count == 1
            }

            let second = try await fixture.issue("calendar.acme.co.jp")
            #expect(second.version == 2)
            try await waitUntil(timeout: .seconds(3), "the second set seen through the cache") {
                try await fixture.uriSets.current(tenantSlug: "acme", scope: .allTenants) == .issued(second)
            }
            // A tenant-bound scope reads its own tenant only, from memory too.
            #expect(try await fixture.uriSets.current(tenantSlug: "acme", scope: .tenant(fixture.tenant.id)) == .issued(second))
            #expect(try await fixture.uriSets.current(tenantSlug: "acme", scope: .tenant(UUID())) == .noTenant)
            #expect(try await fixture.uriSets.current(tenantSlug: "nobody", scope: .allTenants) == .noTenant)
        }
    }

    @Test("a tenant suspended by another process is seen suspended at once, by NOTIFY; this process's own change as soon as it commits")
    func suspensionElsewhere() async throws {
        try await Self.withListeningCaches { fixture in
            try await waitUntil(timeout: .seconds(20), "the tenant cached") {
                try await fixture.tenants.identity(slug: "acme", scope: .allTenants) == fixture.tenant.identity
                    && fixture.tenants.cache.count == 1
            }
            _ = try await fixture.otherTenants.update(slug: "acme", displayName: nil, suspended: true, audit: Self.audit)
            try await waitUntil(timeout: .seconds(3), "the suspension seen through the cache") {
                try await fixture.tenants.identity(slug: "acme", scope: .allTenants)?.suspended == true
            }
            #expect(fixture.tenants.cache.count == 1)
            // Resumed here: the next read sees it, without waiting for the NOTIFY.
            _ = try await fixture.tenants.update(slug: "acme", displayName: nil, suspended: false, audit: Self.audit)
            #expect(try await fixture.tenants.identity(slug: "acme", scope: .allTenants)?.suspended == false)
            // A tenant-bound scope reads its own tenant only, from memory too.
            #expect(try await fixture.tenants.identity(slug: "acme", scope: .tenant(fixture.tenant.id)) == fixture.tenant.identity)
            #expect(try await fixture.tenants.identity(slug: "acme", scope: .tenant(UUID())) == nil)
            #expect(try await fixture.tenants.identity(slug: "nobody", scope: .allTenants) == nil)
            // Removed by another process (the service never does): dropped by NOTIFY as well.
            let globex = try await fixture.otherTenants.create(slug: TenantSlug(validating: "globex"), displayName: "Globex", audit: Self.audit)
            // The NOTIFY of this process's own resume above may still be on its way and drop
            // acme once more: read both until both are held.
            try await waitUntil(timeout: .seconds(3), "both tenants cached") {
                let globexRead = try await fixture.tenants.identity(slug: "globex", scope: .allTenants)
                let acmeRead = try await fixture.tenants.identity(slug: "acme", scope: .allTenants)
                return globexRead == globex.identity && acmeRead != nil && fixture.tenants.cache.count == 2
            }
            try await fixture.owner.query("DELETE FROM tenants WHERE id = \(globex.id)", logger: Self.logger)
            try await waitUntil(timeout: .seconds(3), "the removal seen through the cache") {
                try await fixture.tenants.identity(slug: "globex", scope: .allTenants) == nil
            }
        }
    }

    @Test("while the listener is disconnected, nothing is served from memory")
    func listenerLossDisablesTheCaches() async throws {
        try await Self.withListeningCaches { fixture in
            try await fixture.tokenCached()
            // As if the database restarted under the listener: its connection goes.
            try await fixture.owner.query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'provisioner-listen:provisioner_cache' AND datname = current_database()",
                logger: Self.logger
            )
            try await waitUntil(timeout: .seconds(3), "the caches emptied") { fixture.tokens.cache.count == 0 }
            // It listens again (after a backoff), and the cache serves again.
            try await fixture.tokenCached(timeout: .seconds(15))
        }
    }

    @Test("a cascade drops every revoked token from the caches: this process's at once, another's by NOTIFY")
    func cascadeRevocation() async throws {
        try await Self.withListeningCaches { fixture in
            // The fixture's token made two generations of tokens (created_by), all cached here.
            var made: [[UInt8]] = [fixture.hash]
            var parent = fixture.token.id
            for generation in 0..<2 {
                let (record, plaintext) = try await fixture.otherTokens.create(
                    NewToken(role: .support, name: "gen-\(generation)", tenant: nil, expiresAt: nil), createdBy: parent, audit: Self.audit
                )
                made.append(BearerToken.hash(plaintext))
                parent = record.id
            }
            let hashes = made
            try await waitUntil(timeout: .seconds(20), "every token cached") {
                for hash in hashes { _ = try? await fixture.tokens.authenticate(hash: hash) }
                return fixture.tokens.cache.count == hashes.count
            }

            // Revoked by another process: every one is seen revoked, not only the root.
            _ = try await fixture.otherTokens.revoke(id: fixture.token.id, cascade: true, audit: Self.audit)
            try await waitUntil(timeout: .seconds(3), "the cascade seen through the cache") {
                for hash in hashes where try await fixture.tokens.authenticate(hash: hash)?.revokedAt == nil { return false }
                return true
            }
        }
    }

    @Test("a cascade through the caching store drops the offspring here as soon as it commits")
    func cascadeRevocationHere() async throws {
        try await Self.withListeningCaches { fixture in
            let (child, plaintext) = try await fixture.otherTokens.create(
                NewToken(role: .dashboard, name: "child", tenant: nil, expiresAt: nil), createdBy: fixture.token.id, audit: Self.audit
            )
            let childHash = BearerToken.hash(plaintext)
            // Caching starts once the listener is confirmed: slow when every suite runs at once.
            try await waitUntil(timeout: .seconds(20), "both cached") {
                _ = try? await fixture.tokens.authenticate(hash: fixture.hash)
                _ = try? await fixture.tokens.authenticate(hash: childHash)
                return fixture.tokens.cache.count == 2
            }
            let revocation = try #require(try await fixture.tokens.revoke(id: fixture.token.id, cascade: true, audit: Self.audit))
            #expect(revocation.offspring == [child.id])
            // No wait: dropped by the store itself, not by the NOTIFY.
            #expect(fixture.tokens.cache.count == 0)
            #expect(try await fixture.tokens.authenticate(hash: childHash)?.revokedAt != nil)
        }
    }
}
