import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Testing
@testable import ProvisionerAPI

/// `/v1/tenants/{slug}/onboarding-links` through the real application and PostgreSQL:
/// the code shown once and stored hashed, listing, revocation, audit.
@Suite struct ConsoleOnboardingLinksAPITests {
    static let createdKeys: Set<String> = ["id", "url", "expires_at", "created_by"]
    static let listedKeys: Set<String> = ["id", "tenant", "created_at", "created_by", "expires_at", "revoked_at", "last_used_at", "use_count"]

    @Test func createsListsAndRevokes() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, [("acme", "Acme 株式会社")])

            let created = try await client.send(.post, "/v1/tenants/acme/onboarding-links", token: support.token, body: "{}")
            try #require(created.status == .created, "\(created.text)")
            #expect(created.headers[.cacheControl] == "no-store")
            let object = try #require(created.object)
            #expect(Set(object.keys) == Self.createdKeys, "\(created.text)")
            let id = try #require(object["id"] as? String)
            #expect(created.headers[.location] == "/v1/tenants/acme/onboarding-links/\(id)")
            #expect(object["created_by"] as? String == support.id.uuidString.lowercased())
            let link = try #require(object["url"] as? String)
            #expect(link.hasPrefix("http://127.0.0.1:0/connect/"), "\(link)")
            let code = String(link.split(separator: "/").last ?? "")
            #expect(ConsoleSecret.looksValid(code), "\(code)")
            // Default 72 hours.
            let expires = try #require(rfc3339(object["expires_at"]))
            #expect(abs(expires.timeIntervalSinceNow - 72 * 3600) < 120)

            // Stored hashed: the code is nowhere in the database's row.
            let stored = try await TestDatabase.withClient(url, purpose: .owner) { owner in
                let rows = try await owner.query("SELECT code_hash FROM onboarding_links", logger: TestDatabase.logger)
                var hashes: [[UInt8]] = []
                for try await hash in rows.decode(ByteBuffer.self) { hashes.append(Array(buffer: hash)) }
                return hashes
            }
            #expect(stored == [ConsoleSecret.hash(code)])

            let day = try await client.send(.post, "/v1/tenants/acme/onboarding-links", token: support.token, body: #"{"expires_in_hours":1}"#)
            #expect(day.status == .created)
            for bad in ["0", "169", "-3"] {
                let reply = try await client.send(.post, "/v1/tenants/acme/onboarding-links", token: support.token, body: #"{"expires_in_hours":\#(bad)}"#)
                expectProblem(reply, .badRequest, "invalid_request", field: "expires_in_hours", bad)
            }
            expectProblem(try await client.send(.post, "/v1/tenants/nobody/onboarding-links", token: support.token, body: "{}"), .notFound, "tenant_not_found")

            let listed = try await client.send(.get, "/v1/tenants/acme/onboarding-links", token: support.token)
            #expect(listed.status == .ok)
            #expect(listed.items.count == 2)
            #expect(!listed.text.contains(code))
            for item in listed.items { #expect(Set(item.keys) == Self.listedKeys, "\(item)") }
            #expect(listed.items.last?["id"] as? String == id)
            #expect(listed.items.last?["revoked_at"] is NSNull)
            #expect(listed.items.last?["use_count"] as? Int == 0)

            let revoked = try await client.send(.delete, "/v1/tenants/acme/onboarding-links/\(id)", token: support.token)
            #expect(revoked.status == .noContent)
            #expect(try await client.send(.delete, "/v1/tenants/acme/onboarding-links/\(id)", token: support.token).status == .noContent)
            expectProblem(
                try await client.send(.delete, "/v1/tenants/acme/onboarding-links/00000000-0000-4000-8000-000000000009", token: support.token),
                .notFound, "onboarding_link_not_found"
            )
            let after = try await client.send(.get, "/v1/tenants/acme/onboarding-links", token: support.token)
            #expect(rfc3339(after.items.last?["revoked_at"]) != nil)

            let audit = try await client.send(.get, "/v1/audit-events?tenant=acme", token: support.token)
            let actions = audit.items.filter { $0["result"] as? String == "success" }.compactMap { $0["action"] as? String }
            #expect(actions.filter { $0 == "onboarding_link.create" }.count == 2)
            // The refused ones, one row each.
            #expect(audit.items.filter { $0["action"] as? String == "onboarding_link.create" && $0["result"] as? String == "invalid_request" }.count == 3)
            #expect(actions.contains("onboarding_link.revoke"))
            #expect(!audit.text.contains(code))
        }
    }

    @Test func aLinkOfAnotherTenantIsNotFound() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, [("acme", "Acme"), ("globex", "Globex")])
            let created = try await client.send(.post, "/v1/tenants/acme/onboarding-links", token: support.token, body: "{}")
            let id = try #require(created.object?["id"] as? String)
            expectProblem(try await client.send(.delete, "/v1/tenants/globex/onboarding-links/\(id)", token: support.token), .notFound, "onboarding_link_not_found")
            #expect(try await client.send(.get, "/v1/tenants/globex/onboarding-links", token: support.token).items.isEmpty)
        }
    }
}
