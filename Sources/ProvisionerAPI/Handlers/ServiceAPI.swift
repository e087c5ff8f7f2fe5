import Logging
import Prometheus
import ProvisionerDomain
import ProvisionerNetwork
import ProvisionerStore

/// The one implementation of the generated `APIProtocol`, split into one extension file
/// per resource (`ServiceAPI+Operations.swift`, `ServiceAPI+Tenants.swift`, ...).
/// Authorization happened before any of its methods runs (`AuthorizationMiddleware`).
struct ServiceAPI: APIProtocol {
    let readiness: ReadinessProbe
    let metrics: PrometheusCollectorRegistry
    let tenants: any TenantStore
    let tokens: any TokenStore
    let audit: any AuditStore
    let uriSets: any URISetStore
    let uriIssuer: URISetIssuer
    let credentials: any CredentialStore
    let dashboard: any DashboardStore
    let sealer: SecretSealer
    let onboardingLinks: any OnboardingLinkStore
    /// `PROVISIONER_PUBLIC_URL`: the base of the links people open.
    let publicURL: String
    let webhookEndpoints: any WebhookEndpointStore
    /// Which webhook URLs may be registered, and how their hosts are resolved to check them.
    let webhookURLPolicy: WebhookURLPolicy
    let hostResolver: any HostResolver
    /// Uploads and onboarding links per tenant (and, in `AuthorizationMiddleware`, the rest).
    let rateLimits: RateLimits
}

extension ServiceAPI {
    /// The tenant named by the path as the caller may see it, or the one 404 that never tells
    /// "exists elsewhere" from "does not exist".
    func tenant(_ slug: String, for caller: Caller) async throws -> TenantRecord {
        guard RequestValidation.looksLikeSlug(slug), let tenant = try await tenants.get(slug: slug, scope: caller.scope) else {
            throw Problem.tenantNotFound(slug)
        }
        return tenant
    }

    /// Who the tenant named by the path is (id, slug, suspended), from memory when warm
    /// (`CachingTenantStore`): for the handlers that need no more of it. The same 404.
    func tenantIdentity(_ slug: String, for caller: Caller) async throws -> TenantIdentity {
        guard RequestValidation.looksLikeSlug(slug), let tenant = try await tenants.identity(slug: slug, scope: caller.scope) else {
            throw Problem.tenantNotFound(slug)
        }
        return tenant
    }
}
