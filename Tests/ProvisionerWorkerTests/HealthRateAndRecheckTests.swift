import Foundation
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import ProvisionerWorker
import Testing

@Suite("Credential health: the service-wide rate and the periodic re-check", .serialized, .timeLimit(.minutes(3)))
struct HealthRateAndRecheckTests {
    @Test("60 requests a minute hold across two checkers: at most the bucket (5) plus one a second")
    func rateHoldsAcrossCheckers() async throws {
        try await FakeGoogle.with(HealthCheckTests.token, authorize: { _, _ in .signIn }) { _, fake in
            try await WorkerFixture.with { fixture in
                let one = WorkerFixture.healthConfiguration(workerID: "health-1", authURL: fake.authURL, rate: 60)
                let two = WorkerFixture.healthConfiguration(workerID: "health-2", authURL: fake.authURL, rate: 60)
                var uploaded: [UUID] = []
                for number in 0..<8 {
                    uploaded.append(try await fixture.verifiedUpload("tenant-\(number)", clientID: ClientFiles.clientID(number)).id)
                }
                let ids = uploaded
                // Verified first, without the checkers.
                try await fixture.running(fixture.makeWorker(one)) {
                    for id in ids { try await fixture.waitForVerdict(id) }
                }
                let clock = ContinuousClock()
                let started = clock.now
                let observed = Duration.seconds(6)
                let elapsed = try await fixture.runningServices([fixture.makeChecker(one), fixture.makeChecker(two)]) {
                    try await Task.sleep(for: observed)
                    return started.duration(to: clock.now)
                }
                let requests = fake.authorizations.count
                // The shutdown lets the checks in hand finish: they were granted before it.
                let allowed = 5 + Int(Backoff.seconds(elapsed).rounded(.up)) + 1
                #expect(requests <= allowed, "\(requests) requests in \(elapsed), at most \(allowed)")
                // The bucket of a fresh database starts empty: one a second from then on, shared by
                // two checkers that each wait for two (a credential's URIs).
                #expect(requests >= 2, "the checkers made progress: \(requests) requests")
                let checked = try await fixture.count("SELECT count(*)::integer FROM credentials WHERE health_state = 'ok'")
                #expect(checked < ids.count, "the rate held them back: \(checked) of \(ids.count) checked in \(elapsed)")
            }
        }
    }

    @Test("a secret reset at Google is caught by the next re-check: client_secret_invalid")
    func secretResetCaughtByRecheck() async throws {
        let reset = Switch(false)
        let google = HealthCheckTests.token
        let token: FakeGoogle.Responder = { form, number in
            if reset.value && form["client_secret"] == ClientFiles.secret {
                return (401, #"{"error":"invalid_client","error_description":"Unauthorized"}"#)
            }
            return await google(form, number)
        }
        try await FakeGoogle.with(token, authorize: { _, _ in .signIn }) { tokenURL, fake in
            try await WorkerFixture.with { fixture in
                let configuration = WorkerFixture.healthConfiguration(authURL: fake.authURL, recheck: .seconds(1))
                let liveCheck = LiveGoogleCheck(configuration: .init(tokenURL: tokenURL, retries: 0), logger: WorkerFixture.logger)
                let (_, id) = try await fixture.verifiedUpload("acme")
                try await fixture.runningServices([
                    fixture.makeWorker(configuration, liveCheck: liveCheck), fixture.makeChecker(configuration, liveCheck: liveCheck),
                ]) {
                    #expect(try await fixture.waitForVerdict(id).state == .verified)
                    let ok = try await fixture.waitForHealth(id, .ok)
                    #expect(ok.dueAt != nil, "re-checked every interval")
                    reset.value = true
                    let row = try await fixture.waitForHealth(id, .clientSecretInvalid)
                    #expect(row.credentialState == .verified, "health never changes the verdict")
                    #expect(row.dueAt != nil)
                }
            }
        }
    }

    @Test("a superseded or suspended tenant's credential is not checked")
    func onlyActiveCredentials() async throws {
        try await FakeGoogle.with(HealthCheckTests.token, authorize: { _, _ in .signIn }) { _, fake in
            try await WorkerFixture.with { fixture in
                let configuration = WorkerFixture.healthConfiguration(authURL: fake.authURL)
                let (tenant, first) = try await fixture.verifiedUpload("acme")
                try await fixture.running(fixture.makeWorker(configuration)) {
                    try await fixture.waitForVerdict(first)
                    let second = try await fixture.upload(ClientFiles.clean(for: tenant.uriSet), to: tenant)
                    try await fixture.waitForVerdict(second)
                }
                try await fixture.runningServices([fixture.makeChecker(configuration)]) {
                    let active = try await fixture.tenantRow(tenant).activeCredentialID
                    #expect(active != nil && active != first)
                    try await fixture.waitForHealth(active!, .ok)
                }
                #expect(try await fixture.health(first).state == .unchecked)
            }
        }
    }
}
