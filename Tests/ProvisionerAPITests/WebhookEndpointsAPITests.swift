import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO
import ProvisionerDomain
import ProvisionerNetwork
import ProvisionerStore
import ProvisionerTestSupport
import Testing
@testable import ProvisionerAPI

/// `/v1/webhook-endpoints` through the real application and PostgreSQL: the secret shown once
/// and stored sealed, every refusal of a URL (names resolved through a fixed table, never DNS),
/// rotation, deliveries written by the real triggers, retries, roles and audit.
@Suite struct WebhookEndpointsAPITests {
    static let endpointKeys: Set<String> = ["id", "url", "description", "events", "enabled", "disabled_reason", "created_at"]
    static let deliveryKeys: Set<String> = [
        "id", "webhook_id", "event_type", "tenant", "endpoint_id", "attempt", "status", "response_status", "attempted_at",
        "next_attempt_at", "last_error",
    ]
    static let resolver = FixedHostResolver([
        "hooks.example.com": [[93, 184, 216, 34]],
        "loopback.example.com": [[127, 0, 0, 1]],
        "private.example.com": [[10, 0, 0, 1]],
        "metadata.example.com": [[169, 254, 169, 254]],
        "v6loopback.example.com": [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]],
        "mixed.example.com": [[93, 184, 216, 34], [10, 0, 0, 1]],
    ])

    static func body(url: String = "https://hooks.example.com/provisioner", description: String? = nil, events: [String] = ["uri_set.issued"]) -> String {
        var object: [String: Any] = ["url": url, "events": events]
        if let description { object["description"] = description }
        return String(decoding: try! JSONSerialization.data(withJSONObject: object, options: .sortedKeys), as: UTF8.self)
    }

    /// Runs SQL as the owner in the all-tenants scope (endpoints are invisible otherwise).
    static func asOwner<T: Sendable>(_ url: DatabaseURL, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await TestDatabase.withClient(url, purpose: .owner) { client in
            try await client.withConnection { connection in
                try await connection.query("SELECT set_config('provisioner.all_tenants', 'on', false)", logger: TestDatabase.logger)
                return try await body(connection)
            }
        }
    }

    static func count(_ url: DatabaseURL, _ table: String) async throws -> Int {
        try await asOwner(url) { connection in
            let rows = try await connection.query("SELECT count(*)::int8 FROM \(unescaped: table)", logger: TestDatabase.logger)
            for try await value in rows.decode(Int64.self) { return Int(value) }
            return 0
        }
    }

    /// The sealed secrets of an endpoint, opened with the test keyring.
    static func storedSecrets(_ url: DatabaseURL, id: UUID) async throws -> (current: WebhookSecret?, previous: WebhookSecret?) {
        try await asOwner(url) { connection in
            let rows = try await connection.query(
                "SELECT secret_key_id, secret_sealed, previous_secret_key_id, previous_secret_sealed FROM webhook_endpoints WHERE id = \(id)",
                logger: TestDatabase.logger
            )
            let sealer = SecretSealer(keyring: testKeyring)
            for try await (keyID, sealed, previousKeyID, previousSealed) in rows.decode((String, ByteBuffer, String?, ByteBuffer?).self) {
                let current = try sealer.openWebhookSecret(SealedSecret(keyID: keyID, combined: Array(buffer: sealed)), endpointID: id)
                var previous: WebhookSecret?
                if let previousKeyID, let previousSealed {
                    previous = try sealer.openWebhookSecret(SealedSecret(keyID: previousKeyID, combined: Array(buffer: previousSealed)), endpointID: id)
                }
                return (current, previous)
            }
            return (nil, nil)
        }
    }

    @Test func createsListsGetsAndDeletes() async throws {
        try await withTestApplication(hostResolver: Self.resolver) { client, url in
            let support = try await APIFixture.supportToken(url)
            let created = try await client.send(
                .post, "/v1/webhook-endpoints", token: support.token,
                body: Self.body(url: "HTTPS://Hooks.Example.COM/provisioner?k=1", description: "CRM runtime", events: ["credential.activated", "uri_set.issued"])
            )
            try #require(created.status == .created, "\(created.text)")
            #expect(created.headers[.cacheControl] == "no-store")
            let object = try #require(created.object)
            #expect(Set(object.keys) == Self.endpointKeys.union(["secret"]), "\(created.text)")
            let id = try #require(object["id"] as? String)
            #expect(created.headers[.location] == "/v1/webhook-endpoints/\(id)")
            #expect(object["url"] as? String == "https://hooks.example.com/provisioner?k=1")
            #expect(object["events"] as? [String] == ["credential.activated", "uri_set.issued"])
            #expect(object["enabled"] as? Bool == true)
            #expect(object["disabled_reason"] is NSNull)
            let secretText = try #require(object["secret"] as? String)
            #expect(secretText.hasPrefix("whsec_"))
            let secret = try #require(WebhookSecret(encoded: secretText))
            #expect(secret.bytes.count == 32)
            // Stored sealed, bound to the endpoint, and opening to what was shown.
            let stored = try await Self.storedSecrets(url, id: try #require(UUID(uuidString: id)))
            #expect(stored.current == secret)
            #expect(stored.previous == nil)

            let other = try await client.send(.post, "/v1/webhook-endpoints", token: support.token, body: Self.body())
            #expect(other.status == .created)
            let otherID = try #require(other.object?["id"] as? String)

            let got = try await client.send(.get, "/v1/webhook-endpoints/\(id)", token: support.token)
            #expect(got.status == .ok)
            #expect(Set(got.object?.keys.map { $0 } ?? []) == Self.endpointKeys)
            #expect(got.object?["description"] as? String == "CRM runtime")
            #expect(!got.text.contains(secretText))
            let listed = try await client.send(.get, "/v1/webhook-endpoints", token: support.token)
            #expect(listed.status == .ok)
            #expect(listed.items.compactMap { $0["id"] as? String } == [otherID, id])
            #expect(listed.items.allSatisfy { Set($0.keys) == Self.endpointKeys })
            #expect(!listed.text.contains("whsec_"))
            #expect(listed.items.first?["description"] as? String == "")

            #expect(try await client.send(.delete, "/v1/webhook-endpoints/\(id)", token: support.token).status == .noContent)
            expectProblem(try await client.send(.get, "/v1/webhook-endpoints/\(id)", token: support.token), .notFound, "webhook_endpoint_not_found")
            expectProblem(try await client.send(.delete, "/v1/webhook-endpoints/\(id)", token: support.token), .notFound, "webhook_endpoint_not_found")
            expectProblem(try await client.send(.get, "/v1/webhook-endpoints/not-a-uuid", token: support.token), .notFound, "webhook_endpoint_not_found")
            #expect(try await client.send(.get, "/v1/webhook-endpoints", token: support.token).items.count == 1)

            let audit = try await client.send(.get, "/v1/audit-events?limit=50", token: support.token)
            let rows = audit.items.filter { ($0["action"] as? String)?.hasPrefix("webhook_endpoint.") == true }
            #expect(rows.contains { $0["action"] as? String == "webhook_endpoint.created" && $0["target"] as? String == "webhook_endpoint:\(id) host=hooks.example.com" })
            #expect(rows.contains { $0["action"] as? String == "webhook_endpoint.deleted" && $0["target"] as? String == "webhook_endpoint:\(id) host=hooks.example.com" })
            #expect(!audit.text.contains(secretText) && !audit.text.contains("whsec_"))
        }
    }

    @Test func refusesBadInputAndChangesNothing() async throws {
        try await withTestApplication(hostResolver: Self.resolver) { client, url in
            let support = try await APIFixture.supportToken(url)
            let cases: [(String, HTTPResponse.Status, String, String)] = [
                (Self.body(url: "http://hooks.example.com/x"), .unprocessableContent, "webhook_url_scheme", "url"),
                (Self.body(url: "ftp://hooks.example.com/x"), .unprocessableContent, "webhook_url_scheme", "url"),
                (Self.body(url: "https://user:pw@hooks.example.com/x"), .unprocessableContent, "webhook_url_invalid", "url"),
                (Self.body(url: "https://hooks.example.com/x#frag"), .unprocessableContent, "webhook_url_invalid", "url"),
                (Self.body(url: "not a url"), .unprocessableContent, "webhook_url_invalid", "url"),
                (Self.body(url: "https://loopback.example.com/x"), .unprocessableContent, "webhook_url_private", "url"),
                (Self.body(url: "https://private.example.com/x"), .unprocessableContent, "webhook_url_private", "url"),
                (Self.body(url: "https://metadata.example.com/x"), .unprocessableContent, "webhook_url_private", "url"),
                (Self.body(url: "https://v6loopback.example.com/x"), .unprocessableContent, "webhook_url_private", "url"),
                (Self.body(url: "https://mixed.example.com/x"), .unprocessableContent, "webhook_url_private", "url"),
                (Self.body(url: "https://192.168.1.10/x"), .unprocessableContent, "webhook_url_private", "url"),
                (Self.body(url: "https://[::1]/x"), .unprocessableContent, "webhook_url_private", "url"),
                (Self.body(url: "https://nowhere.example.com/x"), .unprocessableContent, "webhook_url_unresolvable", "url"),
                (Self.body(events: ["credential.deleted"]), .unprocessableContent, "invalid_request", "events"),
                (Self.body(events: ["uri_set.issued", "uri_set.issued"]), .unprocessableContent, "invalid_request", "events"),
                (Self.body(events: []), .unprocessableContent, "invalid_request", "events"),
                (Self.body(description: String(repeating: "あ", count: 501)), .badRequest, "invalid_request", "description"),
                (Self.body(description: "line\u{0}break"), .badRequest, "invalid_request", "description"),
                (#"{"url":"https://hooks.example.com/x"}"#, .badRequest, "invalid_request", "events"),
                (#"{"url":"https://hooks.example.com/x","events":["uri_set.issued"],"extra":1}"#, .badRequest, "invalid_request", "extra"),
            ]
            for (body, status, code, field) in cases {
                let reply = try await client.send(.post, "/v1/webhook-endpoints", token: support.token, body: body)
                expectProblem(reply, status, code, field: status == .unprocessableContent ? field : nil, body)
            }
            // The detail names the reason.
            let private_ = try await client.send(.post, "/v1/webhook-endpoints", token: support.token, body: Self.body(url: "https://metadata.example.com/x"))
            #expect((private_.object?["detail"] as? String)?.contains("169.254.169.254") == true, "\(private_.text)")
            let scheme = try await client.send(.post, "/v1/webhook-endpoints", token: support.token, body: Self.body(url: "http://hooks.example.com/x"))
            #expect((scheme.object?["detail"] as? String)?.contains("https") == true)
            // 500 characters are fine.
            let longest = try await client.send(.post, "/v1/webhook-endpoints", token: support.token, body: Self.body(description: String(repeating: "あ", count: 500)))
            #expect(longest.status == .created, "\(longest.text)")
            #expect(try await Self.count(url, "webhook_endpoints") == 1)
            // Each refusal has its audit row, with the problem's code as result.
            let audit = try await client.send(.get, "/v1/audit-events?action=webhook_endpoint.created&limit=100", token: support.token)
            #expect(audit.items.filter { $0["result"] as? String == "webhook_url_private" }.count == 8)
            #expect(audit.items.filter { $0["result"] as? String == "success" }.count == 1)
        }
    }

    @Test func httpAndPrivateAddressesWhenTheOperatorAllowsThem() async throws {
        try await withTestApplication(webhookURLPolicy: WebhookURLPolicy(allowHTTP: true, allowPrivate: true)) { client, url in
            let support = try await APIFixture.supportToken(url)
            for target in ["http://127.0.0.1:9/hook", "https://localhost/hook", "http://[::1]:8080/x"] {
                let reply = try await client.send(.post, "/v1/webhook-endpoints", token: support.token, body: Self.body(url: target))
                #expect(reply.status == .created, "\(target): \(reply.text)")
            }
        }
        // http alone: a private literal is still refused.
        try await withTestApplication(webhookURLPolicy: WebhookURLPolicy(allowHTTP: true)) { client, url in
            let support = try await APIFixture.supportToken(url)
            expectProblem(
                try await client.send(.post, "/v1/webhook-endpoints", token: support.token, body: Self.body(url: "http://10.0.0.1/hook")),
                .unprocessableContent, "webhook_url_private"
            )
        }
    }

    @Test func aSlowResolverIsUnresolvable() async throws {
        try await withTestApplication(hostResolver: TimingOutResolver()) { client, url in
            let support = try await APIFixture.supportToken(url)
            expectProblem(
                try await client.send(.post, "/v1/webhook-endpoints", token: support.token, body: Self.body()),
                .unprocessableContent, "webhook_url_unresolvable"
            )
        }
    }

    @Test func atMostFiftyEndpoints() async throws {
        try await withTestApplication(hostResolver: Self.resolver) { client, url in
            let support = try await APIFixture.supportToken(url)
            for index in 0..<50 {
                let reply = try await client.send(.post, "/v1/webhook-endpoints", token: support.token, body: Self.body(url: "https://hooks.example.com/\(index)"))
                try #require(reply.status == .created, "\(index): \(reply.text)")
            }
            expectProblem(try await client.send(.post, "/v1/webhook-endpoints", token: support.token, body: Self.body()), .conflict, "webhook_endpoint_limit")
            #expect(try await Self.count(url, "webhook_endpoints") == 50)
            #expect(try await client.send(.get, "/v1/webhook-endpoints", token: support.token).items.count == 50)
        }
    }

    @Test func onlySupport() async throws {
        try await withTestApplication(hostResolver: Self.resolver) { client, url in
            let support = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, [("acme", "Acme")])
            let made = try await client.send(.post, "/v1/webhook-endpoints", token: support.token, body: Self.body())
            let id = try #require(made.object?["id"] as? String)
            let others = [
                try await APIFixture.token(url, role: .dashboard),
                try await APIFixture.token(url, role: .runtime),
                try await APIFixture.token(url, role: .tenantAdmin, tenant: "acme"),
            ]
            let delivery = "00000000-0000-4000-8000-000000000001"
            let calls: [(HTTPRequest.Method, String, String?)] = [
                (.post, "/v1/webhook-endpoints", Self.body()),
                (.get, "/v1/webhook-endpoints", nil),
                (.get, "/v1/webhook-endpoints/\(id)", nil),
                (.delete, "/v1/webhook-endpoints/\(id)", nil),
                (.post, "/v1/webhook-endpoints/\(id)/rotate-secret", nil),
                (.get, "/v1/webhook-endpoints/\(id)/deliveries", nil),
                (.post, "/v1/webhook-endpoints/\(id)/deliveries/\(delivery)/retry", nil),
            ]
            for token in others {
                for (method, path, body) in calls {
                    expectProblem(try await client.send(method, path, token: token.token, body: body), .forbidden, "forbidden", "\(token.role) \(method) \(path)")
                }
            }
            #expect(try await Self.count(url, "webhook_endpoints") == 1)
            let secrets = try await Self.storedSecrets(url, id: try #require(UUID(uuidString: id)))
            #expect(secrets.previous == nil)
        }
    }

    @Test func rotatesTheSecret() async throws {
        try await withTestApplication(hostResolver: Self.resolver) { client, url in
            let support = try await APIFixture.supportToken(url)
            let made = try await client.send(.post, "/v1/webhook-endpoints", token: support.token, body: Self.body())
            let id = try #require(made.object?["id"] as? String)
            let uuid = try #require(UUID(uuidString: id))
            let first = try #require(made.object?["secret"] as? String)

            let rotated = try await client.send(.post, "/v1/webhook-endpoints/\(id)/rotate-secret", token: support.token)
            try #require(rotated.status == .ok, "\(rotated.text)")
            #expect(rotated.headers[.cacheControl] == "no-store")
            #expect(Set(rotated.object?.keys.map { $0 } ?? []) == Self.endpointKeys.union(["secret", "previous_secret_expires_at"]))
            let second = try #require(rotated.object?["secret"] as? String)
            #expect(second != first)
            #expect(WebhookSecret(encoded: second)?.bytes.count == 32)
            let expiry = try #require(rfc3339(rotated.object?["previous_secret_expires_at"]))
            #expect(abs(expiry.timeIntervalSinceNow - 24 * 3600) < 120)
            var stored = try await Self.storedSecrets(url, id: uuid)
            #expect(stored.current?.encoded == second)
            #expect(stored.previous?.encoded == first)

            // Again within 24 h: the oldest goes.
            let third = try #require(try await client.send(.post, "/v1/webhook-endpoints/\(id)/rotate-secret", token: support.token).object?["secret"] as? String)
            stored = try await Self.storedSecrets(url, id: uuid)
            #expect(stored.current?.encoded == third)
            #expect(stored.previous?.encoded == second)

            let got = try await client.send(.get, "/v1/webhook-endpoints/\(id)", token: support.token)
            #expect(!got.text.contains("whsec_"))
            expectProblem(
                try await client.send(.post, "/v1/webhook-endpoints/00000000-0000-4000-8000-000000000009/rotate-secret", token: support.token),
                .notFound, "webhook_endpoint_not_found"
            )
            let audit = try await client.send(.get, "/v1/audit-events?action=webhook_endpoint.secret_rotated", token: support.token)
            #expect(audit.items.filter { $0["result"] as? String == "success" }.count == 2)
            #expect(audit.items.first { $0["result"] as? String == "success" }?["target"] as? String == "webhook_endpoint:\(id) host=hooks.example.com")
            for secret in [first, second, third] { #expect(!audit.text.contains(secret)) }
        }
    }
}

/// Stands for a DNS server that does not answer in time.
struct TimingOutResolver: HostResolver {
    func addresses(of host: String) async throws -> [[UInt8]] {
        try await Task.sleep(for: .milliseconds(10))
        throw Timeout()
    }

    struct Timeout: Error {}
}
