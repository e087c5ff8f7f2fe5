import Foundation
import ProvisionerStore

/// `/v1/audit-events`: the audit log, newest first.
extension ServiceAPI {
    func listAuditEvents(_ input: Operations.ListAuditEvents.Input) async throws -> Operations.ListAuditEvents.Output {
        // The feed is every tenant's (audit_events_page reads with the all-tenants scope).
        _ = try Caller.required().allTenantsScope()
        let limit = try RequestValidation.limit(input.query.limit)
        let events = try await audit.list(
            tenantSlug: try RequestValidation.slugParameter(input.query.tenant, field: "tenant"),
            action: try RequestValidation.actionName(input.query.action),
            limit: limit + 1,
            beforeID: try PageCursor.decodeAuditID(input.query.cursor)
        )
        let items = events.prefix(limit)
        let next = events.count > limit ? items.last.map { PageCursor.encode(sortKey: $0.id) } : nil
        return .ok(.init(body: .json(.init(items: items.map(Components.Schemas.AuditEvent.init), nextCursor: next))))
    }
}

extension Components.Schemas.AuditEvent {
    init(_ event: AuditEvent) {
        self.init(
            id: String(event.id),
            at: event.at,
            actor: .init(tokenId: event.actor.tokenID?.uuidString.lowercased(), role: event.actor.role?.rawValue, name: event.actor.name),
            tenant: event.tenantSlug,
            action: event.action,
            target: event.target,
            result: event.result,
            requestId: event.requestID,
            count: event.count
        )
    }
}
