import Foundation
import Testing
@testable import ProvisionerDomain

@Suite("Registration probe")
struct HealthProbeTests {
    static func b64(_ text: String, url: Bool = false, padded: Bool = true) -> String {
        var s = Data(text.utf8).base64EncodedString()
        if url { s = s.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_") }
        if !padded { while s.hasSuffix("=") { s.removeLast() } }
        return s
    }

    @Test("request URL: RFC 3986 encoding, ? or & as the endpoint needs", arguments: [
        ("https://accounts.google.com/o/oauth2/v2/auth", "https://accounts.google.com/o/oauth2/v2/auth?client_id=1-a.apps.googleusercontent.com&redirect_uri=https%3A%2F%2Facme.crm.example.com%2Foauth%2Fcallback%3Fx%3D1%20y&response_type=code&scope=openid"),
        ("http://127.0.0.1:9/auth?hl=en", "http://127.0.0.1:9/auth?hl=en&client_id=1-a.apps.googleusercontent.com&redirect_uri=https%3A%2F%2Facme.crm.example.com%2Foauth%2Fcallback%3Fx%3D1%20y&response_type=code&scope=openid"),
        ("http://127.0.0.1:9/auth?", "http://127.0.0.1:9/auth?client_id=1-a.apps.googleusercontent.com&redirect_uri=https%3A%2F%2Facme.crm.example.com%2Foauth%2Fcallback%3Fx%3D1%20y&response_type=code&scope=openid"),
    ])
    func requestURL(endpoint: String, expected: String) {
        #expect(RegistrationProbe.requestURL(
            authorizationEndpoint: endpoint, clientID: "1-a.apps.googleusercontent.com",
            redirectURI: "https://acme.crm.example.com/oauth/callback?x=1 y"
        ) == expected)
    }

    @Test("percent-encoding leaves unreserved characters only")
    func percentEncoding() {
        #expect(RegistrationProbe.percentEncode("aZ09-._~") == "aZ09-._~")
        #expect(RegistrationProbe.percentEncode("+/&=é :") == "%2B%2F%26%3D%C3%A9%20%3A")
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let status: Int
        let location: String?
        let body: String
        let answer: ProbeAnswer
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "302 to ServiceLogin", status: 302, location: "https://accounts.google.com/ServiceLogin?continue=x", body: "", answer: .registered),
        Case(name: "302 to v3 identifier", status: 302, location: "https://accounts.google.com/v3/signin/identifier?dsh=1", body: "", answer: .registered),
        Case(name: "302 to signin/oauth consent", status: 302, location: "/signin/oauth/consent?authuser=0", body: "", answer: .registered),
        Case(name: "303 relative", status: 303, location: "/somewhere", body: "", answer: .registered),
        Case(name: "3xx without Location", status: 302, location: nil, body: "", answer: .inconclusive("answered 302 without a Location")),
        Case(name: "error page, authError base64 mismatch", status: 302,
             location: "https://accounts.google.com/signin/oauth/error?authError=\(b64("\n\u{15}redirect_uri_mismatch\u{12}x"))&client_id=1",
             body: "", answer: .redirectURIMismatch),
        Case(name: "error page, authError base64url unpadded deleted", status: 302,
             location: "https://accounts.google.com/signin/oauth/error?authError=\(b64("\n\u{0e}deleted_client??>", url: true, padded: false))",
             body: "", answer: .clientGone("deleted_client")),
        Case(name: "error page, authError percent-encoded invalid_client", status: 302,
             location: "/signin/oauth/error?authError=" + RegistrationProbe.percentEncode(b64("\n\u{0e}INVALID_CLIENT")),
             body: "", answer: .clientGone("invalid_client")),
        Case(name: "error page, unknown error", status: 302,
             location: "https://accounts.google.com/signin/oauth/error?authError=\(b64("\n\u{0d}access_denied"))",
             body: "", answer: .inconclusive("redirected to an OAuth error page naming no known error")),
        Case(name: "error page, undecodable authError", status: 302,
             location: "https://accounts.google.com/signin/oauth/error?authError=%%%", body: "",
             answer: .inconclusive("redirected to an OAuth error page naming no known error")),
        Case(name: "error path without authError naming the error", status: 302,
             location: "https://accounts.google.com/signin/oauth/error?error=redirect_uri_mismatch", body: "", answer: .redirectURIMismatch),
        Case(name: "400 page naming redirect_uri_mismatch", status: 400, location: nil,
             body: "<html>400. That’s an error. Error 400: Redirect_URI_Mismatch</html>", answer: .redirectURIMismatch),
        Case(name: "401 deleted_client", status: 401, location: nil,
             body: "Error 401: deleted_client The OAuth client was deleted.", answer: .clientGone("deleted_client")),
        Case(name: "401 invalid_client", status: 401, location: nil,
             body: "Error: invalid_client The OAuth client was not found.", answer: .clientGone("invalid_client")),
        Case(name: "client gone wins over mismatch", status: 400, location: nil,
             body: "redirect_uri_mismatch deleted_client", answer: .clientGone("deleted_client")),
        Case(name: "200 page naming mismatch", status: 200, location: nil, body: "redirect_uri_mismatch", answer: .redirectURIMismatch),
        Case(name: "200 sign-in page", status: 200, location: nil, body: "<html>Sign in</html>",
             answer: .inconclusive("answered 200 naming no known error")),
        Case(name: "429", status: 429, location: nil, body: "redirect_uri_mismatch", answer: .inconclusive("answered 429 (rate limited)")),
        Case(name: "500", status: 500, location: nil, body: "deleted_client", answer: .inconclusive("answered 500")),
        Case(name: "503", status: 503, location: nil, body: "", answer: .inconclusive("answered 503")),
        Case(name: "204", status: 204, location: nil, body: "", answer: .inconclusive("answered 204")),
        Case(name: "404 naming nothing", status: 404, location: nil, body: "Not Found", answer: .inconclusive("answered 404 naming no known error")),
    ]

    @Test("classify", arguments: cases)
    func classify(c: Case) {
        #expect(RegistrationProbe.classify(status: c.status, location: c.location, body: Array(c.body.utf8)) == c.answer)
    }

    @Test("the body is searched in its first 256 KiB only")
    func bounded() {
        let padding = [UInt8](repeating: UInt8(ascii: "x"), count: RegistrationProbe.maxBodyBytes - 10)
        let inside = padding.dropLast(20) + Array("deleted_client".utf8)
        #expect(RegistrationProbe.classify(status: 401, location: nil, body: Array(inside)) == .clientGone("deleted_client"))
        let outside = padding + [UInt8](repeating: UInt8(ascii: "y"), count: 20) + Array("deleted_client".utf8)
        #expect(RegistrationProbe.classify(status: 401, location: nil, body: outside) == .inconclusive("answered 401 naming no known error"))
    }
}
