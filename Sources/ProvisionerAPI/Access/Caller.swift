import Foundation
import ProvisionerDomain
import ProvisionerStore

/// The authenticated caller of an operation, as `AuthorizationMiddleware` established it.
struct Caller: Sendable {
    let token: TokenRecord
    let rule: AccessRule
    /// What row-level security lets this caller's transactions see, fixed when the caller is
    /// made: a tenant_admin sees its tenant, every other role all of them.
    let scope: AccessScope

    var role: Role { token.role }

    /// Nil for a tenant_admin token bound to no tenant. The tokens table's CHECK forbids such a
    /// row, but only a corrupted or hand-edited one could reach here, and it must not fall
    /// through to the all-tenants scope: the middleware refuses it with 401 instead.
    init?(token: TokenRecord, rule: AccessRule) {
        switch token.role {
        case .tenantAdmin:
            guard let tenantID = token.tenantID, token.tenantSlug != nil else { return nil }
            scope = .tenant(tenantID)
        case .support, .dashboard, .runtime:
            scope = .allTenants
        }
        self.token = token
        self.rule = rule
    }

    /// Whether this caller may see every tenant (support, dashboard, runtime).
    var seesAllTenants: Bool { scope == .allTenants }

    /// The all-tenants scope, for the paths that read or write across tenants (lists, the audit
    /// feed, tokens). `AccessPolicy` admits only roles that see all tenants there; this checks
    /// it again where the scope is used, so that a wrong row in the policy table cannot widen a
    /// tenant_admin's view.
    func allTenantsScope() throws -> AccessScope {
        guard seesAllTenants else {
            throw Problem(.forbidden, code: .forbidden, detail: "A \(role.rawValue) token sees one tenant only; '\(rule.action)' is about every tenant.")
        }
        return .allTenants
    }

    @TaskLocal static var current: Caller?

    /// The caller of the running operation. Handlers of protected operations run only
    /// after authorization, so its absence is a wiring bug.
    static func required() throws -> Caller {
        guard let caller = current else { throw Problem.internalError() }
        return caller
    }

    /// An audit row for this caller in the current request.
    func audit(tenantID: UUID? = nil, tenantSlug: String? = nil, target: String? = nil, result: String = "success") -> AuditEntry {
        Self.audit(token: token, action: rule.action, tenantID: tenantID, tenantSlug: tenantSlug, target: target, result: result)
    }

    /// An audit row for a known token, in the current request (also for one refused before
    /// it became a caller).
    static func audit(
        token: TokenRecord, action: String, tenantID: UUID? = nil, tenantSlug: String? = nil, target: String? = nil, result: String
    ) -> AuditEntry {
        let request = RequestScope.now
        return AuditEntry(
            actor: token.actor, tenantID: tenantID, tenantSlug: tenantSlug, action: action, target: target,
            result: result, requestID: request.requestID, sourceAddress: request.remoteAddress
        )
    }
}
