import Foundation
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import ProvisionerWorker
import Testing

@Suite("Credential health: the registration probe and the re-check", .serialized, .timeLimit(.minutes(3)))
struct HealthCheckTests {
    static let token = FakeGoogle.google(clientID: ClientFiles.clientID, secret: ClientFiles.secret)

    /// A real upload verified by the real worker, then checked with the fake's answers.
    func reach(
        _ expected: HealthState, answer: @escaping FakeGoogle.AuthResponder, window: Duration = .seconds(3600),
        requestTimeout: Duration = .seconds(2), settle: Bool = true
    ) async throws -> (WorkerFixture.HealthRow, [FakeGoogle.AuthRequest], IssuedURISet) {
        try await FakeGoogle.with(Self.token, authorize: answer) { _, fake in
            try await WorkerFixture.with { fixture in
                let configuration = WorkerFixture.healthConfiguration(authURL: fake.authURL, window: window, requestTimeout: requestTimeout)
                let (tenant, id) = try await fixture.verifiedUpload("acme")
                let row = try await fixture.runningServices([fixture.makeWorker(configuration), fixture.makeChecker(configuration)]) {
                    let verdict = try await fixture.waitForVerdict(id)
                    #expect(verdict.state == .verified)
                    return try await fixture.waitForHealth(id, expected)
                }
                #expect(row.credentialState == .verified, "health never changes the verdict")
                return (row, fake.authorizations, tenant.uriSet!)
            }
        }
    }

    @Test("registered: a redirect onward to sign-in is ok, per URI; the probe sends no cookie and no secret")
    func registered() async throws {
        let (row, requests, uriSet) = try await reach(.ok) { _, _ in .signIn }
        #expect(row.uris.map(\.uri) == uriSet.redirectURIs)
        #expect(row.uris.allSatisfy { $0.state == .ok })
        #expect(row.checkedAt != nil)
        #expect(row.dueAt == nil, "re-check off: not due again")
        #expect(row.attempts == 0)
        #expect(Set(requests.compactMap { $0.query["redirect_uri"] }) == Set(uriSet.redirectURIs))
        for request in requests {
            #expect(request.query["client_id"] == ClientFiles.clientID)
            #expect(request.query["response_type"] == "code")
            #expect(request.query["scope"] == "openid")
            #expect(request.query["client_secret"] == nil)
            #expect(!request.hadCookie)
        }
    }

    @Test("an error page naming redirect_uri_mismatch is propagating within the window")
    func propagating() async throws {
        let (row, _, uriSet) = try await reach(.propagating) { query, _ in
            query["redirect_uri"]?.contains("crm.example.com") == true ? .mismatch : .signIn
        }
        #expect(row.mismatchSince != nil)
        #expect(row.dueAt != nil, "retried within the window")
        #expect(row.uris.map(\.state) == uriSet.redirectURIs.map { $0.contains("crm.example.com") ? .propagating : .ok })
    }

    @Test("the window runs out: redirect_uri_not_registered")
    func windowRunsOut() async throws {
        let (row, requests, _) = try await reach(.redirectURINotRegistered, answer: { _, _ in .mismatch }, window: .seconds(2))
        #expect(row.uris.allSatisfy { $0.state == .redirectURINotRegistered })
        #expect(row.mismatchSince != nil)
        #expect(row.dueAt == nil, "final, and the re-check is off")
        #expect(requests.count > 2, "retried within the window first")
    }

    @Test("deleted_client and invalid_client: client_deleted", arguments: [FakeGoogle.AuthAnswer.deletedClient, .invalidClient])
    func clientDeleted(answer: FakeGoogle.AuthAnswer) async throws {
        let (row, _, _) = try await reach(.clientDeleted) { _, _ in answer }
        #expect(row.checkedAt != nil)
    }

    @Test("a mismatch that turns registered after a delay: propagating, then ok")
    func propagatingThenRegistered() async throws {
        let registered = Switch(false)
        try await FakeGoogle.with(Self.token, authorize: { _, _ in registered.value ? .signIn : .mismatch }) { _, fake in
            try await WorkerFixture.with { fixture in
                let configuration = WorkerFixture.healthConfiguration(authURL: fake.authURL)
                let (_, id) = try await fixture.verifiedUpload("acme")
                try await fixture.runningServices([fixture.makeWorker(configuration), fixture.makeChecker(configuration)]) {
                    let first = try await fixture.waitForHealth(id, .propagating)
                    #expect(first.mismatchSince != nil)
                    registered.value = true
                    let row = try await fixture.waitForHealth(id, .ok)
                    #expect(row.mismatchSince == nil)
                    #expect(row.uris.allSatisfy { $0.state == .ok })
                    #expect(try await fixture.credential(id).state == .verified)
                }
            }
        }
    }

    @Test("5xx and a slow answer are inconclusive: health unchanged, retried", arguments: [false, true])
    func inconclusive(slow: Bool) async throws {
        let answer: FakeGoogle.AuthAnswer = slow ? FakeGoogle.AuthAnswer(status: 302, location: "/ServiceLogin", delay: .seconds(3)) : .unavailable
        try await FakeGoogle.with(Self.token, authorize: { _, _ in answer }) { _, fake in
            try await WorkerFixture.with { fixture in
                let configuration = WorkerFixture.healthConfiguration(authURL: fake.authURL, requestTimeout: .milliseconds(500))
                let (_, id) = try await fixture.verifiedUpload("acme")
                try await fixture.runningServices([fixture.makeWorker(configuration), fixture.makeChecker(configuration)]) {
                    try await fixture.waitForVerdict(id)
                    try await fixture.waitUntil(timeout: .seconds(20), "retried after inconclusive answers") {
                        let row = try await fixture.health(id)
                        return row.attempts >= 2 && row.lastError != nil
                    }
                    let row = try await fixture.health(id)
                    #expect(row.state == .unchecked)
                    #expect(row.checkedAt == nil, "checked_at unchanged")
                    #expect(row.credentialState == .verified)
                }
            }
        }
    }

    @Test("credential.unhealthy then credential.healthy reach a webhook receiver")
    func webhooks() async throws {
        let registered = Switch(false)
        try await WebhookReceiver.with { receiver in
            try await FakeGoogle.with(Self.token, authorize: { _, _ in registered.value ? .signIn : .mismatch }) { _, fake in
                try await WorkerFixture.with { fixture in
                    let configuration = WorkerFixture.healthConfiguration(authURL: fake.authURL)
                    try await fixture.webhookEndpoint(
                        url: receiver.url("health"), secret: WebhookSecret.generate(), events: ["credential.unhealthy", "credential.healthy"]
                    )
                    let (_, id) = try await fixture.verifiedUpload("acme")
                    try await fixture.runningServices([
                        fixture.makeWorker(configuration), fixture.makeChecker(configuration), fixture.makeDispatcher(configuration),
                    ]) {
                        try await fixture.waitForHealth(id, .propagating)
                        registered.value = true
                        try await fixture.waitForHealth(id, .ok)
                        try await fixture.waitUntil(timeout: .seconds(20), "both events delivered") {
                            receiver.deliveries(to: "health").count >= 2
                        }
                    }
                    let types = receiver.deliveries(to: "health").map { delivery -> String in
                        let text = String(decoding: delivery.body, as: UTF8.self)
                        return text.contains("credential.unhealthy") ? "credential.unhealthy" : (text.contains("credential.healthy") ? "credential.healthy" : text)
                    }
                    #expect(types == ["credential.unhealthy", "credential.healthy"])
                    #expect(receiver.deliveries(to: "health").allSatisfy { String(decoding: $0.body, as: UTF8.self).contains(id.uuidString.lowercased()) })
                }
            }
        }
    }
}
