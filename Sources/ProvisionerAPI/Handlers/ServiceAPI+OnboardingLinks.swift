import Foundation
import ProvisionerDomain
import ProvisionerStore

/// `/v1/tenants/{slug}/onboarding-links`: links that open the tenant's web page for its admin.
/// The code is in the creation's answer only; the store keeps its hash.
extension ServiceAPI {
    /// 1 to 168 hours, 72 when not given.
    static let onboardingLinkHours = 1...168
    static let defaultOnboardingLinkHours = 72

    func createOnboardingLink(_ input: Operations.CreateOnboardingLink.Input) async throws -> Operations.CreateOnboardingLink.Output {
        let caller = try Caller.required()
        let tenant = try await tenantIdentity(input.path.slug, for: caller)
        // Every attempt the caller may make for this tenant counts, the console's form's too.
        let limit = try rateLimits.admitOnboardingLink(tenantID: tenant.id, slug: tenant.slug)
        RateLimitFields.current?.record(limit)
        var hours = Self.defaultOnboardingLinkHours
        if case .json(let body) = input.body, let requested = body.expiresInHours {
            guard Self.onboardingLinkHours.contains(requested) else {
                throw Problem.invalid("expires_in_hours", "expires_in_hours must be from 1 to 168 (it was \(requested)).")
            }
            hours = requested
        }
        let (record, code) = try await onboardingLinks.create(
            tenantID: tenant.id, expiresAt: Date().addingTimeInterval(TimeInterval(hours * 3600)), createdBy: caller.token.id,
            audit: caller.audit(tenantID: tenant.id, tenantSlug: tenant.slug)
        )
        let id = record.id.uuidString.lowercased()
        return .created(.init(
            headers: .init(location: "/v1/tenants/\(tenant.slug)/onboarding-links/\(id)", cacheControl: .noStore),
            body: .json(.init(
                id: id, url: Self.connectURL(publicURL: publicURL, code: code), expiresAt: record.expiresAt,
                createdBy: record.createdBy?.uuidString.lowercased()
            ))
        ))
    }

    func listOnboardingLinks(_ input: Operations.ListOnboardingLinks.Input) async throws -> Operations.ListOnboardingLinks.Output {
        let caller = try Caller.required()
        let tenant = try await tenantIdentity(input.path.slug, for: caller)
        let limit = try RequestValidation.limit(input.query.limit)
        let page = try await onboardingLinks.list(tenantID: tenant.id, scope: caller.scope, limit: limit + 1, after: try PageCursor.decode(input.query.cursor))
        let items = page.prefix(limit)
        let next = page.count > limit ? items.last.map { PageCursor.encode($0.pageKey) } : nil
        return .ok(.init(body: .json(.init(items: items.map(Components.Schemas.OnboardingLink.init), nextCursor: next))))
    }

    func revokeOnboardingLink(_ input: Operations.RevokeOnboardingLink.Input) async throws -> Operations.RevokeOnboardingLink.Output {
        let caller = try Caller.required()
        let tenant = try await tenantIdentity(input.path.slug, for: caller)
        guard let id = UUID(uuidString: input.path.linkId),
              try await onboardingLinks.revoke(
                  tenantID: tenant.id, id: id, scope: caller.scope,
                  audit: caller.audit(tenantID: tenant.id, tenantSlug: tenant.slug, target: "onboarding_link:\(id.uuidString.lowercased())")
              ) != nil
        else {
            throw Problem(.notFound, code: .onboardingLinkNotFound, detail: "Tenant '\(tenant.slug)' has no onboarding link \(input.path.linkId).")
        }
        return .noContent(.init())
    }

    /// `{PROVISIONER_PUBLIC_URL}/connect/{code}`.
    static func connectURL(publicURL: String, code: String) -> String {
        (publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL) + "/connect/" + code
    }
}

extension Components.Schemas.OnboardingLink {
    init(_ record: OnboardingLinkRecord) {
        self.init(
            id: record.id.uuidString.lowercased(), tenant: record.tenantSlug, createdAt: record.createdAt,
            createdBy: record.createdBy?.uuidString.lowercased(), expiresAt: record.expiresAt, revokedAt: record.revokedAt,
            lastUsedAt: record.lastUsedAt, useCount: record.useCount
        )
    }
}
