import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Testing
@testable import ProvisionerAPI

/// `/v1/tenants/{slug}/uri-sets` and the setup sheet, through the HTTP API.
@Suite struct URISetsAPITests {
    static let callback = "/agcrm_google/AuthCallback/IndexAsync"

    @Test func issuingForTheCloudDomainFollowsTheTemplate() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, [("acme", "Acme 株式会社")])
            let reply = try await client.send(.post, "/v1/tenants/acme/uri-sets", token: support.token)
            #expect(reply.status == .created)
            #expect(reply.headers[.location] == "/v1/tenants/acme/uri-sets/current")
            let set = try #require(reply.object)
            #expect(set["version"] as? Int == 1)
            #expect(set["javascript_origins"] as? [String] == ["https://acme.crm.example.com"])
            #expect(set["redirect_uris"] as? [String] == ["https://acme.crm.example.com\(Self.callback)", "https://myaccount.google.com/"])
            #expect(set.keys.contains("custom_domain") && set["custom_domain"] is NSNull)
            #expect(set["issued_by"] as? String == support.name)

            let tenant = try await client.send(.get, "/v1/tenants/acme", token: support.token)
            #expect(tenant.object?["state"] as? String == "awaiting_upload")
            #expect(tenant.object?["current_uri_set_version"] as? Int == 1)
        }
    }

    @Test func aNewSetSupersedesTheOldOneAndHistoryIsNewestFirst() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, [("acme", "Acme")])
            _ = try await client.send(.post, "/v1/tenants/acme/uri-sets", token: support.token)
            // The first set is served from memory from the second read on; the reissue must
            // replace it at once.
            try await APIFixture.waitForCacheListener(url)
            for _ in 0..<2 {
                let first = try await client.send(.get, "/v1/tenants/acme/uri-sets/current", token: support.token)
                #expect(first.object?["version"] as? Int == 1)
            }
            let second = try await client.send(.post, "/v1/tenants/acme/uri-sets", token: support.token, body: #"{"custom_domain": "CRM.Acme.co.jp"}"#)
            #expect(second.status == .created)
            #expect(second.object?["version"] as? Int == 2)
            #expect(second.object?["custom_domain"] as? String == "crm.acme.co.jp")
            #expect(second.object?["javascript_origins"] as? [String] == ["https://crm.acme.co.jp"])

            let current = try await client.send(.get, "/v1/tenants/acme/uri-sets/current", token: support.token)
            #expect(current.object?["version"] as? Int == 2)
            let history = try await client.send(.get, "/v1/tenants/acme/uri-sets?limit=1", token: support.token)
            #expect(history.items.map { $0["version"] as? Int } == [2])
            let cursor = try #require(history.nextCursor ?? nil)
            let older = try await client.send(.get, "/v1/tenants/acme/uri-sets?limit=1&cursor=\(cursor)", token: support.token)
            #expect(older.items.map { $0["version"] as? Int } == [1])
            #expect(older.items.first?["superseded_at"] is String)
            #expect(older.nextCursor == .some(nil))
        }
    }

    @Test(arguments: [
        ("192.168.1.10", "ip_address"),
        ("crm.acme.invalidtld", "top_level_domain_unknown"),
        ("*.acme.co.jp", "wildcard_present"),
        ("crm.acme.co.jp:8443", "port_present"),
        ("https://crm.acme.co.jp", "scheme_present"),
        ("co.jp", "public_suffix"),
    ])
    func aCustomDomainBreakingARuleIs422NamingIt(domain: String, rule: String) async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, [("acme", "Acme")])
            let reply = try await client.send(.post, "/v1/tenants/acme/uri-sets", token: support.token, body: #"{"custom_domain": "\#(domain)"}"#)
            expectProblem(reply, .unprocessableContent, "uri_rule_violation", field: "custom_domain")
            #expect(reply.text.contains(rule), "\(domain): \(reply.text)")
            let current = try await client.send(.get, "/v1/tenants/acme/uri-sets/current", token: support.token)
            expectProblem(current, .notFound, "uri_set_not_issued")
        }
    }

    @Test func aHostInUseByAnotherTenantIs409() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, [("acme", "Acme"), ("globex", "Globex")])
            let first = try await client.send(.post, "/v1/tenants/acme/uri-sets", token: support.token, body: #"{"custom_domain": "crm.shared.co.jp"}"#)
            #expect(first.status == .created)
            let second = try await client.send(.post, "/v1/tenants/globex/uri-sets", token: support.token, body: #"{"custom_domain": "crm.shared.co.jp"}"#)
            expectProblem(second, .conflict, "custom_domain_in_use")
        }
    }

    @Test func noSetYetIs404ForTheSetAndTheSheet() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, [("acme", "Acme")])
            expectProblem(try await client.send(.get, "/v1/tenants/acme/uri-sets/current", token: support.token), .notFound, "uri_set_not_issued")
            expectProblem(try await client.send(.get, "/v1/tenants/acme/setup-sheet", token: support.token), .notFound, "uri_set_not_issued")
        }
    }

    @Test(arguments: [(nil as String?, "ウェブアプリケーション"), ("en-US,en;q=0.9", "Web application"), ("ja,en;q=0.5", "ウェブアプリケーション")])
    func theSetupSheetCarriesEveryIssuedValueOnItsOwnLine(acceptLanguage: String?, applicationType: String) async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, [("acme", "Acme 株式会社")])
            _ = try await client.send(.post, "/v1/tenants/acme/uri-sets", token: support.token)
            var headers = HTTPFields()
            if let acceptLanguage { headers[.acceptLanguage] = acceptLanguage }
            let sheet = try await client.send(.get, "/v1/tenants/acme/setup-sheet", token: support.token, headers: headers)
            #expect(sheet.status == .ok)
            #expect(sheet.headers[.contentType] == "text/markdown; charset=utf-8")
            let lines = sheet.text.split(separator: "\n").map(String.init)
            for value in ["https://acme.crm.example.com", "https://acme.crm.example.com\(Self.callback)", "https://myaccount.google.com/"] {
                #expect(lines.contains(value), "\(value) is not on a line of its own")
            }
            #expect(sheet.text.contains("All Gather CRM Google Calendar"))
            #expect(sheet.text.contains(applicationType))
            #expect(sheet.text.contains("Acme 株式会社"))
        }
    }
}
