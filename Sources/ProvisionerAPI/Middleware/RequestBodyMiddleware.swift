import Foundation
import HTTPTypes
import OpenAPIRuntime

/// Reads the body of every POST, PUT and PATCH once, before anything else looks at it: with the 64 KiB ceiling
/// of `RequestBodyLimit` (413 as soon as it is passed, so an endless body is never held whole)
/// and without a content coding (415: a compressed body would dodge the ceiling).
///
/// A request without content reaches the generated code as an empty body, which it would try
/// to decode as the declared media type. Operations whose body is optional
/// (`POST .../uri-sets`, `.../verify`) must see no body at all, whatever `Content-Type` the
/// client sent with nothing (`curl -d ''` sends a form type, many clients send
/// `application/json` on every request). The upload is the exception: an empty file is
/// answered `invalid_json` by `CredentialIntakeMiddleware`.
struct RequestBodyMiddleware: ServerMiddleware {
    func intercept(
        _ request: HTTPRequest,
        body: HTTPBody?,
        metadata: ServerRequestMetadata,
        operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        // GET, HEAD and DELETE take no body here: whatever a client sends with them is left
        // unread (the server discards it) rather than refused in a way no one expects.
        guard let body, [.post, .put, .patch].contains(request.method) else { return try await next(request, body, metadata) }
        if let coding = request.headerFields[.contentEncoding]?.trimmingCharacters(in: .whitespaces),
           !coding.isEmpty, coding.lowercased() != "identity" {
            throw Problem(
                .unsupportedMediaType, code: .unsupportedMediaType,
                detail: "Send the request body without a Content-Encoding (this one is '\(coding.prefix(40))')."
            )
        }
        let bytes = try await RequestBodyLimit.collect(body, request: request)
        guard bytes.isEmpty, operationID != UploadedFile.operationID else {
            return try await next(request, HTTPBody(bytes), metadata)
        }
        var request = request
        request.headerFields[.contentType] = nil
        request.headerFields[.contentLength] = nil
        return try await next(request, nil, metadata)
    }
}
