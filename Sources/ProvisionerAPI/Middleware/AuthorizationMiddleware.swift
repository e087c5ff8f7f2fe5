import Foundation
import HTTPTypes
import OpenAPIRuntime
import ProvisionerDomain
import ProvisionerStore

/// Authenticates the bearer token and applies `AccessPolicy` before any handler runs:
/// 401 (with `WWW-Authenticate: Bearer`) for a missing, malformed, unknown, expired or revoked
/// token, or a tenant_admin token bound to no tenant; 403 for a role that may not call the
/// operation; 404 for a tenant_admin reaching another tenant. Denials of known tokens are
/// written to the audit log one row each; failures without a known token are counted per
/// client address and minute (`FailedSignInCounter`). Rate limits (`RateLimits`): an address
/// that has spent its failed authentications gets 429 before its token is looked at; a usable
/// token's requests are counted before its role is.
struct AuthorizationMiddleware: ServerMiddleware {
    let tokens: any TokenStore
    let audit: any AuditStore
    let failedSignIns: FailedSignInCounter
    let rateLimits: RateLimits

    init(tokens: any TokenStore, audit: any AuditStore, rateLimits: RateLimits, failedSignIns: FailedSignInCounter? = nil) {
        self.tokens = tokens
        self.audit = audit
        self.rateLimits = rateLimits
        self.failedSignIns = failedSignIns ?? FailedSignInCounter(audit: audit)
    }

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
        if rule.isPublic { return try await next(request, body, metadata) }
        // Before the token is looked at, so that the answer says nothing about it.
        if let refusal = rateLimits.authFailureRefusal(address: RequestScope.now.remoteAddress) {
            throw refusal.authFailureProblem
        }

        // The slug as the handler will see it: the router leaves path parameters encoded.
        let pathSlug = metadata.pathParameters["slug"].map { String($0).removingPercentEncoding ?? String($0) }
        guard let presented = Self.bearerToken(in: request.headerFields[.authorization]) else {
            try await recordFailedSignIn()
            throw Self.unauthenticated("This operation needs a bearer token: send `Authorization: Bearer <token>`.", invalidToken: false)
        }
        guard BearerToken.looksValid(presented), let token = try await tokens.authenticate(hash: BearerToken.hash(presented)) else {
            try await recordFailedSignIn()
            throw Self.unauthenticated("The bearer token is not known.", invalidToken: true)
        }
        guard let caller = Caller(token: token, rule: rule) else {
            // Only a corrupted row gets here (the tokens table's CHECK forbids it): refused
            // rather than let through with a scope wider than one tenant.
            rateLimits.recordAuthFailure(address: RequestScope.now.remoteAddress)
            try await audit.recordDenial(Caller.audit(token: token, action: rule.action, tenantSlug: pathSlug, result: "token_unbound"))
            RequestScope.now.logger.error("a tenant_admin token has no tenant", metadata: ["token": "\(token.id)"])
            throw Self.unauthenticated("This tenant_admin token is bound to no tenant and cannot be used; ask the support desk for a new one.", invalidToken: true)
        }
        guard token.isUsable(at: Date()) else {
            rateLimits.recordAuthFailure(address: RequestScope.now.remoteAddress)
            let reason = token.revokedAt != nil ? "token_revoked" : "token_expired"
            try await audit.recordDenial(caller.audit(tenantSlug: pathSlug, result: reason))
            throw Self.unauthenticated(
                token.revokedAt != nil ? "The bearer token was revoked." : "The bearer token has expired.",
                invalidToken: true
            )
        }
        // Every request of a usable token counts, refused by its role or not: a leaked or
        // runaway token cannot flood.
        try rateLimits.admitToken(token.id)
        guard rule.roles.contains(token.role) else {
            try await audit.recordDenial(caller.audit(tenantSlug: pathSlug, result: "forbidden"))
            let allowed = AccessPolicy.roleNames(rule.roles)
            throw Problem(
                .forbidden, code: .forbidden,
                detail: "A \(token.role.rawValue) token may not do '\(rule.action)'; it is for \(allowed) tokens."
            )
        }
        // Operations about every tenant (lists, the audit feed, tokens) only for callers who see
        // every tenant, whatever the policy table says (`Caller.allTenantsScope` checks again).
        if case .global = rule.scope, !caller.seesAllTenants {
            try await audit.recordDenial(caller.audit(tenantSlug: pathSlug, result: "forbidden"))
            throw Problem(.forbidden, code: .forbidden, detail: "A \(token.role.rawValue) token sees one tenant only; '\(rule.action)' is about every tenant.")
        }
        if rule.isOnTenantPath, token.role == .tenantAdmin, pathSlug != token.tenantSlug {
            let problem = Problem.tenantNotFound(pathSlug ?? "")
            try await audit.recordDenial(caller.audit(tenantSlug: pathSlug, result: problem.code.rawValue))
            throw problem
        }
        return try await Caller.$current.withValue(caller) {
            do {
                return try await next(request, body, metadata)
            } catch {
                await recordRefusal(error, caller: caller, pathSlug: pathSlug)
                throw error
            }
        }
    }

    /// A call without a token, or with one that is not known, is a denied attempt like any
    /// other, but one a flood can repeat at no cost: it is counted in the
    /// `auth.failed` row of its client address and minute (section 11), whatever the operation
    /// or tenant it aimed at. Its actor is unknown, so the row's actor is all null.
    private func recordFailedSignIn() async throws {
        let request = RequestScope.now
        rateLimits.recordAuthFailure(address: request.remoteAddress)
        try await failedSignIns.record(sourceAddress: request.remoteAddress, requestID: request.requestID)
    }

    /// A refused attempt gets its audit row too: any mutation answered 4xx (a validation,
    /// a conflict, an idempotency refusal, a body too large), any refused read of an operation
    /// whose every read is audited (the runtime's secret), and any 404 on a tenant's path,
    /// which is how probing for another tenant's objects looks. `result` is the problem's code.
    /// Failures of the service itself (5xx) are not the caller's attempt being refused, and
    /// neither is a rate limit's 429 (a flood must not cost an audit row per request: it is
    /// counted in a metric, `RateLimits`). The caller gets the original answer even when the
    /// row cannot be written.
    private func recordRefusal(_ error: any Error, caller: Caller, pathSlug: String?) async {
        let problem = Problem.from(error)
        guard problem.status.kind == .clientError, problem.code != .rateLimited else { return }
        guard caller.rule.mutates || caller.rule.auditsEveryAttempt || (caller.rule.isOnTenantPath && problem.status == .notFound) else { return }
        do {
            try await audit.recordDenial(caller.audit(tenantSlug: pathSlug, result: problem.code.rawValue))
        } catch {
            RequestScope.now.logger.error("could not audit a refused attempt", metadata: [
                "action": "\(caller.rule.action)", "error": "\(Problem.safeDescription(of: error))",
            ])
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
        return Problem(.unauthorized, code: .unauthenticated, detail: detail, headers: [.wwwAuthenticate: challenge])
    }
}

extension Problem {
    static func tenantNotFound(_ slug: String) -> Problem {
        Problem(.notFound, code: .tenantNotFound, detail: "There is no tenant '\(slug)'.")
    }
}
