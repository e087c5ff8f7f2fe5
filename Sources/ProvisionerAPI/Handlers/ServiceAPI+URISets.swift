import Foundation
import OpenAPIRuntime
import ProvisionerDomain
import ProvisionerStore

/// `/v1/tenants/{slug}/uri-sets` and the setup sheet: what the support desk issues.
extension ServiceAPI {
    func issueURISet(_ input: Operations.IssueURISet.Input) async throws -> Operations.IssueURISet.Output {
        let caller = try Caller.required()
        let slug = input.path.slug
        let tenant = try await tenantIdentity(slug, for: caller)
        var customDomain: String?
        if case .json(let body) = input.body { customDomain = body.customDomain }
        let uris: IssuedURIs
        do {
            uris = try uriIssuer.issue(slug: TenantSlug(validating: tenant.slug), customDomain: customDomain)
        } catch let error as URIIssuanceError {
            let detail = "custom_domain breaks the rule \(error.rule): \(error.message(in: .en))"
            throw Problem(.unprocessableContent, code: .uriRuleViolation, detail: detail, errors: [.init(field: "custom_domain", message: "\(error.rule): \(error.message(in: .en))")])
        }
        do {
            let record = try await uriSets.issue(tenantSlug: tenant.slug, uris: uris, issuedBy: caller.token.actor, audit: caller.audit(tenantSlug: tenant.slug))
            return .created(.init(
                headers: .init(location: "/v1/tenants/\(tenant.slug)/uri-sets/current"),
                body: .json(.init(record))
            ))
        } catch URISetStoreError.hostInUse {
            throw Problem(.conflict, code: .customDomainInUse, detail: "Another tenant's current URI set uses \(uris.host).")
        } catch URISetStoreError.tenantNotFound {
            throw Problem.tenantNotFound(slug)
        }
    }

    /// The hot read: one lookup by slug, from memory when warm (`CachingURISetStore`).
    func getCurrentURISet(_ input: Operations.GetCurrentURISet.Input) async throws -> Operations.GetCurrentURISet.Output {
        let caller = try Caller.required()
        let slug = input.path.slug
        guard RequestValidation.looksLikeSlug(slug) else { throw Problem.tenantNotFound(slug) }
        switch try await uriSets.current(tenantSlug: slug, scope: caller.scope) {
        case .noTenant: throw Problem.tenantNotFound(slug)
        case .notIssued: throw Problem.uriSetNotIssued(slug)
        case .issued(let record): return .ok(.init(body: .json(.init(record))))
        }
    }

    func listURISets(_ input: Operations.ListURISets.Input) async throws -> Operations.ListURISets.Output {
        let caller = try Caller.required()
        let tenant = try await tenantIdentity(input.path.slug, for: caller)
        let limit = try RequestValidation.limit(input.query.limit)
        let before = try PageCursor.decode(input.query.cursor).map { Int(Int32(clamping: $0.micros)) }
        let page = try await uriSets.list(tenantID: tenant.id, scope: caller.scope, limit: limit + 1, beforeVersion: before)
        let items = page.prefix(limit)
        let next = page.count > limit ? items.last.map { PageCursor.encode(sortKey: Int64($0.version)) } : nil
        return .ok(.init(body: .json(.init(items: items.map(Components.Schemas.URISet.init), nextCursor: next))))
    }

    func getSetupSheet(_ input: Operations.GetSetupSheet.Input) async throws -> Operations.GetSetupSheet.Output {
        let caller = try Caller.required()
        let tenant = try await tenant(input.path.slug, for: caller)
        let uriSet = try await currentURISet(of: tenant, for: caller)
        let language = Language.preferred(byAcceptLanguage: input.headers.acceptLanguage)
        let sheet = SetupSheet.markdown(tenantDisplayName: tenant.displayName, slug: tenant.slug, uriSet: uriSet.issued, language: language)
        return .ok(.init(
            headers: .init(contentLanguage: .init(rawValue: language.rawValue) ?? .ja, vary: .acceptLanguage),
            body: .textMarkdownCharsetUtf8(HTTPBody(sheet))
        ))
    }

    private func currentURISet(of tenant: TenantRecord, for caller: Caller) async throws -> URISetRecord {
        guard let current = try await uriSets.current(tenantID: tenant.id, scope: caller.scope) else {
            throw Problem.uriSetNotIssued(tenant.slug)
        }
        return current
    }
}

extension Problem {
    static func uriSetNotIssued(_ slug: String) -> Problem {
        Problem(.notFound, code: .uriSetNotIssued, detail: "No URI set has been issued to tenant '\(slug)' yet.")
    }
}

extension Components.Schemas.URISet {
    init(_ record: URISetRecord) {
        self.init(
            version: record.version,
            javascriptOrigins: record.javascriptOrigins,
            redirectUris: record.redirectURIs,
            customDomain: record.customDomain,
            issuedAt: record.issuedAt,
            issuedBy: record.issuedBy,
            supersededAt: record.supersededAt
        )
    }
}
