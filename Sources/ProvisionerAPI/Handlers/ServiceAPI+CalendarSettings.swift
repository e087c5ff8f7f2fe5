import ProvisionerStore

/// `PUT /v1/tenants/{slug}/calendar-settings`: the seed's "Googleカレンダーと連携する" tick and
/// the default background colour of synced events.
extension ServiceAPI {
    func putCalendarSettings(_ input: Operations.PutCalendarSettings.Input) async throws -> Operations.PutCalendarSettings.Output {
        let caller = try Caller.required()
        let tenant = try await tenantIdentity(input.path.slug, for: caller)
        try refuseIfSuspended(tenant, for: caller)
        guard case .json(let settings) = input.body else { throw Problem.unsupportedBody() }
        switch try await credentials.setCalendarSettings(
            tenantID: tenant.id, scope: caller.scope, syncEnabled: settings.syncEnabled,
            defaultEventColor: settings.defaultEventColor.rawValue, audit: caller.audit(tenantSlug: tenant.slug, target: "calendar_settings:\(tenant.slug)")
        ) {
        case .updated:
            return .ok(.init(body: .json(settings)))
        case .noActiveCredential:
            throw Problem(
                .conflict, code: .noActiveCredential,
                detail: "Google Calendar sync needs a verified client_secrets.json for the current URI set; upload one first."
            )
        case .tenantNotFound:
            throw Problem.tenantNotFound(tenant.slug)
        }
    }
}
