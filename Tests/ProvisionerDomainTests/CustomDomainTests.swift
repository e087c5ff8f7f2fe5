import SeededRandom
import Testing
@testable import ProvisionerDomain

@Suite("Custom domains")
struct CustomDomainTests {
    @Test("accepted and normalised", arguments: [
        ("crm.acme.co.jp", "crm.acme.co.jp"),
        ("acme.com", "acme.com"),
        ("CRM.Acme.CO.JP", "crm.acme.co.jp"),
        ("  crm.acme.co.jp\n", "crm.acme.co.jp"),
        ("例え.jp", "xn--r8jz45g.jp"),
        ("bücher.example.com", "xn--bcher-kva.example.com"),
        ("crm.例え.jp", "crm.xn--r8jz45g.jp"),
        ("ｃｒｍ．ａｃｍｅ．ｊｐ", "crm.acme.jp"),
        ("crm。acme。jp", "crm.acme.jp"),
        ("ドメイン名例.jp", "xn--eckwd4c7cu47r2wf.jp"),
        ("Bücher.example.com", "xn--bcher-kva.example.com"),
        ("xn--r8jz45g.jp", "xn--r8jz45g.jp"),
        ("example.xn--q9jyb4c", "example.xn--q9jyb4c"),
        ("example.みんな", "example.xn--q9jyb4c"),
        ("a-b.c-d.example.com", "a-b.c-d.example.com"),
        ("123.example.com", "123.example.com"),
        ("city.kawasaki.jp", "city.kawasaki.jp"),
        ("crm.acme.kawasaki.jp", "crm.acme.kawasaki.jp"),
        (String(repeating: "a", count: 63) + ".com", String(repeating: "a", count: 63) + ".com"),
    ])
    func accepted(input: String, name: String) throws {
        let domain = try CustomDomain(validating: input)
        #expect(domain.name == name)
        #expect(domain.description == name)
        #expect(GoogleURIRules.isAcceptable("https://" + domain.name, kind: .javascriptOrigin))
    }

    static let longName: String = (0..<4).map { _ in String(repeating: "a", count: 62) }.joined(separator: ".") + ".com"

    @Test("refused, naming the rule", arguments: [
        ("", CustomDomainRule.empty),
        ("   ", .empty),
        ("https://crm.acme.co.jp", .schemePresent),
        ("http://crm.acme.co.jp/", .schemePresent),
        ("https:crm.acme.co.jp", .schemePresent),
        ("user@crm.acme.co.jp", .userinfoPresent),
        ("crm.acme.co.jp/agcrm_google", .pathPresent),
        ("crm.acme.co.jp\\x", .pathPresent),
        ("crm.acme.co.jp?x=1", .queryPresent),
        ("crm.acme.co.jp#top", .fragmentPresent),
        ("crm.acme.co.jp:443", .portPresent),
        ("crm.acme.co.jp:", .portPresent),
        ("*.acme.co.jp", .wildcardPresent),
        ("192.168.0.1", .ipAddress),
        ("127.0.0.1", .ipAddress),
        ("2130706433", .ipAddress),
        ("[::1]", .ipAddress),
        ("2001:db8::1", .ipAddress),
        ("1.2.3.4.5", .ipAddress),
        ("crm.acme.co.jp.", .trailingDot),
        ("crm..acme.co.jp", .emptyLabel),
        (".acme.co.jp", .emptyLabel),
        ("crm acme.co.jp", .notAHostName),
        ("crm_acme.co.jp", .notAHostName),
        ("crm!.acme.co.jp", .notAHostName),
        ("crm.acme.co.jp\u{0}", .notAHostName),
        ("☃.example.com", .notAHostName),
        ("-crm.acme.co.jp", .hyphenAtLabelEdge),
        ("crm-.acme.co.jp", .hyphenAtLabelEdge),
        ("ab--cd.acme.co.jp", .hyphensAtPositions3And4),
        ("xn--zzzzzzzzzz-.acme.co.jp", .hyphenAtLabelEdge),
        ("xn--99999999999999.acme.co.jp", .invalidPunycode),
        ("xn--abc.acme.co.jp", .invalidPunycode),
        (String(repeating: "a", count: 64) + ".com", .labelTooLong),
        (String(repeating: "あ", count: 70) + ".jp", .labelTooLong),
        (longName, .nameTooLong),
        (String(repeating: "a.", count: 600) + "com", .nameTooLong),
        ("localhost", .singleLabel),
        ("intranet", .singleLabel),
        ("crm.acme.invalidtld", .topLevelDomainUnknown),
        ("crm.acme.local", .topLevelDomainUnknown),
        ("crm.acme.localhost", .topLevelDomainUnknown),
        ("co.jp", .publicSuffix),
        ("github.io", .publicSuffix),
        ("acme.kawasaki.jp", .publicSuffix),
        ("com", .singleLabel),
    ] as [(String, CustomDomainRule)])
    func refused(input: String, rule: CustomDomainRule) {
        #expect(throws: CustomDomainError(rule: rule, value: input)) {
            try CustomDomain(validating: input)
        }
    }

    @Test("every rule has a snake_case name and both messages", arguments: CustomDomainRule.allCases)
    func messages(_ rule: CustomDomainRule) {
        #expect(rule.rawValue.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" })
        #expect(!rule.message.ja.isEmpty && !rule.message.en.isEmpty)
        #expect(CustomDomainError(rule: rule, value: "x").message(in: .en) == rule.message.en)
    }

    @Test("subdomain relation")
    func subdomain() throws {
        let cloud = try CustomDomain(validating: "crm.example.com")
        #expect(try CustomDomain(validating: "acme.crm.example.com").isSameOrSubdomain(of: cloud))
        #expect(try CustomDomain(validating: "crm.example.com").isSameOrSubdomain(of: cloud))
        #expect(try !CustomDomain(validating: "xcrm.example.com").isSameOrSubdomain(of: cloud))
        #expect(try CustomDomain(validating: "crm.example.com").labels == ["crm", "example", "com"])
    }

    @Test("never traps on arbitrary input")
    func noTrap() {
        var generator = SeededRandom(seed: 253)
        let pieces = ["a", "-", ".", "xn--", "例", "ü", ":", "[", "]", "1", "0x", "。", "ｃ", " ", "\u{0}", "co.jp", ".com"]
        for _ in 0..<3000 {
            var text = ""
            for _ in 0..<Int.random(in: 0...16, using: &generator) {
                if Bool.random(using: &generator) {
                    text += pieces.randomElement(using: &generator)!
                } else if let scalar = Unicode.Scalar(UInt32.random(in: 0...0xFFFF, using: &generator)) {
                    text.unicodeScalars.append(scalar)
                }
            }
            if let domain = try? CustomDomain(validating: text) {
                // Whatever is accepted is a name Google accepts.
                #expect(GoogleURIRules.isAcceptable("https://" + domain.name, kind: .javascriptOrigin), "\(text.debugDescription)")
            }
        }
    }
}
