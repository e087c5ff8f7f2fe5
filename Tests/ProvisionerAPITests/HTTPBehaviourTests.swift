import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ProvisionerStore
import ProvisionerTestSupport
import Testing
@testable import ProvisionerAPI

/// What any HTTP client may send, whatever the operation: HEAD, `Accept`, bodies that are
/// empty, large, compressed or cut short, and how refusals are audited.
@Suite struct HTTPBehaviourTests {
    @Test func headAnswersWhatGetWouldWithoutTheBody() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            let get = try await client.send(.get, "/healthz")
            let head = try await client.send(.head, "/healthz")
            #expect(head.status == .ok)
            #expect(head.body.isEmpty)
            #expect(head.headers[.contentType] == get.headers[.contentType])
            #expect(head.headers[.contentLength] == String(get.body.count))
            #expect(head.headers[.xRequestID] != nil)

            let tenants = try await client.send(.head, "/v1/tenants", token: support.token)
            #expect(tenants.status == .ok)
            #expect(tenants.body.isEmpty)
            // A refusal keeps its status and headers, not its body.
            let anonymous = try await client.send(.head, "/v1/tenants")
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.headers[.wwwAuthenticate] != nil)
            #expect(anonymous.body.isEmpty)
            let missing = try await client.send(.head, "/no/such/thing")
            #expect(missing.status == .notFound)
            #expect(missing.body.isEmpty)
        }
    }

    @Test func acceptIsNotNegotiated() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            for accept in ["application/json", "text/plain", "text/html;q=0.9", "garbage"] {
                let sheet = try await client.send(
                    .get, "/v1/tenants/acme/setup-sheet", token: setup.admin.token, headers: [.accept: accept]
                )
                #expect(sheet.status == .ok, "Accept: \(accept): \(sheet.text)")
                #expect(sheet.headers[.contentType] == "text/markdown; charset=utf-8")
                let health = try await client.send(.get, "/healthz", headers: [.accept: accept])
                #expect(health.status == .ok, "Accept: \(accept)")
            }
        }
    }

    @Test func theSetupSheetSaysItsLanguage() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            for (acceptLanguage, language) in [(nil, "ja"), ("en", "en"), ("ja;q=0.5, *", "en"), ("en;q=0.5, ja;q=0.5", "ja")] {
                var headers: HTTPFields = [:]
                if let acceptLanguage { headers[.acceptLanguage] = acceptLanguage }
                let sheet = try await client.send(.get, "/v1/tenants/acme/setup-sheet", token: setup.admin.token, headers: headers)
                #expect(sheet.status == .ok)
                #expect(sheet.headers[.contentLanguage] == language, "\(acceptLanguage ?? "none")")
                #expect(sheet.headers[.vary] == "Accept-Language")
            }
        }
    }

    /// Many clients send a Content-Type with every request, and `curl -d ''` sends a form type
    /// with nothing: an optional body that is empty is no body.
    @Test func anEmptyOptionalBodyIsNoBodyWhateverItsContentType() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url, issue: false)
            for (index, contentType) in ["application/json", "application/x-www-form-urlencoded", "text/plain"].enumerated() {
                let reply = try await client.sendBytes(
                    .post, "/v1/tenants/acme/uri-sets", token: setup.support.token, bytes: [], contentType: contentType
                )
                #expect(reply.status == .created, "\(contentType): \(reply.text)")
                #expect(reply.object?["version"] as? Int == index + 1)
            }
            // A required body that is empty is still missing.
            let tenant = try await client.sendBytes(.post, "/v1/tenants", token: setup.support.token, bytes: [])
            expectProblem(tenant, .badRequest, "invalid_request")
        }
    }

    @Test func everyBodyIsHeldTo64KiB() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let padding = String(repeating: " ", count: 70_000)
            let cases: [(HTTPRequest.Method, String, String)] = [
                (.post, "/v1/tenants", #"{"slug":"big-one","display_name":"Big"}"# + padding),
                (.patch, "/v1/tenants/acme", #"{"display_name":"Big"}"# + padding),
                (.post, "/v1/tokens", #"{"role":"dashboard","name":"big"}"# + padding),
                (.post, "/v1/tenants/acme/uri-sets", "{}" + padding),
                (.put, "/v1/tenants/acme/calendar-settings", #"{"sync_enabled":false,"default_event_color":"1"}"# + padding),
            ]
            for (method, path, body) in cases {
                expectProblem(try await client.send(method, path, token: setup.support.token, body: body), .contentTooLarge, "payload_too_large", "\(method) \(path)")
            }
            let tenant = try await client.send(.get, "/v1/tenants/acme", token: setup.support.token)
            #expect(tenant.object?["display_name"] as? String == "Acme 株式会社")
            #expect(tenant.object?["current_uri_set_version"] as? Int == 1)
            #expect(try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM tenants WHERE slug = 'big-one'") == 0)
        }
    }

    @Test func aCompressedBodyIs415() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let reply = try await client.sendBytes(
                .post, "/v1/tenants/acme/credentials", token: setup.admin.token,
                bytes: Array(CredentialFixture.file().utf8), headers: [.contentEncoding: "gzip"]
            )
            expectProblem(reply, .unsupportedMediaType, "unsupported_media_type")
            #expect(try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM credentials") == 0)
        }
    }

    @Test func aBrokenChunkedBodyIs400NotA500() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await CredentialFixture.withApplication(url, live: true) { client in
                let setup = try await CredentialFixture.setUp(client, url)
                let port = try #require(client.port)
                // A chunk that promises more than it holds, then a size that is not hexadecimal.
                let head = "POST /v1/tenants/acme/uri-sets HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
                    + "Authorization: Bearer \(setup.support.token)\r\nContent-Type: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                let answer = try await CredentialFixture.sendRaw(port: port, [ByteBuffer(string: head + "2\r\n{}\r\nzz\r\n")])
                #expect(answer.status == 400, "\(answer)")
                #expect(!answer.body.contains("internal_error"), "\(answer)")
                // Nothing was issued.
                let current = try await client.send(.get, "/v1/tenants/acme/uri-sets/current", token: setup.support.token)
                #expect(current.object?["version"] as? Int == 1)
            }
        }
    }

    /// A refused change has its audit row, with the code it was refused with.
    @Test func refusedChangesAreAudited() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            expectProblem(
                try await client.send(.post, "/v1/tenants", token: setup.support.token, body: #"{"slug":"acme","display_name":"Again"}"#, requestID: "req-dup"),
                .conflict, "tenant_exists"
            )
            expectProblem(
                try await client.send(.put, "/v1/tenants/acme/calendar-settings", token: setup.admin.token,
                                      body: #"{"sync_enabled":true,"default_event_color":"1"}"#, requestID: "req-sync"),
                .conflict, "no_active_credential"
            )
            expectProblem(
                try await client.send(.post, "/v1/tenants/acme/credentials/\(UUID())/verify", token: setup.support.token, requestID: "req-verify"),
                .notFound, "credential_not_found"
            )
            expectProblem(
                try await client.send(.get, "/v1/tenants/nobody-here", token: setup.support.token, requestID: "req-read"),
                .notFound, "tenant_not_found"
            )
            let rows = try await CredentialFixture.rowsAsText(url, "audit_events")
            for (requestID, action, result) in [
                ("req-dup", "tenant.create", "tenant_exists"),
                ("req-sync", "calendar_settings.update", "no_active_credential"),
                ("req-verify", "credential.reverify", "credential_not_found"),
                ("req-read", "tenant.read", "tenant_not_found"),
            ] {
                let matching = rows.filter { $0.contains("\"request_id\":\"\(requestID)\"") }
                #expect(matching.count == 1, "\(requestID): \(matching)")
                #expect(matching.first?.contains("\"action\":\"\(action)\"") == true, "\(requestID): \(matching)")
                #expect(matching.first?.contains("\"result\":\"\(result)\"") == true, "\(requestID): \(matching)")
            }
        }
    }

    /// A parameter the decoder cannot read is refused, not dropped (a search that lists
    /// everything would be a wrong answer).
    @Test func aQueryThatIsNotUTF8Is400() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, [("acme", "Acme"), ("globex", "Globex")])
            for query in ["q=acm%FF", "q=%E3%81", "state=%ZZ", "q%FF=1"] {
                expectProblem(try await client.send(.get, "/v1/tenants?\(query)", token: support.token), .badRequest, "invalid_request", query)
            }
            let fine = try await client.send(.get, "/v1/tenants?q=%E6%A0%AA+acme", token: support.token)
            #expect(fine.status == .ok, "\(fine.text)")
        }
    }

    /// A refusal names what to fix: the parameter, or for a body with several allowed forms
    /// (token create) why each form does not fit.
    @Test func refusalsNameTheParameterOrTheField() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            expectProblem(try await client.send(.get, "/v1/tenants?limit=abc", token: support.token), .badRequest, "invalid_request", field: "limit")
            expectProblem(try await client.send(.get, "/v1/tenants?state=bogus", token: support.token), .badRequest, "invalid_request", field: "state")
            let both = try await client.send(.get, "/v1/tenants?state=bogus&limit=3", token: support.token)
            expectProblem(both, .badRequest, "invalid_request")
            #expect((both.object?["detail"] as? String)?.contains("'state'") == true, "\(both.text)")
            let token = try await client.send(.post, "/v1/tokens", token: support.token, body: #"{"role":"tenant_admin","name":"x"}"#)
            expectProblem(token, .badRequest, "invalid_request")
            let detail = token.object?["detail"] as? String ?? ""
            // The form for tenant_admin is the one meant: its missing field is what is said.
            #expect(detail.contains("'tenant'") && !detail.contains("'role'"), "\(detail)")
            #expect(!detail.contains("oneOf") && !detail.contains("Swift"), "\(detail)")
            // The form the caller meant (a dashboard token) is the one explained.
            let date = try await client.send(.post, "/v1/tokens", token: support.token, body: #"{"role":"dashboard","name":"x","expires_at":"next week"}"#)
            expectProblem(date, .badRequest, "invalid_request")
            let dateDetail = date.object?["detail"] as? String ?? ""
            #expect(dateDetail.contains("RFC 3339") && !dateDetail.contains("'role'") && !dateDetail.contains("next week"), "\(dateDetail)")
        }
    }

    /// U+0000 is valid in JSON and in a percent-encoded path, but PostgreSQL cannot store it:
    /// it must never turn into a 500 or an unwritable audit row.
    @Test func nulAnywhereIsNeverA500() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            for (token, path) in [(setup.admin.token, "/v1/tenants/acme%00"), (setup.support.token, "/v1/tenants/ac%00me"),
                                  (setup.admin.token, "/v1/tenants/acme%00/credentials")] {
                expectProblem(try await client.send(.get, path, token: token, requestID: "req-nul"), .notFound, "tenant_not_found", path)
            }
            #expect(try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM audit_events WHERE request_id = 'req-nul'") == 3)
            expectProblem(
                try await client.send(.post, "/v1/tokens", token: setup.support.token, body: #"{"role":"tenant_admin","name":"x","tenant":"ac\u0000me"}"#),
                .notFound, "tenant_not_found"
            )
            let file = #"{"web":{"client_id":"12-ab\u0000.apps.googleusercontent.com","project_id":"p\u0000","client_secret":"GOCSPX-abcdefghijklmnopqrstuvwxyz\u0000"}}"#
            let upload = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: file)
            #expect(upload.status == .accepted, "\(upload.text)")
            #expect(upload.object?["client_id"] as? String == #"12-ab\u0000.apps.googleusercontent.com"#, "\(upload.text)")
            #expect(upload.object?["project_id"] as? String == #"p\u0000"#)
        }
    }

    @Test func namesMayNotHoldC1ControlCharacters() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            for name in ["Acme\u{85}Corp", "Acme\u{9F}", "\u{80}Acme"] {
                let body = try String(decoding: JSONSerialization.data(withJSONObject: ["slug": "acme", "display_name": name]), as: UTF8.self)
                expectProblem(try await client.send(.post, "/v1/tenants", token: support.token, body: body), .badRequest, "invalid_request", field: "display_name")
            }
        }
    }

    /// Every answer says `X-Content-Type-Options: nosniff`: operations, problems of every kind,
    /// what Hummingbird answers itself, HEAD.
    @Test func everyResponseForbidsSniffing() async throws {
        try await withTestApplication { client, _ in
            let requests: [(String, HTTPRequest.Method, HTTPFields)] = [
                ("/healthz", .get, [:]),
                ("/readyz", .get, [:]),
                ("/metrics", .get, [:]),
                ("/openapi.yaml", .get, [:]),
                ("/healthz", .head, [:]),
                ("/no/such/thing", .get, [:]),
                ("/healthz", .post, [:]),
                ("/v1/tenants", .get, [:]),
                ("/v1/tenants", .get, [.authorization: "Bearer agcrm_not-a-real-token"]),
                ("/v1/tenants/acme/setup-sheet", .get, [:]),
            ]
            for (path, method, headers) in requests {
                try await client.execute(uri: path, method: method, headers: headers) { response in
                    #expect(response.headers[.xContentTypeOptions] == "nosniff", "\(method) \(path) answered \(response.status)")
                }
            }
        }
    }

    /// A client that sends half a request and stops is cut off after the idle timeout, whether
    /// it stalls in the head or in the body; a whole request is answered as usual. One second:
    /// with every suite running at once on two cores, an answer can take longer than a shorter
    /// timeout, which would then cut off the whole request too.
    @Test(arguments: [
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",
        "POST /v1/tenants HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"slug\":",
        "",
    ])
    func aStalledRequestIsClosedAfterTheIdleTimeout(partial: String) async throws {
        try await withConfiguredApplication(live: true, { $0.limits.idleTimeout = .seconds(1) }) { client, _ in
            let port = try #require(client.port)
            let clock = ContinuousClock()
            let started = clock.now
            let answer = try await rawExchange(port: port, partial, timeout: .seconds(10))
            let elapsed = started.duration(to: clock.now)
            #expect(answer.closed, "the connection is still open after 10 s")
            #expect(elapsed >= .milliseconds(900), "closed after \(elapsed), before the timeout")
            #expect(elapsed < .seconds(6), "closed after \(elapsed)")
            #expect(!answer.received.contains("HTTP/1.1 2"), "\(answer.received)")
            // Whole requests are still answered.
            let whole = try await rawExchange(port: port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            #expect(whole.received.hasPrefix("HTTP/1.1 200"), "\(whole)")
        }
    }

    @Test func answersThatHoldASecretAreNotCached() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "wall-1"]
            let created = try await client.send(.post, "/v1/tokens", token: setup.support.token, body: #"{"role":"dashboard","name":"wall"}"#, headers: key)
            #expect(created.status == .created)
            #expect(created.headers[.cacheControl] == "no-store")
            let replayed = try await client.send(.post, "/v1/tokens", token: setup.support.token, body: #"{"role":"dashboard","name":"wall"}"#, headers: key)
            #expect(replayed.body == created.body)
            #expect(replayed.headers[.cacheControl] == "no-store")
            _ = try await CredentialFixture.upload(client, token: setup.admin.token, file: CredentialFixture.file())
            try await CredentialFixture.verifyPending(url)
            let secret = try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: setup.runtime.token)
            #expect(secret.status == .ok)
            #expect(secret.headers[.cacheControl] == "no-store")
        }
    }
}
