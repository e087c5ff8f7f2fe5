import Testing
@testable import ProvisionerDomain

@Suite("Tenant slugs")
struct TenantSlugTests {
    @Test("valid slugs", arguments: [
        "acme", "abc", "a1b", "123", "acme-corp", "a-b-c", "tenant-2024", "x9y",
        String(repeating: "a", count: 63), "abc-" + String(repeating: "z", count: 59),
        "mailbox", "apple", "wwww", "support-team", "api1",
    ])
    func valid(_ text: String) throws {
        let slug = try TenantSlug(validating: text)
        #expect(slug.rawValue == text)
        #expect(slug.description == text)
        #expect(TenantSlug(rawValue: text) == slug)
    }

    @Test("invalid slugs name their rule", arguments: [
        ("", TenantSlugRule.empty),
        ("ab", .tooShort),
        ("a", .tooShort),
        (String(repeating: "a", count: 64), .tooLong),
        ("Acme", .uppercase),
        ("ACME", .uppercase),
        ("acme_corp", .invalidCharacter),
        ("acme.corp", .invalidCharacter),
        ("acme corp", .invalidCharacter),
        (" acme", .invalidCharacter),
        ("acme\n", .invalidCharacter),
        ("アクメ", .invalidCharacter),
        ("ａｃｍｅ", .invalidCharacter),
        ("Acme_Corp", .invalidCharacter),
        ("-acme", .hyphenAtEdge),
        ("acme-", .hyphenAtEdge),
        ("---", .hyphenAtEdge),
        ("xn--r8jz45g", .hyphensAtPositions3And4),
        ("ab--cd", .hyphensAtPositions3And4),
        ("abc--d", nil),
    ] as [(String, TenantSlugRule?)])
    func invalid(text: String, rule: TenantSlugRule?) {
        do {
            let slug = try TenantSlug(validating: text)
            #expect(rule == nil, "\(slug) should be refused")
        } catch {
            #expect(error.rule == rule)
            #expect(error.ruleName == rule?.rawValue)
            #expect(error.value == text)
            #expect(!error.message(in: .ja).isEmpty)
            #expect(!error.message(in: .en).isEmpty)
        }
        if rule != nil { #expect(TenantSlug(rawValue: text) == nil) }
    }

    @Test("reserved names are refused", arguments: [
        "www", "api", "admin", "support", "mail", "app", "apps", "auth", "login", "static", "cdn",
        "status", "help", "docs", "dashboard", "smtp", "imap", "pop", "ftp", "ns1", "ns2",
        "localhost", "test", "dev", "staging", "internal", "root", "system", "billing", "blog",
    ])
    func reserved(_ text: String) {
        #expect(throws: TenantSlugError(rule: .reservedName, value: text)) {
            try TenantSlug(validating: text)
        }
    }

    @Test("every reserved name that could be a slug is refused as reserved")
    func reservedList() {
        for name in TenantSlug.reservedNames where name.count >= 3 {
            #expect(throws: TenantSlugError(rule: .reservedName, value: name)) {
                try TenantSlug(validating: name)
            }
        }
    }

    @Test("every rule has both messages", arguments: TenantSlugRule.allCases)
    func messages(_ rule: TenantSlugRule) {
        #expect(!rule.message.ja.isEmpty && !rule.message.en.isEmpty)
    }

    @Test("slugs sort by their text")
    func ordering() throws {
        let slugs = try ["zeta", "acme", "beta1"].map { try TenantSlug(validating: $0) }
        #expect(slugs.sorted().map(\.rawValue) == ["acme", "beta1", "zeta"])
    }
}
