import ProvisionerDomain
import Testing

@Suite("Text from a file, made storable")
struct StorableTextTests {
    @Test("U+0000 becomes the six characters \\u0000; nothing else changes", arguments: [
        ("plain", "plain"),
        ("", ""),
        ("a\u{0}b", "a\\u0000b"),
        ("\u{0}\u{0}", "\\u0000\\u0000"),
        ("株\u{0}式", "株\\u0000式"),
        ("tab\tand\u{1}", "tab\tand\u{1}"),
    ])
    func storable(input: String, output: String) {
        #expect(StorableText.make(input) == output)
    }

    @Test("findings and summaries hold no U+0000")
    func findingsAndSummaries() {
        let finding = Finding(code: .redirectURIMissing, field: "web.\u{0}", value: "https://x\u{0}", expected: "e\u{0}")
        #expect(finding.field == "web.\\u0000" && finding.value == "https://x\\u0000" && finding.expected == "e\\u0000")
        let summary = ClientSecretsSummary(clientType: .web, clientID: "1-\u{0}", projectID: "\u{0}", clientSecretHint: "ab\u{0}c", sha256: "00")
        #expect(summary.clientID == "1-\\u0000" && summary.projectID == "\\u0000" && summary.clientSecretHint == "ab\\u0000c")
    }
}
