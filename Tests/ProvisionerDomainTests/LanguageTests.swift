import ProvisionerDomain
import Testing

@Suite("Accept-Language")
struct LanguageTests {
    static let cases: [(header: String?, expected: Language)] = [
        (nil, .ja),
        ("", .ja),
        ("ja", .ja),
        ("en", .en),
        ("EN", .en),
        ("en-US", .en),
        ("en-GB,en;q=0.9", .en),
        ("ja,en;q=0.9", .ja),
        ("en,ja;q=0.9", .en),
        ("ja;q=0.4, en;q=0.8", .en),
        ("en;q=0.1, ja", .ja),
        ("ja-JP,ja;q=0.9,en-US;q=0.8,en;q=0.7", .ja),
        // Ties go to Japanese, the default, whatever the order.
        ("en;q=0.5, ja;q=0.5", .ja),
        ("ja;q=0.5, en;q=0.5", .ja),
        // `*` stands for every language the header does not name.
        ("*", .ja),
        ("*;q=0.5, ja;q=0.1", .en),
        ("ja;q=0.5, *", .en),
        ("en;q=0.2, *", .ja),
        // Nothing acceptable, or only other languages: the default.
        ("fr", .ja),
        ("fr, de;q=0.9", .ja),
        ("en;q=0", .ja),
        ("en;q=0, *", .ja),
        // Malformed entries count as not sent.
        ("en;q=2", .ja),
        ("en;q=-1", .ja),
        ("en;q=abc", .ja),
        ("en;q=0.12345", .ja),
        ("en-", .ja),
        ("e n", .ja),
        ("en_US", .ja),
        ("toolongtag", .ja),
        (";;;,,,", .ja),
        ("en;q=2, ja;q=0.1", .ja),
        ("en;q=0.9;foo=bar", .en),
        (" en ; q=0.9 , ja ; q=0.8 ", .en),
    ]

    @Test("the preferred language", arguments: cases)
    func preferred(header: String?, expected: Language) {
        #expect(Language.preferred(byAcceptLanguage: header) == expected)
    }
}
