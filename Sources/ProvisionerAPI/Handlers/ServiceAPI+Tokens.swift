import Foundation
import ProvisionerDomain
import ProvisionerStore

/// `/v1/tokens`: create (shown once), list (never the token), revoke (with `cascade=true`, the
/// token's offspring too).
extension ServiceAPI {
    func createToken(_ input: Operations.CreateToken.Input) async throws -> Operations.CreateToken.Output {
        let caller = try Caller.required()
        let scope = try caller.allTenantsScope()
        guard case .json(let body) = input.body else { throw Problem.unsupportedBody() }
        let role: Role
        let rawName: String
        let expiresAt: Date?
        var boundTenant: (id: UUID, slug: String)?
        switch body {
        case .TokenCreateTenantAdmin(let request):
            role = .tenantAdmin
            (rawName, expiresAt) = (request.name, request.expiresAt)
            guard RequestValidation.looksLikeSlug(request.tenant),
                  let tenant = try await tenants.get(slug: request.tenant, scope: scope) else {
                throw Problem.tenantNotFound(request.tenant)
            }
            boundTenant = (tenant.id, tenant.slug)
        case .TokenCreateGlobal(let request):
            guard let parsed = Role(rawValue: request.role.rawValue) else { throw Problem.invalid("role", "Unknown role.") }
            role = parsed
            (rawName, expiresAt) = (request.name, request.expiresAt)
        }
        // Refused before anything else is looked at; the middleware writes its audit row
        // (result `role_not_grantable`), as for every refused mutation.
        guard AccessPolicy.grantableThroughAPI.contains(role) else {
            throw Problem(
                .forbidden, code: .roleNotGrantable,
                detail: "A \(role.rawValue) token cannot be made through the API; the operator makes it with `provisioner token create --role \(role.rawValue)`.",
                errors: [.init(field: "role", message: "must be support, dashboard or tenant_admin")]
            )
        }
        let name = try RequestValidation.name(rawName, field: "name", maxLength: 100)
        let expiry = try RequestValidation.tokenExpiry(expiresAt)
        let (record, token) = try await tokens.create(
            NewToken(role: role, name: name, tenant: boundTenant, expiresAt: expiry),
            createdBy: caller.token.id,
            audit: caller.audit(tenantID: boundTenant?.id, tenantSlug: boundTenant?.slug)
        )
        return .created(.init(
            headers: .init(location: "/v1/tokens/\(record.id.uuidString.lowercased())", cacheControl: .noStore),
            body: .json(.init(
                id: record.id.uuidString.lowercased(), token: token,
                role: Components.Schemas.Role(rawValue: record.role.rawValue) ?? .support,
                name: record.name, tenant: record.tenantSlug, expiresAt: record.expiresAt, createdAt: record.createdAt,
                createdBy: record.createdBy?.uuidString.lowercased()
            ))
        ))
    }

    func listTokens(_ input: Operations.ListTokens.Input) async throws -> Operations.ListTokens.Output {
        _ = try Caller.required().allTenantsScope()
        let limit = try RequestValidation.limit(input.query.limit)
        let page = try await tokens.list(limit: limit + 1, after: try PageCursor.decode(input.query.cursor))
        let items = page.prefix(limit)
        let next = page.count > limit ? items.last.map { PageCursor.encode($0.pageKey) } : nil
        return .ok(.init(body: .json(.init(items: items.map(Components.Schemas.TokenInfo.init), nextCursor: next))))
    }

    func revokeToken(_ input: Operations.RevokeToken.Input) async throws -> Operations.RevokeToken.Output {
        let caller = try Caller.required()
        _ = try caller.allTenantsScope()
        guard let id = UUID(uuidString: input.path.tokenId),
              try await tokens.revoke(
                  id: id, cascade: input.query.cascade ?? false, audit: caller.audit(target: "token:\(id.uuidString.lowercased())")
              ) != nil
        else {
            throw Problem(.notFound, code: .tokenNotFound, detail: "There is no token with id \(input.path.tokenId).")
        }
        return .noContent(.init())
    }
}

extension Components.Schemas.TokenInfo {
    init(_ record: TokenRecord) {
        self.init(
            id: record.id.uuidString.lowercased(),
            role: Components.Schemas.Role(rawValue: record.role.rawValue) ?? .support,
            name: record.name, tenant: record.tenantSlug, expiresAt: record.expiresAt, createdAt: record.createdAt,
            createdBy: record.createdBy?.uuidString.lowercased(), lastUsedAt: record.lastUsedAt, revokedAt: record.revokedAt
        )
    }
}
