import Foundation
import Logging
import ProvisionerDomain
import ProvisionerStore
import ProvisionerWorker
import Synchronization
import Testing

/// The live check against a fake Google token endpoint.
@Suite("Live check against a fake Google", .timeLimit(.minutes(2)))
struct LiveCheckTests {
    static let logger: Logger = {
        var logger = Logger(label: "live-check-test")
        logger.logLevel = .critical
        return logger
    }()

    static func check(
        _ tokenURL: String, retries: Int = 3, requestTimeout: Duration = .seconds(2), budget: Duration = .seconds(10)
    ) -> LiveGoogleCheck {
        LiveGoogleCheck(
            configuration: .init(
                tokenURL: tokenURL, requestTimeout: requestTimeout, retries: retries,
                backoff: Backoff(base: .milliseconds(10), cap: .milliseconds(50)), budget: budget
            ),
            logger: logger
        )
    }

    static let credential = RuntimeCredential(
        clientID: ClientFiles.clientID, clientSecret: ClientFiles.secret + "&=+ %é", projectID: nil, redirectURIs: [], javascriptOrigins: []
    )

    @Test("the request is a form POST with the dummy code, the pair and the first issued redirect URI")
    func requestShape() async throws {
        try await FakeGoogle.with(FakeGoogle.google(clientID: ClientFiles.clientID, secret: Self.credential.clientSecret)) { url, fake in
            let outcome = try await Self.check(url).check(Self.credential, redirectURI: "https://acme.crm.example.com/agcrm_google/AuthCallback/IndexAsync")
            #expect(outcome == .validPair)
            let request = try #require(fake.received.first)
            #expect(request.contentType == "application/x-www-form-urlencoded")
            #expect(request.form["grant_type"] == "authorization_code")
            #expect(request.form["code"]?.isEmpty == false)
            #expect(request.form["client_id"] == ClientFiles.clientID)
            #expect(request.form["client_secret"] == Self.credential.clientSecret)
            #expect(request.form["redirect_uri"] == "https://acme.crm.example.com/agcrm_google/AuthCallback/IndexAsync")
        }
    }

    @Test("answers map to outcomes", arguments: [
        (400, #"{"error":"invalid_grant"}"#, LiveCheckOutcome.validPair),
        (401, #"{"error":"invalid_client","error_description":"The OAuth client was not found."}"#, .clientNotFound),
        (401, #"{"error":"invalid_client","error_description":"The OAuth client was deleted."}"#, .clientNotFound),
        (401, #"{"error":"invalid_client","error_description":"Unauthorized"}"#, .clientSecretInvalid),
        (401, #"{"error":"invalid_client"}"#, .clientSecretInvalid),
        (401, #"{"error":"deleted_client","error_description":"The OAuth client was deleted."}"#, .clientNotFound),
        (401, #"{"error":"deleted_client"}"#, .clientNotFound),
        (401, #"{"error":"unauthorized_client","error_description":"Unauthorized"}"#, .clientSecretInvalid),
        (401, "Unauthorized", .unavailable),
        (400, #"{"error":"invalid_request"}"#, .unavailable),
        (403, "forbidden", .unavailable),
        (200, #"{"access_token":"x"}"#, .unavailable),
    ])
    func answers(status: Int, json: String, expected: LiveCheckOutcome) async throws {
        try await FakeGoogle.with({ _, _ in (status, json) }) { url, fake in
            let outcome = try await Self.check(url).check(Self.credential, redirectURI: "https://x.example.com/cb")
            #expect(outcome == expected)
            #expect(fake.received.count == 1)
        }
    }

    @Test("5xx and 429 are retried, then the answer counts")
    func retriedThenAnswered() async throws {
        try await FakeGoogle.with({ _, number in
            number == 1 ? (503, "{}") : number == 2 ? (429, "{}") : (400, #"{"error":"invalid_grant"}"#)
        }) { url, fake in
            let outcome = try await Self.check(url).check(Self.credential, redirectURI: "https://x.example.com/cb")
            #expect(outcome == .validPair)
            #expect(fake.received.count == 3)
        }
    }

    @Test("Google down: 3 retries, then unavailable")
    func googleDown() async throws {
        try await FakeGoogle.with({ _, _ in (500, "{}") }) { url, fake in
            let outcome = try await Self.check(url).check(Self.credential, redirectURI: "https://x.example.com/cb")
            #expect(outcome == .unavailable)
            #expect(fake.received.count == 4)
        }
    }

    /// By default 3 retries within about 30 seconds, even when every try
    /// times out (the worst case of the default configuration, computed, not waited for).
    @Test("the default budget holds every default retry")
    func defaultBudget() {
        let configuration = LiveGoogleCheck.Configuration()
        let tries = configuration.retries + 1
        let worst = configuration.requestTimeout * tries + configuration.backoff.ceiling(attempt: configuration.retries) * configuration.retries
        #expect(configuration.retries == 3)
        #expect(worst <= configuration.budget)
        #expect(configuration.budget <= .seconds(30))
    }

    @Test("timeouts are retried, within the budget")
    func timeouts() async throws {
        try await FakeGoogle.with({ _, _ in
            try? await Task.sleep(for: .seconds(5))
            return (400, #"{"error":"invalid_grant"}"#)
        }) { url, fake in
            let clock = ContinuousClock()
            let started = clock.now
            // A budget with room for several timed-out tries even on a loaded 2-core machine
            // (1 s allowed only one try there now and then); the fake never answers in time.
            let outcome = try await Self.check(url, retries: 3, requestTimeout: .milliseconds(200), budget: .seconds(3))
                .check(Self.credential, redirectURI: "https://x.example.com/cb")
            #expect(outcome == .unavailable)
            #expect(started.duration(to: clock.now) < .seconds(4))
            #expect(fake.received.count >= 2)
        }
    }

    /// A 307 or 308 would have the client post the form, secret included, wherever the
    /// Location says; 301-303 would turn it into a GET. None is followed, and none retried.
    @Test("a redirect is not followed: one POST, to the token URL, and the answer is unavailable", arguments: [301, 302, 303, 307, 308])
    func redirectsAreNotFollowed(status: Int) async throws {
        try await FakeGoogle.with({ _, _ in (status, #"{"error":"moved"}"#) }) { url, fake in
            let outcome = try await Self.check(url).check(Self.credential, redirectURI: "https://x.example.com/cb")
            #expect(outcome == .unavailable)
            #expect(fake.received.count == 1)
            #expect(fake.redirected.isEmpty, "the client followed the \(status) to \(fake.redirected.count) more request(s)")
        }
    }

    @Test("the token URL is https, or http on a loopback host only", arguments: [
        ("https://oauth2.googleapis.com/token", true),
        ("https://127.0.0.1:8443/token", true),
        ("http://127.0.0.1:8080/token", true),
        ("http://127.1.2.3/token", true),
        ("http://localhost:9999/token", true),
        ("http://[::1]:9999/token", true),
        ("HTTP://127.0.0.1/token", true),
        ("http://oauth2.googleapis.com/token", false),
        ("http://10.0.0.7/token", false),
        ("http://127.0.0.1.nip.io/token", false),
        ("http://localhost.example.com/token", false),
        ("ftp://127.0.0.1/token", false),
        ("https:///token", false),
        ("oauth2.googleapis.com/token", false),
        ("not a url", false),
    ])
    func tokenURLs(url: String, allowed: Bool) {
        #expect((LiveGoogleCheck.tokenURLProblem(url) == nil) == allowed, "\(url): \(LiveGoogleCheck.tokenURLProblem(url) ?? "allowed")")
    }

    /// The start-up refuses such a URL; the check refuses it again rather than send a secret
    /// in clear if a caller built one anyway.
    @Test("a plain-http token URL to another host is never asked")
    func plainHTTPElsewhereIsRefused() async throws {
        await #expect(throws: LiveCheckError.self) {
            _ = try await Self.check("http://oauth2.googleapis.com/token").check(Self.credential, redirectURI: "https://x.example.com/cb")
        }
    }

    @Test("nothing listening: unavailable after the retries")
    func connectionRefused() async throws {
        let outcome = try await Self.check("http://127.0.0.1:1/token").check(Self.credential, redirectURI: "https://x.example.com/cb")
        #expect(outcome == .unavailable)
    }

    @Test("through the worker: valid pair, unknown client, wrong secret, Google down")
    func throughTheWorker() async throws {
        let registered = ClientFiles.clientID(1)
        try await WorkerFixture.with { fixture in
            let acme = try await fixture.tenant("acme")
            let googleUp = Mutex(true)
            let google = FakeGoogle.google(clientID: registered, secret: ClientFiles.secret)
            try await FakeGoogle.with({ form, number in
                googleUp.withLock { $0 } ? await google(form, number) : (503, #"{"error":"backend_error"}"#)
            }) { url, fake in
                let worker = fixture.makeWorker(liveCheck: Self.check(url, retries: 3, requestTimeout: .seconds(2), budget: .seconds(5)))
                try await fixture.running(worker) {
                    let valid = try await fixture.upload(ClientFiles.clean(for: acme.uriSet, clientID: registered), to: acme)
                    let validRow = try await fixture.waitForVerdict(valid)
                    #expect(validRow.state == .verified)
                    #expect(validRow.findings.isEmpty)

                    let unknown = try await fixture.upload(ClientFiles.clean(for: acme.uriSet, clientID: ClientFiles.clientID(2)), to: acme)
                    let unknownRow = try await fixture.waitForVerdict(unknown)
                    #expect(unknownRow.state == .rejected)
                    #expect(unknownRow.codes == [.liveClientNotFound])
                    #expect(try await fixture.credential(valid).state == .verified)

                    let wrongSecret = try await fixture.upload(
                        ClientFiles.clean(for: acme.uriSet, clientID: registered, secret: "GOCSPX-" + String(repeating: "z", count: 28)), to: acme
                    )
                    let wrongRow = try await fixture.waitForVerdict(wrongSecret)
                    #expect(wrongRow.state == .rejected)
                    #expect(wrongRow.codes == [.liveClientSecretInvalid])
                    #expect(wrongRow.findings.first?.value == nil)

                    googleUp.withLock { $0 = false }
                    let before = fake.received.count
                    let down = try await fixture.upload(ClientFiles.clean(for: acme.uriSet, clientID: registered), to: acme)
                    let downRow = try await fixture.waitForVerdict(down)
                    #expect(downRow.state == .verified)
                    #expect(downRow.codes == [.liveCheckUnavailable])
                    #expect(downRow.findings.first?.severity == .warning)
                    #expect(fake.received.count - before == 4)
                    #expect(try await fixture.tenantRow(acme).activeCredentialID == down)

                    // Every request carried the first issued redirect URI.
                    #expect(fake.received.allSatisfy { $0.form["redirect_uri"] == acme.uriSet!.redirectURIs[0] })
                }
            }
        }
    }

    @Test("a live check that cannot be made is retried, then verification_failed")
    func brokenLiveCheck() async throws {
        try await WorkerFixture.with { fixture in
            let acme = try await fixture.tenant("acme")
            let worker = fixture.makeWorker(WorkerFixture.testConfiguration(maxAttempts: 3), liveCheck: ThrowingLiveCheck())
            try await fixture.running(worker) {
                let id = try await fixture.upload(ClientFiles.clean(for: acme.uriSet), to: acme)
                let row = try await fixture.waitForVerdict(id)
                #expect(row.state == .rejected)
                #expect(row.codes == [.verificationFailed])
                #expect(row.attempts == 3)
            }
        }
    }

    @Test("files without a usable pair are not sent to Google")
    func noPairNoRequest() async throws {
        try await WorkerFixture.with { fixture in
            let acme = try await fixture.tenant("acme")
            try await FakeGoogle.with(FakeGoogle.google(clientID: ClientFiles.clientID, secret: ClientFiles.secret)) { url, fake in
                try await fixture.running(fixture.makeWorker(liveCheck: Self.check(url))) {
                    let id = try await fixture.upload(ClientFiles.severalProblems(for: acme.uriSet!), to: acme)
                    #expect(try await fixture.waitForVerdict(id).state == .rejected)
                    #expect(fake.received.isEmpty)
                }
            }
        }
    }
}

struct ThrowingLiveCheck: LiveCheck {
    func check(_ credential: RuntimeCredential, redirectURI: String) async throws -> LiveCheckOutcome {
        throw LiveCheckError("the HTTP client is shut down")
    }
}
