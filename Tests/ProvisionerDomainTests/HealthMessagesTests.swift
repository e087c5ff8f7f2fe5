import Testing
@testable import ProvisionerDomain

@Suite("Health messages")
struct HealthMessagesTests {
    static func hasJapanese(_ text: String) -> Bool {
        text.unicodeScalars.contains { (0x3040...0x30FF).contains($0.value) || (0x4E00...0x9FFF).contains($0.value) }
    }

    @Test("every state has a title and an action in Japanese and English", arguments: HealthState.allCases)
    func bothLanguages(_ state: HealthState) {
        for text in [HealthMessages.title(state), HealthMessages.action(state)] {
            #expect(!text.ja.isEmpty && !text.en.isEmpty)
            #expect(text.ja != text.en)
            #expect(Self.hasJapanese(text.ja), "\(state): \(text.ja)")
            #expect(!Self.hasJapanese(text.en), "\(state): \(text.en)")
            #expect(!text.ja.contains("  ") && !text.en.contains("  "))
            #expect(text.text(in: .ja) == text.ja && text.text(in: .en) == text.en)
        }
        let action = HealthMessages.action(state)
        #expect(action.ja.hasSuffix("。"))
        #expect(action.en.hasSuffix("."))
    }

    @Test("titles and actions are distinct across states")
    func distinct() {
        for language in Language.allCases {
            let titles = HealthState.allCases.map { HealthMessages.title($0).text(in: language) }
            let actions = HealthState.allCases.map { HealthMessages.action($0).text(in: language) }
            #expect(Set(titles).count == titles.count)
            #expect(Set(actions).count == actions.count)
        }
    }

    @Test("redirect_uri_not_registered names the URIs to add and where")
    func namesTheURIs() {
        let health = CredentialHealth(state: .redirectURINotRegistered, checkedAt: nil, uris: [
            URIHealth(uri: "https://acme.crm.example.com/a", state: .ok),
            URIHealth(uri: "https://acme.crm.example.com/b", state: .redirectURINotRegistered),
        ])
        #expect(health.unregisteredURIs == ["https://acme.crm.example.com/b"])
        for text in [health.action.ja, health.action.en] {
            #expect(text.contains("https://acme.crm.example.com/b"))
            #expect(!text.contains("https://acme.crm.example.com/a"))
        }
        #expect(health.action.ja.contains("承認済みのリダイレクト URI"))
        #expect(health.action.ja.contains("APIとサービス > 認証情報"))
        #expect(health.action.en.contains("Authorized redirect URIs"))
        #expect(health.action.en.contains("APIs & Services > Credentials"))
        #expect(health.action.en.hasPrefix("This redirect URI is"))
        let two = HealthMessages.action(.redirectURINotRegistered, unregistered: ["https://x.example/a", "https://x.example/b"])
        #expect(two.en.hasPrefix("These redirect URIs are") && two.en.contains("https://x.example/a, https://x.example/b"))
    }

    @Test("the states that need an upload say so", arguments: [HealthState.clientDeleted, .clientSecretInvalid])
    func upload(_ state: HealthState) {
        #expect(HealthMessages.action(state).ja.contains("client_secrets.json"))
        #expect(HealthMessages.action(state).en.contains("client_secrets.json"))
    }
}
