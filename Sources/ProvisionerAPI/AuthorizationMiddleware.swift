import Foundation
import HTTPTypes
import OpenAPIRuntime
import ProvisionerDomain
import ProvisionerStore

/// Authenticates the bearer token and applies `AccessPolicy` before any handler runs:
/// 401 (with `WWW-Authenticate: Bearer`) for a missing, malformed, unknown, expired or revoked
/// token; 403 for a role that may not call the operation; 404 for a tenant_admin reaching
/// another tenant. Denials of known tokens are written to the audit log.
struct AuthorizationMiddleware: ServerMiddleware {
    let tokens: any TokenStore
    let audit: any AuditStore

    func intercept(
        _ request: HTTPRequest,
        body: HTTPBody?,
        metadata: ServerRequestMetadata,
        operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard let rule = AccessPolicy.rules[operationID] else {
            RequestScope.now.logger.critical("operation has no access rule", metadata: ["operation": "\(operationID)"])
            throw Problem.internalError()
        }
        if case .public = rule.scope { return try await next(request, body, metadata) }

        guard let presented = Self.bearerToken(in: request.headerFields[.authorization]) else {
            throw Self.unauthenticated("This operation needs a bearer token: send `Authorization: Bearer <token>`.", invalidToken: false)
        }
        guard BearerToken.looksValid(presented), let token = try await tokens.authenticate(hash: BearerToken.hash(presented)) else {
            throw Self.unauthenticated("The bearer token is not known.", invalidToken: true)
        }
        let pathSlug = metadata.pathParameters["slug"].map(String.init)
        let caller = Caller(token: token, rule: rule)
        guard token.isUsable(at: Date()) else {
            let reason = token.revokedAt != nil ? "token_revoked" : "token_expired"
            try await audit.recordDenial(caller.audit(tenantSlug: pathSlug, result: reason))
            throw Self.unauthenticated(
                token.revokedAt != nil ? "The bearer token was revoked." : "The bearer token has expired.",
                invalidToken: true
            )
        }
        guard rule.roles.contains(token.role) else {
            try await audit.recordDenial(caller.audit(tenantSlug: pathSlug, result: "forbidden"))
            throw Problem(.forbidden, code: "forbidden", detail: "A \(token.role.rawValue) token may not \(rule.action.replacingOccurrences(of: "_", with: " ")).")
        }
        if case .tenantPath = rule.scope, token.role == .tenantAdmin, pathSlug != token.tenantSlug {
            try await audit.recordDenial(caller.audit(tenantSlug: pathSlug, result: "not_found"))
            throw Problem.tenantNotFound(pathSlug ?? "")
        }
        return try await Caller.$current.withValue(caller) {
            try await next(request, body, metadata)
        }
    }

    /// The token of `Authorization: Bearer <token>`; the scheme is case-insensitive.
    static func bearerToken(in header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    static func unauthenticated(_ detail: String, invalidToken: Bool) -> Problem {
        let challenge = invalidToken ? #"Bearer realm="provisioner", error="invalid_token""# : #"Bearer realm="provisioner""#
        return Problem(.unauthorized, code: "unauthenticated", detail: detail, headers: [.wwwAuthenticate: challenge])
    }
}

extension Problem {
    static func tenantNotFound(_ slug: String) -> Problem {
        Problem(.notFound, code: "tenant_not_found", detail: "There is no tenant '\(slug)'.")
    }
}
