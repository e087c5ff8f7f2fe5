import Foundation
import Testing
@testable import ProvisionerDomain

@Suite("ClientSecretMerge")
struct ClientSecretMergeTests {
    struct MergeCase: Sendable, CustomTestStringConvertible {
        let name: String
        let file: String
        /// The exact stored text; nil when nothing can be merged.
        let expected: String?
        var testDescription: String { name }
    }

    static let cases: [MergeCase] = [
        .init(name: "missing, compact: appended after the last member",
              file: #"{"web":{"client_id":"c","redirect_uris":["https://a/"]}}"#,
              expected: #"{"web":{"client_id":"c","redirect_uris":["https://a/"],"client_secret":"S3cr3t"}}"#),
        .init(name: "missing, pretty-printed: the last member's indentation and colon spacing",
              file: "{\n  \"web\": {\n    \"client_id\": \"c\",\n    \"auth_uri\": \"a\"\n  }\n}\n",
              expected: "{\n  \"web\": {\n    \"client_id\": \"c\",\n    \"auth_uri\": \"a\",\n    \"client_secret\": \"S3cr3t\"\n  }\n}\n"),
        .init(name: "empty string replaced in place",
              file: #"{"web":{"client_id":"c","client_secret":"","token_uri":"t"}}"#,
              expected: #"{"web":{"client_id":"c","client_secret":"S3cr3t","token_uri":"t"}}"#),
        .init(name: "null replaced in place",
              file: #"{"web":{"client_secret": null ,"client_id":"c"}}"#,
              expected: #"{"web":{"client_secret": "S3cr3t" ,"client_id":"c"}}"#),
        .init(name: "a non-string value replaced (object with nested strings)",
              file: #"{"web":{"client_secret":{"x":"}"},"client_id":"c"}}"#,
              expected: #"{"web":{"client_secret":"S3cr3t","client_id":"c"}}"#),
        .init(name: "the first of duplicate keys is the one every reader takes",
              file: #"{"web":{"client_secret":"","client_secret":"other"}}"#,
              expected: #"{"web":{"client_secret":"S3cr3t","client_secret":"other"}}"#),
        .init(name: "an escaped key is the same key",
              file: #"{"web":{"client\u005fsecret":""}}"#,
              expected: #"{"web":{"client\u005fsecret":"S3cr3t"}}"#),
        .init(name: "empty web object",
              file: #"{"web":{ }}"#,
              expected: #"{"web":{"client_secret":"S3cr3t" }}"#),
        .init(name: "a web key nested elsewhere is not the section",
              file: #"{"other":{"web":{}},"web":{"client_id":"c"}}"#,
              expected: #"{"other":{"web":{}},"web":{"client_id":"c","client_secret":"S3cr3t"}}"#),
        .init(name: "byte order mark, tabs and CRLF kept",
              file: "\u{FEFF}{\r\n\t\"web\": {\r\n\t\t\"client_id\": \"c\"\r\n\t}\r\n}",
              expected: "\u{FEFF}{\r\n\t\"web\": {\r\n\t\t\"client_id\": \"c\",\r\n\t\t\"client_secret\": \"S3cr3t\"\r\n\t}\r\n}"),
        .init(name: "numbers, escapes and other members untouched",
              file: #"{"web":{"n":-1.5e10,"s":"a\"b\\c\u00e9","b":true,"z":null}}"#,
              expected: #"{"web":{"n":-1.5e10,"s":"a\"b\\c\u00e9","b":true,"z":null,"client_secret":"S3cr3t"}}"#),
        .init(name: "installed: no web object", file: #"{"installed":{"client_id":"c"}}"#, expected: nil),
        .init(name: "web is not an object", file: #"{"web":"nope"}"#, expected: nil),
        .init(name: "not an object", file: #"["web"]"#, expected: nil),
        .init(name: "not JSON", file: #"{"web":{"#, expected: nil),
    ]

    @Test("puts the secret in and changes nothing else", arguments: cases)
    func merge(_ testCase: MergeCase) throws {
        let merged = ClientSecretMerge.setting(secret: "S3cr3t", in: Array(testCase.file.utf8))
        #expect(merged.map { String(decoding: $0, as: UTF8.self) } == testCase.expected)
        if let merged {
            // What every reader of the stored file sees.
            let file = try #require(ClientSecretsFile(fileBytes: merged))
            #expect(file.section?.clientSecret == "S3cr3t")
        }
    }

    @Test("the realistic Google file without a secret verifies clean once merged")
    func realisticFile() throws {
        let merged = try #require(ClientSecretMerge.setting(secret: F.secret, in: F.file(secret: .absent)))
        #expect(CredentialVerifier().verify(fileBytes: merged, against: F.issued).findings == [])
        let emptied = try #require(ClientSecretMerge.setting(secret: F.secret, in: F.file(secret: .string(""))))
        #expect(emptied == F.file())
    }

    @Test("any secret is written as a JSON string that reads back the same", arguments: [
        "GOCSPX-abc", "quote\"back\\slash", "tab\tnew\nline\u{0}nul", "ひみつ", "emoji 🔑", "</script>",
    ])
    func escaping(_ secret: String) throws {
        let merged = try #require(ClientSecretMerge.setting(secret: secret, in: Array(#"{"web":{}}"#.utf8)))
        #expect(ClientSecretsFile(fileBytes: merged)?.section?.clientSecret == secret)
    }
}

@Suite("ClientSecretCarryOver")
struct ClientSecretCarryOverTests {
    static let tenant = UUID(uuidString: "00000000-0000-0000-0000-00000000000a")!
    static let otherTenant = UUID(uuidString: "00000000-0000-0000-0000-00000000000b")!
    static let other = "223456789012-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com"

    static func upload(
        _ n: Int, at seconds: TimeInterval, tenant: UUID = tenant, clientID: String? = F.clientID, secret: String? = "GOCSPX-earlier"
    ) -> EarlierUpload {
        EarlierUpload(
            credentialID: UUID(uuidString: String(format: "00000000-0000-0000-0000-%012d", n))!, tenantID: tenant,
            uploadedAt: Date(timeIntervalSince1970: 1_700_000_000 + seconds), clientID: clientID, clientSecret: secret
        )
    }

    struct RuleCase: Sendable, CustomTestStringConvertible {
        let name: String
        let candidates: [EarlierUpload]
        /// The credential number chosen, or nil.
        let expected: Int?
        var testDescription: String { name }
    }

    static let cases: [RuleCase] = [
        .init(name: "no earlier upload", candidates: [], expected: nil),
        .init(name: "the only one with a secret", candidates: [upload(1, at: 0)], expected: 1),
        .init(name: "the newest of several", candidates: [upload(1, at: 0), upload(3, at: 20), upload(2, at: 10)], expected: 3),
        .init(name: "newer ones without a secret are passed over",
              candidates: [upload(1, at: 0), upload(2, at: 10, secret: nil), upload(3, at: 20, secret: "")], expected: 1),
        .init(name: "another client id never", candidates: [upload(1, at: 0, clientID: other)], expected: nil),
        .init(name: "no client id never", candidates: [upload(1, at: 0, clientID: nil)], expected: nil),
        .init(name: "a client id differing in case never",
              candidates: [upload(1, at: 0, clientID: F.clientID.uppercased())], expected: nil),
        .init(name: "another tenant's upload never, even when newer and offered",
              candidates: [upload(1, at: 0), upload(2, at: 10, tenant: otherTenant)], expected: 1),
        .init(name: "only another tenant's", candidates: [upload(2, at: 10, tenant: otherTenant)], expected: nil),
        .init(name: "same time: the higher id, as lists order",
              candidates: [upload(5, at: 0), upload(7, at: 0), upload(6, at: 0)], expected: 7),
    ]

    @Test("the newest earlier upload of the tenant and client id that had a secret", arguments: cases)
    func rule(_ testCase: RuleCase) {
        let chosen = ClientSecretCarryOver.source(tenantID: Self.tenant, clientID: F.clientID, among: testCase.candidates)
        #expect(chosen?.credentialID == testCase.expected.map { Self.upload($0, at: 0).credentialID })
        // The order the candidates come in does not matter.
        let reversed = ClientSecretCarryOver.source(tenantID: Self.tenant, clientID: F.clientID, among: testCase.candidates.reversed())
        #expect(reversed?.credentialID == chosen?.credentialID)
    }

    @Test("an earlier upload never shows its secret when printed")
    func redacted() {
        let upload = EarlierUpload(credentialID: UUID(), tenantID: Self.tenant, uploadedAt: Date(), clientID: F.clientID, clientSecret: F.secret)
        for text in ["\(upload)", String(reflecting: upload), { var out = ""; dump(upload, to: &out); return out }()] {
            #expect(!text.contains(F.secret))
            #expect(!text.contains("AbCdEf"))
        }
    }
}

@Suite("ClientSecretIntake")
struct ClientSecretIntakeTests {
    struct IntakeCase: Sendable, CustomTestStringConvertible {
        let name: String
        let file: [UInt8]
        let supplied: String?
        let expected: Result<ClientSecretIntake, ClientSecretIntake.Refusal>
        var testDescription: String { name }
    }

    static func supplied(_ value: String) -> SuppliedClientSecret? {
        try? SuppliedClientSecret.parse(Array(value.utf8))
    }

    static let cases: [IntakeCase] = [
        .init(name: "own secret, nothing beside", file: F.file(), supplied: nil, expected: .success(.asUploaded)),
        .init(name: "own secret, the same beside", file: F.file(), supplied: F.secret, expected: .success(.asUploaded)),
        .init(name: "own secret, another beside: conflict", file: F.file(), supplied: "GOCSPX-other", expected: .failure(.conflict)),
        .init(name: "no secret, one beside", file: F.file(secret: .absent), supplied: "GOCSPX-given", expected: .success(.insertSupplied(supplied("GOCSPX-given")!))),
        .init(name: "empty secret, one beside", file: F.file(secret: .string("")), supplied: "GOCSPX-given", expected: .success(.insertSupplied(supplied("GOCSPX-given")!))),
        .init(name: "null secret, one beside", file: F.file(secret: .raw("null")), supplied: "GOCSPX-given", expected: .success(.insertSupplied(supplied("GOCSPX-given")!))),
        .init(name: "no secret, nothing beside: carry over", file: F.file(secret: .absent), supplied: nil,
              expected: .success(.lookForCarryOver(clientID: F.clientID))),
        .init(name: "no secret and no client id: nothing to carry", file: F.file(clientID: .absent, secret: .absent), supplied: nil,
              expected: .success(.asUploaded)),
        .init(name: "installed without a secret: stored as is", file: F.file(type: "installed", secret: .absent), supplied: "GOCSPX-given",
              expected: .success(.asUploaded)),
        .init(name: "installed with another secret beside: conflict", file: F.file(type: "installed"), supplied: "GOCSPX-other",
              expected: .failure(.conflict)),
        .init(name: "not an object", file: Array("[1]".utf8), supplied: "GOCSPX-given", expected: .success(.asUploaded)),
    ]

    @Test("what becomes of the secret", arguments: cases)
    func decide(_ testCase: IntakeCase) throws {
        let file = try #require(ClientSecretsFile(fileBytes: testCase.file))
        let result = Result { () throws(ClientSecretIntake.Refusal) -> ClientSecretIntake in
            try ClientSecretIntake.decide(file: file, supplied: testCase.supplied.flatMap(Self.supplied))
        }
        #expect(result == testCase.expected)
    }

    @Test("the client_secret field", arguments: [
        ("", Result<String?, SuppliedClientSecret.Invalid>.success(nil)),
        ("GOCSPX-abc", .success("GOCSPX-abc")),
        ("!~", .success("!~")),
        (String(repeating: "a", count: 256), .success(String(repeating: "a", count: 256))),
        (String(repeating: "a", count: 257), .failure(.tooLong)),
        ("GOCSPX-abc\n", .failure(.notPrintableASCII)),
        (" GOCSPX-abc", .failure(.notPrintableASCII)),
        ("GOCSPX abc", .failure(.notPrintableASCII)),
        ("GOCSPX-\u{7F}", .failure(.notPrintableASCII)),
        ("ひみつ", .failure(.notPrintableASCII)),
    ])
    func field(_ testCase: (String, Result<String?, SuppliedClientSecret.Invalid>)) {
        let result = Result { () throws(SuppliedClientSecret.Invalid) -> String? in
            try SuppliedClientSecret.parse(Array(testCase.0.utf8))?.value
        }
        #expect(result == testCase.1)
    }

    @Test("a given secret never shows when printed")
    func redacted() throws {
        let supplied = try #require(try SuppliedClientSecret.parse(Array(F.secret.utf8)))
        #expect(!"\(supplied)".contains(F.secret))
        #expect(!String(reflecting: supplied).contains(F.secret))
        var dumped = ""
        dump(supplied, to: &dumped)
        #expect(!dumped.contains(F.secret))
        #expect(!"\(ClientSecretIntake.insertSupplied(supplied))".contains(F.secret))
    }
}

@Suite("RuntimeCredential endpoints")
struct RuntimeCredentialEndpointTests {
    @Test("auth_uri and token_uri exactly as uploaded, for a drop-in client config")
    func endpoints() throws {
        let credential = try #require(RuntimeCredential(fileBytes: F.file(
            authURI: .string("https://accounts.google.com/o/oauth2/v2/auth"), tokenURI: .string("https://www.googleapis.com/oauth2/v4/token")
        )))
        #expect(credential.authURI == "https://accounts.google.com/o/oauth2/v2/auth")
        #expect(credential.tokenURI == "https://www.googleapis.com/oauth2/v4/token")
        let missing = try #require(RuntimeCredential(fileBytes: F.file(authURI: .absent, tokenURI: .raw("1"))))
        #expect(missing.authURI == nil)
        #expect(missing.tokenURI == nil)
    }
}
