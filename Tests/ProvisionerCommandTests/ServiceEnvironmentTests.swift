import Logging
import ProvisionerAPI
import ProvisionerDomain
import Testing
@testable import provisioner

@Suite struct ServiceEnvironmentTests {
    static let key = "dev1:" + String(repeating: "A", count: 43) + "="
    static let valid = [
        "DATABASE_URL": "postgres://app:pw@127.0.0.1:5432/provisioner",
        "PROVISIONER_ENCRYPTION_KEYS": key,
    ]

    /// LISTEN goes where DATABASE_URL goes unless DATABASE_LISTEN_URL says otherwise (behind a
    /// pooler in transaction mode: PostgreSQL itself).
    @Test func theListenURLDefaultsToTheDatabaseURL() throws {
        #expect(try ServiceEnvironment(Self.valid, need: .databaseAndKeys).databaseListenURL.port == 5432)
        var environment = Self.valid
        environment["DATABASE_URL"] = "postgres://app:pw@127.0.0.1:6432/provisioner"
        environment["DATABASE_LISTEN_URL"] = "postgres://app:pw@127.0.0.1:5432/provisioner"
        let parsed = try ServiceEnvironment(environment, need: .databaseAndKeys)
        #expect(parsed.databaseURL.port == 6432)
        #expect(parsed.databaseListenURL.port == 5432)
    }

    @Test func defaultsAreTheDocumentedOnes() throws {
        let environment = try ServiceEnvironment(Self.valid, need: .databaseAndKeys)
        #expect(environment.host == "127.0.0.1")
        #expect(environment.port == 8080)
        #expect(environment.cloudDomain == "crm.example.com")
        #expect(environment.liveCheck == .off)
        #expect(environment.googleTokenURL == "https://oauth2.googleapis.com/token")
        #expect(environment.logLevel == "info")
        #expect(environment.liveCheckRetries == 3)
        #expect(environment.httpLimits == HTTPLimits(idleTimeout: .seconds(30), maximumConnections: 512))
        #expect(environment.metricsToken == nil)
        #expect(environment.metricsPort == nil)
        // 127.0.0.1 without sslmode: prefer.
        #expect(environment.databaseURL.sslMode == .prefer)
    }

    @Test func aRemoteDatabaseRequiresTLSByDefault() throws {
        var environment = Self.valid
        environment["DATABASE_URL"] = "postgres://app:pw@db.internal:5432/provisioner"
        #expect(try ServiceEnvironment(environment, need: .databaseAndKeys).databaseURL.sslMode == .require)
    }

    @Test func theLimitsAndTheMetricsProtectionAreRead() throws {
        var environment = Self.valid
        environment["PROVISIONER_HTTP_IDLE_TIMEOUT"] = "5"
        environment["PROVISIONER_HTTP_MAX_CONNECTIONS"] = "64"
        environment["PROVISIONER_METRICS_TOKEN"] = "scrape-0123456789abcdef"
        environment["PROVISIONER_METRICS_PORT"] = "9464"
        let parsed = try ServiceEnvironment(environment, need: .databaseAndKeys)
        #expect(parsed.httpLimits == HTTPLimits(idleTimeout: .seconds(5), maximumConnections: 64))
        #expect(parsed.metricsToken == "scrape-0123456789abcdef")
        #expect(parsed.metricsPort == 9464)
    }

    /// A fake Google on the loopback interface may be plain http (the tests' own).
    @Test(arguments: ["http://127.0.0.1:8089/token", "http://localhost:8089/token", "http://[::1]:8089/token"])
    func aLoopbackTokenURLMayBeHTTP(url: String) throws {
        var environment = Self.valid
        environment["PROVISIONER_GOOGLE_TOKEN_URL"] = url
        #expect(try ServiceEnvironment(environment, need: .databaseAndKeys).googleTokenURL == url)
    }

    @Test(arguments: [
        ("DATABASE_URL", nil as String?),
        ("DATABASE_URL", "mysql://x@y/z"),
        ("DATABASE_LISTEN_URL", "mysql://x@y/z"),
        ("DATABASE_LISTEN_URL", "postgres://app:pw@127.0.0.1:99999/provisioner"),
        ("PROVISIONER_ENCRYPTION_KEYS", nil),
        ("PROVISIONER_ENCRYPTION_KEYS", "dev1:c2hvcnQ="),
        ("PROVISIONER_ENCRYPTION_KEYS", "no-colon"),
        ("PROVISIONER_HOST", "999.1.1.1"),
        ("PROVISIONER_HOST", "local host"),
        ("PROVISIONER_HOST", "http://127.0.0.1"),
        ("PROVISIONER_PORT", "http"),
        ("PROVISIONER_PORT", "70000"),
        ("PROVISIONER_LIVE_CHECK", "sometimes"),
        ("PROVISIONER_CLOUD_DOMAIN", "not a domain"),
        ("PROVISIONER_CLOUD_DOMAIN", "googleusercontent.com"),
        ("PROVISIONER_CLOUD_DOMAIN", "apps.googleusercontent.com"),
        ("DATABASE_URL", "postgres://app:pw@127.0.0.1:99999/provisioner"),
        ("PROVISIONER_ENCRYPTION_KEYS", "dev1:c2hvcnQ=,dev1:c2hvcnQ="),
        ("PROVISIONER_GOOGLE_TOKEN_URL", "ftp://example.com/token"),
        ("PROVISIONER_GOOGLE_TOKEN_URL", "http://oauth2.googleapis.com/token"),
        ("PROVISIONER_GOOGLE_TOKEN_URL", "http://10.0.0.7:8080/token"),
        ("PROVISIONER_GOOGLE_TOKEN_URL", "https:///token"),
        ("PROVISIONER_HTTP_IDLE_TIMEOUT", "0"),
        ("PROVISIONER_HTTP_IDLE_TIMEOUT", "30s"),
        ("PROVISIONER_HTTP_IDLE_TIMEOUT", "3601"),
        ("PROVISIONER_HTTP_MAX_CONNECTIONS", "0"),
        ("PROVISIONER_HTTP_MAX_CONNECTIONS", "lots"),
        ("PROVISIONER_METRICS_TOKEN", "short"),
        ("PROVISIONER_METRICS_TOKEN", "has a space in the middle of it"),
        ("PROVISIONER_METRICS_PORT", "http"),
        ("PROVISIONER_METRICS_PORT", "70000"),
        ("PROVISIONER_METRICS_PORT", "8080"),
        ("DATABASE_URL", "postgres://app:pw@db.internal/provisioner?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"),
        ("LOG_LEVEL", "loud"),
        ("PROVISIONER_LIVE_CHECK_RETRIES", "many"),
        ("PROVISIONER_LIVE_CHECK_RETRIES", "11"),
    ])
    func aBadValueNamesItsVariable(variable: String, value: String?) {
        Self.expectRefusalNaming(variable, value: value)
    }

    @Test(arguments: ["127.0.0.1", "0.0.0.0", "::", "::1", "localhost", "provisioner-serve.internal", "10.0.0.7"])
    func listenHostsThatWork(host: String) throws {
        var environment = Self.valid
        environment["PROVISIONER_HOST"] = host
        #expect(try ServiceEnvironment(environment, need: .databaseAndKeys).host == host)
    }

    @Test func keysAreOptionalForMigrate() throws {
        var environment = Self.valid
        environment["PROVISIONER_ENCRYPTION_KEYS"] = nil
        let parsed = try ServiceEnvironment(environment, need: .database)
        #expect(parsed.keyring == nil)
    }

    @Test func aKeyErrorNeverEchoesKeyMaterial() {
        var environment = Self.valid
        environment["PROVISIONER_ENCRYPTION_KEYS"] = "k1:c2VjcmV0LWtleS1tYXRlcmlhbA=="
        do {
            _ = try ServiceEnvironment(environment, need: .databaseAndKeys)
            Issue.record("a 20-byte key was accepted")
        } catch {
            #expect(!error.description.contains("c2VjcmV0LWtleS1tYXRlcmlhbA"))
        }
    }

    @Test func webhookDefaultsAreTheDocumentedOnes() throws {
        let parsed = try ServiceEnvironment(Self.valid, need: .databaseAndKeys)
        #expect(parsed.webhookURLPolicy == WebhookURLPolicy(allowHTTP: false, allowPrivate: false))
        #expect(parsed.webhookRetrySchedule == .standard)
        #expect(parsed.webhookTimeout == .seconds(10))
        #expect(parsed.webhookEndpointConcurrency == 128)
        #expect(parsed.webhookDelivery.perEndpointInFlight == 128)
        #expect(apiConfiguration(parsed).webhookURLPolicy == parsed.webhookURLPolicy)
        #expect(parsed.webhookDelivery.urlPolicy == parsed.webhookURLPolicy)
    }

    @Test func webhookVariablesReachTheAPIAndTheWorker() throws {
        var environment = Self.valid
        environment["PROVISIONER_WEBHOOK_ALLOW_HTTP"] = "true"
        environment["PROVISIONER_WEBHOOK_ALLOW_PRIVATE"] = "TRUE"
        environment["PROVISIONER_WEBHOOK_RETRY_DELAYS"] = "100ms,200ms,300ms"
        environment["PROVISIONER_WEBHOOK_TIMEOUT"] = "3"
        environment["PROVISIONER_WEBHOOK_ENDPOINT_CONCURRENCY"] = "16"
        let parsed = try ServiceEnvironment(environment, need: .databaseAndKeys)
        let policy = WebhookURLPolicy(allowHTTP: true, allowPrivate: true)
        #expect(apiConfiguration(parsed).webhookURLPolicy == policy)
        let delivery = parsed.webhookDelivery
        #expect(delivery.urlPolicy == policy)
        #expect(delivery.retrySchedule == WebhookRetrySchedule(parsing: "100ms,200ms,300ms"))
        #expect(delivery.retrySchedule.maxAttempts == 4)
        #expect(delivery.timeout == .seconds(3))
        #expect(delivery.perEndpointInFlight == 16)
        environment["PROVISIONER_WEBHOOK_ALLOW_PRIVATE"] = "false"
        #expect(try ServiceEnvironment(environment, need: .databaseAndKeys).webhookURLPolicy.allowPrivate == false)
    }

    @Test(arguments: [
        ("PROVISIONER_WEBHOOK_ALLOW_HTTP", "yes"),
        ("PROVISIONER_WEBHOOK_ALLOW_HTTP", "1"),
        ("PROVISIONER_WEBHOOK_ALLOW_PRIVATE", "on"),
        ("PROVISIONER_WEBHOOK_RETRY_DELAYS", "5,5m"),
        ("PROVISIONER_WEBHOOK_RETRY_DELAYS", "25h"),
        ("PROVISIONER_WEBHOOK_TIMEOUT", "0"),
        ("PROVISIONER_WEBHOOK_TIMEOUT", "61"),
        ("PROVISIONER_WEBHOOK_TIMEOUT", "2.5"),
        ("PROVISIONER_WEBHOOK_ENDPOINT_CONCURRENCY", "0"),
        ("PROVISIONER_WEBHOOK_ENDPOINT_CONCURRENCY", "1001"),
        ("PROVISIONER_WEBHOOK_ENDPOINT_CONCURRENCY", "many"),
    ])
    func badWebhookValuesNameTheirVariable(variable: String, value: String) {
        Self.expectRefusalNaming(variable, value: value)
    }

    @Test func healthDefaultsAreTheDocumentedOnes() throws {
        let environment = try ServiceEnvironment(Self.valid, need: .databaseAndKeys)
        #expect(environment.registrationProbe == false)
        #expect(environment.googleAuthURL == "https://accounts.google.com/o/oauth2/v2/auth")
        #expect(environment.registrationWindow == .seconds(6 * 3600))
        #expect(environment.googleRate == 60)
        #expect(environment.recheckInterval == .seconds(24 * 3600))
        let health = environment.credentialHealth
        #expect(!health.probe)
        #expect(health.requestsPerMinute == 60)
        #expect(health.rules.window == .seconds(6 * 3600))
        #expect(health.rules.recheckInterval == .seconds(24 * 3600))
        // Off by default: the live check is off too, so nothing to re-check.
        #expect(!health.enabled(liveCheck: false))
        #expect(health.enabled(liveCheck: true))
    }

    @Test func healthVariablesReachTheWorker() throws {
        var environment = Self.valid
        environment["PROVISIONER_REGISTRATION_PROBE"] = "ON"
        environment["PROVISIONER_GOOGLE_AUTH_URL"] = "http://127.0.0.1:8089/auth"
        environment["PROVISIONER_REGISTRATION_WINDOW"] = "30m"
        environment["PROVISIONER_GOOGLE_RATE"] = "600"
        environment["PROVISIONER_RECHECK_INTERVAL"] = "0"
        let parsed = try ServiceEnvironment(environment, need: .databaseAndKeys)
        let health = parsed.credentialHealth
        #expect(health.probe)
        #expect(health.authorizationEndpoint == "http://127.0.0.1:8089/auth")
        #expect(health.rules.window == .seconds(1800))
        #expect(health.requestsPerMinute == 600)
        #expect(health.rules.recheckInterval == .zero)
        #expect(health.enabled(liveCheck: false))
        environment["PROVISIONER_REGISTRATION_PROBE"] = "off"
        #expect(!(try ServiceEnvironment(environment, need: .databaseAndKeys)).credentialHealth.enabled(liveCheck: true))
    }

    @Test(arguments: [("90s", 90), ("30m", 1800), ("6h", 21600), ("2d", 172_800), ("0", 0), (" 15S ", 15)])
    func durations(raw: String, seconds: Int) {
        #expect(ServiceEnvironment.duration(raw) == .seconds(seconds))
    }

    @Test(arguments: [
        ("PROVISIONER_REGISTRATION_PROBE", "true"),
        ("PROVISIONER_REGISTRATION_PROBE", "1"),
        ("PROVISIONER_GOOGLE_AUTH_URL", "http://accounts.google.com/o/oauth2/v2/auth"),
        ("PROVISIONER_GOOGLE_AUTH_URL", "ftp://127.0.0.1/auth"),
        ("PROVISIONER_GOOGLE_AUTH_URL", "/o/oauth2/v2/auth"),
        ("PROVISIONER_REGISTRATION_WINDOW", "6"),
        ("PROVISIONER_REGISTRATION_WINDOW", "6 hours"),
        ("PROVISIONER_REGISTRATION_WINDOW", "-1h"),
        ("PROVISIONER_REGISTRATION_WINDOW", "31d"),
        ("PROVISIONER_GOOGLE_RATE", "0"),
        ("PROVISIONER_GOOGLE_RATE", "100001"),
        ("PROVISIONER_GOOGLE_RATE", "1.5"),
        ("PROVISIONER_RECHECK_INTERVAL", "24"),
        ("PROVISIONER_RECHECK_INTERVAL", "1.5h"),
        ("PROVISIONER_RECHECK_INTERVAL", "off"),
    ])
    func badHealthValuesNameTheirVariable(variable: String, value: String) {
        Self.expectRefusalNaming(variable, value: value)
    }

    @Test(arguments: [
        ([:], false),
        (["PROVISIONER_REGISTRATION_PROBE": "on"], true),
        (["PROVISIONER_LIVE_CHECK": "token"], true),
        (["PROVISIONER_LIVE_CHECK": "token", "PROVISIONER_RECHECK_INTERVAL": "0"], false),
        (["PROVISIONER_REGISTRATION_PROBE": "on", "PROVISIONER_RECHECK_INTERVAL": "0"], true),
    ])
    func theHealthCheckerRunsOnlyWithSomethingToCheck(variables: [String: String], runs: Bool) throws {
        let environment = try ServiceEnvironment(Self.valid.merging(variables) { $1 }, need: .databaseAndKeys)
        let (_, _, _, checker) = try makeWorker(environment, logger: Logger(label: "test"))
        #expect((checker != nil) == runs)
    }
    @Test func rateLimitDefaultsAreTheDocumentedOnes() throws {
        let parsed = try ServiceEnvironment(Self.valid, need: .databaseAndKeys)
        let expected = RateLimitSettings(authFailuresPerAddress: 600, requestsPerToken: 30_000, uploadsPerTenant: 600, onboardingLinksPerTenant: 120)
        #expect(parsed.rateLimits == expected)
        #expect(apiConfiguration(parsed).rateLimits == expected)
    }

    @Test(arguments: [
        ("PROVISIONER_RATE_LIMIT_AUTH_FAILURES", "5", RateLimitSettings(authFailuresPerAddress: 5)),
        ("PROVISIONER_RATE_LIMIT_TOKEN_REQUESTS", " 100 ", RateLimitSettings(requestsPerToken: 100)),
        ("PROVISIONER_RATE_LIMIT_UPLOADS", "0", RateLimitSettings(uploadsPerTenant: 0)),
        ("PROVISIONER_RATE_LIMIT_LINKS", "1000000", RateLimitSettings(onboardingLinksPerTenant: 1_000_000)),
        ("PROVISIONER_RATE_LIMIT_LINKS", "", RateLimitSettings()),
    ])
    func rateLimitVariablesReachTheAPI(variable: String, value: String, expected: RateLimitSettings) throws {
        var environment = Self.valid
        environment[variable] = value
        #expect(apiConfiguration(try ServiceEnvironment(environment, need: .databaseAndKeys)).rateLimits == expected)
    }

    @Test(arguments: [
        ("PROVISIONER_RATE_LIMIT_AUTH_FAILURES", "-1"),
        ("PROVISIONER_RATE_LIMIT_AUTH_FAILURES", "off"),
        ("PROVISIONER_RATE_LIMIT_TOKEN_REQUESTS", "1.5"),
        ("PROVISIONER_RATE_LIMIT_TOKEN_REQUESTS", "100/s"),
        ("PROVISIONER_RATE_LIMIT_UPLOADS", "1000001"),
        ("PROVISIONER_RATE_LIMIT_UPLOADS", "99999999999999999999"),
        ("PROVISIONER_RATE_LIMIT_LINKS", "10 a minute"),
    ])
    func badRateLimitsNameTheirVariable(variable: String, value: String) {
        Self.expectRefusalNaming(variable, value: value)
    }

    /// `variable` set to `value` (nil: unset) in an otherwise valid environment is refused with
    /// one line that starts with the variable's name and names it once.
    static func expectRefusalNaming(_ variable: String, value: String?, sourceLocation: SourceLocation = #_sourceLocation) {
        var environment = valid
        environment[variable] = value
        do {
            _ = try ServiceEnvironment(environment, need: .databaseAndKeys)
            Issue.record("\(variable)=\(value ?? "<unset>") was accepted", sourceLocation: sourceLocation)
        } catch {
            #expect(error.variable == variable, sourceLocation: sourceLocation)
            #expect(error.description.hasPrefix(variable + " "), "\(error.description)", sourceLocation: sourceLocation)
            #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
            // Named once, at the start.
            #expect(error.description.components(separatedBy: variable).count == 2, "\(error.description)", sourceLocation: sourceLocation)
        }
    }

}
