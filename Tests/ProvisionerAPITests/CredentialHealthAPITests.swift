import Foundation
import HummingbirdTesting
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Testing
@testable import ProvisionerAPI

/// `health` of credential JSON and `by_health` of the dashboard summary (openapi.yaml,
/// "Credential health"). The worker's checks do not run here: the health columns are set in
/// SQL as the database owner, as the worker would leave them.
@Suite struct CredentialHealthAPITests {
    static let healthKeys: Set<String> = ["state", "checked_at", "uris"]

    static func health(_ credential: [String: Any]?) throws -> [String: Any] {
        try #require(credential?["health"] as? [String: Any], "no health in \(String(describing: credential))")
    }

    static func expectUnchecked(_ credential: [String: Any]?, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let health = try Self.health(credential)
        #expect(Set(health.keys) == healthKeys, "\(what): \(health)", sourceLocation: sourceLocation)
        #expect(health["state"] as? String == "unchecked", "\(what)", sourceLocation: sourceLocation)
        #expect(health["checked_at"] is NSNull, "\(what): checked_at must be null", sourceLocation: sourceLocation)
        #expect((health["uris"] as? [Any])?.isEmpty == true, "\(what): uris must be []", sourceLocation: sourceLocation)
    }

    /// Sets the health columns of credential `id` as the worker would.
    static func setHealth(_ url: DatabaseURL, id: String, state: String, uris: String, checked: Bool = true) async throws {
        try await CredentialFixture.execute(url, """
            UPDATE credentials SET health_state = '\(state)', health_uris = '\(uris)'::jsonb,
                   health_checked_at = \(checked ? "'2025-04-01T10:15:09Z'" : "NULL")
            WHERE id = '\(id)'
            """)
    }

    /// The spec's states are the domain's, name for name (the handlers map one to the other by raw value).
    @Test func theSpecsStatesAreTheDomains() {
        #expect(Components.Schemas.HealthState.allCases.map(\.rawValue) == HealthState.allCases.map(\.rawValue))
        for state in HealthState.allCases {
            #expect(Components.Schemas.HealthState(state).rawValue == state.rawValue)
        }
    }

    @Test func aFreshCredentialIsUncheckedEverywhere() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let uploaded = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: CredentialFixture.file())
            #expect(uploaded.status == .accepted)
            try Self.expectUnchecked(uploaded.object, "upload")
            let id = try #require(uploaded.object?["id"] as? String)
            let got = try await client.send(.get, "/v1/tenants/acme/credentials/\(id)", token: setup.admin.token)
            try Self.expectUnchecked(got.object, "get")
            let list = try await client.send(.get, "/v1/tenants/acme/credentials", token: setup.support.token)
            try Self.expectUnchecked((list.object?["items"] as? [[String: Any]])?.first, "list")

            #expect(try await CredentialFixture.verifyPending(url)[id] == .verified)
            let active = try await client.send(.get, "/v1/tenants/acme/credentials/active", token: setup.dashboard.token)
            #expect(active.status == .ok)
            try Self.expectUnchecked(active.object, "active")
            let reverified = try await client.send(.post, "/v1/tenants/acme/credentials/\(id)/verify", token: setup.admin.token)
            #expect(reverified.status == .accepted, "\(reverified.text)")
            try Self.expectUnchecked(reverified.object, "reverify")
        }
    }

    @Test func everyStateReadsBackAndTheVerdictStaysVerified() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let id = try await CredentialFixture.upload(client, token: setup.admin.token, file: CredentialFixture.file())
            #expect(try await CredentialFixture.verifyPending(url)[id] == .verified)
            let callback = CredentialFixture.callback("acme")
            for state in HealthState.allCases where state != .unchecked {
                let uriState = state == .clientDeleted || state == .clientSecretInvalid ? "ok" : state.rawValue
                try await Self.setHealth(url, id: id, state: state.rawValue, uris: #"[{"uri": "\#(callback)", "state": "\#(uriState)"}]"#)
                for path in ["/v1/tenants/acme/credentials/active", "/v1/tenants/acme/credentials/\(id)"] {
                    let reply = try await client.send(.get, path, token: setup.support.token)
                    #expect(reply.status == .ok, "\(path): \(reply.text)")
                    #expect(reply.object?["state"] as? String == "verified", "\(state): health never changes the verdict")
                    let health = try Self.health(reply.object)
                    #expect(health["state"] as? String == state.rawValue, "\(path)")
                    #expect(rfc3339(health["checked_at"]) == Date(timeIntervalSince1970: 1_743_502_509), "\(path): \(health)")
                    let uris = try #require(health["uris"] as? [[String: Any]])
                    #expect(uris.count == 1)
                    #expect(uris.first?["uri"] as? String == callback)
                    #expect(uris.first?["state"] as? String == uriState)
                }
            }
            // Still the active credential, the tenant still verified.
            let tenant = try await client.send(.get, "/v1/tenants/acme", token: setup.support.token)
            #expect(tenant.object?["active_credential_id"] as? String == id)
            #expect(tenant.object?["state"] as? String == "verified")
        }
    }

    /// The worker writes the jsonb; the API reads it defensively: an unknown state reads as
    /// unchecked, an element without a string uri is skipped, and nothing crashes.
    @Test func oddHealthURIsAreReadDefensively() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let id = try await CredentialFixture.upload(client, token: setup.admin.token, file: CredentialFixture.file())
            try await Self.setHealth(url, id: id, state: "propagating", uris: """
                [{"uri": "https://a.example/cb", "state": "some_future_state"}, {"uri": "https://b.example/cb"},
                 {"state": "ok"}, {"uri": 7, "state": "ok"}, "text", null, {"uri": "https://c.example/cb", "state": "ok", "extra": 1}]
                """)
            let reply = try await client.send(.get, "/v1/tenants/acme/credentials/\(id)", token: setup.admin.token)
            #expect(reply.status == .ok, "\(reply.text)")
            let health = try Self.health(reply.object)
            #expect(health["state"] as? String == "propagating")
            let uris = try #require(health["uris"] as? [[String: Any]])
            #expect(uris.map { $0["uri"] as? String } == ["https://a.example/cb", "https://b.example/cb", "https://c.example/cb"])
            #expect(uris.map { $0["state"] as? String } == ["unchecked", "unchecked", "ok"])
            #expect(Set(uris.flatMap(\.keys)) == ["uri", "state"])
        }
    }

    @Test func dashboardSummaryCountsActiveCredentialsByHealth() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url, slugs: ["acme", "globex", "initech", "hooli"])
            func byHealth() async throws -> [String: Int] {
                let reply = try await client.send(.get, "/v1/dashboard/summary", token: setup.dashboard.token)
                #expect(reply.status == .ok, "\(reply.text)")
                let counts = try #require(reply.object?["by_health"] as? [String: Any], "\(reply.text)")
                #expect(Set(counts.keys) == Set(HealthState.allCases.map(\.rawValue)))
                return counts.compactMapValues { $0 as? Int }
            }
            let zero = Dictionary(uniqueKeysWithValues: HealthState.allCases.map { ($0.rawValue, 0) })
            #expect(try await byHealth() == zero)

            var ids: [String: String] = [:]
            for slug in ["acme", "globex", "initech"] {
                ids[slug] = try await CredentialFixture.upload(client, token: setup.support.token, slug: slug, file: CredentialFixture.file(slug: slug))
            }
            // Pending uploads are nobody's active credential yet.
            #expect(try await byHealth() == zero)
            try await CredentialFixture.verifyPending(url)
            var expected = zero
            expected["unchecked"] = 3
            #expect(try await byHealth() == expected)

            let acme = try #require(ids["acme"]), globex = try #require(ids["globex"])
            try await Self.setHealth(url, id: acme, state: "redirect_uri_not_registered",
                                     uris: #"[{"uri": "\#(CredentialFixture.callback("acme"))", "state": "redirect_uri_not_registered"}]"#)
            try await Self.setHealth(url, id: globex, state: "ok", uris: #"[{"uri": "\#(CredentialFixture.callback("globex"))", "state": "ok"}]"#)
            // hooli's pending upload, even with health set, is not active: not counted.
            let hooli = try await CredentialFixture.upload(client, token: setup.support.token, slug: "hooli", file: "{}")
            try await Self.setHealth(url, id: hooli, state: "client_deleted", uris: "[]")
            expected = zero
            expected["unchecked"] = 1
            expected["ok"] = 1
            expected["redirect_uri_not_registered"] = 1
            #expect(try await byHealth() == expected)

            // A suspended tenant's active credential still counts (the credential to fix on resuming).
            let suspend = try await client.send(.patch, "/v1/tenants/globex", token: setup.support.token, body: #"{"suspended": true}"#)
            #expect(suspend.status == .ok, "\(suspend.text)")
            #expect(try await byHealth() == expected)
        }
    }

    /// The two health events are subscribable, and a change of health (set as the worker would)
    /// makes a delivery of each to the endpoint that subscribed.
    @Test func webhookEndpointsTakeTheHealthEvents() async throws {
        try await withTestApplication(hostResolver: WebhookEndpointsAPITests.resolver) { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let created = try await client.send(
                .post, "/v1/webhook-endpoints", token: setup.support.token,
                body: WebhookEndpointsAPITests.body(events: ["credential.unhealthy", "credential.healthy"])
            )
            try #require(created.status == .created, "\(created.text)")
            #expect(created.object?["events"] as? [String] == ["credential.unhealthy", "credential.healthy"])
            let endpoint = try #require(created.object?["id"] as? String)
            let got = try await client.send(.get, "/v1/webhook-endpoints/\(endpoint)", token: setup.support.token)
            #expect(got.object?["events"] as? [String] == ["credential.unhealthy", "credential.healthy"])

            let id = try await CredentialFixture.upload(client, token: setup.admin.token, file: CredentialFixture.file())
            #expect(try await CredentialFixture.verifyPending(url)[id] == .verified)
            try await Self.setHealth(url, id: id, state: "client_deleted", uris: "[]")
            try await Self.setHealth(url, id: id, state: "ok", uris: "[]")
            let deliveries = try await client.send(.get, "/v1/webhook-endpoints/\(endpoint)/deliveries", token: setup.support.token)
            #expect(deliveries.status == .ok, "\(deliveries.text)")
            let types = Set(((deliveries.object?["items"] as? [[String: Any]]) ?? []).compactMap { $0["event_type"] as? String })
            #expect(types == ["credential.unhealthy", "credential.healthy"], "\(deliveries.text)")
        }
    }
}
