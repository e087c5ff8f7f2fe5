import HTTPTypes
import Hummingbird
import OpenAPIHummingbird
import OpenAPIRuntime
import Synchronization

/// The routes the generated server registered, path template by path template.
///
/// Hummingbird answers 404 for a known path with an unknown method; this table lets
/// `HTTPProblemMiddleware` answer 405 with `Allow` instead, as HTTP asks.
final class RouteTable: Sendable {
    private let routes = Mutex<[(segments: [Substring], method: HTTPRequest.Method)]>([])

    func add(path: String, method: HTTPRequest.Method) {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        routes.withLock { $0.append((segments, method)) }
    }

    /// The methods registered for a concrete path, in a stable order.
    func methods(forPath path: String) -> [HTTPRequest.Method] {
        let requested = path.split(separator: "/", omittingEmptySubsequences: true)
        let matching = routes.withLock { routes in
            routes.filter { route in
                route.segments.count == requested.count
                    && zip(route.segments, requested).allSatisfy { template, actual in
                        (template.hasPrefix("{") && template.hasSuffix("}")) || template.hasPrefix(":") || template == actual
                    }
            }.map(\.method)
        }
        var seen = Set<String>()
        return matching.filter { seen.insert($0.rawValue).inserted }
    }
}

/// A `ServerTransport` that records every operation in a `RouteTable` and registers it on
/// the router.
struct RecordingTransport: ServerTransport {
    let router: Router<AppRequestContext>
    let routes: RouteTable

    func register(
        _ handler: @escaping @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?),
        method: HTTPRequest.Method,
        path: String
    ) throws {
        routes.add(path: path, method: method)
        try router.register(handler, method: method, path: path)
    }
}
