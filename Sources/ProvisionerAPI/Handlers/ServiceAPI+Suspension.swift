import ProvisionerDomain
import ProvisionerStore

/// A suspended tenant: its tenant_admin may still read everything, but
/// not upload, ask for re-verification or change calendar settings, and the runtime does not
/// get its secret: 409 `tenant_suspended`. `support` keeps every right. Resuming (PATCH
/// `suspended: false`) restores all of it, since nothing was changed or deleted.
///
/// Where it is checked: in the handler, on the tenant the handler has just looked up (from
/// memory when warm, `CachingTenantStore`: a suspension drops it at once in the process that
/// made it and by NOTIFY within milliseconds in the others), right
/// before the store call, not inside the change's own transaction. Doing it there would mean
/// every store method (upload, re-verification, settings, the secret read) learning the
/// caller's role and locking the tenant row against the PATCH that suspends it, serializing
/// every upload with tenant updates for a race whose worst case is one request that had
/// already passed its tenant lookup when the suspension committed, milliseconds earlier: the
/// same outcome as had it arrived a moment sooner. Suspension is an administrative stop, not a
/// fence against requests already in flight; the next request sees it.
extension ServiceAPI {
    func refuseIfSuspended(_ tenant: TenantIdentity, for caller: Caller) throws {
        guard tenant.suspended, caller.role != .support else { return }
        throw Problem.tenantSuspended(tenant.slug)
    }
}
