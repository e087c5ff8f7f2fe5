import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Testing
@testable import ProvisionerAPI

/// `/v1/tenants` through the real application and PostgreSQL.
@Suite struct TenantsAPITests {
    static let tenantKeys: Set<String> = [
        "id", "slug", "display_name", "suspended", "state", "current_uri_set_version", "active_credential_id",
        "calendar_settings", "created_at", "updated_at",
    ]

    // MARK: create

    @Test func createAnswers201WithLocationAndTheTenant() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            let reply = try await client.send(.post, "/v1/tenants", token: support.token, body: #"{"slug":"acme","display_name":"Acme 株式会社"}"#)
            #expect(reply.status == .created, "\(reply.text)")
            #expect(reply.headers[.location] == "/v1/tenants/acme")
            #expect(reply.headers[.contentType]?.hasPrefix("application/json") == true)
            let tenant = try #require(reply.object)
            #expect(Self.tenantKeys.isSubset(of: Set(tenant.keys)), "missing keys: \(Self.tenantKeys.subtracting(tenant.keys))")
            #expect(UUID(uuidString: tenant["id"] as? String ?? "") != nil)
            #expect(tenant["slug"] as? String == "acme")
            #expect(tenant["display_name"] as? String == "Acme 株式会社")
            #expect(tenant["suspended"] as? Bool == false)
            #expect(tenant["state"] as? String == "awaiting_uris")
            #expect(tenant.keys.contains("current_uri_set_version") && tenant["current_uri_set_version"] is NSNull)
            #expect(tenant.keys.contains("active_credential_id") && tenant["active_credential_id"] is NSNull)
            let settings = try #require(tenant["calendar_settings"] as? [String: Any])
            #expect(settings["sync_enabled"] as? Bool == false)
            #expect(settings["default_event_color"] as? String == "1")
            let created = try #require(rfc3339(tenant["created_at"]), "created_at \(String(describing: tenant["created_at"]))")
            #expect(rfc3339(tenant["updated_at"]) != nil)
            #expect(abs(created.timeIntervalSinceNow) < 60)

            // What GET answers is what POST answered.
            let read = try await client.send(.get, "/v1/tenants/acme", token: support.token)
            #expect(read.status == .ok)
            let again = try #require(read.object)
            for key in ["id", "slug", "display_name", "state", "created_at", "updated_at"] {
                #expect(again[key] as? String == tenant[key] as? String, "\(key)")
            }
            #expect(again["current_uri_set_version"] is NSNull)
        }
    }

    @Test func duplicateSlugIs409TenantExists() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            let first = try await client.send(.post, "/v1/tenants", token: support.token, body: #"{"slug":"acme","display_name":"Acme"}"#)
            #expect(first.status == .created)
            let second = try await client.send(.post, "/v1/tenants", token: support.token, body: #"{"slug":"acme","display_name":"Other"}"#)
            expectProblem(second, .conflict, "tenant_exists")
            // The first one is untouched.
            let read = try await client.send(.get, "/v1/tenants/acme", token: support.token)
            #expect(read.object?["display_name"] as? String == "Acme")
        }
    }

    /// Every reserved name openapi.yaml lists (the TenantCreate.slug pattern) -> 422 slug_reserved.
    @Test func reservedSlugsAre422() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            let reserved = [
                "www", "api", "app", "admin", "auth", "login", "mail", "smtp", "imap", "ftp", "support", "help", "status",
                "static", "assets", "cdn", "docs", "dashboard", "internal", "metrics", "localhost",
            ]
            for slug in reserved {
                let reply = try await client.send(.post, "/v1/tenants", token: support.token, body: #"{"slug":"\#(slug)","display_name":"X"}"#)
                expectProblem(reply, .unprocessableContent, "slug_reserved", field: "slug", slug)
            }
            let list = try await client.send(.get, "/v1/tenants", token: support.token)
            #expect(list.items.isEmpty)
        }
    }

    @Test func malformedSlugsAre400NamingTheField() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            let bad = [
                "", "a", "ab", "-abc", "abc-", "Acme", "ac_me", "ac.me", "ac me", "acmé", "ab--cd",
                String(repeating: "a", count: 64), "acme\\n",
            ]
            for slug in bad {
                let reply = try await client.send(.post, "/v1/tenants", token: support.token, body: #"{"slug":"\#(slug)","display_name":"X"}"#)
                expectProblem(reply, .badRequest, "invalid_request", field: "slug", "slug \(slug.debugDescription)")
            }
            // 63 characters is the longest label.
            let longest = "a" + String(repeating: "b", count: 61) + "c"
            let ok = try await client.send(.post, "/v1/tenants", token: support.token, body: #"{"slug":"\#(longest)","display_name":"X"}"#)
            #expect(ok.status == .created, "\(ok.text)")
            // Wrong types and a missing slug are 400 too.
            for body in [#"{"slug":12,"display_name":"X"}"#, #"{"slug":null,"display_name":"X"}"#, #"{"display_name":"X"}"#] {
                let reply = try await client.send(.post, "/v1/tenants", token: support.token, body: body)
                expectProblem(reply, .badRequest, "invalid_request", body)
            }
            let list = try await client.send(.get, "/v1/tenants", token: support.token)
            #expect(list.items.count == 1)
        }
    }

    @Test func badDisplayNamesAre400() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            let bad: [String] = [
                #""""#,
                "\"\(String(repeating: "x", count: 201))\"",
                "\"\(String(repeating: "株", count: 201))\"",
                #""Acme\u0007Corp""#,
                #""Acme\nCorp""#,
                #""Acme\u007fCorp""#,
                #"" Acme""#,
                #""Acme ""#,
                #""\tAcme""#,
            ]
            for (index, name) in bad.enumerated() {
                let reply = try await client.send(.post, "/v1/tenants", token: support.token, body: #"{"slug":"t\#(index)-x","display_name":\#(name)}"#)
                expectProblem(reply, .badRequest, "invalid_request", field: "display_name", name)
                let read = try await client.send(.get, "/v1/tenants/t\(index)-x", token: support.token)
                #expect(read.status == .notFound, "\(name) created the tenant")
            }
            for body in [#"{"slug":"nameless"}"#, #"{"slug":"nameless","display_name":null}"#, #"{"slug":"nameless","display_name":5}"#] {
                let reply = try await client.send(.post, "/v1/tenants", token: support.token, body: body)
                expectProblem(reply, .badRequest, "invalid_request", body)
            }
            // The limits themselves are fine: 200 code points (not bytes), inner spaces.
            let longest = String(repeating: "株", count: 200)
            let ok = try await client.send(.post, "/v1/tenants", token: support.token, body: #"{"slug":"longest","display_name":"\#(longest)"}"#)
            #expect(ok.status == .created, "\(ok.text)")
            #expect(ok.object?["display_name"] as? String == longest)
            let inner = try await client.send(.post, "/v1/tenants", token: support.token, body: #"{"slug":"inner","display_name":"A  B"}"#)
            #expect(inner.status == .created, "\(inner.text)")
        }
    }

    @Test func unknownFieldIs400AndNothingIsCreated() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            let reply = try await client.send(.post, "/v1/tenants", token: support.token, body: #"{"slug":"newco","display_name":"New","suspended":true}"#)
            expectProblem(reply, .badRequest, "invalid_request")
            let read = try await client.send(.get, "/v1/tenants/newco", token: support.token)
            expectProblem(read, .notFound, "tenant_not_found")
        }
    }

    @Test func malformedJSONIs400() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            for body in [#"{"slug":"newco","display_name":"New""#, "not json", "[]", #""newco""#, ""] {
                let reply = try await client.send(.post, "/v1/tenants", token: support.token, body: body)
                expectProblem(reply, .badRequest, "invalid_request", body.debugDescription)
            }
            let list = try await client.send(.get, "/v1/tenants", token: support.token)
            #expect(list.items.isEmpty)
        }
    }

    // MARK: get and list

    @Test func getUnknownTenantIs404() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            expectProblem(try await client.send(.get, "/v1/tenants/nosuch", token: support.token), .notFound, "tenant_not_found")
            // A path that cannot be a slug is the same 404.
            expectProblem(try await client.send(.get, "/v1/tenants/NoSuch", token: support.token), .notFound, "tenant_not_found")
        }
    }

    @Test func listFiltersByStateAndQuery() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, [
                ("acme", "Acme 株式会社"),
                ("globex", "Globex Corporation"),
                ("pure", "100% Pure"),
                ("ab-corp", "a_b corp"),
                ("axb-corp", "axb corp"),
                ("initech", "Initech (ACME reseller)"),
            ])
            func slugs(_ query: String) async throws -> Set<String> {
                let reply = try await client.send(.get, "/v1/tenants?\(query)", token: support.token)
                #expect(reply.status == .ok, "\(query): \(reply.text)")
                return Set(reply.items.compactMap { $0["slug"] as? String })
            }
            let q = { (text: String) in "q=" + APIFixture.query(text) }
            #expect(try await slugs("") == ["acme", "globex", "pure", "ab-corp", "axb-corp", "initech"])
            // Slug or display name, case-insensitive, contains.
            #expect(try await slugs(q("ACME")) == ["acme", "initech"])
            #expect(try await slugs(q("cme")) == ["acme", "initech"])
            #expect(try await slugs(q("corporation")) == ["globex"])
            #expect(try await slugs(q("株式")) == ["acme"])
            #expect(try await slugs(q("b-co")) == ["ab-corp", "axb-corp"])
            // % and _ are literal characters.
            #expect(try await slugs(q("%")) == ["pure"])
            #expect(try await slugs(q("0%")) == ["pure"])
            #expect(try await slugs(q("_")) == ["ab-corp"])
            #expect(try await slugs(q("a_b")) == ["ab-corp"])
            #expect(try await slugs(q("\\")) == [])
            #expect(try await slugs(q("nothing-like-this")) == [])

            // state
            let suspend = try await client.send(.patch, "/v1/tenants/globex", token: support.token, body: #"{"suspended":true}"#)
            #expect(suspend.status == .ok)
            #expect(try await slugs("state=suspended") == ["globex"])
            #expect(try await slugs("state=awaiting_uris") == ["acme", "pure", "ab-corp", "axb-corp", "initech"])
            #expect(try await slugs("state=verified") == [])
            #expect(try await slugs("state=suspended&" + q("glo")) == ["globex"])
            #expect(try await slugs("state=awaiting_uris&" + q("glo")) == [])
            expectProblem(try await client.send(.get, "/v1/tenants?state=bogus", token: support.token), .badRequest, "invalid_request")
        }
    }

    @Test func listOfDashboardAndEveryItemHasTheTenantShape() async throws {
        try await withTestApplication { client, url in
            try await APIFixture.tenants(url, [("acme", "Acme"), ("globex", "Globex")])
            let dashboard = try await APIFixture.token(url, role: .dashboard)
            let reply = try await client.send(.get, "/v1/tenants", token: dashboard.token)
            #expect(reply.status == .ok)
            #expect(reply.nextCursor == .some(nil), "next_cursor must be present and null: \(reply.text)")
            #expect(reply.items.count == 2)
            for item in reply.items {
                #expect(Self.tenantKeys.isSubset(of: Set(item.keys)), "\(item.keys)")
                #expect(item["current_uri_set_version"] is NSNull)
            }
            // Newest first.
            #expect(reply.items.map { $0["slug"] as? String } == ["globex", "acme"])
        }
    }

    /// 250 tenants: every page size visits each exactly once, newest first, and the last page
    /// says `next_cursor: null`.
    @Test func paginationVisitsEveryTenantExactlyOnce() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            let made = try await APIFixture.tenants(url, (0..<250).map { (String(format: "tenant-%03d", $0), "Tenant \($0)") })
            let expected = Set(made.map(\.slug))
            for limit in [7, 200] {
                var seen: [String] = []
                var times: [Date] = []
                var cursor: String?
                var pages = 0
                repeat {
                    let path = "/v1/tenants?limit=\(limit)" + (cursor.map { "&cursor=" + APIFixture.query($0) } ?? "")
                    let reply = try await client.send(.get, path, token: support.token)
                    try #require(reply.status == .ok, "\(reply.text)")
                    pages += 1
                    #expect(reply.items.count <= limit)
                    seen += reply.items.compactMap { $0["slug"] as? String }
                    times += reply.items.compactMap { rfc3339($0["created_at"]) }
                    let next = try #require(reply.nextCursor, "next_cursor must always be present")
                    cursor = next
                    if next != nil { #expect(reply.items.count == limit) }
                    try #require(pages <= 300, "pagination does not end")
                } while cursor != nil
                #expect(seen.count == 250, "limit \(limit): \(seen.count) items")
                #expect(Set(seen) == expected, "limit \(limit)")
                #expect(pages == (250 + limit - 1) / limit, "limit \(limit): \(pages) pages")
                #expect(zip(times, times.dropFirst()).allSatisfy { $0 >= $1 }, "limit \(limit): not newest first")
            }
            // The default page is 50.
            let first = try await client.send(.get, "/v1/tenants", token: support.token)
            #expect(first.items.count == 50)
            #expect((first.nextCursor ?? nil) != nil)
        }
    }

    @Test func invalidLimitAndCursorAre400() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, [("acme", "Acme")])
            for limit in ["0", "201", "-1"] {
                expectProblem(try await client.send(.get, "/v1/tenants?limit=\(limit)", token: support.token), .badRequest, "invalid_request", field: "limit", limit)
            }
            expectProblem(try await client.send(.get, "/v1/tenants?limit=abc", token: support.token), .badRequest, "invalid_request", "abc")
            for limit in ["1", "200"] {
                #expect(try await client.send(.get, "/v1/tenants?limit=\(limit)", token: support.token).status == .ok)
            }
            let malformed = [
                "abc", "123", "123.", ".0123456789abcdef0123456789abcdef", "1.0123456789ABCDEF0123456789ABCDEF",
                "1.0123456789abcdef0123456789abcde", "1.0123456789abcdef0123456789abcdefa", "1234567890123456789.0123456789abcdef0123456789abcdef",
                "-1.0123456789abcdef0123456789abcdef", "1.2.3",
            ]
            for cursor in malformed {
                let reply = try await client.send(.get, "/v1/tenants?cursor=\(APIFixture.query(cursor))", token: support.token)
                expectProblem(reply, .badRequest, "invalid_request", field: "cursor", cursor)
            }
            // A well-formed cursor never fails; this one is before every tenant.
            let empty = try await client.send(.get, "/v1/tenants?cursor=0.00000000000000000000000000000000", token: support.token)
            #expect(empty.status == .ok, "\(empty.text)")
            #expect(empty.items.isEmpty)
            #expect(empty.nextCursor == .some(nil))
        }
    }

    // MARK: patch

    @Test func patchChangesDisplayNameAndSuspension() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            let created = try await APIFixture.tenants(url, [("acme", "Acme")])[0]

            let renamed = try await client.send(.patch, "/v1/tenants/acme", token: support.token, body: #"{"display_name":"Acme 2"}"#)
            #expect(renamed.status == .ok, "\(renamed.text)")
            #expect(renamed.object?["display_name"] as? String == "Acme 2")
            #expect(renamed.object?["suspended"] as? Bool == false)
            #expect(renamed.object?["id"] as? String == created.id.uuidString.lowercased())
            let updatedAt = try #require(rfc3339(renamed.object?["updated_at"]))
            #expect(updatedAt >= created.updatedAt.addingTimeInterval(-0.001))

            let suspended = try await client.send(.patch, "/v1/tenants/acme", token: support.token, body: #"{"suspended":true}"#)
            #expect(suspended.status == .ok)
            #expect(suspended.object?["suspended"] as? Bool == true)
            #expect(suspended.object?["state"] as? String == "suspended")
            #expect(suspended.object?["display_name"] as? String == "Acme 2")

            // null leaves it as it is.
            let unchanged = try await client.send(.patch, "/v1/tenants/acme", token: support.token, body: #"{"suspended":null}"#)
            #expect(unchanged.status == .ok, "\(unchanged.text)")
            #expect(unchanged.object?["suspended"] as? Bool == true)
            #expect(unchanged.object?["state"] as? String == "suspended")
            let sameName = try await client.send(.patch, "/v1/tenants/acme", token: support.token, body: #"{"display_name":null,"suspended":null}"#)
            #expect(sameName.status == .ok)
            #expect(sameName.object?["display_name"] as? String == "Acme 2")

            let resumed = try await client.send(.patch, "/v1/tenants/acme", token: support.token, body: #"{"suspended":false}"#)
            #expect(resumed.status == .ok)
            #expect(resumed.object?["suspended"] as? Bool == false)
            #expect(resumed.object?["state"] as? String == "awaiting_uris")

            // Both at once, as merge patch.
            let both = try await client.send(
                .patch, "/v1/tenants/acme", token: support.token, body: #"{"display_name":"Acme 3","suspended":true}"#,
                contentType: "application/merge-patch+json"
            )
            #expect(both.status == .ok, "\(both.text)")
            #expect(both.object?["display_name"] as? String == "Acme 3")
            #expect(both.object?["state"] as? String == "suspended")

            let read = try await client.send(.get, "/v1/tenants/acme", token: support.token)
            #expect(read.object?["display_name"] as? String == "Acme 3")
            #expect(read.object?["suspended"] as? Bool == true)
        }
    }

    @Test func patchRefusesBadInputAndChangesNothing() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, [("acme", "Acme")])
            let bad: [(String, String?)] = [
                (#"{"display_name":""}"#, "display_name"),
                (#"{"display_name":" Acme"}"#, "display_name"),
                (#"{"display_name":"A\u0001B"}"#, "display_name"),
                ("{\"display_name\":\"\(String(repeating: "x", count: 201))\"}", "display_name"),
                (#"{"display_name":"Fine","slug":"other"}"#, nil),
                (#"{"suspended":"yes"}"#, nil),
                (#"{"suspended":true"#, nil),
            ]
            for (body, field) in bad {
                let reply = try await client.send(.patch, "/v1/tenants/acme", token: support.token, body: body)
                expectProblem(reply, .badRequest, "invalid_request", field: field, body)
            }
            let read = try await client.send(.get, "/v1/tenants/acme", token: support.token)
            #expect(read.object?["display_name"] as? String == "Acme")
            #expect(read.object?["suspended"] as? Bool == false)
            expectProblem(
                try await client.send(.patch, "/v1/tenants/nosuch", token: support.token, body: #"{"suspended":true}"#),
                .notFound, "tenant_not_found"
            )
        }
    }

    /// openapi.yaml gives TenantUpdate `minProperties: 1`: an empty object breaks the document,
    /// which the API answers with 400 invalid_request.
    /// `{}` is a merge patch that changes nothing (openapi.yaml): the tenant comes back as it is.
    @Test func patchWithAnEmptyObjectChangesNothing() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, [("acme", "Acme")])
            let reply = try await client.send(.patch, "/v1/tenants/acme", token: support.token, body: "{}")
            #expect(reply.status == .ok)
            #expect(reply.object?["display_name"] as? String == "Acme")
            #expect(reply.object?["suspended"] as? Bool == false)
        }
    }
}
