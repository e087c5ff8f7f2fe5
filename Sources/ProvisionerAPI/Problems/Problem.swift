import Foundation
import HTTPTypes
import Hummingbird
import OpenAPIRuntime

/// An RFC 9457 problem answer: the one shape of every error of the service.
///
/// Thrown from handlers and middlewares, it is turned into an `application/problem+json`
/// response by `ProblemMiddleware` (generated operations) or `HTTPProblemMiddleware`
/// (everything Hummingbird answers itself, such as unknown routes).
struct Problem: Error, Sendable, Equatable {
    struct FieldError: Sendable, Equatable, Encodable {
        let field: String
        let message: String
    }

    let status: HTTPResponse.Status
    /// Stable snake_case code, part of the API (openapi.yaml).
    let code: ProblemCode
    /// For a person: what was wrong with this request and, where it helps, what to do.
    let detail: String
    var errors: [FieldError] = []
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, code: ProblemCode, detail: String, errors: [FieldError] = [], headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.headers = headers
    }

    private struct Body: Encodable {
        let type: String
        let title: String
        let status: Int
        let detail: String
        let code: String
        let request_id: String?
        let errors: [FieldError]?
    }

    static let mediaType = "application/problem+json"

    func encodedBody(requestID: String?) -> [UInt8] {
        let body = Body(
            type: "urn:gcal-provisioner:problem:\(code.rawValue)",
            title: code.title,
            status: status.code,
            detail: detail,
            code: code.rawValue,
            request_id: requestID,
            errors: errors.isEmpty ? nil : errors
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a struct of strings cannot fail.
        return (try? Array(encoder.encode(body))) ?? Array(#"{"code":"internal_error"}"#.utf8)
    }

    /// The answer in OpenAPI runtime types, for middlewares of the generated server.
    func openAPIResponse(requestID: String?) -> (HTTPResponse, HTTPBody) {
        var fields = headers
        fields[.contentType] = Self.mediaType
        return (HTTPResponse(status: status, headerFields: fields), HTTPBody(encodedBody(requestID: requestID)))
    }

    /// The answer in Hummingbird types.
    func response(requestID: String?) -> Response {
        var fields = headers
        fields[.contentType] = Self.mediaType
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: encodedBody(requestID: requestID))))
    }
}

extension Problem {
    static func internalError() -> Problem {
        Problem(.internalServerError, code: .internalError, detail: "Something went wrong on our side. The request id identifies it for the operators.")
    }

    static func databaseUnavailable() -> Problem {
        Problem(.serviceUnavailable, code: .serviceUnavailable, detail: "The database does not answer; try again shortly.", headers: [.retryAfter: "5"])
    }

    static func notFound(_ detail: String = "There is nothing at this path.") -> Problem {
        Problem(.notFound, code: .notFound, detail: detail)
    }

    /// A field of the body, a query parameter or a header breaks openapi.yaml; `errors` names it.
    static func invalid(_ name: String, _ detail: String) -> Problem {
        Problem(.badRequest, code: .invalidRequest, detail: detail, errors: [.init(field: name, message: detail)])
    }

    /// A field that is well-formed but out of what the service accepts (a time outside its
    /// range): 422, still `invalid_request` naming the field, since the caller fixes it the same
    /// way as a 400 of that code.
    static func unprocessable(_ name: String, _ detail: String) -> Problem {
        Problem(.unprocessableContent, code: .invalidRequest, detail: detail, errors: [.init(field: name, message: detail)])
    }

    /// A tenant_admin's change, or the runtime's secret read, while the tenant is suspended.
    static func tenantSuspended(_ slug: String) -> Problem {
        Problem(
            .conflict, code: .tenantSuspended,
            detail: "Tenant '\(slug)' is suspended: it may be read, but nothing can be uploaded, verified or changed and its credential is not handed out until the support desk resumes it."
        )
    }
}
