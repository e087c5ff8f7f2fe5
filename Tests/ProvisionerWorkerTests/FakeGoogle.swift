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
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CancellationError() }
            do {
                let result = try await body("http://127.0.0.1:\(port)/token", fake)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
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
