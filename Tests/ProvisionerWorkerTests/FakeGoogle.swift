import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A fake of Google's token endpoint, served by Hummingbird on 127.0.0.1 (a free port) for the
/// duration of a test. `respond` decides each answer from the form fields; every request is
/// recorded. A 3xx answer carries `Location: /elsewhere` on the same server, where whatever a
/// client that follows redirects would post is recorded too (`redirected`).
final class FakeGoogle: Sendable {
    struct Request: Sendable {
        let contentType: String?
        let form: [String: String]
    }

    typealias Responder = @Sendable (_ form: [String: String], _ requestNumber: Int) async -> (status: Int, json: String)

    private let requests = Mutex<[Request]>([])
    var received: [Request] { requests.withLock { $0 } }
    private let redirectedRequests = Mutex<[Request]>([])
    var redirected: [Request] { redirectedRequests.withLock { $0 } }

    /// A GET of the authorization endpoint (`/auth`): its query, whether it carried cookies,
    /// and when it came.
    struct AuthRequest: Sendable {
        let query: [String: String]
        let hadCookie: Bool
        let at: ContinuousClock.Instant
    }

    /// The authorization endpoint's answer: a status, a `Location` (for a 3xx), a body, and an
    /// optional wait before answering (a slow Google).
    struct AuthAnswer: Sendable {
        var status: Int
        var location: String? = nil
        var body: String = ""
        var delay: Duration? = nil

        /// A registered pair: onward to sign-in.
        static let signIn = AuthAnswer(status: 302, location: "https://accounts.google.com/v3/signin/identifier?dsh=S1&continue=x")
        static let mismatch = AuthAnswer(
            status: 400,
            body: "<html><title>Error 400 (OAuth2 Error)</title><p><b>400.</b> That’s an error.<p>Error 400: redirect_uri_mismatch</html>"
        )
        static let deletedClient = AuthAnswer(status: 401, body: "<html>Error 401: deleted_client<p>The OAuth client was deleted.</html>")
        static let invalidClient = AuthAnswer(status: 401, body: "<html>Error 401: invalid_client<p>The OAuth client was not found.</html>")
        static let unavailable = AuthAnswer(status: 503, body: "<html>503</html>")
    }

    typealias AuthResponder = @Sendable (_ query: [String: String], _ requestNumber: Int) async -> AuthAnswer

    private let authRequests = Mutex<[AuthRequest]>([])
    var authorizations: [AuthRequest] { authRequests.withLock { $0 } }
    private let boundPort = Mutex<Int>(0)
    /// The authorization endpoint of this fake.
    var authURL: String { "http://127.0.0.1:\(boundPort.withLock { $0 })/auth" }

    /// Google's answers for a registered client `clientID` whose secret is `secret`.
    static func google(clientID: String, secret: String, deletedClientID: String? = nil) -> Responder {
        { form, _ in
            if let deletedClientID, form["client_id"] == deletedClientID {
                return (401, #"{"error":"invalid_client","error_description":"The OAuth client was deleted."}"#)
            }
            guard form["client_id"] == clientID else {
                return (401, #"{"error":"invalid_client","error_description":"The OAuth client was not found."}"#)
            }
            guard form["client_secret"] == secret else {
                return (401, #"{"error":"invalid_client","error_description":"Unauthorized"}"#)
            }
            return (400, #"{"error":"invalid_grant","error_description":"Malformed auth code."}"#)
        }
    }

    static func with<T: Sendable>(
        _ respond: @escaping Responder,
        authorize: AuthResponder? = nil,
        _ body: @Sendable (_ tokenURL: String, _ fake: FakeGoogle) async throws -> T
    ) async throws -> T {
        let fake = FakeGoogle()
        var logger = Logger(label: "fake-google")
        logger.logLevel = .critical
        let router = Router()
        router.post("/token") { request, _ -> Response in
            let buffer = try await request.body.collect(upTo: 64 * 1024)
            let form = Self.parseForm(String(buffer: buffer))
            let number = fake.requests.withLock { requests in
                requests.append(Request(contentType: request.headers[.contentType], form: form))
                return requests.count
            }
            let (status, json) = await respond(form, number)
            var headers: HTTPFields = [.contentType: "application/json"]
            if (300...399).contains(status) { headers[.location] = "/elsewhere" }
            return Response(
                status: HTTPResponse.Status(code: status),
                headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(string: json))
            )
        }
        router.on("/elsewhere", method: .post) { request, _ -> Response in
            let buffer = try await request.body.collect(upTo: 64 * 1024)
            fake.redirectedRequests.withLock {
                $0.append(Request(contentType: request.headers[.contentType], form: Self.parseForm(String(buffer: buffer))))
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: "{}")))
        }
        router.get("/elsewhere") { _, _ -> Response in
            fake.redirectedRequests.withLock { $0.append(Request(contentType: nil, form: [:])) }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: "{}")))
        }
        router.get("/auth") { request, _ -> Response in
            var query: [String: String] = [:]
            for (name, value) in request.uri.queryParameters { query[String(name)] = String(value) }
            let number = fake.authRequests.withLock { requests in
                requests.append(AuthRequest(query: query, hadCookie: request.headers[.cookie] != nil, at: .now))
                return requests.count
            }
            let answer = await (authorize ?? { _, _ in .signIn })(query, number)
            if let delay = answer.delay { try? await Task.sleep(for: delay) }
            var headers: HTTPFields = [.contentType: "text/html; charset=utf-8"]
            if let location = answer.location { headers[.location] = location }
            return Response(
                status: HTTPResponse.Status(code: answer.status), headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(string: answer.body))
            )
        }
        return try await withLocalHTTPServer(router, logger: logger) { port in
            fake.boundPort.withLock { $0 = port }
            return try await body("http://127.0.0.1:\(port)/token", fake)
        }
    }

    static func parseForm(_ text: String) -> [String: String] {
        var form: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (part: Substring) in
                part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part)
            }
            form[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return form
    }
}
