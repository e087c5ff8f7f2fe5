import Testing
@testable import provisioner

@Suite struct ServiceEnvironmentTests {
    static let key = "dev1:" + String(repeating: "A", count: 43) + "="
    static let valid = [
        "DATABASE_URL": "postgres://app:pw@127.0.0.1:5432/provisioner",
        "PROVISIONER_ENCRYPTION_KEYS": key,
    ]

    @Test func defaultsFollowTheContract() throws {
        let environment = try ServiceEnvironment(Self.valid, need: .databaseAndKeys)
        #expect(environment.host == "127.0.0.1")
        #expect(environment.port == 8080)
        #expect(environment.cloudDomain == "crm.example.com")
        #expect(environment.liveCheck == .off)
        #expect(environment.googleTokenURL == "https://oauth2.googleapis.com/token")
        #expect(environment.logLevel == "info")
        #expect(environment.liveCheckRetries == 3)
    }

    @Test(arguments: [
        ("DATABASE_URL", nil as String?),
        ("DATABASE_URL", "mysql://x@y/z"),
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
        ("LOG_LEVEL", "loud"),
        ("PROVISIONER_LIVE_CHECK_RETRIES", "many"),
        ("PROVISIONER_LIVE_CHECK_RETRIES", "11"),
    ])
    func aBadValueNamesItsVariable(variable: String, value: String?) {
        var environment = Self.valid
        environment[variable] = value
        do {
            _ = try ServiceEnvironment(environment, need: .databaseAndKeys)
            Issue.record("\(variable)=\(value ?? "<unset>") was accepted")
        } catch {
            #expect(error.variable == variable)
            #expect(error.description.hasPrefix(variable + " "))
            #expect(!error.description.contains("\n"))
            // Named once, at the start.
            #expect(error.description.components(separatedBy: variable).count == 2, "\(error.description)")
        }
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
}
