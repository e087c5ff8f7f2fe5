import ProvisionerDomain
import Testing

@Suite("Names (display names, token names)")
struct NameRuleTests {
    @Test("accepted", arguments: ["Acme 株式会社", "(株) Acme #1", "a", "acme-admin-sato", "Ünïcödé", String(repeating: "x", count: 100)])
    func accepted(name: String) {
        #expect(NameRule.violation(of: name, maxLength: 100) == nil)
    }

    @Test("refused", arguments: [
        ("", NameRule.Violation.length(maxLength: 100)),
        (String(repeating: "x", count: 101), .length(maxLength: 100)),
        ("Acme\tCorp", .controlCharacter),
        ("Acme\nCorp", .controlCharacter),
        ("Acme\u{7F}", .controlCharacter),
        ("Acme\u{85}Corp", .controlCharacter),
        ("\u{80}Acme", .controlCharacter),
        ("Acme\u{9F}", .controlCharacter),
        (" Acme", .surroundingWhiteSpace),
        ("Acme ", .surroundingWhiteSpace),
        ("\u{3000}Acme", .surroundingWhiteSpace),
        ("Acme\u{A0}", .surroundingWhiteSpace),
    ])
    func refused(name: String, expected: NameRule.Violation) {
        #expect(NameRule.violation(of: name, maxLength: 100) == expected)
    }
}
