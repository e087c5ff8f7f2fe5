import SeededRandom
import Testing
@testable import ProvisionerDomain

/// One row of the rule table: a value, its kind, and exactly the rules it breaks.
struct URIRuleCase: Sendable, CustomTestStringConvertible {
    let uri: String
    let kind: GoogleURIKind
    let expected: Set<GoogleURIRule>

    init(uri: String, kind: GoogleURIKind, expected: [GoogleURIRule]) {
        self.uri = uri
        self.kind = kind
        self.expected = Set(expected)
    }

    static func redirect(_ uri: String, _ expected: [GoogleURIRule]) -> URIRuleCase {
        URIRuleCase(uri: uri, kind: .redirectURI, expected: expected)
    }

    static func origin(_ uri: String, _ expected: [GoogleURIRule]) -> URIRuleCase {
        URIRuleCase(uri: uri, kind: .javascriptOrigin, expected: expected)
    }

    var testDescription: String {
        "\(kind.rawValue) \(uri.debugDescription) -> \(expected.map(\.rawValue).sorted())"
    }
}

@Suite("Google's redirect URI and origin rules")
struct GoogleURIRulesTests {
    /// Drawn from Google's "Redirect URI validation rules".
    static let cases: [URIRuleCase] = [
        // Accepted values: what the service issues, and the on-premises localhost values.
        .redirect("https://acme.crm.example.com/agcrm_google/AuthCallback/IndexAsync", []),
        .redirect("https://myaccount.google.com/", []),
        .redirect("http://localhost/agcrm_google/AuthCallback/IndexAsync", []),
        .redirect("http://localhost:8080/callback", []),
        .redirect("https://localhost/callback", []),
        .redirect("http://127.0.0.1/callback", []),
        .redirect("http://127.0.0.1:3000/callback", []),
        .redirect("http://127.1.2.3/callback", []),
        .redirect("http://[::1]/callback", []),
        .redirect("http://[::1]:8080/callback", []),
        .redirect("https://[::1]/callback", []),
        .redirect("https://crm.acme.co.jp/callback?tenant=acme", []),
        .redirect("https://xn--r8jz45g.jp/callback", []),
        .redirect("https://example.xn--q9jyb4c/callback", []),
        .redirect("https://EXAMPLE.COM/callback", []),
        .redirect("HTTPS://example.com/callback", []),
        .redirect("https://example.com:8443/callback", []),
        .redirect("https://example.com", []),
        .redirect("https://example.com/a%20b", []),
        .redirect("https://example.com/%41", []),
        .redirect("https://example.com/a/./b", []),
        .redirect("https://example.com/a/b.../", []),
        .redirect("https://notgoogleusercontent.com/callback", []),
        .redirect("https://127.0.0.1.nip.io/callback", []),
        .redirect("https://example.co.uk/callback", []),
        .redirect("https://example.dev/callback", []),

        // Scheme: https only; http for localhost only.
        .redirect("http://example.com/callback", [.schemeNotHTTPS]),
        .redirect("ftp://example.com/callback", [.schemeNotHTTPS]),
        .redirect("wss://example.com/callback", [.schemeNotHTTPS]),
        .redirect("javascript:alert(1)", [.schemeNotHTTPS, .hostMissing]),
        .redirect("com.example.app:/oauth2redirect", [.schemeNotHTTPS, .hostMissing]),
        .redirect("http://localhost.example.com/callback", [.schemeNotHTTPS]),
        .redirect("http://foo.localhost/callback", [.schemeNotHTTPS, .topLevelDomainUnknown]),

        // Not an absolute URI, or no host.
        .redirect("", [.notAbsoluteURI]),
        .redirect("example.com/callback", [.notAbsoluteURI]),
        .redirect("//example.com/callback", [.notAbsoluteURI]),
        .redirect("/agcrm_google/AuthCallback/IndexAsync", [.notAbsoluteURI]),
        .redirect("https:example.com", [.hostMissing]),
        .redirect("https:///callback", [.hostMissing]),
        .redirect("https://:443/callback", [.hostMissing]),

        // Raw IP hosts, except loopback in its plain spelling.
        .redirect("https://192.168.0.1/callback", [.rawIPHost]),
        .redirect("http://192.168.0.1/callback", [.rawIPHost, .schemeNotHTTPS]),
        .redirect("https://8.8.8.8:443/callback", [.rawIPHost]),
        .redirect("https://[2001:db8::1]/callback", [.rawIPHost]),
        .redirect("https://[::ffff:127.0.0.1]/callback", [.rawIPHost]),
        .redirect("https://[0:0:0:0:0:0:0:1]/callback", [.rawIPHost]),
        .redirect("https://2130706433/callback", [.rawIPHost]),
        .redirect("https://0x7f.0.0.1/callback", [.rawIPHost]),
        .redirect("https://127.1/callback", [.rawIPHost]),
        .redirect("https://999.1.1.1/callback", [.rawIPHost]),
        .redirect("https://[not-an-ip]/callback", [.hostInvalid]),
        .redirect("https://[::1/callback", [.hostInvalid]),
        .redirect("https://[::1]x/callback", [.hostInvalid]),

        // Top-level domain on the Public Suffix List.
        .redirect("https://example.invalidtld/callback", [.topLevelDomainUnknown]),
        .redirect("https://example.local/callback", [.topLevelDomainUnknown]),
        .redirect("https://example.internal/callback", [.topLevelDomainUnknown]),
        .redirect("https://intranet/callback", [.topLevelDomainUnknown]),
        .redirect("https://example.com./callback", [.hostInvalid]),
        .redirect("https://a..example.com/callback", [.hostInvalid]),
        .redirect("https://exa<mple.com/callback", [.hostInvalid]),

        // Not googleusercontent.com.
        .redirect("https://googleusercontent.com/callback", [.googleusercontentHost]),
        .redirect("https://abc.apps.googleusercontent.com/callback", [.googleusercontentHost]),
        .redirect("https://GoogleUserContent.COM/callback", [.googleusercontentHost]),
        .redirect("https://googleusercontent%2Ecom/callback", [.googleusercontentHost]),

        // No userinfo.
        .redirect("https://user@example.com/callback", [.userinfoPresent]),
        .redirect("https://user:pass@example.com/callback", [.userinfoPresent]),
        .redirect("https://@example.com/callback", [.userinfoPresent]),
        .redirect("https://good.example.com@evil.example.com/callback", [.userinfoPresent]),

        // No path traversal, literal or encoded.
        .redirect("https://example.com/../callback", [.pathTraversal]),
        .redirect("https://example.com/a/..", [.pathTraversal]),
        .redirect("https://example.com/a\\..\\b", [.pathTraversal]),
        .redirect("https://example.com/a/%2e%2e/b", [.pathTraversal]),
        .redirect("https://example.com/a/%2E%2E/b", [.pathTraversal]),
        .redirect("https://example.com/a/.%2e/b", [.pathTraversal]),
        .redirect("https://example.com/a%2f../b", [.pathTraversal]),
        .redirect("https://example.com/a%2F%2e%2E/b", [.pathTraversal]),
        .redirect("https://example.com/a%5c../b", [.pathTraversal]),
        .redirect("https://example.com/callback?next=/../admin", [.pathTraversal]),

        // No fragment.
        .redirect("https://example.com/callback#top", [.fragmentPresent]),
        .redirect("https://example.com/callback#", [.fragmentPresent]),

        // No wildcard.
        .redirect("https://*.example.com/callback", [.wildcardPresent]),
        .redirect("https://example.com/*", [.wildcardPresent]),

        // No control or non-printable characters.
        .redirect(" https://example.com/callback", [.nonPrintableCharacter, .notAbsoluteURI]),
        .redirect("https://example.com/callback ", [.nonPrintableCharacter]),
        .redirect("https://example.com/call back", [.nonPrintableCharacter]),
        .redirect("https://example.com/callback\t", [.nonPrintableCharacter]),
        .redirect("https://example.com/callback\n", [.nonPrintableCharacter]),
        .redirect("https://example.com/callback\r\n", [.nonPrintableCharacter]),
        .redirect("https://example.com/\u{7F}", [.nonPrintableCharacter]),
        .redirect("https://example.com/\u{85}", [.nonPrintableCharacter]),
        .redirect("https://example.com/\u{0}", [.nonPrintableCharacter]),
        .redirect("https://example.com/\u{200B}", [.nonPrintableCharacter]),
        .redirect("https://example.com/caf\u{E9}", [.nonPrintableCharacter]),
        .redirect("https://例え.jp/callback", [.nonPrintableCharacter]),
        .redirect("https\u{FF1A}//example.com/callback", [.nonPrintableCharacter, .notAbsoluteURI]),
        .redirect("https://example.com/callback\u{3000}", [.nonPrintableCharacter]),

        // No invalid percent-encodings, no encoded NUL.
        .redirect("https://example.com/%zz", [.invalidPercentEncoding]),
        .redirect("https://example.com/%4", [.invalidPercentEncoding]),
        .redirect("https://example.com/%", [.invalidPercentEncoding]),
        .redirect("https://example.com/%G0", [.invalidPercentEncoding]),
        .redirect("https://example.com/%00", [.nullCharacter]),
        .redirect("https://example.com/callback?x=%00", [.nullCharacter]),
        .redirect("https://example.com/%C0%80", [.nullCharacter]),
        .redirect("https://example.com/%c0%80", [.nullCharacter]),

        // Ports.
        .redirect("https://example.com:99999/callback", [.portInvalid]),
        .redirect("https://example.com:abc/callback", [.portInvalid]),
        .redirect("https://example.com:/callback", [.portInvalid]),
        .redirect("https://example.com:-1/callback", [.portInvalid]),

        // JavaScript origins: the same rules, plus no path, query or trailing slash.
        .origin("https://acme.crm.example.com", []),
        .origin("http://localhost", []),
        .origin("http://localhost:8080", []),
        .origin("http://[::1]:3000", []),
        .origin("https://example.com:8443", []),
        .origin("https://example.com/", [.originTrailingSlash]),
        .origin("https://example.com/path", [.originHasPath]),
        .origin("https://example.com/path/", [.originHasPath]),
        .origin("https://example.com?x=1", [.originHasQuery]),
        .origin("https://example.com/?", [.originTrailingSlash, .originHasQuery]),
        .origin("https://example.com#x", [.fragmentPresent]),
        .origin("http://example.com", [.schemeNotHTTPS]),
        .origin("https://192.168.1.1", [.rawIPHost]),
        .origin("https://user@example.com", [.userinfoPresent]),
        .origin("https://*.example.com", [.wildcardPresent]),
        .origin("https://googleusercontent.com", [.googleusercontentHost]),
        .origin("https://example.unknowntld", [.topLevelDomainUnknown]),
        // The space ends up in the host, so its top-level domain reads "com ".
        .origin("https://example.com ", [.nonPrintableCharacter, .topLevelDomainUnknown]),
        .origin(
            "https://acme.crm.example.com/agcrm_google/AuthCallback/IndexAsync",
            [.originHasPath]
        ),
    ]

    @Test("each value breaks exactly the expected rules", arguments: cases)
    func rules(_ testCase: URIRuleCase) {
        let found = GoogleURIRules.violations(of: testCase.uri, kind: testCase.kind)
        #expect(Set(found.map(\.rule)) == testCase.expected)
        #expect(found.count == Set(found.map(\.rule)).count, "each rule is reported once")
        #expect(found.allSatisfy { $0.value == testCase.uri })
        #expect(GoogleURIRules.isAcceptable(testCase.uri, kind: testCase.kind) == testCase.expected.isEmpty)
    }

    @Test("the table is large enough to mean something")
    func tableSize() {
        #expect(Self.cases.count >= 60)
        let covered = Set(Self.cases.flatMap(\.expected))
        #expect(covered == Set(GoogleURIRule.allCases), "every rule has at least one refusing case")
    }

    @Test("the offending part names what to fix", arguments: [
        ("https://user:pass@example.com/callback", GoogleURIRule.userinfoPresent, "user:pass@"),
        ("https://example.com/%zz", .invalidPercentEncoding, "%zz"),
        ("https://example.com/x%4", .invalidPercentEncoding, "%4"),
        ("https://example.com/%C0%80", .nullCharacter, "%C0%80"),
        ("https://example.com/callback ", .nonPrintableCharacter, "U+0020"),
        ("https://example.com/a/%2e%2e/b", .pathTraversal, "/%2e%2e"),
        ("https://example.com/cb#top", .fragmentPresent, "#top"),
        ("http://example.com/cb", .schemeNotHTTPS, "http:"),
        ("https://example.com:99999", .portInvalid, ":99999"),
    ])
    func offendingPart(uri: String, rule: GoogleURIRule, part: String) {
        let violation = GoogleURIRules.violations(of: uri, kind: .redirectURI).first { $0.rule == rule }
        #expect(violation?.offendingPart == part)
    }

    @Test("every rule has a stable snake_case name and both messages", arguments: GoogleURIRule.allCases)
    func messages(_ rule: GoogleURIRule) {
        #expect(rule.rawValue.allSatisfy { $0.isLowercase || $0 == "_" })
        #expect(!rule.message.ja.isEmpty)
        #expect(!rule.message.en.isEmpty)
        #expect(rule.message.ja != rule.message.en)
        let violation = GoogleURIRuleViolation(rule: rule, value: "x")
        #expect(violation.message(in: .ja) == rule.message.ja)
        #expect(violation.message(in: .en) == rule.message.en)
    }

    @Test("the documented rule names are the raw values")
    func documentedNames() {
        let names = Set(GoogleURIRule.allCases.map(\.rawValue))
        for name in [
            "scheme_not_https", "raw_ip_host", "top_level_domain_unknown", "googleusercontent_host",
            "userinfo_present", "path_traversal", "fragment_present", "wildcard_present",
            "non_printable_character", "invalid_percent_encoding", "origin_has_path",
            "origin_has_query", "origin_trailing_slash", "not_absolute_uri", "host_missing",
        ] {
            #expect(names.contains(name), "\(name)")
        }
    }

    /// The rules are fuzzed later; this is the cheap version: nothing traps, whatever
    /// the bytes, and a value with a random control character is never accepted.
    @Test("never traps on arbitrary input")
    func noTrap() {
        var generator = SeededRandom(seed: 0x5EED)
        let pieces = [
            "https://", "http://", "[", "]", ":", "@", "/", "\\", "..", "%", "%2e", "%2F", "%5c", "%00",
            "%C0", "%80", "#", "?", "*", "localhost", "127.0.0.1", "::1", "0x", "example", ".com", ".",
            "é", "例", "\u{0}", "\u{7F}", " ", "\u{FFFD}", "xn--", "-", "9", "googleusercontent",
        ]
        for _ in 0..<3000 {
            var text = ""
            for _ in 0..<Int.random(in: 0...12, using: &generator) {
                if Bool.random(using: &generator) {
                    text += pieces.randomElement(using: &generator)!
                } else if let scalar = Unicode.Scalar(UInt32.random(in: 0...0x2FFF, using: &generator)) {
                    text.unicodeScalars.append(scalar)
                }
            }
            for kind in GoogleURIKind.allCases {
                let found = GoogleURIRules.violations(of: text, kind: kind)
                if text.unicodeScalars.contains(where: { $0.value < 0x20 }) {
                    #expect(!found.isEmpty, "\(text.debugDescription)")
                }
            }
        }
        // Long inputs stay linear and do not trap.
        let long = "https://example.com/" + String(repeating: "%2e%2e/", count: 20_000) + String(repeating: "[", count: 10_000)
        #expect(!GoogleURIRules.violations(of: long, kind: .redirectURI).isEmpty)
        // Invalid UTF-8 arrives repaired as U+FFFD, which is refused.
        let broken = String(decoding: [0x68, 0x74, 0x74, 0x70, 0x73, 0x3A, 0x2F, 0x2F, 0xFF, 0xC0], as: UTF8.self)
        #expect(!GoogleURIRules.violations(of: broken, kind: .redirectURI).isEmpty)
    }
}
