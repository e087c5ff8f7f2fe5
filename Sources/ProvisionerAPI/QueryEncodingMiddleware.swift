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
        if AccessPolicy.rules[operationID]?.isPublic != true, let path = request.path, let start = path.firstIndex(of: "?") {
            for item in path[path.index(after: start)...].split(separator: "&") {
                let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard pair.allSatisfy({ $0.replacingOccurrences(of: "+", with: " ").removingPercentEncoding != nil }) else {
                    let name = pair.first.flatMap { String($0).removingPercentEncoding }
                    let which = name.map { "The query parameter '\($0.prefix(40))'" } ?? "A query parameter"
                    throw Problem.invalid(name ?? "query", "\(which) is not valid percent-encoded UTF-8.")
                }
            }
        }
        return try await next(request, body, metadata)
    }
}
