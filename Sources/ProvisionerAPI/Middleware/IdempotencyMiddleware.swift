import Crypto
import Foundation
import HTTPTypes
import OpenAPIRuntime
import ProvisionerDomain
import ProvisionerStore

/// `Idempotency-Key` on POST operations: same key, same token and same
/// body within 24 h -> the stored first answer (nothing is done again); another body -> 422
/// `idempotency_key_reused`; while the first request runs -> 409 `idempotency_key_in_use`.
/// Only successful answers are kept: a refused request may simply be sent again.
struct IdempotencyMiddleware: ServerMiddleware {
    let store: any IdempotencyStore
    let sealer: SecretSealer

    func intercept(
        _ request: HTTPRequest,
        body: HTTPBody?,
        metadata: ServerRequestMetadata,
        operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard request.method == .post, let key = request.headerFields[.idempotencyKey], let caller = Caller.current else {
            return try await next(request, body, metadata)
        }
        guard Self.isWellFormed(key) else {
            throw Problem.invalid("Idempotency-Key", "Idempotency-Key must be 1 to 255 visible ASCII characters.")
        }
        let bytes = try await RequestBodyLimit.collect(body, request: request)
        let hash = Self.requestHash(operationID: operationID, request: request, body: bytes)
        let scope = caller.scope
        let tenantID: UUID? = caller.role == .tenantAdmin ? caller.token.tenantID : nil

        switch try await store.begin(tokenID: caller.token.id, key: key, operation: operationID, requestHash: hash, tenantID: tenantID, scope: scope) {
        case .keyReused:
            throw Problem(.unprocessableContent, code: .idempotencyKeyReused, detail: "This Idempotency-Key was used with another request body in the last 24 hours.")
        case .inProgress:
            throw Problem(.conflict, code: .idempotencyKeyInUse, detail: "The first request with this Idempotency-Key is still running; try again shortly.")
        case .replay(let answer):
            var fields: HTTPFields = [:]
            if let contentType = answer.contentType { fields[.contentType] = contentType }
            if let location = answer.location { fields[.location] = location }
            fields[.idempotentReplayed] = "true"
            // A stored answer may hold a secret (a created token): never for a cache to keep.
            fields[.cacheControl] = "no-store"
            let responseBody = try answer.sealedBody.map { try sealer.open($0, associatedData: PostgresIdempotencyStore.associatedData(recordID: answer.recordID)) }
            return (HTTPResponse(status: .init(code: answer.status), headerFields: fields), responseBody.map { HTTPBody($0) })
        case .started(let recordID):
            do {
                let (response, responseBody) = try await IdempotentRequest.$recordID.withValue(recordID) {
                    try await next(request, body == nil ? nil : HTTPBody(bytes), metadata)
                }
                let answer = try await RequestBodyLimit.collect(responseBody, request: request, limit: 1024 * 1024)
                if response.status.kind == .successful {
                    try await store.finish(
                        recordID: recordID, scope: scope, status: response.status.code,
                        contentType: response.headerFields[.contentType], location: response.headerFields[.location],
                        sealedBody: try sealer.seal(answer, associatedData: PostgresIdempotencyStore.associatedData(recordID: recordID))
                    )
                } else {
                    try await store.abandon(recordID: recordID, scope: scope)
                }
                return (response, HTTPBody(answer))
            } catch {
                try? await store.abandon(recordID: recordID, scope: scope)
                throw error
            }
        }
    }

    /// What "the same request" means: the operation, the path and the body. A multipart body
    /// is compared without its boundary, which a client draws at random for every request,
    /// so that `curl -F file=@client_secrets.json` sent twice is the same upload.
    static func requestHash(operationID: String, request: HTTPRequest, body: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: Array("\(operationID)\n\(request.path ?? "")\n".utf8))
        if let boundary = MultipartBoundary(contentType: request.headerFields[.contentType]) {
            hasher.update(data: boundary.replacingDelimiters(in: body))
        } else {
            hasher.update(data: body)
        }
        return Array(hasher.finalize())
    }

    /// `^[!-~]{1,255}$`: visible ASCII.
    static func isWellFormed(_ key: String) -> Bool {
        (1...255).contains(key.utf8.count) && key.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }
}

extension HTTPField.Name {
    static let idempotentReplayed = Self("Idempotent-Replayed")!
}
