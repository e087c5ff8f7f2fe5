import Foundation
import Testing
@testable import ProvisionerDomain

@Suite("Setup sheet")
struct SetupSheetTests {
    static let set = IssuedURISet(
        version: 7,
        host: "acme.crm.example.com",
        javascriptOrigins: ["https://acme.crm.example.com"],
        redirectURIs: ["https://acme.crm.example.com/agcrm_google/AuthCallback/IndexAsync", "https://myaccount.google.com/"]
    )

    @Test("every issued value is on its own line inside a code block", arguments: Language.allCases)
    func values(_ language: Language) throws {
        let sheet = SetupSheet.markdown(tenantDisplayName: "Acme 株式会社", slug: "acme", uriSet: Self.set, language: language)
        let lines = sheet.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for value in Self.set.javascriptOrigins + Self.set.redirectURIs {
            let index = try #require(lines.firstIndex(of: value), "\(value) verbatim on a line")
            // Inside a fenced block: an odd number of fences above it.
            let fencesAbove = lines[..<index].filter { $0.hasPrefix("```") }.count
            #expect(fencesAbove % 2 == 1, "\(value) is inside a code block")
        }
        // One block per list: two blocks, four fences.
        #expect(lines.filter { $0.hasPrefix("```") }.count == 4)
        let firstBlock = try #require(lines.firstIndex { $0.hasPrefix("```") })
        #expect(lines[firstBlock + 1] == "https://acme.crm.example.com")
        #expect(lines[firstBlock + 2].hasPrefix("```"))
        #expect(sheet.contains("All Gather CRM Google Calendar"))
        #expect(sheet.contains("client_secrets.json"))
        #expect(sheet.contains("Google Calendar API"))
        #expect(sheet.contains("Acme 株式会社"))
        #expect(sheet.contains(": 7"))
        #expect(sheet.contains("`acme`"))
        // The only link is Google's console: bracketed UI labels must not turn into links.
        let links = sheet.components(separatedBy: "](").count - 1
        #expect(links == 1)
        #expect(sheet.contains("`acme.crm.example.com`"))
    }

    @Test("Japanese follows the vendor's guide")
    func japanese() {
        let sheet = SetupSheet.markdown(tenantDisplayName: "Acme", slug: "acme", uriSet: Self.set, language: .ja)
        for phrase in [
            "ウェブアプリケーション", "承認済みの JavaScript 生成元", "承認済みのリダイレクト URI",
            "Googleカレンダーと連携する", "Google連携用Jsonファイル(管理者)", "システム運用設定",
            "グループウェア", "背景色", "同意画面", "プロジェクト名", "Google アカウント",
        ] {
            #expect(sheet.contains(phrase), "\(phrase)")
        }
    }

    @Test("English names the same steps")
    func english() {
        let sheet = SetupSheet.markdown(tenantDisplayName: "Acme", slug: "acme", uriSet: Self.set, language: .en)
        for phrase in [
            "Web application", "Authorized JavaScript origins", "Authorized redirect URIs",
            "Googleカレンダーと連携する", "Google連携用Jsonファイル(管理者)", "consent screen",
            "default background colour", "Google account",
        ] {
            #expect(sheet.contains(phrase), "\(phrase)")
        }
        #expect(!sheet.contains("ウェブアプリケーション"))
    }

    @Test("Markdown in the display name cannot break the sheet", arguments: [
        "# Evil heading",
        "```\nhttps://evil.example.com\n```",
        "[click](https://evil.example.com)",
        "<script>alert(1)</script>",
        "*bold* _it_ `code` | table |",
        "Acme\r\n## injected",
        "Acme\u{2028}- item",
    ])
    func escaping(_ name: String) {
        let sheet = SetupSheet.markdown(tenantDisplayName: name, slug: "acme", uriSet: Self.set, language: .ja)
        let lines = sheet.split(separator: "\n", omittingEmptySubsequences: false)
        // Still exactly the two code blocks and no new heading, link or HTML.
        #expect(lines.filter { $0.hasPrefix("```") }.count == 4)
        #expect(!lines.contains { $0.hasPrefix("## injected") || $0.hasPrefix("# Evil") })
        #expect(!sheet.contains("<script>"))
        // A link needs an unescaped `]` right before `(`.
        #expect(!sheet.replacingOccurrences(of: "\\](", with: "").contains("](https://evil"))
        #expect(!lines.contains { $0 == "https://evil.example.com" })
    }

    @Test("escapeInline escapes punctuation and flattens line breaks", arguments: [
        ("Acme 株式会社", "Acme 株式会社"),
        ("a*b", "a\\*b"),
        ("[x](y)", "\\[x\\](y)"),
        ("![x](y)", "!\\[x\\](y)"),
        ("(株) Acme #1 {a}", "(株) Acme #1 {a}"),
        ("a\nb", "a b"),
        ("<&>", "\\<\\&\\>"),
        ("back\\slash", "back\\\\slash"),
        ("Acme, Inc. - 東京", "Acme, Inc. - 東京"),
        ("~$!|#", "\\~\\$!\\|#"),
    ])
    func escapeInline(input: String, output: String) {
        #expect(SetupSheet.escapeInline(input) == output)
    }

    @Test("a fence is longer than any backtick run in the values")
    func fence() {
        let block = SetupSheet.codeBlock(["a```b"])
        #expect(block.first == "````text")
        #expect(block.last == "````")
    }

    @Test("the sheet from a validated slug is the same")
    func typedSlug() throws {
        let slug = try TenantSlug(validating: "acme")
        #expect(
            SetupSheet.markdown(tenantDisplayName: "A", slug: slug, uriSet: Self.set, language: .en)
                == SetupSheet.markdown(tenantDisplayName: "A", slug: "acme", uriSet: Self.set, language: .en)
        )
    }
}
