import HTTPTypes
import OpenAPIRuntime

/// Every operation has one representation of each answer (JSON, or the setup sheet's
/// Markdown, or a problem), so there is nothing to negotiate: as RFC 9110 section 12.5.1
/// allows, `Accept` is disregarded and that representation is sent. The generated code would
/// otherwise answer 406 to the many clients that send `Accept: application/json` with every
/// request, the setup sheet included.
struct AcceptHeaderMiddleware: ServerMiddleware {
    func intercept(
        _ request: HTTPRequest,
        body: HTTPBody?,
        metadata: ServerRequestMetadata,
        operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        request.headerFields[.accept] = nil
        return try await next(request, body, metadata)
    }
}
