import Foundation
import ProvisionerDomain
import ProvisionerStore

/// `/v1/tenants`: create, list, read, change.
extension ServiceAPI {
    func createTenant(_ input: Operations.CreateTenant.Input) async throws -> Operations.CreateTenant.Output {
        let caller = try Caller.required()
        guard case .json(let body) = input.body else { throw Problem.unsupportedBody() }
        let slug: TenantSlug
        do {
            slug = try TenantSlug(validating: body.slug)
        } catch {
            let detail = error.message(in: .en)
            if error.rule == .reservedName {
                throw Problem(.unprocessableContent, code: .slugReserved, detail: detail, errors: [.init(field: "slug", message: detail)])
            }
            throw Problem.invalid("slug", detail)
        }
        let displayName = try RequestValidation.name(body.displayName, field: "display_name", maxLength: 200)
        do {
            let tenant = try await tenants.create(slug: slug, displayName: displayName, audit: caller.audit(tenantSlug: slug.rawValue, target: "tenant:\(slug.rawValue)"))
            return .created(.init(headers: .init(location: "/v1/tenants/\(tenant.slug)"), body: .json(.init(tenant))))
        } catch TenantStoreError.slugTaken {
            throw Problem(.conflict, code: .tenantExists, detail: "A tenant with slug '\(slug.rawValue)' already exists.")
        }
    }

    func listTenants(_ input: Operations.ListTenants.Input) async throws -> Operations.ListTenants.Output {
        // The list reads every tenant (TenantStore.list runs with the all-tenants scope).
        _ = try Caller.required().allTenantsScope()
        let limit = try RequestValidation.limit(input.query.limit)
        let after = try PageCursor.decode(input.query.cursor)
        let query = try RequestValidation.searchText(input.query.q, field: "q", maxLength: 200)
        let filter = TenantFilter(state: input.query.state.flatMap { TenantState(rawValue: $0.rawValue) }, query: query)
        let page = try await tenants.list(filter: filter, limit: limit + 1, after: after)
        let items = page.prefix(limit)
        let next = page.count > limit ? items.last.map { PageCursor.encode($0.pageKey) } : nil
        return .ok(.init(body: .json(.init(items: items.map(Components.Schemas.Tenant.init), nextCursor: next))))
    }

    func getTenant(_ input: Operations.GetTenant.Input) async throws -> Operations.GetTenant.Output {
        let caller = try Caller.required()
        return .ok(.init(body: .json(.init(try await tenant(input.path.slug, for: caller)))))
    }

    func updateTenant(_ input: Operations.UpdateTenant.Input) async throws -> Operations.UpdateTenant.Output {
        let caller = try Caller.required()
        let body: Components.Schemas.TenantUpdate
        switch input.body {
        case .json(let json): body = json
        case .applicationMergePatchJson(let json): body = json
        }
        // Absent and null both mean "leave as it is": nothing to change is no change at all.
        guard body.displayName != nil || body.suspended != nil else {
            return .ok(.init(body: .json(.init(try await tenant(input.path.slug, for: caller)))))
        }
        let displayName = try body.displayName.map { try RequestValidation.name($0, field: "display_name", maxLength: 200) }
        let slug = input.path.slug
        guard RequestValidation.looksLikeSlug(slug),
              let tenant = try await tenants.update(
                  slug: slug, displayName: displayName, suspended: body.suspended, audit: caller.audit(tenantSlug: slug, target: "tenant:\(slug)")
              )
        else { throw Problem.tenantNotFound(slug) }
        return .ok(.init(body: .json(.init(tenant))))
    }
}

extension Components.Schemas.Tenant {
    init(_ tenant: TenantRecord) {
        self.init(
            id: tenant.id.uuidString.lowercased(),
            slug: tenant.slug,
            displayName: tenant.displayName,
            suspended: tenant.suspended,
            state: Components.Schemas.TenantState(rawValue: tenant.state.rawValue) ?? .awaitingUris,
            currentUriSetVersion: tenant.currentURISetVersion,
            activeCredentialId: tenant.activeCredentialID?.uuidString.lowercased(),
            calendarSettings: .init(
                syncEnabled: tenant.calendarSyncEnabled,
                defaultEventColor: Components.Schemas.EventColor(rawValue: tenant.calendarDefaultEventColor) ?? ._1
            ),
            latestCredentialState: tenant.latestCredentialState?.rawValue,
            latestCredentialUploadedAt: tenant.latestCredentialUploadedAt,
            createdAt: tenant.createdAt,
            updatedAt: tenant.updatedAt
        )
    }
}

extension Problem {
    static func unsupportedBody() -> Problem {
        Problem(.unsupportedMediaType, code: .unsupportedMediaType, detail: "Send the body as application/json.")
    }
}
