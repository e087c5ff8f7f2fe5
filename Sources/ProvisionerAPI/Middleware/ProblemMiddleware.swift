import Foundation
import HTTPTypes
import OpenAPIRuntime
import ProvisionerStore

/// Outermost middleware of the generated server: turns every error of an operation into a
/// problem answer, so that no error escapes as a bare 500 and no error text (which could
/// carry request data) reaches the caller unvetted; and gives `Location` back its slashes.
struct ProblemMiddleware: ServerMiddleware {
    func intercept(
        _ request: HTTPRequest,
        body: HTTPBody?,
        metadata: ServerRequestMetadata,
        operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        do {
            var (response, responseBody) = try await next(request, body, metadata)
            // The generated code percent-encodes header values, `/` included; a Location is a
            // URI reference already.
            if let location = response.headerFields[.location], let decoded = location.removingPercentEncoding {
                response.headerFields[.location] = decoded
            }
            return (response, responseBody)
        } catch {
            let scope = RequestScope.now
            let problem = Problem.from(error)
            if problem.status == .internalServerError {
                scope.logger.error("operation failed", metadata: [
                    "operation": "\(operationID)",
                    "error": "\(Problem.safeDescription(of: error))",
                ])
            }
            return problem.openAPIResponse(requestID: scope.requestID)
        }
    }
}

extension Problem {
    /// The problem answer for any error thrown below the API.
    static func from(_ error: any Error) -> Problem {
        if let problem = error as? Problem { return problem }
        if let serverError = error as? ServerError {
            if let problem = serverError.underlyingError as? Problem { return problem }
            if DatabaseUnavailable.isUnavailability(serverError.underlyingError) { return .databaseUnavailable() }
            switch serverError.httpStatus {
            case .unsupportedMediaType:
                return Problem(.unsupportedMediaType, code: .unsupportedMediaType, detail: serverError.causeDescription)
            case .badRequest:
                if serverError.underlyingError is DecodingError {
                    // GET and DELETE take no body here, so what failed to decode is a parameter:
                    // the decoder of query strings gives no coding path, so the names come from
                    // the request.
                    if [.get, .head, .delete].contains(serverError.request.method),
                       case let names = QueryString.names(of: serverError.request), !names.isEmpty {
                        return parameterProblem(names)
                    }
                    return Problem(.badRequest, code: .invalidRequest, detail: decodingDetail(serverError.underlyingError))
                }
                return Problem(.badRequest, code: .invalidRequest, detail: serverError.causeDescription)
            default:
                return .internalError()
            }
        }
        if DatabaseUnavailable.isUnavailability(error) { return .databaseUnavailable() }
        return .internalError()
    }

    /// A decoding error says which field is wrong and why, in JSON's terms, never the value it
    /// read (which could be anything the client pasted).
    static func decodingDetail(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "The request body is not valid." }
        func path(_ context: DecodingError.Context) -> String? {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return keys.isEmpty ? nil : "'" + keys.joined(separator: ".").replacingOccurrences(of: ".[", with: "[") + "'"
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "\(path(context) ?? "The body") lacks the required field '\(key.stringValue)'."
        case .typeMismatch(let type, let context):
            return "\(path(context) ?? "The body") must be \(jsonTypeName(type))."
        case .valueNotFound(_, let context) where context.underlyingError.map(oneOfAlternatives) != nil:
            // A oneOf body (token create) that fits none of its forms: say why for each form.
            let reasons = context.underlyingError.flatMap(oneOfAlternatives) ?? []
            // A form refused for the value of a top-level field (the `role` that picks the
            // form) is not the one the caller meant when another form got further.
            let further = reasons.filter { !isTopLevelValueRefusal($0) }
            var seen = Set<String>()
            let distinct = (further.isEmpty ? reasons : further).map(decodingDetail).filter { seen.insert($0).inserted }
            let clauses = distinct.map { reason in
                let clause = reason.hasSuffix(".") ? String(reason.dropLast()) : reason
                return clause.hasPrefix("The body") ? "the body" + clause.dropFirst("The body".count) : clause
            }
            return "\(path(context) ?? "The body") fits none of the forms openapi.yaml allows here: " + clauses.joined(separator: "; or ") + "."
        case .valueNotFound(let type, let context):
            return "\(path(context) ?? "The body") must be \(jsonTypeName(type)), not null."
        case .dataCorrupted(let context):
            // The date transcoder is not told which field it decodes.
            if context.debugDescription.hasPrefix(LenientDateTranscoder.refusalPrefix) {
                return "\(path(context) ?? "A date-time field") must be an RFC 3339 date-time such as 2025-01-31T09:30:00Z."
            }
            guard let path = path(context) else { return "The request body is not valid JSON." }
            return "\(path) has a value that is not allowed here (openapi.yaml lists the allowed values)."
        @unknown default:
            return "The request body is not valid."
        }
    }

    private static func isTopLevelValueRefusal(_ error: any Error) -> Bool {
        guard case .dataCorrupted(let context) = error as? DecodingError else { return false }
        return context.codingPath.count == 1
    }

    /// The errors of each alternative of a oneOf that failed, which OpenAPIRuntime keeps in
    /// an internal `MultiError` (read through its one stored property, `errors`).
    private static func oneOfAlternatives(_ error: any Error) -> [any Error]? {
        guard String(describing: type(of: error)) == "MultiError" else { return nil }
        return Mirror(reflecting: error).children.first { $0.label == "errors" }?.value as? [any Error]
    }

    /// A query parameter with a value of the wrong type, or not among the allowed values.
    private static func parameterProblem(_ names: [String]) -> Problem {
        let allowed = "a value openapi.yaml allows (its type, range or list of values)"
        guard names.count == 1, let name = names.first else {
            let list = names.prefix(10).map { "'\($0.prefix(40))'" }.joined(separator: ", ")
            return Problem(.badRequest, code: .invalidRequest, detail: "One of the query parameters \(list) does not have \(allowed).")
        }
        return Problem.invalid(name, "The query parameter '\(name.prefix(40))' does not have \(allowed).")
    }

    /// How a Swift type a field decodes into is called in JSON.
    private static func jsonTypeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is Int.Type, is Int32.Type, is Int64.Type, is Double.Type: return "a number"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array<") { return "an array" }
            return "an object"
        }
    }

    /// For logs: the error's type and, for our own errors, their text; never request data.
    static func safeDescription(of error: any Error) -> String {
        DatabaseUnavailable.safeDescription(of: (error as? ServerError)?.underlyingError ?? error)
    }
}
