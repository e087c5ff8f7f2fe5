import Testing
@testable import ProvisionerDomain

@Suite("Finding messages")
struct FindingMessagesTests {
    /// One representative finding per code, with the data the verifier gives it.
    static let samples: [Finding] = FindingCode.allCases.map { code in
        switch code {
        case .clientTypeUnknown: Finding(code: code, value: "foo, bar")
        case .fieldMissing: Finding(code: code, field: "web.client_id")
        case .clientIDMalformed, .clientIDInUse, .liveClientNotFound: Finding(code: code, field: "web.client_id", value: "123-abc.apps.googleusercontent.com")
        case .authURIUnexpected: Finding(code: code, field: "web.auth_uri", value: "https://evil.example/auth", expected: "https://accounts.google.com/o/oauth2/auth")
        case .tokenURIUnexpected: Finding(code: code, field: "web.token_uri", value: "https://evil.example/token", expected: "https://oauth2.googleapis.com/token")
        case .redirectURIMissing: Finding(code: code, field: "web.redirect_uris", expected: "https://acme.crm.example.com/agcrm_google/AuthCallback/IndexAsync")
        case .javascriptOriginMissing: Finding(code: code, field: "web.javascript_origins", expected: "https://acme.crm.example.com")
        case .redirectURIUnexpected: Finding(code: code, field: "web.redirect_uris", value: "https://other.example.com/cb")
        case .javascriptOriginUnexpected: Finding(code: code, field: "web.javascript_origins", value: "https://other.example.com")
        case .tooManyURIs: Finding(code: code, field: "web.redirect_uris", value: "12000", expected: "100")
        case .findingsTruncated: Finding(code: code, value: "61")
        case .clientSecretCarriedOver: Finding(code: code, field: "web.client_secret", value: "5f1d7c2a-8e34-4c61-b1f0-6a9d2e4b7c30")
        default: Finding(code: code)
        }
    }

    static func hasJapanese(_ text: String) -> Bool {
        text.unicodeScalars.contains { (0x3040...0x30FF).contains($0.value) || (0x4E00...0x9FFF).contains($0.value) }
    }

    @Test("every code has a Japanese and an English message", arguments: samples)
    func bothLanguages(_ finding: Finding) {
        let ja = finding.message(in: .ja)
        let en = finding.message(in: .en)
        #expect(!ja.isEmpty)
        #expect(!en.isEmpty)
        #expect(ja != en)
        #expect(Self.hasJapanese(ja))
        #expect(!Self.hasJapanese(en))
        #expect(ja.hasSuffix("。"))
        #expect(en.hasSuffix("."))
        #expect(!ja.contains("  ") && !en.contains("  "))
        let field = finding.code == .fieldMissing ? finding.field : nil
        for shown in [finding.value, finding.expected, field].compactMap({ $0 }) {
            #expect(ja.contains(shown), "ja message of \(finding.code) lacks \(shown)")
            #expect(en.contains(shown), "en message of \(finding.code) lacks \(shown)")
        }
    }

    @Test("messages are distinct across codes")
    func distinct() {
        for language in Language.allCases {
            let messages = Self.samples.map { $0.message(in: language) }
            #expect(Set(messages).count == messages.count)
        }
    }

    @Test("the localized text and the per-language message agree", arguments: samples)
    func localizedText(_ finding: Finding) {
        #expect(finding.localizedMessage.ja == finding.message(in: .ja))
        #expect(finding.localizedMessage.en == finding.message(in: .en))
    }

    @Test("the URI messages name the console fields", arguments: [
        (FindingCode.redirectURIMissing, "承認済みのリダイレクト URI", "Authorized redirect URIs"),
        (.redirectURIUnexpected, "承認済みのリダイレクト URI", "Authorized redirect URIs"),
        (.javascriptOriginMissing, "承認済みの JavaScript 生成元", "Authorized JavaScript origins"),
        (.javascriptOriginUnexpected, "承認済みの JavaScript 生成元", "Authorized JavaScript origins"),
    ])
    func consoleFields(_ testCase: (FindingCode, String, String)) {
        let finding = Self.samples.first { $0.code == testCase.0 }!
        #expect(finding.message(in: .ja).contains(testCase.1))
        #expect(finding.message(in: .en).contains(testCase.2))
        #expect(finding.message(in: .ja).contains("APIとサービス > 認証情報"))
        #expect(finding.message(in: .en).contains("APIs & Services > Credentials"))
    }

    @Test("codes that need the console say where it is", arguments: [
        FindingCode.jsonNotObject, .clientTypeInstalled, .clientTypeUnknown, .fieldMissing, .clientIDMalformed,
        .clientSecretMissing, .authURIUnexpected, .tokenURIUnexpected, .liveClientNotFound, .liveClientSecretInvalid,
        .clientSecretCarriedOver,
    ])
    func consolePath(_ code: FindingCode) {
        let finding = Self.samples.first { $0.code == code }!
        #expect(finding.message(in: .ja).contains("APIとサービス > 認証情報"))
        #expect(finding.message(in: .en).contains("APIs & Services > Credentials"))
    }

    @Test("a missing secret: add a new one and download at once")
    func secretMissing() {
        let finding = Finding(code: .clientSecretMissing, field: "web.client_secret")
        #expect(finding.message(in: .ja).contains("作成時にしか"))
        #expect(finding.message(in: .ja).contains("シークレットを追加"))
        #expect(finding.message(in: .ja).contains("その場で JSON をダウンロード"))
        #expect(finding.message(in: .en).contains("only when it is created"))
        #expect(finding.message(in: .en).contains("Add secret"))
        #expect(finding.message(in: .en).contains("right away"))
    }

    static let hintCases: [(FindingCode, NearMiss)] = [FindingCode.redirectURIMissing, .javascriptOriginMissing].flatMap { code in
        NearMiss.allCases.map { (code, $0) }
    }

    @Test("every near miss is explained with the wrong and the right value", arguments: hintCases)
    func nearMisses(_ testCase: (FindingCode, NearMiss)) {
        let expected = "https://acme.crm.example.com/agcrm_google/AuthCallback/IndexAsync"
        let value = "http://acme.crm.example.com/agcrm_google/AuthCallback/IndexAsync/"
        let finding = Finding(code: testCase.0, field: "web.redirect_uris", value: value, expected: expected, hint: testCase.1)
        let plain = Finding(code: testCase.0, field: "web.redirect_uris", expected: expected)
        for language in Language.allCases {
            let message = finding.message(in: language)
            #expect(message.contains(value))
            #expect(message.contains(expected))
            #expect(message != plain.message(in: language))
        }
        #expect(Self.hasJapanese(finding.message(in: .ja)))
        #expect(!Self.hasJapanese(finding.message(in: .en)))
    }

    @Test("near-miss messages differ from each other")
    func nearMissesDistinct() {
        for code in [FindingCode.redirectURIMissing, .javascriptOriginMissing] {
            for language in Language.allCases {
                // Each list has one wrong-list hint: the other list's.
                let inapplicable: NearMiss = code == .redirectURIMissing ? .originInRedirects : .callbackInOrigins
                let messages = NearMiss.allCases.filter { $0 != inapplicable }.map {
                    Finding(code: code, value: "v", expected: "e", hint: $0).message(in: language)
                }
                #expect(Set(messages).count == messages.count)
            }
        }
    }

    @Test("a carried-over secret names the upload it came from and what to do if it no longer works")
    func secretCarriedOver() {
        let finding = Finding(code: .clientSecretCarriedOver, field: "web.client_secret", value: "5f1d7c2a-8e34-4c61-b1f0-6a9d2e4b7c30")
        #expect(finding.severity == .warning)
        #expect(finding.message(in: .ja).contains("引き継ぎました"))
        #expect(finding.message(in: .ja).contains("シークレットを追加"))
        #expect(finding.message(in: .en).contains("carried over"))
        #expect(finding.message(in: .en).contains("Add secret"))
    }

    @Test("a wrong-list hint says to move the value")
    func wrongList() {
        let finding = Finding(code: .javascriptOriginMissing, field: "web.javascript_origins",
                              value: "https://acme.crm.example.com", expected: "https://acme.crm.example.com", hint: .originInRedirects)
        #expect(finding.message(in: .ja).contains("「承認済みのリダイレクト URI」から「https://acme.crm.example.com」を削除"))
        #expect(finding.message(in: .en).contains("remove \"https://acme.crm.example.com\" from Authorized redirect URIs"))
    }
}

@Suite("Finding")
struct FindingTests {
    @Test("severities are the documented ones", arguments: FindingCode.allCases)
    func severities(_ code: FindingCode) {
        let warnings: Set<FindingCode> = [
            .clientSecretUnusual, .redirectURIUnexpected, .javascriptOriginUnexpected, .clientIDInUse, .liveCheckUnavailable, .findingsTruncated,
            .clientSecretCarriedOver,
        ]
        #expect(code.severity == (warnings.contains(code) ? .warning : .error))
        #expect(Finding(code: code).severity == code.severity)
    }

    @Test("codes are exactly the documented ones, in snake_case")
    func codes() {
        #expect(FindingCode.allCases.map(\.rawValue) == [
            "json_not_object", "client_type_installed", "client_type_unknown", "field_missing", "client_id_malformed",
            "client_secret_missing", "client_secret_unusual", "auth_uri_unexpected", "token_uri_unexpected",
            "redirect_uri_missing", "redirect_uri_unexpected", "javascript_origin_missing", "javascript_origin_unexpected",
            "uri_set_not_issued", "client_id_in_use", "live_client_not_found", "live_client_secret_invalid",
            "live_check_unavailable", "verification_failed", "too_many_uris", "findings_truncated", "client_secret_carried_over",
        ])
        #expect(NearMiss.allCases.map(\.rawValue) == [
            "trailing_slash", "scheme_http", "letter_case", "surrounding_spaces", "port", "callback_in_origins", "origin_in_redirects",
        ])
    }

    @Test("stored as snake_case JSON with explicit nulls, and read back", arguments: [
        Finding(code: .redirectURIMissing, field: "web.redirect_uris", value: "http://a/", expected: "https://a/", hint: .schemeHTTP),
        Finding(code: .uriSetNotIssued),
        Finding(code: .clientSecretUnusual, severity: .error, field: "web.client_secret"),
    ])
    func codable(_ finding: Finding) throws {
        let encoded = try TestJSON.encode(finding)
        let value = try JSONParser().parse(encoded)
        #expect(value.objectMembers?.map(\.key).sorted() == ["code", "expected", "field", "hint", "severity", "value"])
        #expect(value["code"] == .string(finding.code.rawValue))
        #expect(value["severity"] == .string(finding.severity.rawValue))
        #expect(value["hint"] == (finding.hint.map { .string($0.rawValue) } ?? .null))
        #expect(value["value"] == (finding.value.map { .string($0) } ?? .null))
        #expect(try TestJSON.decode(Finding.self, from: encoded) == finding)
    }

    @Test("reads rows written without severity or nulls")
    func lenientDecoding() throws {
        let finding = try TestJSON.decode(Finding.self, from: "{\"code\":\"client_id_in_use\",\"value\":\"x\"}")
        #expect(finding == Finding(code: .clientIDInUse, value: "x"))
        #expect(finding.severity == .warning)
        #expect(throws: (any Error).self) { try TestJSON.decode(Finding.self, from: "{\"code\":\"no_such_code\"}") }
    }
}
