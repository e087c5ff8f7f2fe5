/// The roles a bearer token can carry.
public enum Role: String, Sendable, Hashable, CaseIterable, Codable {
    /// The support desk: everything except reading secrets.
    case support
    /// A customer's admin, bound to one tenant.
    case tenantAdmin = "tenant_admin"
    /// The internal dashboard: read-only over all tenants.
    case dashboard
    /// The CRM runtime: reads active credentials with their secret.
    case runtime
}
