import Testing
@testable import ProvisionerDomain

@Suite("ClientSecretsFile")
struct ClientSecretsFileTests {
    @Test("summarizes a realistic upload")
    func summary() throws {
        let summary = try ClientSecretsSummary.summarize(F.cleanFile)
        #expect(summary.clientType == .web)
        #expect(summary.clientID == F.clientID)
        #expect(summary.projectID == "all-gather-crm-google-calendar")
        #expect(summary.clientSecretHint == "X_-12".suffix(4).description)
        #expect(summary.clientSecretHint == "_-12")
        #expect(summary.sha256 == ClientSecretsSummary.sha256Hex(F.cleanFile))
        #expect(summary.sha256.count == 64)
        #expect(ClientSecretsSummary(fileBytes: F.cleanFile) == summary)
    }

    @Test("sha256 is lowercase hex of the exact bytes", arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ])
    func sha256(_ testCase: (String, String)) {
        #expect(ClientSecretsSummary.sha256Hex(Array(testCase.0.utf8)) == testCase.1)
    }

    @Test("a byte order mark changes the digest but not the fields")
    func bom() throws {
        let withBOM = [0xEF, 0xBB, 0xBF] + F.cleanFile
        let summary = try ClientSecretsSummary.summarize(withBOM)
        #expect(summary.clientID == F.clientID)
        #expect(summary.sha256 != ClientSecretsSummary.sha256Hex(F.cleanFile))
    }

    static let hintCases: [(CredentialFixtures.Field, String?)] = [
        (.string(F.secret), "_-12"),
        (.string("12345678"), "5678"),
        (.string("1234567"), nil),
        (.string(""), nil),
        (.absent, nil),
        (.raw("12345678"), nil),
        (.string("ひみつのあいことばです"), "ことばです".suffix(4).description),
    ]

    @Test("the secret hint is the last 4 characters of a secret of 8 or more", arguments: hintCases)
    func hint(_ testCase: (CredentialFixtures.Field, String?)) throws {
        #expect(try ClientSecretsSummary.summarize(F.file(secret: testCase.0)).clientSecretHint == testCase.1)
    }

    static let typeCases: [(String, ClientType?, String?)] = [
        (F.text(), .web, F.clientID),
        (F.text(type: "installed"), .installed, F.clientID),
        (F.text(type: "other"), nil, nil),
        (F.text(extraTopLevel: "\"installed\":{\"client_id\":\"x\"}"), nil, F.clientID),
        ("{\"installed\":{\"client_id\":\"x\"},\"web\":{\"client_id\":\"y\"}}", nil, "y"),
        ("{\"installed\":{\"client_id\":\"x\"},\"other\":1}", nil, "x"),
        ("{}", nil, nil),
        ("[]", nil, nil),
        ("{\"web\":\"nope\"}", .web, nil),
        ("{\"web\":{\"client_id\":1,\"project_id\":[\"p\"]}}", .web, nil),
    ]

    @Test("client type only when unambiguous; fields from web, else installed", arguments: typeCases)
    func clientType(_ testCase: (String, ClientType?, String?)) throws {
        let summary = try ClientSecretsSummary.summarize(Array(testCase.0.utf8))
        #expect(summary.clientType == testCase.1)
        #expect(summary.clientID == testCase.2)
    }

    @Test("bytes that are not JSON: summarize throws, init(fileBytes:) keeps the digest")
    func notJSON() {
        let bytes = Array("{\"web\":".utf8)
        #expect(throws: JSONParseError.self) { try ClientSecretsSummary.summarize(bytes) }
        let summary = ClientSecretsSummary(fileBytes: bytes)
        #expect(summary == ClientSecretsSummary(clientType: nil, clientID: nil, projectID: nil, clientSecretHint: nil,
                                                sha256: ClientSecretsSummary.sha256Hex(bytes)))
        #expect(ClientSecretsFile(fileBytes: bytes) == nil)
        #expect(RuntimeCredential(fileBytes: bytes) == nil)
    }

    @Test("summary is Codable with the API's names")
    func summaryCodable() throws {
        let summary = try ClientSecretsSummary.summarize(F.cleanFile)
        let text = try TestJSON.encode(summary)
        #expect(text.contains("\"client_secret_hint\":\"_-12\""))
        #expect(text.contains("\"client_type\":\"web\""))
        #expect(try TestJSON.decode(ClientSecretsSummary.self, from: text) == summary)
    }

    @Test("reads every field, first occurrence of each")
    func fields() throws {
        let text = F.text(redirects: .raw("[\"a\",2,\"b\"]")).replacingOccurrences("{\"client_id\":", with: "{\"client_secret\":\"first\",\"client_id\":")
        let file = try #require(ClientSecretsFile(fileBytes: Array(text.utf8)))
        let section = try #require(file.section)
        #expect(file.isObject)
        #expect(file.topLevelKeys == ["web"])
        #expect(file.sectionType == .web)
        #expect(section.clientID == F.clientID)
        #expect(section.clientSecret == "first")
        #expect(section.authURI == "https://accounts.google.com/o/oauth2/auth")
        #expect(section.tokenURI == "https://oauth2.googleapis.com/token")
        #expect(section.authProviderX509CertURL == "https://www.googleapis.com/oauth2/v1/certs")
        #expect(section.redirectURIs == ["a", "b"])
        #expect(section.javascriptOrigins == [F.origin])
    }

    @Test("the runtime credential carries the secret but never prints it")
    func runtimeCredential() throws {
        let credential = try #require(RuntimeCredential(fileBytes: F.cleanFile))
        #expect(credential.clientID == F.clientID)
        #expect(credential.clientSecret == F.secret)
        #expect(credential.projectID == "all-gather-crm-google-calendar")
        #expect(credential.redirectURIs == [F.callback, F.myAccount])
        #expect(credential.javascriptOrigins == [F.origin])
        var dumped = ""
        dump(credential, to: &dumped)
        for text in [credential.description, credential.debugDescription, "\(credential)", String(reflecting: credential), dumped, "\([credential])"] {
            #expect(!text.contains(F.secret))
            #expect(!text.contains("AbCdEf"))
            #expect(text.contains("<redacted>"))
        }
        #expect(credential.description.contains("client_secret: <redacted>"))
        #expect(credential.description.contains(F.clientID))
    }

    @Test("no runtime credential without a client id or a secret", arguments: [
        F.file(clientID: .absent), F.file(secret: .absent), F.file(secret: .string("")), F.file(clientID: .string("")),
        Array("{}".utf8), Array("[]".utf8),
    ])
    func noRuntimeCredential(_ bytes: [UInt8]) {
        #expect(RuntimeCredential(fileBytes: bytes) == nil)
    }
}
