import Foundation
import Testing
@testable import ProvisionerDomain

typealias F = CredentialFixtures

struct VerifierCase: Sendable, CustomTestStringConvertible {
    let name: String
    let file: [UInt8]
    var uriSet: IssuedURISet? = F.issued
    var context = VerificationContext()
    let expected: [Finding]
    var testDescription: String { name }
}

private let origins = "web.javascript_origins"
private let carriedFrom = UUID(uuidString: "5F1D7C2A-8E34-4C61-B1F0-6A9D2E4B7C30")!
private let redirects = "web.redirect_uris"

@Suite("CredentialVerifier")
struct CredentialVerifierTests {
    let verifier = CredentialVerifier()

    @Test("a realistic clean file verifies with no finding")
    func cleanFile() {
        let verdict = verifier.verify(fileBytes: F.cleanFile, against: F.issued, context: .init())
        #expect(verdict.findings == [])
        #expect(verdict.state == .verified)
        // A byte order mark and pretty-printing change nothing.
        let pretty = "\u{FEFF}" + F.cleanFileText.replacingOccurrences(",", with: ",\n  ")
        #expect(verifier.verify(fileBytes: Array(pretty.utf8), against: F.issued).findings == [])
    }

    static let cases: [VerifierCase] = [
        // Shape of the file.
        .init(name: "not JSON at all", file: Array("client_id=abc".utf8), expected: [Finding(code: .jsonNotObject)]),
        .init(name: "empty upload", file: [], expected: [Finding(code: .jsonNotObject)]),
        .init(name: "too deep", file: Array((String(repeating: "[", count: 40) + String(repeating: "]", count: 40)).utf8),
              expected: [Finding(code: .jsonNotObject)]),
        .init(name: "top-level array", file: Array("[{\"web\":{}}]".utf8), expected: [Finding(code: .jsonNotObject)]),
        .init(name: "top-level string", file: Array("\"web\"".utf8), expected: [Finding(code: .jsonNotObject)]),
        .init(name: "top-level null", file: Array("null".utf8), expected: [Finding(code: .jsonNotObject)]),
        .init(name: "Desktop app", file: F.file(type: "installed", redirects: .strings(["http://localhost"]), origins: .absent),
              expected: [Finding(code: .clientTypeInstalled, value: "installed")]),
        .init(name: "empty object", file: Array("{}".utf8), expected: [Finding(code: .clientTypeUnknown)]),
        .init(name: "unknown type", file: F.file(type: "service_account"),
              expected: [Finding(code: .clientTypeUnknown, value: "service_account")]),
        .init(name: "web and another key", file: F.file(extraTopLevel: "\"installed\":{}"),
              expected: [Finding(code: .clientTypeUnknown, value: "web, installed")]),
        .init(name: "web twice", file: F.file(extraTopLevel: "\"web\":{}"),
              expected: [Finding(code: .clientTypeUnknown, value: "web, web")]),
        .init(name: "web is not an object", file: Array("{\"web\":[]}".utf8), expected: [
            Finding(code: .fieldMissing, field: "web.client_id"),
            Finding(code: .clientSecretMissing, field: "web.client_secret"),
            Finding(code: .fieldMissing, field: "web.auth_uri"),
            Finding(code: .fieldMissing, field: "web.token_uri"),
            Finding(code: .javascriptOriginMissing, field: origins, expected: F.origin),
            Finding(code: .redirectURIMissing, field: redirects, expected: F.callback),
            Finding(code: .redirectURIMissing, field: redirects, expected: F.myAccount),
        ]),

        // Fields.
        .init(name: "client_id missing", file: F.file(clientID: .absent),
              expected: [Finding(code: .fieldMissing, field: "web.client_id")]),
        .init(name: "client_id a number", file: F.file(clientID: .raw("123456789012")),
              expected: [Finding(code: .fieldMissing, field: "web.client_id")]),
        .init(name: "client_id null", file: F.file(clientID: .raw("null")),
              expected: [Finding(code: .fieldMissing, field: "web.client_id")]),
        .init(name: "client_id malformed", file: F.file(clientID: .string("123456789012-abc.apps.googleusercontent.com.evil.example")),
              expected: [Finding(code: .clientIDMalformed, field: "web.client_id", value: "123456789012-abc.apps.googleusercontent.com.evil.example")]),
        .init(name: "auth_uri missing", file: F.file(authURI: .absent),
              expected: [Finding(code: .fieldMissing, field: "web.auth_uri")]),
        .init(name: "token_uri an array", file: F.file(tokenURI: .strings(["https://oauth2.googleapis.com/token"])),
              expected: [Finding(code: .fieldMissing, field: "web.token_uri")]),
        .init(name: "secret missing", file: F.file(secret: .absent),
              expected: [Finding(code: .clientSecretMissing, field: "web.client_secret")]),
        .init(name: "secret empty", file: F.file(secret: .string("")),
              expected: [Finding(code: .clientSecretMissing, field: "web.client_secret")]),
        .init(name: "secret null", file: F.file(secret: .raw("null")),
              expected: [Finding(code: .clientSecretMissing, field: "web.client_secret")]),
        .init(name: "secret short", file: F.file(secret: .string("hunter2")),
              expected: [Finding(code: .clientSecretUnusual, field: "web.client_secret")]),
        .init(name: "auth_uri elsewhere", file: F.file(authURI: .string("https://accounts.example.com/o/oauth2/auth")),
              expected: [Finding(code: .authURIUnexpected, field: "web.auth_uri",
                                 value: "https://accounts.example.com/o/oauth2/auth", expected: "https://accounts.google.com/o/oauth2/auth")]),
        .init(name: "auth_uri over http", file: F.file(authURI: .string("http://accounts.google.com/o/oauth2/auth")),
              expected: [Finding(code: .authURIUnexpected, field: "web.auth_uri",
                                 value: "http://accounts.google.com/o/oauth2/auth", expected: "https://accounts.google.com/o/oauth2/auth")]),
        .init(name: "token_uri elsewhere", file: F.file(tokenURI: .string("https://oauth2.googleapis.com/token/")),
              expected: [Finding(code: .tokenURIUnexpected, field: "web.token_uri",
                                 value: "https://oauth2.googleapis.com/token/", expected: "https://oauth2.googleapis.com/token")]),

        // Redirect URIs.
        .init(name: "callback missing", file: F.file(redirects: .strings([F.myAccount])),
              expected: [Finding(code: .redirectURIMissing, field: redirects, expected: F.callback)]),
        .init(name: "redirect_uris absent", file: F.file(redirects: .absent), expected: [
            Finding(code: .redirectURIMissing, field: redirects, expected: F.callback),
            Finding(code: .redirectURIMissing, field: redirects, expected: F.myAccount),
        ]),
        .init(name: "redirect_uris not an array", file: F.file(redirects: .string(F.callback)), expected: [
            Finding(code: .redirectURIMissing, field: redirects, expected: F.callback),
            Finding(code: .redirectURIMissing, field: redirects, expected: F.myAccount),
        ]),
        .init(name: "callback with trailing slash", file: F.file(redirects: .strings([F.callback + "/", F.myAccount])),
              expected: [Finding(code: .redirectURIMissing, field: redirects, value: F.callback + "/", expected: F.callback, hint: .trailingSlash)]),
        .init(name: "myaccount without trailing slash", file: F.file(redirects: .strings([F.callback, "https://myaccount.google.com"])),
              expected: [Finding(code: .redirectURIMissing, field: redirects, value: "https://myaccount.google.com", expected: F.myAccount, hint: .trailingSlash)]),
        .init(name: "callback over http", file: F.file(redirects: .strings([F.myAccount, "http://acme.crm.example.com/agcrm_google/AuthCallback/IndexAsync"])),
              expected: [Finding(code: .redirectURIMissing, field: redirects, value: "http://acme.crm.example.com/agcrm_google/AuthCallback/IndexAsync", expected: F.callback, hint: .schemeHTTP)]),
        .init(name: "callback path in lower case", file: F.file(redirects: .strings(["https://acme.crm.example.com/agcrm_google/authcallback/indexasync", F.myAccount])),
              expected: [Finding(code: .redirectURIMissing, field: redirects, value: "https://acme.crm.example.com/agcrm_google/authcallback/indexasync", expected: F.callback, hint: .letterCase)]),
        .init(name: "callback host in upper case", file: F.file(redirects: .strings(["https://ACME.crm.example.com/agcrm_google/AuthCallback/IndexAsync", F.myAccount])),
              expected: [Finding(code: .redirectURIMissing, field: redirects, value: "https://ACME.crm.example.com/agcrm_google/AuthCallback/IndexAsync", expected: F.callback, hint: .letterCase)]),
        .init(name: "scheme in upper case", file: F.file(redirects: .strings(["HTTPS://acme.crm.example.com/agcrm_google/AuthCallback/IndexAsync", F.myAccount])),
              expected: [Finding(code: .redirectURIMissing, field: redirects, value: "HTTPS://acme.crm.example.com/agcrm_google/AuthCallback/IndexAsync", expected: F.callback, hint: .letterCase)]),
        .init(name: "callback with spaces", file: F.file(redirects: .strings([" " + F.callback + " ", F.myAccount])),
              expected: [Finding(code: .redirectURIMissing, field: redirects, value: " " + F.callback + " ", expected: F.callback, hint: .surroundingSpaces)]),
        .init(name: "callback with a full-width space", file: F.file(redirects: .strings([F.callback + "\u{3000}", F.myAccount])),
              expected: [Finding(code: .redirectURIMissing, field: redirects, value: F.callback + "\u{3000}", expected: F.callback, hint: .surroundingSpaces)]),
        .init(name: "callback with a tab", file: F.file(redirects: .strings(["\t" + F.callback, F.myAccount])),
              expected: [Finding(code: .redirectURIMissing, field: redirects, value: "\t" + F.callback, expected: F.callback, hint: .surroundingSpaces)]),
        .init(name: "callback with :443", file: F.file(redirects: .strings(["https://acme.crm.example.com:443/agcrm_google/AuthCallback/IndexAsync", F.myAccount])),
              expected: [Finding(code: .redirectURIMissing, field: redirects, value: "https://acme.crm.example.com:443/agcrm_google/AuthCallback/IndexAsync", expected: F.callback, hint: .port)]),
        .init(name: "callback with :8443", file: F.file(redirects: .strings(["https://acme.crm.example.com:8443/agcrm_google/AuthCallback/IndexAsync", F.myAccount])),
              expected: [Finding(code: .redirectURIMissing, field: redirects, value: "https://acme.crm.example.com:8443/agcrm_google/AuthCallback/IndexAsync", expected: F.callback, hint: .port)]),
        .init(name: "http and a trailing slash: the first slip names it", file: F.file(redirects: .strings(["http://acme.crm.example.com/agcrm_google/AuthCallback/IndexAsync/", F.myAccount])),
              expected: [Finding(code: .redirectURIMissing, field: redirects, value: "http://acme.crm.example.com/agcrm_google/AuthCallback/IndexAsync/", expected: F.callback, hint: .schemeHTTP)]),
        .init(name: "callback entered as an origin", file: F.file(redirects: .strings([F.myAccount]), origins: .strings([F.origin, F.callback])),
              expected: [Finding(code: .redirectURIMissing, field: redirects, value: F.callback, expected: F.callback, hint: .callbackInOrigins)]),
        .init(name: "callback entered as an origin with a slash", file: F.file(redirects: .strings([F.myAccount]), origins: .strings([F.origin, F.callback + "/"])),
              expected: [Finding(code: .redirectURIMissing, field: redirects, value: F.callback + "/", expected: F.callback, hint: .callbackInOrigins)]),
        .init(name: "a different path is not a near miss", file: F.file(redirects: .strings(["https://acme.crm.example.com/agcrm_google/AuthCallback/Index", F.myAccount])), expected: [
            Finding(code: .redirectURIMissing, field: redirects, expected: F.callback),
            Finding(code: .redirectURIUnexpected, field: redirects, value: "https://acme.crm.example.com/agcrm_google/AuthCallback/Index"),
        ]),
        .init(name: "another host is not a near miss", file: F.file(redirects: .strings(["https://acme2.crm.example.com/agcrm_google/AuthCallback/IndexAsync", F.myAccount])), expected: [
            Finding(code: .redirectURIMissing, field: redirects, expected: F.callback),
            Finding(code: .redirectURIUnexpected, field: redirects, value: "https://acme2.crm.example.com/agcrm_google/AuthCallback/IndexAsync"),
        ]),
        .init(name: "decomposed Unicode is not verbatim", file: F.file(redirects: .strings([F.callback, F.myAccount, "https://e\u{301}.example.com/"])),
              uriSet: IssuedURISet(version: 2, host: "x", javascriptOrigins: [F.origin], redirectURIs: [F.callback, F.myAccount, "https://\u{E9}.example.com/"]), expected: [
            Finding(code: .redirectURIMissing, field: redirects, expected: "https://\u{E9}.example.com/"),
            Finding(code: .redirectURIUnexpected, field: redirects, value: "https://e\u{301}.example.com/"),
        ]),
        .init(name: "extra redirect URIs, once each", file: F.file(redirects: .strings([F.callback, "http://localhost:8080/cb", F.myAccount, "http://localhost:8080/cb", "https://other.example.com/"])), expected: [
            Finding(code: .redirectURIUnexpected, field: redirects, value: "http://localhost:8080/cb"),
            Finding(code: .redirectURIUnexpected, field: redirects, value: "https://other.example.com/"),
        ]),
        .init(name: "non-string redirect entries are ignored", file: F.file(redirects: .raw("[1,null,\(F.quoted(F.callback)),{},\(F.quoted(F.myAccount))]")), expected: []),

        // Origins.
        .init(name: "origin missing", file: F.file(origins: .strings([])),
              expected: [Finding(code: .javascriptOriginMissing, field: origins, expected: F.origin)]),
        .init(name: "origins absent", file: F.file(origins: .absent),
              expected: [Finding(code: .javascriptOriginMissing, field: origins, expected: F.origin)]),
        .init(name: "origin with a trailing slash", file: F.file(origins: .strings([F.origin + "/"])),
              expected: [Finding(code: .javascriptOriginMissing, field: origins, value: F.origin + "/", expected: F.origin, hint: .trailingSlash)]),
        .init(name: "origin over http", file: F.file(origins: .strings(["http://acme.crm.example.com"])),
              expected: [Finding(code: .javascriptOriginMissing, field: origins, value: "http://acme.crm.example.com", expected: F.origin, hint: .schemeHTTP)]),
        .init(name: "origin with :443", file: F.file(origins: .strings(["https://acme.crm.example.com:443"])),
              expected: [Finding(code: .javascriptOriginMissing, field: origins, value: "https://acme.crm.example.com:443", expected: F.origin, hint: .port)]),
        .init(name: "origin in upper case", file: F.file(origins: .strings(["https://Acme.Crm.Example.Com"])),
              expected: [Finding(code: .javascriptOriginMissing, field: origins, value: "https://Acme.Crm.Example.Com", expected: F.origin, hint: .letterCase)]),
        .init(name: "origin with spaces", file: F.file(origins: .strings([" https://acme.crm.example.com"])),
              expected: [Finding(code: .javascriptOriginMissing, field: origins, value: " https://acme.crm.example.com", expected: F.origin, hint: .surroundingSpaces)]),
        .init(name: "origin entered as a redirect URI", file: F.file(redirects: .strings([F.callback, F.myAccount, F.origin]), origins: .strings([])),
              expected: [Finding(code: .javascriptOriginMissing, field: origins, value: F.origin, expected: F.origin, hint: .originInRedirects)]),
        .init(name: "origin entered as a redirect URI with a slash", file: F.file(redirects: .strings([F.callback, F.origin + "/", F.myAccount]), origins: .absent),
              expected: [Finding(code: .javascriptOriginMissing, field: origins, value: F.origin + "/", expected: F.origin, hint: .originInRedirects)]),
        .init(name: "origin in both lists: the extra redirect is unexpected", file: F.file(redirects: .strings([F.callback, F.myAccount, F.origin])),
              expected: [Finding(code: .redirectURIUnexpected, field: redirects, value: F.origin)]),
        .init(name: "lists swapped", file: F.file(redirects: .strings([F.origin]), origins: .strings([F.callback, F.myAccount])), expected: [
            Finding(code: .javascriptOriginMissing, field: origins, value: F.origin, expected: F.origin, hint: .originInRedirects),
            Finding(code: .redirectURIMissing, field: redirects, value: F.callback, expected: F.callback, hint: .callbackInOrigins),
            Finding(code: .redirectURIMissing, field: redirects, value: F.myAccount, expected: F.myAccount, hint: .callbackInOrigins),
        ]),
        .init(name: "extra origin", file: F.file(origins: .strings(["http://localhost", F.origin])),
              expected: [Finding(code: .javascriptOriginUnexpected, field: origins, value: "http://localhost")]),
        .init(name: "near miss plus its exact value: the near miss is merely unexpected", file: F.file(origins: .strings([F.origin + "/", F.origin])),
              expected: [Finding(code: .javascriptOriginUnexpected, field: origins, value: F.origin + "/")]),

        // The tenant and the context.
        .init(name: "no URI set issued", file: F.cleanFile, uriSet: nil, expected: [Finding(code: .uriSetNotIssued)]),
        .init(name: "no URI set and not JSON", file: Array("{".utf8), uriSet: nil,
              expected: [Finding(code: .jsonNotObject), Finding(code: .uriSetNotIssued)]),
        .init(name: "client id in use elsewhere", file: F.cleanFile, context: .init(clientIDActiveElsewhere: true),
              expected: [Finding(code: .clientIDInUse, field: "web.client_id", value: F.clientID)]),
        .init(name: "secret carried over: a warning naming the upload it came from", file: F.cleanFile,
              context: .init(secretCarriedFrom: carriedFrom),
              expected: [Finding(code: .clientSecretCarriedOver, field: "web.client_secret", value: "5f1d7c2a-8e34-4c61-b1f0-6a9d2e4b7c30")]),
        .init(name: "secret carried over, in use elsewhere and refused by Google: in that order", file: F.cleanFile,
              context: .init(clientIDActiveElsewhere: true, liveCheck: .clientSecretInvalid, secretCarriedFrom: carriedFrom),
              expected: [
                Finding(code: .clientSecretCarriedOver, field: "web.client_secret", value: "5f1d7c2a-8e34-4c61-b1f0-6a9d2e4b7c30"),
                Finding(code: .clientIDInUse, field: "web.client_id", value: F.clientID),
                Finding(code: .liveClientSecretInvalid, field: "web.client_secret"),
              ]),
        .init(name: "live check: valid pair", file: F.cleanFile, context: .init(liveCheck: .validPair), expected: []),
        .init(name: "live check: client not found", file: F.cleanFile, context: .init(liveCheck: .clientNotFound),
              expected: [Finding(code: .liveClientNotFound, field: "web.client_id", value: F.clientID)]),
        .init(name: "live check: secret invalid", file: F.cleanFile, context: .init(liveCheck: .clientSecretInvalid),
              expected: [Finding(code: .liveClientSecretInvalid, field: "web.client_secret")]),
        .init(name: "live check: unavailable", file: F.cleanFile, context: .init(liveCheck: .unavailable),
              expected: [Finding(code: .liveCheckUnavailable)]),

        // Bounded work: at most 100 entries of a list are compared, at most 50 findings kept.
        .init(name: "101 redirect URIs: only the first 100 compared", file: F.file(redirects: .strings(
            [F.callback, F.myAccount] + (1...98).map { "https://acme.crm.example.com/cb\($0)" } + [F.myAccount + "late"])),
              expected: [Finding(code: .tooManyURIs, field: redirects, value: "101", expected: "100")]
                + (1...49).map { Finding(code: .redirectURIUnexpected, field: redirects, value: "https://acme.crm.example.com/cb\($0)") }
                + [Finding(code: .findingsTruncated, value: "49")]),
        .init(name: "100 origins, the issued one last: no cap", file: F.file(origins: .strings(
            Array(repeating: "https://a.example.com", count: 99) + [F.origin])),
              expected: [Finding(code: .javascriptOriginUnexpected, field: origins, value: "https://a.example.com")]),
        .init(name: "101 origins, the issued one 101st: missing", file: F.file(origins: .strings(
            Array(repeating: "https://a.example.com", count: 100) + [F.origin])),
              expected: [
                Finding(code: .tooManyURIs, field: origins, value: "101", expected: "100"),
                Finding(code: .javascriptOriginMissing, field: origins, expected: F.origin),
                Finding(code: .javascriptOriginUnexpected, field: origins, value: "https://a.example.com"),
              ]),
        .init(name: "errors are kept before warnings when findings are truncated", file: F.file(
            redirects: .strings((1...100).map { "https://x\($0).example.com/" }), origins: .strings([F.origin])),
              context: .init(clientIDActiveElsewhere: true, liveCheck: .clientNotFound),
              expected: [
                Finding(code: .redirectURIMissing, field: redirects, expected: F.callback),
                Finding(code: .redirectURIMissing, field: redirects, expected: F.myAccount),
              ] + (1...47).map { Finding(code: .redirectURIUnexpected, field: redirects, value: "https://x\($0).example.com/") } + [
                Finding(code: .liveClientNotFound, field: "web.client_id", value: F.clientID),
                Finding(code: .findingsTruncated, value: "54"),
              ]),
    ]

    @Test("each problem gives exactly its findings", arguments: cases)
    func findings(_ testCase: VerifierCase) {
        let verdict = verifier.verify(fileBytes: testCase.file, against: testCase.uriSet, context: testCase.context)
        #expect(verdict.findings == testCase.expected)
        let rejected = testCase.expected.contains { $0.severity == .error }
        #expect(verdict.state == (rejected ? .rejected : .verified))
    }

    @Test("every finding code but verification_failed comes from some file")
    func everyCodeIsReachable() {
        var seen = Set<FindingCode>()
        for testCase in Self.cases {
            for finding in verifier.verify(fileBytes: testCase.file, against: testCase.uriSet, context: testCase.context).findings {
                seen.insert(finding.code)
            }
        }
        #expect(seen == Set(FindingCode.allCases).subtracting([.verificationFailed]))
    }

    @Test("every near-miss hint comes from some file")
    func everyHintIsReachable() {
        var seen = Set<NearMiss>()
        for testCase in Self.cases {
            for finding in verifier.verify(fileBytes: testCase.file, against: testCase.uriSet, context: testCase.context).findings {
                if let hint = finding.hint { seen.insert(hint) }
            }
        }
        #expect(seen == Set(NearMiss.allCases))
    }

    @Test("one file with many problems reports them all, in order")
    func manyProblems() {
        let file = F.file(
            clientID: .string("123456789012-ABC.apps.googleusercontent.com"),
            authURI: .string("https://evil.example.com/auth"),
            tokenURI: .absent,
            secret: .string(""),
            redirects: .strings(["http://acme.crm.example.com/agcrm_google/AuthCallback/IndexAsync", "https://evil.example.com/cb"]),
            origins: .strings([F.origin, "https://evil.example.com"])
        )
        let verdict = verifier.verify(fileBytes: file, against: F.issued, context: .init(clientIDActiveElsewhere: true, liveCheck: .unavailable))
        #expect(verdict.findings == [
            Finding(code: .clientIDMalformed, field: "web.client_id", value: "123456789012-ABC.apps.googleusercontent.com"),
            Finding(code: .clientSecretMissing, field: "web.client_secret"),
            Finding(code: .authURIUnexpected, field: "web.auth_uri", value: "https://evil.example.com/auth", expected: "https://accounts.google.com/o/oauth2/auth"),
            Finding(code: .fieldMissing, field: "web.token_uri"),
            Finding(code: .javascriptOriginUnexpected, field: origins, value: "https://evil.example.com"),
            Finding(code: .redirectURIMissing, field: redirects, value: "http://acme.crm.example.com/agcrm_google/AuthCallback/IndexAsync", expected: F.callback, hint: .schemeHTTP),
            Finding(code: .redirectURIMissing, field: redirects, expected: F.myAccount),
            Finding(code: .redirectURIUnexpected, field: redirects, value: "https://evil.example.com/cb"),
            Finding(code: .clientIDInUse, field: "web.client_id", value: "123456789012-ABC.apps.googleusercontent.com"),
            Finding(code: .liveCheckUnavailable),
        ])
        #expect(verdict.state == .rejected)
    }

    @Test("warnings alone still verify")
    func warningsVerify() {
        let file = F.file(secret: .string("legacy-secret-but-weird!"), origins: .strings([F.origin, "https://x.example.com"]))
        let verdict = verifier.verify(fileBytes: file, against: F.issued, context: .init(clientIDActiveElsewhere: true, liveCheck: .unavailable))
        #expect(verdict.findings.map(\.code) == [.clientSecretUnusual, .javascriptOriginUnexpected, .clientIDInUse, .liveCheckUnavailable])
        #expect(verdict.findings.allSatisfy { $0.severity == .warning })
        #expect(verdict.state == .verified)
    }

    @Test("no finding ever carries the secret")
    func secretNeverInFindings() {
        for secret in ["GOCSPX-short", F.secret, "legacy-secret-but-weird!", "s3cr3t-value"] {
            let verdict = verifier.verify(fileBytes: F.file(secret: .string(secret)), against: F.issued,
                                          context: .init(clientIDActiveElsewhere: true, liveCheck: .clientSecretInvalid))
            for finding in verdict.findings {
                #expect(finding.value != secret)
                for language in Language.allCases {
                    #expect(!finding.message(in: language).contains(secret))
                }
            }
        }
    }

    static let wellFormedClientIDs = [
        F.clientID,
        "1-a.apps.googleusercontent.com",
        "0-_.apps.googleusercontent.com",
        "987654321-a_b_c_0.apps.googleusercontent.com",
    ]

    @Test("well-formed client ids", arguments: wellFormedClientIDs)
    func wellFormedClientID(_ clientID: String) {
        #expect(CredentialVerifier.isWellFormedClientID(clientID))
        #expect(verifier.verify(fileBytes: F.file(clientID: .string(clientID)), against: F.issued).findings == [])
    }

    static let malformedClientIDs = [
        "",
        "abc-def.apps.googleusercontent.com",
        "123456-ABC.apps.googleusercontent.com",
        "123456-abc.apps.googleusercontent.com.evil.example",
        "123456abc.apps.googleusercontent.com",
        "-abc.apps.googleusercontent.com",
        "123-.apps.googleusercontent.com",
        "123-abc.apps.googleusercontent.co",
        "123-abc.apps.googleusercontent.comm",
        "123-abc-def.apps.googleusercontent.com",
        "123-abc.def.apps.googleusercontent.com",
        " 123-abc.apps.googleusercontent.com",
        "123-abc.apps.googleusercontent.com ",
        "１２３-abc.apps.googleusercontent.com",
        "123-abç.apps.googleusercontent.com",
        ".apps.googleusercontent.com",
        "123-abc.APPS.googleusercontent.com",
        "123-abc.apps.googleusercontent.com\n",
    ]

    @Test("malformed client ids", arguments: malformedClientIDs)
    func malformedClientID(_ clientID: String) {
        #expect(!CredentialVerifier.isWellFormedClientID(clientID))
        #expect(verifier.verify(fileBytes: F.file(clientID: .string(clientID)), against: F.issued).findings
            == [Finding(code: .clientIDMalformed, field: "web.client_id", value: clientID)])
    }

    static let secrets: [(String, Bool)] = [
        (F.secret, true),
        ("GOCSPX-" + String(repeating: "a", count: 28), true),
        ("GOCSPX-" + String(repeating: "-", count: 28), true),
        (String(repeating: "Ab3_", count: 6), true),
        ("GOCSPX-" + String(repeating: "a", count: 27), false),
        ("GOCSPX-" + String(repeating: "a", count: 29), false),
        ("GOCSPX-" + String(repeating: "a", count: 27) + "!", false),
        ("gocspx-" + String(repeating: "a", count: 28), false),
        (String(repeating: "a", count: 23), false),
        (String(repeating: "a", count: 25), false),
        (String(repeating: "a", count: 23) + " ", false),
        (String(repeating: "あ", count: 24), false),
        ("x", false),
    ]

    @Test("usual and unusual secrets", arguments: secrets)
    func secretShapes(_ testCase: (String, Bool)) {
        let expectedUsual = testCase.1
        #expect(CredentialVerifier.isUsualSecret(testCase.0) == expectedUsual)
        let findings = verifier.verify(fileBytes: F.file(secret: .string(testCase.0)), against: F.issued).findings
        #expect(findings == (expectedUsual ? [] : [Finding(code: .clientSecretUnusual, field: "web.client_secret")]))
    }

    @Test("every Google authorization endpoint accepted", arguments: CredentialVerifier.authorizationEndpoints)
    func authEndpoints(_ uri: String) {
        #expect(verifier.verify(fileBytes: F.file(authURI: .string(uri)), against: F.issued).findings == [])
    }

    @Test("every Google token endpoint accepted", arguments: CredentialVerifier.tokenEndpoints)
    func tokenEndpoints(_ uri: String) {
        #expect(verifier.verify(fileBytes: F.file(tokenURI: .string(uri)), against: F.issued).findings == [])
    }

    @Test("duplicate keys: the first one counts")
    func duplicateKeys() {
        let text = F.cleanFileText.replacingOccurrences("{\"client_id\":", with: "{\"client_id\":\"bad\",\"client_id\":")
        #expect(verifier.verify(fileBytes: Array(text.utf8), against: F.issued).findings
            == [Finding(code: .clientIDMalformed, field: "web.client_id", value: "bad")])
    }

    @Test("verification of an already parsed file gives the same verdict")
    func parsedFile() throws {
        let value = try JSONParser().parse(F.file(origins: .absent))
        let fromFile = verifier.verify(file: ClientSecretsFile(value), against: F.issued)
        #expect(fromFile == verifier.verify(fileBytes: F.file(origins: .absent), against: F.issued))
        #expect(fromFile.findings.map(\.code) == [.javascriptOriginMissing])
    }
}

extension String {
    /// Plain substring replacement without Foundation.
    func replacingOccurrences(_ target: String, with replacement: String) -> String {
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
