import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
import Prometheus
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Synchronization
import Testing
@testable import ProvisionerAPI

/// Rate limits against the real application: each limit flooded until it answers 429 with
/// `Retry-After` and the RateLimit fields, while other clients, tokens and tenants are served
/// and nothing of a refused request is stored; and the limiter's memory under many keys.
@Suite struct RateLimitTests {
    // MARK: the application

    /// The real application on a fresh database, with `settings` (small limits) instead of the
    /// generous defaults; `.live` listens on 127.0.0.1 for requests from chosen addresses.
    static func withApplication<T: Sendable>(
        _ settings: RateLimitSettings, live: Bool = false,
        _ body: @Sendable @escaping (any TestClientProtocol, DatabaseURL) async throws -> T
    ) async throws -> T {
        try await TestDatabase.withFreshDatabase(migrated: true) { url in
            let logger = TestDatabase.logger
            let app = try buildApplication(
                configuration: APIConfiguration(
                    host: "127.0.0.1", port: 0, uriIssuer: try URISetIssuer(cloudDomain: "crm.example.com"), rateLimits: settings
                ),
                dependencies: APIDependencies(
                    postgres: DatabaseClientFactory.makeClient(url: url, purpose: .application(maximumConnections: 8), logger: logger),
                    listenURL: url,
                    migrations: try TestDatabase.migrations(),
                    metrics: PrometheusCollectorRegistry(),
                    keyring: testKeyring,
                    // Stopped: a bucket of 5 a minute gives one back every 12 s, which a run
                    // on a loaded machine can spend between two requests of a test.
                    rateLimitClock: { .seconds(1000) },
                    databaseDeadline: TestDatabase.deadline
                ),
                logger: logger
            )
            return try await app.test(live ? .live : .router) { client in try await body(client, url) }
        }
    }

    /// One HTTP/1.1 request over a socket bound to `source` (a loopback address: 127.0.0.2 is
    /// another client than 127.0.0.1 to the service, which keys failures by the peer's address).
    static func send(
        from source: String, port: Int, _ method: String, _ path: String, token: String? = nil
    ) async throws -> (status: Int, headers: [String: String], body: String) {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(to: try SocketAddress(ipAddress: source, port: 0))
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        head += "\r\n"
        let raw: String = try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: head))
            var received = ByteBuffer()
            for try await var buffer in inbound { received.writeBuffer(&buffer) }
            return String(buffer: received)
        }
        let parts = raw.components(separatedBy: "\r\n\r\n")
        let lines = (parts.first ?? "").components(separatedBy: "\r\n")
        let status = lines.first.flatMap { $0.split(separator: " ").dropFirst().first.flatMap { Int($0) } } ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return (status, headers, parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    static let guessedToken = "agcrm_" + String(repeating: "x", count: 43)

    /// `"name";r=R;t=T` as its three values.
    static func limitFields(_ field: String) -> (name: String, remaining: Int, reset: Int)? {
        let parts = field.split(separator: ";")
        guard parts.count == 3, parts[0].hasPrefix("\""), parts[0].hasSuffix("\""), parts[1].hasPrefix("r="), parts[2].hasPrefix("t="),
              let remaining = Int(parts[1].dropFirst(2)), let reset = Int(parts[2].dropFirst(2))
        else { return nil }
        return (String(parts[0].dropFirst().dropLast()), remaining, reset)
    }

    /// A clock the test moves by hand.
    final class ManualClock: Sendable {
        private let instant = Mutex(Duration.zero)
        var now: Duration {
            get { instant.withLock { $0 } }
            set { instant.withLock { $0 = newValue } }
        }
    }

    /// A 429 with the fields of `policy` (its quota a minute), `r=0` and `t` = `Retry-After`.
    static func expectRefused(_ reply: Reply, policy: String, quota: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        expectProblem(reply, .tooManyRequests, "rate_limited", sourceLocation: sourceLocation)
        let retryAfter = reply.headers[.retryAfter].flatMap { Int($0) }
        #expect((retryAfter ?? 0) >= 1, "Retry-After: \(reply.headers[.retryAfter] ?? "none")", sourceLocation: sourceLocation)
        #expect(reply.headers[.rateLimitPolicy] == "\"\(policy)\";q=\(quota);w=60", sourceLocation: sourceLocation)
        #expect(reply.headers[.rateLimit] == "\"\(policy)\";r=0;t=\(retryAfter ?? -1)", sourceLocation: sourceLocation)
        #expect((reply.object?["detail"] as? String)?.contains("Try again in") == true || (reply.object?["detail"] as? String)?.contains("try again in") == true, sourceLocation: sourceLocation)
    }

    // MARK: failed authentication per client address

    /// Five failures spend 127.0.0.1's budget: from then on it gets 429 before any token is
    /// looked at (a valid one too, so a 429 tells a guesser nothing), the console's link and
    /// sign-in included, while 127.0.0.2 and its tenant's admin are served as before.
    @Test func failedAuthenticationIsLimitedPerAddress() async throws {
        try await Self.withApplication(RateLimitSettings(authFailuresPerAddress: 5, requestsPerToken: 0, uploadsPerTenant: 0, onboardingLinksPerTenant: 0), live: true) { client, url in
            let port = try #require(client.port)
            try await APIFixture.tenants(url, [("acme", "Acme"), ("globex", "Globex")])
            let support = try await APIFixture.supportToken(url)
            let globexAdmin = try await APIFixture.token(url, role: .tenantAdmin, name: "globex-admin", tenant: "globex")
            let revoked = try await APIFixture.token(url, role: .dashboard, name: "revoked")
            try await APIFixture.withStores(url) { _, tokens in
                _ = try await tokens.revoke(id: revoked.id, audit: APIFixture.audit("token.revoke"))
            }

            // Every kind of failure counts: none, malformed, unknown, revoked.
            for token in [nil, "not-a-token", Self.guessedToken, BearerToken.generate(), revoked.token] {
                let reply = try await Self.send(from: "127.0.0.1", port: port, "GET", "/v1/tenants/acme", token: token)
                #expect(reply.status == 401, "\(token ?? "no token"): \(reply.body)")
            }
            for token in [Self.guessedToken, nil, support.token] {
                let reply = try await Self.send(from: "127.0.0.1", port: port, "GET", "/v1/tenants/acme", token: token)
                #expect(reply.status == 429, "\(reply.body)")
                #expect(reply.headers["content-type"]?.hasPrefix("application/problem+json") == true)
                #expect(reply.body.contains(#""code":"rate_limited""#))
                let retryAfter = try #require(reply.headers["retry-after"].flatMap { Int($0) })
                #expect((1...12).contains(retryAfter), "one failure comes back every 12 s")
                #expect(reply.headers["ratelimit-policy"] == #""auth_failures";q=5;w=60"#)
                #expect(reply.headers["ratelimit"] == "\"auth_failures\";r=0;t=\(retryAfter)")
                #expect(reply.headers["www-authenticate"] == nil, "not a verdict on the token")
                if let token { #expect(!reply.body.contains(token)) }
            }
            // The console's doors are the same door.
            let link = try await Self.send(from: "127.0.0.1", port: port, "GET", "/connect/" + String(repeating: "A", count: 43))
            #expect(link.status == 429)
            #expect(link.headers["content-type"]?.hasPrefix("text/html") == true)
            #expect(link.headers["retry-after"] != nil && link.headers["ratelimit"] != nil)
            // What needs no token is not limited.
            #expect(try await Self.send(from: "127.0.0.1", port: port, "GET", "/healthz").status == 200)

            // Another address is another client: served, and its own failures are 401s.
            let other = try await Self.send(from: "127.0.0.2", port: port, "GET", "/v1/tenants/globex", token: globexAdmin.token)
            #expect(other.status == 200, "\(other.body)")
            #expect(other.headers["ratelimit"] == nil, "no quota of its own on a read")
            #expect(try await Self.send(from: "127.0.0.2", port: port, "GET", "/v1/tenants/globex", token: Self.guessedToken).status == 401)

            // The audit log counts the failed sign-ins (127.0.0.1's four without a known token:
            // the revoked one is a denial of its own; and 127.0.0.2's one), not the throttled
            // requests.
            try await waitUntil(timeout: .seconds(10), "the failed sign-ins audited") {
                try await CredentialFixture.count(url, "SELECT coalesce(sum(count), 0)::int8 FROM audit_events WHERE action = 'auth.failed'") == 5
            }
            try await Task.sleep(for: .milliseconds(1500))
            #expect(try await CredentialFixture.count(url, "SELECT coalesce(sum(count), 0)::int8 FROM audit_events WHERE action = 'auth.failed'") == 5)
        }
    }

    /// A guessed onboarding link or console sign-in spends the same budget as a guessed token.
    @Test func guessedLinksAndSignInsAreLimited() async throws {
        try await Self.withApplication(RateLimitSettings(authFailuresPerAddress: 3, requestsPerToken: 0, uploadsPerTenant: 0, onboardingLinksPerTenant: 0)) { client, url in
            let support = try await APIFixture.supportToken(url)
            for _ in 0..<2 {
                let reply = try await client.send(.get, "/connect/" + ConsoleSecret.generate())
                #expect(reply.status == .notFound, "\(reply.text)")
            }
            let signIn = try await client.send(
                .post, "/console/login", body: "token=" + Self.guessedToken, contentType: "application/x-www-form-urlencoded"
            )
            #expect(signIn.status == .unauthorized)
            for path in ["/connect/" + ConsoleSecret.generate(), "/connect/short"] {
                let page = try await client.send(.get, path)
                #expect(page.status == .tooManyRequests)
                #expect(page.headers[.contentType]?.hasPrefix("text/html") == true)
                #expect(page.headers[.retryAfter] != nil)
                #expect(page.headers[.rateLimitPolicy] == #""auth_failures";q=3;w=60"#)
                #expect(page.text.contains("Try again in") || page.text.contains("秒後"))
            }
            let login = try await client.send(.post, "/console/login", body: "token=" + support.token, contentType: "application/x-www-form-urlencoded")
            #expect(login.status == .tooManyRequests, "a valid token is not looked at either")
            #expect(login.headers[.setCookie] == nil)
            Self.expectRefused(try await client.send(.get, "/v1/tenants", token: support.token), policy: "auth_failures", quota: 3)
        }
    }

    // MARK: per token

    @Test func aTokenIsLimitedAndOthersAreNot() async throws {
        try await Self.withApplication(RateLimitSettings(authFailuresPerAddress: 0, requestsPerToken: 4, uploadsPerTenant: 0, onboardingLinksPerTenant: 0)) { client, url in
            try await APIFixture.tenants(url, [("acme", "Acme"), ("globex", "Globex")])
            let runaway = try await APIFixture.token(url, role: .tenantAdmin, name: "acme-script", tenant: "acme")
            let colleague = try await APIFixture.token(url, role: .tenantAdmin, name: "acme-sato", tenant: "acme")
            let globex = try await APIFixture.token(url, role: .tenantAdmin, name: "globex-admin", tenant: "globex")
            for _ in 0..<3 { #expect(try await client.send(.get, "/v1/tenants/acme", token: runaway.token).status == .ok) }
            // Refused by its role, still counted: the fourth and last.
            expectProblem(try await client.send(.get, "/v1/tokens", token: runaway.token), .forbidden, "forbidden")
            let refused = try await client.send(.get, "/v1/tenants/acme", token: runaway.token)
            Self.expectRefused(refused, policy: "token", quota: 4)
            #expect((10...15).contains(refused.headers[.retryAfter].flatMap { Int($0) } ?? 0), "one request comes back every 15 s")
            Self.expectRefused(try await client.send(.get, "/v1/tokens", token: runaway.token), policy: "token", quota: 4)
            #expect(try await client.send(.get, "/v1/tenants/acme", token: colleague.token).status == .ok)
            #expect(try await client.send(.get, "/v1/tenants/globex", token: globex.token).status == .ok)
        }
    }

    // MARK: per tenant

    @Test func uploadsAreLimitedPerTenantAndRefusedOnesAreNotStored() async throws {
        try await Self.withApplication(RateLimitSettings(authFailuresPerAddress: 0, requestsPerToken: 0, uploadsPerTenant: 3, onboardingLinksPerTenant: 0)) { client, url in
            let setup = try await CredentialFixture.setUp(client, url, slugs: ["acme", "globex"])
            let globexAdmin = try await APIFixture.token(url, role: .tenantAdmin, name: "globex-admin", tenant: "globex")
            // One upload comes back every 20 s: r counts down, t is the time until all three are
            // back, then (none left) until the next one (less what the requests took, rounded up).
            for (index, (remaining, reset)) in [(2, 20), (1, 40), (0, 20)].enumerated() {
                let reply = try await client.send(
                    .post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: CredentialFixture.file(),
                    headers: [HTTPField.Name("Idempotency-Key")!: "upload-\(index)"]
                )
                #expect(reply.status == .accepted, "\(reply.text)")
                #expect(reply.headers[.rateLimitPolicy] == #""uploads";q=3;w=60"#)
                let fields = try #require(reply.headers[.rateLimit].flatMap(Self.limitFields), "\(reply.headers)")
                #expect(fields.name == "uploads" && fields.remaining == remaining && (reset - 5...reset).contains(fields.reset), "\(fields)")
            }
            // The support desk uploads for the same tenant: the tenant's quota, not the token's.
            for token in [setup.admin.token, setup.support.token] {
                let refused = try await client.send(.post, "/v1/tenants/acme/credentials", token: token, body: CredentialFixture.file(secret: "GOCSPX-other"))
                Self.expectRefused(refused, policy: "uploads", quota: 3)
                #expect((15...20).contains(refused.headers[.retryAfter].flatMap { Int($0) } ?? 0), "one comes back every 20 s")
            }
            // A replay of an accepted upload is not a new upload: answered, not counted.
            let replay = try await client.send(
                .post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: CredentialFixture.file(),
                headers: [HTTPField.Name("Idempotency-Key")!: "upload-0"]
            )
            #expect(replay.status == .accepted)
            #expect(replay.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            // Another tenant is served meanwhile.
            let globex = try await client.send(.post, "/v1/tenants/globex/credentials", token: globexAdmin.token, body: CredentialFixture.file(slug: "globex"))
            #expect(globex.status == .accepted, "\(globex.text)")
            #expect(globex.headers[.rateLimit] == #""uploads";r=2;t=20"#)

            // Nothing of the refused uploads was stored or audited.
            #expect(try await client.send(.get, "/v1/tenants/acme/credentials", token: setup.support.token).items.count == 3)
            #expect(try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM credentials") == 4)
            #expect(try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM audit_events WHERE result = 'rate_limited'") == 0)
        }
    }

    /// The tenant's page uploads through the same handler: one budget for both doors.
    @Test func theConsoleUploadFormSpendsTheSameBudget() async throws {
        try await Self.withApplication(RateLimitSettings(authFailuresPerAddress: 0, requestsPerToken: 0, uploadsPerTenant: 2, onboardingLinksPerTenant: 0)) { client, url in
            let opened = try await ConsoleTests.open(client, url)
            let page = try await client.send(.get, "/console/tenants/acme", headers: ConsoleTests.headers(opened.cookie, [.acceptLanguage: "en"]))
            let csrf = try #require(ConsoleTests.csrf(in: page.text))
            let form = "--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n\(csrf)\r\n"
                + "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"client_secrets.json\"\r\nContent-Type: application/json\r\n\r\n\(CredentialFixture.file())\r\n--XyZ--\r\n"
            let headers = ConsoleTests.headers(opened.cookie, [.contentType: "multipart/form-data; boundary=XyZ", .acceptLanguage: "en"])
            #expect(try await client.send(.post, "/v1/tenants/acme/credentials", token: opened.support.token, body: CredentialFixture.file()).status == .accepted)
            let first = try await client.send(.post, "/console/tenants/acme/credentials", body: form, contentType: "multipart/form-data; boundary=XyZ", headers: headers)
            #expect(first.status == .seeOther, "\(first.text)")
            let refused = try await client.send(.post, "/console/tenants/acme/credentials", body: form, contentType: "multipart/form-data; boundary=XyZ", headers: headers)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.text.contains("nothing was stored"), "the page says why and when to retry")
            Self.expectRefused(try await client.send(.post, "/v1/tenants/acme/credentials", token: opened.support.token, body: CredentialFixture.file()), policy: "uploads", quota: 2)
            #expect(try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM credentials") == 2)
            #expect(try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM audit_events WHERE result = 'rate_limited'") == 0)
        }
    }

    @Test func onboardingLinksAreLimitedPerTenant() async throws {
        try await Self.withApplication(RateLimitSettings(authFailuresPerAddress: 0, requestsPerToken: 0, uploadsPerTenant: 0, onboardingLinksPerTenant: 2)) { client, url in
            try await APIFixture.tenants(url, [("acme", "Acme"), ("globex", "Globex")])
            let support = try await APIFixture.supportToken(url)
            for remaining in [1, 0] {
                let reply = try await client.send(.post, "/v1/tenants/acme/onboarding-links", token: support.token, body: "{}")
                #expect(reply.status == .created, "\(reply.text)")
                #expect(reply.headers[.rateLimitPolicy] == #""onboarding_links";q=2;w=60"#)
                #expect(reply.headers[.rateLimit]?.hasPrefix("\"onboarding_links\";r=\(remaining);t=") == true)
            }
            let refused = try await client.send(.post, "/v1/tenants/acme/onboarding-links", token: support.token, body: #"{"expires_in_hours": 24}"#)
            Self.expectRefused(refused, policy: "onboarding_links", quota: 2)
            #expect((25...30).contains(refused.headers[.retryAfter].flatMap { Int($0) } ?? 0), "one link comes back every 30 s")
            #expect(try await client.send(.post, "/v1/tenants/globex/onboarding-links", token: support.token, body: "{}").status == .created)
            #expect(try await client.send(.get, "/v1/tenants/acme/onboarding-links", token: support.token).items.count == 2)
        }
    }

    @Test func theDefaultsAdmitAnOrdinaryRunAndLimitsCanBeOff() async throws {
        // 200 uploads of one tenant in a row, under the defaults: every one accepted.
        try await Self.withApplication(RateLimitSettings()) { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            for index in 0..<200 {
                let reply = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: CredentialFixture.file())
                #expect(reply.status == .accepted, "upload \(index): \(reply.text)")
                if index == 199 {
                    // 400 left, and whatever came back while they were sent.
                    let fields = try #require(reply.headers[.rateLimit].flatMap(Self.limitFields))
                    #expect(fields.name == "uploads" && (400...600).contains(fields.remaining), "\(fields)")
                }
            }
            for _ in 0..<100 {
                #expect(try await client.send(.get, "/v1/tenants", token: Self.guessedToken).status == .unauthorized)
            }
        }
        try await Self.withApplication(.off) { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let reply = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: CredentialFixture.file())
            #expect(reply.status == .accepted)
            #expect(reply.headers[.rateLimit] == nil && reply.headers[.rateLimitPolicy] == nil)
        }
    }

    // MARK: the limiter itself (no database)

    @Test(arguments: [
        (nil as String?, ""),
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::ffff", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("::1", "0:0:0:0::/64"),
        ("not an address", "not an address"),
    ])
    func addressKeys(address: String?, key: String) {
        #expect(RateLimits.addressKey(address) == key)
    }

    /// A flood from 100,000 addresses keeps at most `maximumKeys` buckets, and an address that
    /// spent its failures stays refused while fewer than half that many others come by.
    @Test func memoryStaysBoundedUnderManyAddresses() throws {
        let clock = ManualClock()
        let limits = RateLimits(settings: RateLimitSettings(authFailuresPerAddress: 2, maximumKeys: 1_000), clock: { clock.now })
        let failures = try #require(limits.authFailures)
        limits.recordAuthFailure(address: "198.51.100.1")
        limits.recordAuthFailure(address: "198.51.100.1")
        #expect(limits.authFailureRefusal(address: "198.51.100.1") != nil)
        for index in 0..<400 {
            limits.recordAuthFailure(address: "10.0.\(index / 256).\(index % 256)")
        }
        #expect(limits.authFailureRefusal(address: "198.51.100.1") != nil, "still refused")
        #expect(limits.authFailureRefusal(address: "10.0.0.1") == nil, "one failure of two")
        var largest = 0
        for index in 0..<100_000 {
            clock.now = .milliseconds(index)
            limits.recordAuthFailure(address: "10.\(index / 65_536).\(index / 256 % 256).\(index % 256)")
            largest = max(largest, failures.keyCount)
        }
        #expect(largest <= 1_000)
    }

    /// Random addresses of one IPv6 /64 are one client.
    @Test func anIPv6NetworkIsOneClient() {
        let limits = RateLimits(settings: RateLimitSettings(authFailuresPerAddress: 3))
        for index in 0..<3 { limits.recordAuthFailure(address: "2001:db8:7:7:\(String(index + 1, radix: 16))::\(String(index * 977, radix: 16))") }
        #expect(limits.authFailureRefusal(address: "2001:db8:7:7:abcd:ef01:2345:6789") != nil)
        #expect(limits.authFailureRefusal(address: "2001:db8:7:8::1") == nil)
        #expect(limits.authFailures?.keyCount == 1)
    }
}
