import ProvisionerDomain

/// Who may call which operation: the contract's role table (section 2), decided here and
/// nowhere else. `AuthorizationMiddleware` applies it before any handler runs.
struct AccessRule: Sendable {
    enum Scope: Sendable {
        /// No token needed (operations endpoints).
        case `public`
        /// Not about one tenant.
        case global
        /// The path names a tenant (`{slug}`): a tenant_admin may only reach its own, and any
        /// other tenant answers 404, exactly as one that does not exist.
        case tenantPath
    }

    /// The audit log's name of the action, e.g. `tenant.create`.
    let action: String
    let roles: Set<Role>
    let scope: Scope
    /// Changes something: written to the audit log when it succeeds, and when it is refused.
    let mutates: Bool
    /// A read audited every time (the runtime's secret): refused attempts get their row too,
    /// as for a mutation.
    var auditsEveryAttempt = false

    var isPublic: Bool {
        if case .public = scope { return true }
        return false
    }

    var isOnTenantPath: Bool {
        if case .tenantPath = scope { return true }
        return false
    }

    static func open(_ action: String) -> AccessRule {
        AccessRule(action: action, roles: [], scope: .public, mutates: false)
    }
}

enum AccessPolicy {
    private static let everyoneButRuntime: Set<Role> = [.support, .dashboard, .tenantAdmin]

    /// The roles `POST /v1/tokens` may create. `runtime`, the one role
    /// that reads secrets, is made only by the operator's `provisioner token create`, so that a
    /// leaked support token cannot mint a way to them.
    static let grantableThroughAPI: Set<Role> = [.support, .dashboard, .tenantAdmin]

    /// "support, dashboard or tenant_admin", in the order of the contract's role table.
    static func roleNames(_ roles: Set<Role>) -> String {
        let names = Role.allCases.filter(roles.contains).map(\.rawValue)
        guard names.count > 1 else { return names.first ?? "no" }
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }

    /// Every operation of openapi.yaml, by the generator's operation id (`Operations.X.id`, so a
    /// renamed operation does not compile until its rule follows). An operation missing here is
    /// refused (500 in development, caught by the authorization matrix test).
    static let rules: [String: AccessRule] = [
        Operations.GetHealth.id: .open("health.read"),
        Operations.GetReadiness.id: .open("readiness.read"),
        Operations.GetMetrics.id: .open("metrics.read"),
        Operations.GetOpenAPIDocument.id: .open("openapi.read"),

        Operations.CreateTenant.id: AccessRule(action: "tenant.create", roles: [.support], scope: .global, mutates: true),
        Operations.ListTenants.id: AccessRule(action: "tenant.list", roles: [.support, .dashboard], scope: .global, mutates: false),
        Operations.GetTenant.id: AccessRule(action: "tenant.read", roles: everyoneButRuntime, scope: .tenantPath, mutates: false),
        Operations.UpdateTenant.id: AccessRule(action: "tenant.update", roles: [.support], scope: .tenantPath, mutates: true),

        Operations.IssueURISet.id: AccessRule(action: "uri_set.issue", roles: [.support], scope: .tenantPath, mutates: true),
        Operations.GetCurrentURISet.id: AccessRule(action: "uri_set.read", roles: everyoneButRuntime, scope: .tenantPath, mutates: false),
        Operations.ListURISets.id: AccessRule(action: "uri_set.list", roles: everyoneButRuntime, scope: .tenantPath, mutates: false),
        Operations.GetSetupSheet.id: AccessRule(action: "setup_sheet.read", roles: everyoneButRuntime, scope: .tenantPath, mutates: false),

        Operations.UploadCredential.id: AccessRule(action: "credential.upload", roles: [.support, .tenantAdmin], scope: .tenantPath, mutates: true),
        Operations.ListCredentials.id: AccessRule(action: "credential.list", roles: everyoneButRuntime, scope: .tenantPath, mutates: false),
        Operations.GetCredential.id: AccessRule(action: "credential.read", roles: everyoneButRuntime, scope: .tenantPath, mutates: false),
        Operations.ReverifyCredential.id: AccessRule(action: "credential.reverify", roles: [.support, .tenantAdmin], scope: .tenantPath, mutates: true),
        Operations.GetActiveCredential.id: AccessRule(action: "credential.active.read", roles: everyoneButRuntime, scope: .tenantPath, mutates: false),
        Operations.GetActiveCredentialSecret.id: AccessRule(
            action: "credential.secret_read", roles: [.runtime], scope: .tenantPath, mutates: false, auditsEveryAttempt: true
        ),

        Operations.PutCalendarSettings.id: AccessRule(action: "calendar_settings.update", roles: [.support, .tenantAdmin], scope: .tenantPath, mutates: true),

        Operations.CreateOnboardingLink.id: AccessRule(action: "onboarding_link.create", roles: [.support], scope: .tenantPath, mutates: true),
        Operations.ListOnboardingLinks.id: AccessRule(action: "onboarding_link.list", roles: [.support], scope: .tenantPath, mutates: false),
        Operations.RevokeOnboardingLink.id: AccessRule(action: "onboarding_link.revoke", roles: [.support], scope: .tenantPath, mutates: true),

        Operations.CreateToken.id: AccessRule(action: "token.create", roles: [.support], scope: .global, mutates: true),
        Operations.ListTokens.id: AccessRule(action: "token.list", roles: [.support], scope: .global, mutates: false),
        Operations.RevokeToken.id: AccessRule(action: "token.revoke", roles: [.support], scope: .global, mutates: true),

        // Webhook endpoints belong to no tenant and hold where the runtime is told of changes:
        // the support desk's alone (a dashboard could otherwise read where events go).
        Operations.CreateWebhookEndpoint.id: AccessRule(action: "webhook_endpoint.created", roles: [.support], scope: .global, mutates: true),
        Operations.ListWebhookEndpoints.id: AccessRule(action: "webhook_endpoint.list", roles: [.support], scope: .global, mutates: false),
        Operations.GetWebhookEndpoint.id: AccessRule(action: "webhook_endpoint.read", roles: [.support], scope: .global, mutates: false),
        Operations.DeleteWebhookEndpoint.id: AccessRule(action: "webhook_endpoint.deleted", roles: [.support], scope: .global, mutates: true),
        Operations.RotateWebhookSecret.id: AccessRule(action: "webhook_endpoint.secret_rotated", roles: [.support], scope: .global, mutates: true),
        Operations.ListWebhookDeliveries.id: AccessRule(action: "webhook_delivery.list", roles: [.support], scope: .global, mutates: false),
        Operations.RetryWebhookDelivery.id: AccessRule(action: "webhook_delivery.retried", roles: [.support], scope: .global, mutates: true),

        Operations.GetDashboardSummary.id: AccessRule(action: "dashboard.summary.read", roles: [.support, .dashboard], scope: .global, mutates: false),
        Operations.ListAuditEvents.id: AccessRule(action: "audit.list", roles: [.support, .dashboard], scope: .global, mutates: false),
    ]
}
