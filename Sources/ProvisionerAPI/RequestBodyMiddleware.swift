import HTTPTypes
import OpenAPIRuntime

/// A request without a body reaches the generated code as an empty one, which it would try
/// to decode as JSON. Operations whose body is optional (`POST .../uri-sets`, `.../verify`)
/// must see no body at all, so a body-less request (no Content-Type, nothing sent) gets `nil`.
struct EmptyBodyMiddleware: ServerMiddleware {
    func intercept(
        _ request: HTTPRequest,
        body: HTTPBody?,
        metadata: ServerRequestMetadata,
        operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard let body, request.headerFields[.contentType] == nil else {
            return try await next(request, body, metadata)
        }
        let bytes = try await RequestBodyLimit.collect(body, request: request)
        return try await next(request, bytes.isEmpty ? nil : HTTPBody(bytes), metadata)
    }
}
