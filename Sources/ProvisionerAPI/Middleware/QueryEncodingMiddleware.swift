import Foundation
import HTTPTypes
import OpenAPIRuntime

/// Refuses a query string that is not percent-encoded UTF-8 (400 `invalid_request`). The
/// generated decoder would take such a parameter as absent, so `GET /v1/tenants?q=%FF` listed
/// every tenant instead of saying the search was malformed.
struct QueryEncodingMiddleware: ServerMiddleware {
    func intercept(
        _ request: HTTPRequest,
        body: HTTPBody?,
        metadata: ServerRequestMetadata,
        operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        // The operations endpoints take no parameters and answer whatever follows the `?`.
        if AccessPolicy.rules[operationID]?.isPublic != true {
            for item in QueryString.items(of: request) {
                guard [item.name, item.value].allSatisfy({ $0.replacingOccurrences(of: "+", with: " ").removingPercentEncoding != nil }) else {
                    let name = String(item.name).removingPercentEncoding
                    let which = name.map { "The query parameter '\($0.prefix(40))'" } ?? "A query parameter"
                    throw Problem.invalid(name ?? "query", "\(which) is not valid percent-encoded UTF-8.")
                }
            }
        }
        return try await next(request, body, metadata)
    }
}

/// The query string of a request, the one way it is taken apart here.
enum QueryString {
    /// The `name=value` items after the `?`, still percent-encoded (`value` empty when absent).
    static func items(of request: HTTPRequest) -> [(name: Substring, value: Substring)] {
        guard let path = request.path, let start = path.firstIndex(of: "?") else { return [] }
        return path[path.index(after: start)...].split(separator: "&").map { item in
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (pair[0], pair.count > 1 ? pair[1] : "")
        }
    }

    /// The names of the parameters, decoded, each once, in order.
    static func names(of request: HTTPRequest) -> [String] {
        var seen = Set<String>()
        return items(of: request).compactMap { String($0.name).removingPercentEncoding }.filter { !$0.isEmpty && seen.insert($0).inserted }
    }
}
