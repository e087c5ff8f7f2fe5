import ProvisionerDomain
import ProvisionerStore

/// `GET /v1/dashboard/summary`: the figures the internal dashboard draws at the top.
extension ServiceAPI {
    func getDashboardSummary(_ input: Operations.GetDashboardSummary.Input) async throws -> Operations.GetDashboardSummary.Output {
        _ = try Caller.required()
        let summary = try await dashboard.summary()
        func count(_ state: TenantState) -> Int { summary.byState[state] ?? 0 }
        func health(_ state: HealthState) -> Int { summary.byHealth[state] ?? 0 }
        return .ok(.init(body: .json(.init(
            tenants: summary.tenants,
            byState: .init(
                suspended: count(.suspended), awaitingUris: count(.awaitingURIs), awaitingUpload: count(.awaitingUpload),
                verifying: count(.verifying), verified: count(.verified), rejected: count(.rejected)
            ),
            credentialsPending: summary.credentialsPending,
            oldestPendingSeconds: summary.oldestPendingSeconds,
            verifiedLast24h: summary.verifiedLast24h,
            rejectedLast24h: summary.rejectedLast24h,
            byHealth: .init(
                unchecked: health(.unchecked), ok: health(.ok), propagating: health(.propagating),
                redirectUriNotRegistered: health(.redirectURINotRegistered), clientDeleted: health(.clientDeleted),
                clientSecretInvalid: health(.clientSecretInvalid)
            )
        ))))
    }
}
