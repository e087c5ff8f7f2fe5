import Foundation
import ProvisionerDomain
import ProvisionerStore

/// The authenticated caller of an operation, as `AuthorizationMiddleware` established it.
struct Caller: Sendable {
    let token: TokenRecord
    let rule: AccessRule

    var role: Role { token.role }

    /// What row-level security lets this caller's transactions see.
    var scope: AccessScope {
        if role == .tenantAdmin, let tenantID = token.tenantID { return .tenant(tenantID) }
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
        let request = RequestScope.now
        return AuditEntry(
            actor: token.actor, tenantID: tenantID, tenantSlug: tenantSlug, action: rule.action, target: target,
            result: result, requestID: request.requestID, sourceAddress: request.remoteAddress
        )
    }
}
