import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Testing
@testable import ProvisionerAPI

/// The support desk's pages through the real application and PostgreSQL:
/// the tenants with counts, filter and search; creating a tenant; URI sets, onboarding links
/// and suspension on a tenant's page; the audit feed; what dashboard and link sessions see.
@Suite struct ConsoleSupportTests {
    static let sameOrigin: HTTPFields = [HTTPField.Name("Sec-Fetch-Site")!: "same-origin"]

    /// Signs `token` in at /console/login; the session's cookie.
    static func signIn(_ client: any TestClientProtocol, _ token: String) async throws -> String {
        let reply = try await client.send(
            .post, "/console/login", body: "token=\(token)", contentType: "application/x-www-form-urlencoded", headers: sameOrigin
        )
        #expect(reply.status == .seeOther)
        return String(try #require(reply.headers[.setCookie]).split(separator: ";").first!)
    }

    static func get(_ client: any TestClientProtocol, _ path: String, _ cookie: String, english: Bool = false) async throws -> Reply {
        var headers = ConsoleTests.headers(cookie, sameOrigin)
        if english { headers[.acceptLanguage] = "en" }
        return try await client.send(.get, path, headers: headers)
    }

    static func post(_ client: any TestClientProtocol, _ path: String, _ cookie: String, _ body: String) async throws -> Reply {
        try await client.send(
            .post, path, body: body, contentType: "application/x-www-form-urlencoded", headers: ConsoleTests.headers(cookie, sameOrigin)
        )
    }

    /// The forms of a page: (method, action) of each.
    static func forms(_ page: String) -> [String] {
        page.components(separatedBy: "<form").dropFirst().map { String($0.prefix(200)) }
    }

    @Test func supportListsFiltersSearchesAndCreatesTenants() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, [("acme", "Acme 株式会社"), ("globex", "Globex"), ("initech", "Initech")])
            #expect(try await client.send(.post, "/v1/tenants/acme/uri-sets", token: support.token).status == .created)
            let cookie = try await Self.signIn(client, support.token)

            let home = try await Self.get(client, "/console", cookie)
            #expect(home.status == .ok)
            ConsoleTests.expectPageHeaders(home)
            #expect(home.text.contains(#"id="tenant-counts""#))
            // Counts by state, each a link filtering by it: 3 in all, 2 awaiting URIs, 1 awaiting an upload.
            #expect(home.text.contains(#"<a href="/console" aria-current="true">すべて <span class="count">3</span>"#), "\(home.text)")
            #expect(home.text.contains(#"data-state="awaiting_uris">URI 発行待ち <span class="count">2</span>"#))
            #expect(home.text.contains(#"data-state="awaiting_upload">アップロード待ち <span class="count">1</span>"#))
            for slug in ["acme", "globex", "initech"] { #expect(home.text.contains(#"href="/console/tenants/\#(slug)""#)) }
            #expect(home.text.contains(#"action="/console/tenants""#) && home.text.contains(#"name="display_name""#))
            #expect(!home.text.contains("<script>"))

            // The state filter and the search.
            let filtered = try await Self.get(client, "/console?state=awaiting_upload", cookie)
            #expect(filtered.text.contains(#"href="/console/tenants/acme""#))
            #expect(!filtered.text.contains(#"href="/console/tenants/globex""#))
            let searched = try await Self.get(client, "/console?q=glob", cookie)
            #expect(searched.text.contains(#"href="/console/tenants/globex""#) && !searched.text.contains(#"href="/console/tenants/initech""#))
            let badCursor = try await Self.get(client, "/console?cursor=nonsense", cookie)
            #expect(badCursor.status == .ok)
            #expect(badCursor.text.contains(#"id="q-error""#))

            // Create: 303 to the new tenant's page, audited as the API's createTenant.
            let csrf = try #require(ConsoleTests.csrf(in: home.text))
            let created = try await Self.post(client, "/console/tenants", cookie, "slug=hooli&display_name=Hooli+%E6%A0%AA%E5%BC%8F%E4%BC%9A%E7%A4%BE&csrf_token=\(csrf)")
            #expect(created.status == .seeOther)
            #expect(created.headers[.location] == "/console/tenants/hooli")
            let hooli = try await client.send(.get, "/v1/tenants/hooli", token: support.token)
            #expect(hooli.object?["display_name"] as? String == "Hooli 株式会社")
            // A problem shows next to the field, with what was typed.
            let taken = try await Self.post(client, "/console/tenants", cookie, "slug=hooli&display_name=Again&csrf_token=\(csrf)")
            #expect(taken.status == .conflict)
            #expect(taken.text.contains(#"id="slug-error""#) && taken.text.contains(#"value="Again""#))
            let badSlug = try await Self.post(client, "/console/tenants", cookie, "slug=Bad_Slug&display_name=X&csrf_token=\(csrf)")
            #expect(badSlug.status == .badRequest)
            #expect(badSlug.text.contains(#"id="slug-error""#))
            // Without the CSRF token: refused, nothing made.
            let forged = try await Self.post(client, "/console/tenants", cookie, "slug=forged&display_name=X")
            #expect(forged.status == .forbidden)
            #expect(try await client.send(.get, "/v1/tenants/forged", token: support.token).status == .notFound)
            let audit = try await client.send(.get, "/v1/audit-events?action=tenant.create", token: support.token)
            #expect(Set(audit.items.compactMap { $0["result"] as? String }) == ["success", "tenant_exists", "invalid_request", "csrf_token_invalid"], "\(audit.text)")

            // The audit feed, filtered.
            let feed = try await Self.get(client, "/console/audit?action=tenant.create", cookie)
            #expect(feed.status == .ok)
            ConsoleTests.expectPageHeaders(feed)
            #expect(feed.text.contains(#"id="audit-events""#) && feed.text.contains("tenant_exists") && !feed.text.contains("console.login"))
            // Rows without a tenant (sign-ins, tenant creations refused) have no empty tenant link.
            let unfiltered = try await Self.get(client, "/console/audit", cookie)
            #expect(!unfiltered.text.contains(#"href="/console/audit?tenant=""#))
            let bad = try await Self.get(client, "/console/audit?tenant=Not_A_Slug", cookie)
            #expect(bad.status == .badRequest || bad.status == .unprocessableContent)
            #expect(bad.text.contains(#"id="audit-tenant-error""#))
        }
    }

    @Test func supportIssuesURISetsAndManagesLinksAndSuspension() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, [("acme", "Acme")])
            let cookie = try await Self.signIn(client, support.token)
            let page = try await Self.get(client, "/console/tenants/acme", cookie)
            #expect(page.status == .ok)
            let csrf = try #require(ConsoleTests.csrf(in: page.text))
            for action in ["/console/tenants/acme/uri-sets", "/console/tenants/acme/onboarding-links", "/console/tenants/acme/suspension"] {
                #expect(page.text.contains(#"action="\#(action)""#), "no form \(action)")
            }
            #expect(page.text.contains(#"href="/console/tenants/acme/setup-sheet""#))

            // Issue a URI set for the default host; a refused domain shows its rule.
            let issued = try await Self.post(client, "/console/tenants/acme/uri-sets", cookie, "custom_domain=&csrf_token=\(csrf)")
            #expect(issued.status == .seeOther)
            #expect(issued.headers[.location] == "/console/tenants/acme?done=issued#uri-sets")
            let refused = try await Self.post(client, "/console/tenants/acme/uri-sets", cookie, "custom_domain=192.168.1.10&csrf_token=\(csrf)")
            #expect(refused.status == .unprocessableContent)
            #expect(refused.text.contains(#"id="custom_domain-error""#) && refused.text.contains("ip_address"), "\(refused.text)")
            let custom = try await Self.post(client, "/console/tenants/acme/uri-sets", cookie, "custom_domain=crm.acme.co.jp&csrf_token=\(csrf)")
            #expect(custom.status == .seeOther)
            let after = try await Self.get(client, "/console/tenants/acme", cookie)
            #expect(after.text.contains(#"id="uri-set-history""#) && after.text.contains("<code>crm.acme.co.jp</code>") && after.text.contains("<code>acme.crm.example.com</code>"))
            let sheet = try await Self.get(client, "/console/tenants/acme/setup-sheet", cookie)
            #expect(sheet.status == .ok)
            #expect(sheet.text.contains(#"id="setup-sheet""#) && sheet.text.contains("https://crm.acme.co.jp"))

            // A link: its URL on the answer to the form, and never again.
            let link = try await Self.post(client, "/console/tenants/acme/onboarding-links", cookie, "expires_in_hours=24&csrf_token=\(csrf)")
            #expect(link.status == .ok)
            let shown = try #require(link.text.range(of: #"<code class="value" id="new-link-url">"#))
            let linkURL = String(link.text[shown.upperBound...].prefix { $0 != "<" })
            #expect(linkURL.contains("/connect/"))
            #expect(link.text.contains(#"class="copy" data-copy="\#(linkURL)""#))
            let again = try await Self.get(client, "/console/tenants/acme", cookie)
            #expect(!again.text.contains(linkURL) && !again.text.contains("new-link-url"))
            let tooLong = try await Self.post(client, "/console/tenants/acme/onboarding-links", cookie, "expires_in_hours=500&csrf_token=\(csrf)")
            #expect(tooLong.status == .unprocessableContent || tooLong.status == .badRequest)
            #expect(tooLong.text.contains(#"id="link-error""#))
            let listed = try await client.send(.get, "/v1/tenants/acme/onboarding-links", token: support.token)
            #expect(listed.items.count == 1)
            let id = try #require(listed.items.first?["id"] as? String)
            #expect(again.text.contains(#"action="/console/tenants/acme/onboarding-links/\#(id)/revoke""#))
            let revoked = try await Self.post(client, "/console/tenants/acme/onboarding-links/\(id)/revoke", cookie, "csrf_token=\(csrf)")
            #expect(revoked.status == .seeOther)
            let code = String(linkURL.split(separator: "/").last!)
            #expect(try await client.send(.get, "/connect/\(code)").status == .gone)
            let afterRevoke = try await Self.get(client, "/console/tenants/acme", cookie)
            #expect(!afterRevoke.text.contains("/onboarding-links/\(id)/revoke"))

            // Suspend, then resume.
            let suspended = try await Self.post(client, "/console/tenants/acme/suspension", cookie, "suspended=true&csrf_token=\(csrf)")
            #expect(suspended.status == .seeOther)
            #expect(try await client.send(.get, "/v1/tenants/acme", token: support.token).object?["suspended"] as? Bool == true)
            let resumed = try await Self.post(client, "/console/tenants/acme/suspension", cookie, "suspended=false&csrf_token=\(csrf)")
            #expect(resumed.status == .seeOther)
            #expect(try await client.send(.get, "/v1/tenants/acme", token: support.token).object?["suspended"] as? Bool == false)

            // The same audit rows as the API's operations.
            for action in ["uri_set.issue", "onboarding_link.create", "onboarding_link.revoke", "tenant.update"] {
                let rows = try await client.send(.get, "/v1/audit-events?tenant=acme&action=\(action)", token: support.token)
                #expect(rows.items.contains { $0["result"] as? String == "success" }, "\(action): \(rows.text)")
            }
            let ruleRows = try await client.send(.get, "/v1/audit-events?tenant=acme&action=uri_set.issue", token: support.token)
            #expect(ruleRows.items.contains { $0["result"] as? String == "uri_rule_violation" })
        }
    }

    @Test func aDashboardSessionSeesTheDeskPagesWithoutForms() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, [("acme", "Acme")])
            #expect(try await client.send(.post, "/v1/tenants/acme/uri-sets", token: support.token).status == .created)
            let dashboard = try await APIFixture.token(url, role: .dashboard)
            let cookie = try await Self.signIn(client, dashboard.token)
            for path in ["/console", "/console/tenants/acme", "/console/audit"] {
                let page = try await Self.get(client, path, cookie)
                #expect(page.status == .ok, "\(path)")
                #expect(!page.text.contains(">nil<") && !page.text.contains("=nil\""), "\(path): an absent value shows as nil")
                let posting = Self.forms(page.text).filter { $0.contains(#"method="post""#) }
                #expect(posting.allSatisfy { $0.contains(#"action="/console/logout""#) }, "\(path): \(posting)")
            }
            let tenant = try await Self.get(client, "/console/tenants/acme", cookie)
            #expect(tenant.text.contains(#"id="uri-set-history""#) && tenant.text.contains(#"id="uploads""#))
            // Its forms would be refused anyway.
            let home = try await Self.get(client, "/console", cookie)
            let csrf = try #require(ConsoleTests.csrf(in: home.text))
            #expect(try await Self.post(client, "/console/tenants", cookie, "slug=nope&display_name=X&csrf_token=\(csrf)").status == .forbidden)
            #expect(try await Self.post(client, "/console/tenants/acme/suspension", cookie, "suspended=true&csrf_token=\(csrf)").status == .forbidden)
            #expect(try await client.send(.get, "/v1/tenants/acme", token: support.token).object?["suspended"] as? Bool == false)
        }
    }

    @Test func aLinkSessionNeverReachesTheDeskPages() async throws {
        try await withTestApplication { client, url in
            let opened = try await ConsoleTests.open(client, url)
            for path in ["/console", "/console/audit", "/console/tenants/acme/setup-sheet"] {
                let page = try await Self.get(client, path, opened.cookie)
                #expect(page.status == .notFound, "\(path)")
                ConsoleTests.expectPageHeaders(page)
            }
            let own = try await Self.get(client, "/console/tenants/acme", opened.cookie)
            #expect(own.status == .ok)
            #expect(!own.text.contains(#"id="desk""#) && !own.text.contains("/onboarding-links"))
            let csrf = try #require(ConsoleTests.csrf(in: own.text))
            #expect(try await Self.post(client, "/console/tenants/acme/onboarding-links", opened.cookie, "csrf_token=\(csrf)").status == .notFound)
            #expect(try await Self.post(client, "/console/tenants/acme/suspension", opened.cookie, "suspended=true&csrf_token=\(csrf)").status == .notFound)
            #expect(try await Self.post(client, "/console/tenants", opened.cookie, "slug=x1x&display_name=X&csrf_token=\(csrf)").status == .notFound)
            #expect(try await client.send(.get, "/v1/tenants/acme/onboarding-links", token: opened.support.token).items.count == 1)
            // Not signed in: the sign-in page.
            let anonymous = try await client.send(.get, "/console/audit")
            #expect(anonymous.status == .seeOther && anonymous.headers[.location] == "/console/login")
        }
    }
}
