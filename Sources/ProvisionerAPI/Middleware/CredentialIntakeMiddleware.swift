import HTTPTypes
import OpenAPIRuntime
import ProvisionerDomain

/// An uploaded client_secrets.json, as the client sent it.
///
/// The generated code would decode an `application/json` upload into a JSON value, losing
/// the exact bytes (their SHA-256 is part of the API, a byte order mark is allowed, the
/// depth limit is ours). This middleware keeps them for the handler, with the summary it
/// made while checking them, so the file is parsed once.
enum UploadedFile {
    struct JSONUpload: Sendable {
        let bytes: [UInt8]
        let file: ClientSecretsFile
        let summary: ClientSecretsSummary
    }

    @TaskLocal static var json: JSONUpload?

    static let operationID = Operations.UploadCredential.id

    /// Refuses what is not a client_secrets.json we could store: not UTF-8 JSON (a leading
    /// byte order mark is fine), or nested deeper than 32 -> 400 `invalid_json` saying where.
    /// The size was bounded while the body was read (`RequestBodyMiddleware`, and the `file`
    /// part in `ServiceAPI.form(from:)`).
    static func validate(_ bytes: [UInt8]) throws -> JSONUpload {
        do {
            let file = ClientSecretsFile(try JSONParser().parse(bytes))
            return JSONUpload(bytes: bytes, file: file, summary: ClientSecretsSummary(file: file, sha256: ClientSecretsSummary.sha256Hex(bytes)))
        } catch {
            throw Problem(.badRequest, code: .invalidJSON, detail: "The file is not valid JSON: \(error.description)")
        }
    }
}

/// Admits an upload only as `application/json` or `multipart/form-data` (else 415), reads it
/// with the 64 KiB ceiling (413), and hands the JSON bytes to the handler.
struct CredentialIntakeMiddleware: ServerMiddleware {
    func intercept(
        _ request: HTTPRequest,
        body: HTTPBody?,
        metadata: ServerRequestMetadata,
        operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard operationID == UploadedFile.operationID else { return try await next(request, body, metadata) }
        let mediaType = (request.headerFields[.contentType] ?? "")
            .split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        switch mediaType {
        case "application/json":
            let bytes = try await RequestBodyLimit.collect(body, request: request)
            let upload = try UploadedFile.validate(bytes)
            // The generated code still decodes a JSON body, and cannot be told not to:
            // swift-openapi-generator (1.14) files every application/json and +json body under
            // its JSON category, decoded with a JSONDecoder into the operation's input, whatever
            // the schema (ContentType.Category; only non-JSON types reach the handler as raw
            // bytes). Declaring the upload as another media type would misdescribe the API. So
            // the decoder gets a stand-in that always decodes, and the handler reads the bytes
            // as sent, parsed once here.
            return try await UploadedFile.$json.withValue(upload) {
                try await next(request, HTTPBody("{}"), metadata)
            }
        case "multipart/form-data":
            let bytes = try await RequestBodyLimit.collect(body, request: request)
            return try await next(request, HTTPBody(bytes), metadata)
        default:
            throw Problem(
                .unsupportedMediaType, code: .unsupportedMediaType,
                detail: "Upload the client_secrets.json as application/json, or as multipart/form-data in the field 'file'."
            )
        }
    }
}
