import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Testing
@testable import ProvisionerAPI

/// The web console through the real application and PostgreSQL: onboarding links, sessions, CSRF and cross-site refusals, page headers, expiry and revocation.
@Suite struct ConsoleTests {
    struct Opened: Sendable {
        let support: APIFixture.IssuedToken
        let linkID: String
        let code: String
        let cookie: String
    }

    /// Tenant `acme` with a URI set, a link made through the API, and the link opened.
    static func open(_ client: any TestClientProtocol, _ url: DatabaseURL) async throws -> Opened {
        let support = try await APIFixture.supportToken(url)
        try await APIFixture.tenants(url, [("acme", "Acme 株式会社")])
        #expect(try await client.send(.post, "/v1/tenants/acme/uri-sets", token: support.token).status == .created)
        let created = try await client.send(.post, "/v1/tenants/acme/onboarding-links", token: support.token, body: "{}")
        let id = try #require(created.object?["id"] as? String)
        let code = String(try #require(created.object?["url"] as? String).split(separator: "/").last!)
        let reply = try await client.send(.get, "/connect/\(code)")
        #expect(reply.status == .seeOther)
        #expect(reply.headers[.location] == "/console/tenants/acme")
        let setCookie = try #require(reply.headers[.setCookie])
        #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Path=/"))
        #expect(!setCookie.contains("Secure"), "http public URL: no Secure")
        let cookie = String(setCookie.split(separator: ";").first!)
        return Opened(support: support, linkID: id, code: code, cookie: cookie)
    }

    static func headers(_ cookie: String, _ extra: HTTPFields = [:]) -> HTTPFields {
        var fields = extra
        fields[.cookie] = cookie
        return fields
    }

    static func csrf(in page: String) -> String? {
        guard let range = page.range(of: #"name="csrf_token" value=""#) else { return nil }
        return String(page[range.upperBound...].prefix { $0 != "\"" })
    }

    static func expectPageHeaders(_ reply: Reply, sourceLocation: SourceLocation = #_sourceLocation) {
        let csp = reply.headers[.contentSecurityPolicy] ?? ""
        #expect(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), sourceLocation: sourceLocation)
        #expect(reply.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer", sourceLocation: sourceLocation)
        #expect(reply.headers[.cacheControl] == "no-store", sourceLocation: sourceLocation)
    }

    @Test func aLinkOpensTheTenantsPageWithItsValues() async throws {
        try await withTestApplication { client, url in
            let opened = try await Self.open(client, url)
            let page = try await client.send(.get, "/console/tenants/acme", headers: Self.headers(opened.cookie))
            #expect(page.status == .ok)
            Self.expectPageHeaders(page)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.text.contains(#"<html lang="ja">"#))
            #expect(page.text.contains(#"<li><code class="value">https://acme.crm.example.com</code>"#))
            #expect(page.text.contains("https://acme.crm.example.com/agcrm_google/AuthCallback/IndexAsync"))
            #expect(page.text.contains("ウェブアプリケーション"))
            for id in ["issued-origins", "issued-redirect-uris", "upload-form", "credential-state", "findings", "calendar-form", "sync-enabled", "default-event-color", "language-switch"] {
                #expect(page.text.contains(#"id="\#(id)""#), "no element \(id)")
            }
            #expect(!page.text.contains("<script>"), "no inline script")
            // English when Accept-Language prefers it, or the language cookie says so.
            let english = try await client.send(.get, "/console/tenants/acme", headers: Self.headers(opened.cookie, [.acceptLanguage: "en-US,en;q=0.9"]))
            #expect(english.text.contains(#"<html lang="en">"#) && english.text.contains("Web application"))
            let switched = try await client.send(.get, "/console/tenants/acme", headers: Self.headers("\(opened.cookie); provisioner_lang=en"))
            #expect(switched.text.contains(#"<html lang="en">"#))
            // Another tenant's page is not there for this session.
            try await APIFixture.tenants(url, [("globex", "Globex")])
            #expect(try await client.send(.get, "/console/tenants/globex", headers: Self.headers(opened.cookie)).status == .notFound)
            // The bearer API never accepts the cookie.
            expectProblem(try await client.send(.get, "/v1/tenants/acme", headers: Self.headers(opened.cookie)), .unauthorized, "unauthenticated")
            // The link's use is audited; the code is nowhere in the audit.
            let audit = try await client.send(.get, "/v1/audit-events?tenant=acme&action=onboarding_link.use", token: opened.support.token)
            #expect(audit.items.count == 1)
            #expect(!audit.text.contains(opened.code))
            let listed = try await client.send(.get, "/v1/tenants/acme/onboarding-links", token: opened.support.token)
            #expect(listed.items.first?["use_count"] as? Int == 1)
            #expect(rfc3339(listed.items.first?["last_used_at"]) != nil)
        }
    }

    /// A link clicked in webmail: the redirect of a navigation another site began carries no
    /// SameSite=Strict cookie, so the page goes on from a page of our own, which is same-site.
    @Test func aLinkFollowedFromAnotherSiteGoesOnFromAPageOfOurOwn() async throws {
        try await withTestApplication { client, url in
            _ = try await Self.open(client, url)
            let crossSite: HTTPFields = [HTTPField.Name("Sec-Fetch-Site")!: "cross-site"]
            let landing = try await client.send(.get, "/console/tenants/acme", headers: crossSite)
            #expect(landing.status == .ok)
            #expect(landing.text.contains(#"<meta http-equiv="refresh" content="0; url=/console/tenants/acme">"#), "\(landing.text)")
            #expect(landing.text.contains(#"href="/console/tenants/acme""#))
            Self.expectPageHeaders(landing)
            // Without a session and not from another site: the signed-out page, no loop.
            let sameOrigin = try await client.send(.get, "/console/tenants/acme", headers: [HTTPField.Name("Sec-Fetch-Site")!: "same-origin"])
            #expect(sameOrigin.status == .unauthorized)
            #expect(!sameOrigin.text.contains("http-equiv"))
        }
    }

    /// A dashboard sign-in sees the tenant's page with no form that changes anything: the
    /// settings are shown, disabled; the only form left is signing out.
    @Test func aDashboardSessionSeesNoFormThatChangesAnything() async throws {
        try await withTestApplication { client, url in
            _ = try await Self.open(client, url)
            let dashboard = try await APIFixture.token(url, role: .dashboard)
            let signIn = try await client.send(
                .post, "/console/login", body: "token=\(dashboard.token)", contentType: "application/x-www-form-urlencoded",
                headers: [HTTPField.Name("Sec-Fetch-Site")!: "same-origin"]
            )
            #expect(signIn.status == .seeOther)
            let cookie = String(try #require(signIn.headers[.setCookie]).split(separator: ";").first!)
            let page = try await client.send(.get, "/console/tenants/acme", headers: Self.headers(cookie))
            #expect(page.status == .ok)
            let forms = page.text.components(separatedBy: "<form").dropFirst().map { String($0.prefix(120)) }
            #expect(forms.allSatisfy { $0.contains(#"action="/console/logout""#) }, "\(forms)")
            #expect(page.text.contains(#"<fieldset disabled class="plain">"#))
            #expect(page.text.contains(#"id="calendar-form""#) && page.text.contains(#"id="sync-enabled""#))
            #expect(!page.text.contains(#"id="upload-form""#))
        }
    }

    @Test func unknownExpiredRevokedAndSuspendedLinks() async throws {
        try await withTestApplication { client, url in
            let opened = try await Self.open(client, url)
            let unknown = try await client.send(.get, "/connect/\(ConsoleSecret.generate())", headers: [.acceptLanguage: "en"])
            #expect(unknown.status == .notFound)
            #expect(unknown.text.contains(#"lang="en""#) && unknown.text.contains("not known"))
            Self.expectPageHeaders(unknown)
            #expect(try await client.send(.get, "/connect/short").status == .notFound)

            // Revoking ends the session it opened, at once.
            #expect(try await client.send(.delete, "/v1/tenants/acme/onboarding-links/\(opened.linkID)", token: opened.support.token).status == .noContent)
            #expect(try await client.send(.get, "/console/tenants/acme", headers: Self.headers(opened.cookie)).status == .unauthorized)
            let revoked = try await client.send(.get, "/connect/\(opened.code)")
            #expect(revoked.status == .gone)
            #expect(revoked.headers[.setCookie] == nil)

            // Expired.
            let second = try await client.send(.post, "/v1/tenants/acme/onboarding-links", token: opened.support.token, body: #"{"expires_in_hours":1}"#)
            let code = String(try #require(second.object?["url"] as? String).split(separator: "/").last!)
            try await TestDatabase.withClient(url, purpose: .owner) { owner in
                try await owner.query(
                    "UPDATE onboarding_links SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 second' WHERE code_hash = \(ByteBuffer(bytes: ConsoleSecret.hash(code)))",
                    logger: TestDatabase.logger
                )
            }
            let expired = try await client.send(.get, "/connect/\(code)")
            #expect(expired.status == .gone)
            #expect(expired.text.contains("有効期限"))

            // A suspended tenant's link: a page saying so, no session.
            let third = try await client.send(.post, "/v1/tenants/acme/onboarding-links", token: opened.support.token, body: "{}")
            let thirdCode = String(try #require(third.object?["url"] as? String).split(separator: "/").last!)
            #expect(try await client.send(.patch, "/v1/tenants/acme", token: opened.support.token, body: #"{"suspended":true}"#).status == .ok)
            let suspended = try await client.send(.get, "/connect/\(thirdCode)")
            #expect(suspended.status == .forbidden)
            #expect(suspended.headers[.setCookie] == nil)
            #expect(suspended.text.contains("一時停止") && !suspended.text.contains("<form method=\"post\" action=\"/console/tenants"))

            let audit = try await client.send(.get, "/v1/audit-events?tenant=acme&action=onboarding_link.use", token: opened.support.token)
            #expect(Set(audit.items.compactMap { $0["result"] as? String }) == ["success", "link_revoked", "link_expired", "tenant_suspended"])
        }
    }

    @Test func formsNeedTheirCSRFTokenAndOurSite() async throws {
        try await withTestApplication { client, url in
            let opened = try await Self.open(client, url)
            let page = try await client.send(.get, "/console/tenants/acme", headers: Self.headers(opened.cookie))
            let csrf = try #require(Self.csrf(in: page.text))
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            let settings = "/console/tenants/acme/calendar-settings"

            // No token, a wrong one, another site: 403, nothing changed, audited.
            for (body, extra) in [
                ("default_event_color=7", HTTPFields()),
                ("default_event_color=7&csrf_token=\(String(repeating: "A", count: 43))", HTTPFields()),
                ("default_event_color=7&csrf_token=\(csrf)", [HTTPField.Name("Sec-Fetch-Site")!: "cross-site"]),
                ("default_event_color=7&csrf_token=\(csrf)", [HTTPField.Name("Origin")!: "https://evil.example"]),
            ] {
                var headers = Self.headers(opened.cookie, form)
                for field in extra { headers.append(field) }
                let reply = try await client.executeRequest(uri: settings, method: .post, headers: headers, body: ByteBuffer(string: body))
                #expect(reply.status == .forbidden, "\(body) \(extra)")
                #expect(reply.headers[.contentSecurityPolicy] != nil)
            }
            let tenant = try await client.send(.get, "/v1/tenants/acme", token: opened.support.token)
            #expect((tenant.object?["calendar_settings"] as? [String: Any])?["default_event_color"] as? String == "1")
            let audit = try await client.send(.get, "/v1/audit-events?tenant=acme&action=calendar_settings.update", token: opened.support.token)
            #expect(Set(audit.items.compactMap { $0["result"] as? String }) == ["csrf_token_invalid", "cross_site_request"])
            #expect(audit.items.count == 4)

            // With its token, from our own page: done, 303 back.
            var headers = Self.headers(opened.cookie, form)
            headers[HTTPField.Name("Sec-Fetch-Site")!] = "same-origin"
            let saved = try await client.executeRequest(uri: settings, method: .post, headers: headers, body: ByteBuffer(string: "default_event_color=7&csrf_token=\(csrf)"))
            #expect(saved.status == .seeOther)
            #expect(saved.headers[.location] == "/console/tenants/acme?done=saved#settings")
            let after = try await client.send(.get, "/v1/tenants/acme", token: opened.support.token)
            #expect((after.object?["calendar_settings"] as? [String: Any])?["default_event_color"] as? String == "7")

            // Sync without an active credential: the page again, the problem beside the tick.
            let refused = try await client.executeRequest(
                uri: settings, method: .post, headers: headers, body: ByteBuffer(string: "sync_enabled=true&default_event_color=7&csrf_token=\(csrf)")
            )
            #expect(refused.status == .conflict)
            #expect(String(buffer: refused.body).contains("連携をオンにできません"))
        }
    }

    @Test func theUploadFormTakesTheSamePathAsTheAPI() async throws {
        try await withTestApplication { client, url in
            let opened = try await Self.open(client, url)
            let page = try await client.send(.get, "/console/tenants/acme", headers: Self.headers(opened.cookie))
            let csrf = try #require(Self.csrf(in: page.text))
            let file = #"{"web":{"client_id":"123456789012-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com","project_id":"p","auth_uri":"https://accounts.google.com/o/oauth2/auth","token_uri":"https://oauth2.googleapis.com/token","client_secret":"GOCSPX-abcdefghijklmnopqrstuvwxyz12","redirect_uris":["https://acme.crm.example.com/agcrm_google/AuthCallback/IndexAsync","https://myaccount.google.com/"],"javascript_origins":["https://acme.crm.example.com"]}}"#
            func multipart(_ fileBody: String, csrf: String) -> String {
                "--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n\(csrf)\r\n"
                    + "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"client_secrets.json\"\r\nContent-Type: application/json\r\n\r\n\(fileBody)\r\n"
                    + "--XyZ\r\nContent-Disposition: form-data; name=\"client_secret\"\r\n\r\n\r\n--XyZ--\r\n"
            }
            let headers = Self.headers(opened.cookie, [.contentType: "multipart/form-data; boundary=XyZ"])
            let bad = try await client.executeRequest(uri: "/console/tenants/acme/credentials", method: .post, headers: headers, body: ByteBuffer(string: multipart("{not json", csrf: csrf)))
            #expect(bad.status == .badRequest)
            #expect(String(buffer: bad.body).contains(#"id="file-error""#))
            let uploaded = try await client.executeRequest(uri: "/console/tenants/acme/credentials", method: .post, headers: headers, body: ByteBuffer(string: multipart(file, csrf: csrf)))
            #expect(uploaded.status == .seeOther, "\(String(buffer: uploaded.body))")
            let listed = try await client.send(.get, "/v1/tenants/acme/credentials", token: opened.support.token)
            #expect(listed.items.count == 1)
            #expect(listed.items.first?["client_secret_hint"] as? String == "yz12")
            #expect((listed.items.first?["uploaded_by"] as? String)?.hasPrefix("onboarding-link-") == true, "\(listed.text)")
            let audit = try await client.send(.get, "/v1/audit-events?tenant=acme&action=credential.upload", token: opened.support.token)
            #expect(audit.items.compactMap { $0["result"] as? String }.sorted() == ["invalid_json", "success"])
            let state = try await client.send(.get, "/console/tenants/acme/credential-state", headers: Self.headers(opened.cookie))
            #expect(["pending", "verifying"].contains(state.object?["state"] as? String))

            // Suspended: the admin's form is refused with 409, nothing stored.
            #expect(try await client.send(.patch, "/v1/tenants/acme", token: opened.support.token, body: #"{"suspended":true}"#).status == .ok)
            let refused = try await client.executeRequest(uri: "/console/tenants/acme/credentials", method: .post, headers: headers, body: ByteBuffer(string: multipart(file, csrf: csrf)))
            #expect(refused.status == .conflict)
            #expect(try await client.send(.get, "/v1/tenants/acme/credentials", token: opened.support.token).items.count == 1)
        }
    }

    @Test func sessionsEndWhenIdleOrTheirTokenIsRevoked() async throws {
        try await withTestApplication { client, url in
            let opened = try await Self.open(client, url)
            try await TestDatabase.withClient(url, purpose: .owner) { owner in
                try await owner.query("UPDATE console_sessions SET last_seen_at = now() - interval '8 hours 1 minute'", logger: TestDatabase.logger)
            }
            #expect(try await client.send(.get, "/console/tenants/acme", headers: Self.headers(opened.cookie)).status == .unauthorized)

            // Support sign-in with a token; revoking the token ends the session.
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            let wrong = try await client.executeRequest(uri: "/console/login", method: .post, headers: form, body: ByteBuffer(string: "token=agcrm_nope"))
            #expect(wrong.status == .unauthorized)
            let signedIn = try await client.executeRequest(uri: "/console/login", method: .post, headers: form, body: ByteBuffer(string: "token=\(opened.support.token)"))
            #expect(signedIn.status == .seeOther)
            let cookie = String(try #require(signedIn.headers[.setCookie]).split(separator: ";").first!)
            #expect(try await client.send(.get, "/console/tenants/acme", headers: Self.headers(cookie)).status == .ok)
            let other = try await APIFixture.supportToken(url)
            #expect(try await client.send(.delete, "/v1/tokens/\(opened.support.id.uuidString.lowercased())", token: other.token).status == .noContent)
            #expect(try await client.send(.get, "/console/tenants/acme", headers: Self.headers(cookie)).status == .unauthorized)

            // Sign-out ends a session.
            let again = try await client.executeRequest(uri: "/console/login", method: .post, headers: form, body: ByteBuffer(string: "token=\(other.token)"))
            let cookie2 = String(try #require(again.headers[.setCookie]).split(separator: ";").first!)
            let home = try await client.send(.get, "/console", headers: Self.headers(cookie2))
            let csrf = try #require(Self.csrf(in: home.text))
            let out = try await client.executeRequest(uri: "/console/logout", method: .post, headers: Self.headers(cookie2, form), body: ByteBuffer(string: "csrf_token=\(csrf)"))
            #expect(out.status == .ok)
            #expect(try await client.send(.get, "/console/tenants/acme", headers: Self.headers(cookie2)).status == .unauthorized)
        }
    }

    /// The active credential's health on the tenant's page (its admin's and the support desk's):
    /// the state's title and what to do, in the page's language, with each URI's state when not ok.
    @Test func theTenantsPageShowsTheActiveCredentialsHealth() async throws {
        try await withTestApplication { client, url in
            let opened = try await Self.open(client, url)
            let before = try await client.send(.get, "/console/tenants/acme", headers: Self.headers(opened.cookie))
            #expect(!before.text.contains(#"id="credential-health""#), "no active credential, no health")

            let id = try await CredentialFixture.upload(client, token: opened.support.token, file: CredentialFixture.file())
            #expect(try await CredentialFixture.verifyPending(url)[id] == .verified)
            let unchecked = try await client.send(.get, "/console/tenants/acme", headers: Self.headers(opened.cookie))
            #expect(unchecked.text.contains(#"data-health="unchecked""#))
            #expect(unchecked.text.contains("未確認"))
            #expect(!unchecked.text.contains(#"id="health-uris""#))

            let callback = CredentialFixture.callback("acme")
            try await CredentialFixture.execute(url, """
                UPDATE credentials SET health_state = 'redirect_uri_not_registered', health_checked_at = '2025-04-01T10:15:09Z',
                       health_uris = '[{"uri": "\(callback)", "state": "redirect_uri_not_registered"}]'::jsonb
                WHERE id = '\(id)'
                """)
            let ja = try await client.send(.get, "/console/tenants/acme", headers: Self.headers(opened.cookie))
            #expect(ja.status == .ok)
            #expect(ja.text.contains(#"data-health="redirect_uri_not_registered""#))
            #expect(ja.text.contains("リダイレクト URI が未登録"))
            #expect(ja.text.contains("承認済みのリダイレクト URI"))
            #expect(ja.text.contains("2025-04-01 19:15:09 JST"), "checked_at in JST")
            #expect(ja.text.contains(#"id="health-uris""#))
            #expect(ja.text.contains("<code>\(callback)</code>"), "the URI to add is named")
            let en = try await client.send(.get, "/console/tenants/acme", headers: Self.headers(opened.cookie, [.acceptLanguage: "en"]))
            #expect(en.text.contains("Redirect URI not registered"))
            #expect(en.text.contains("This redirect URI is not registered at Google: \(callback)"))
            #expect(en.text.contains("Authorized redirect URIs"))
            #expect(!en.text.contains("リダイレクト URI が未登録"))

            // The support desk's view of the tenant shows it too.
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            let signedIn = try await client.executeRequest(uri: "/console/login", method: .post, headers: form, body: ByteBuffer(string: "token=\(opened.support.token)"))
            let desk = String(try #require(signedIn.headers[.setCookie]).split(separator: ";").first!)
            try await CredentialFixture.execute(url, "UPDATE credentials SET health_state = 'client_secret_invalid', health_uris = '[]' WHERE id = '\(id)'")
            let deskJa = try await client.send(.get, "/console/tenants/acme", headers: Self.headers(desk))
            #expect(deskJa.text.contains(#"id="desk""#))
            #expect(deskJa.text.contains(#"data-health="client_secret_invalid""#))
            #expect(deskJa.text.contains("クライアント シークレットが無効です"))
            #expect(deskJa.text.contains("ダウンロードし直して"))
            let deskEn = try await client.send(.get, "/console/tenants/acme", headers: Self.headers(desk, [.acceptLanguage: "en"]))
            #expect(deskEn.text.contains("Client secret no longer valid"))
            #expect(deskEn.text.contains("The client secret was reset at Google"))
            #expect(!deskEn.text.contains(#"id="health-uris""#))
        }
    }

    @Test func assetsHaveValidators() async throws {
        try await withTestApplication { client, _ in
            let css = try await client.send(.get, "/console/assets/console.css")
            #expect(css.status == .ok)
            #expect(css.headers[.contentType] == "text/css; charset=utf-8")
            let etag = try #require(css.headers[.eTag])
            #expect(css.headers[.lastModified] != nil)
            #expect(try await client.send(.get, "/console/assets/console.css", headers: [.ifNoneMatch: etag]).status == .notModified)
            let js = try await client.send(.get, "/console/assets/console.js")
            #expect(js.status == .ok && js.headers[.contentType] == "text/javascript; charset=utf-8")
        }
    }
}
