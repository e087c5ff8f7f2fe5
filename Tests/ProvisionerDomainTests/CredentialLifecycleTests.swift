import Foundation
import Testing
@testable import ProvisionerDomain

/// The rules of `CredentialLifecycle`, one case each. (`CredentialLifecycleTwinTests` in the
/// store's tests checks that the SQL follows the same rules.)
@Suite("CredentialLifecycle")
struct CredentialLifecycleTests {
    typealias Life = CredentialLifecycle
    static let t0 = Date(timeIntervalSince1970: 1_790_000_000)

    /// Uploads `a` (oldest) to `d` (newest), one second apart.
    static func tenant(_ states: [CredentialState], current: Int? = 2, active: Int? = nil, versions: [Int?]? = nil) -> (Life.Tenant, [UUID]) {
        let ids = states.map { _ in UUID() }
        var tenant = Life.Tenant(currentURISetVersion: current)
        for (index, state) in states.enumerated() {
            tenant.uploads[ids[index]] = Life.Upload(
                id: ids[index], uploadedAt: t0.addingTimeInterval(Double(index)), state: state, uriSetVersion: versions?[index] ?? current
            )
        }
        if let last = ids.last {
            tenant.latestCredentialID = last
            tenant.latestCredentialState = states.last
        }
        tenant.activeCredentialID = active.map { ids[$0] }
        return (tenant, ids)
    }

    static func states(_ tenant: Life.Tenant, _ ids: [UUID]) -> [CredentialState] {
        ids.map { tenant.uploads[$0]!.state }
    }

    @Test("a passing upload becomes active and supersedes the older verified one")
    func passingWins() {
        var (tenant, ids) = Self.tenant([.verified, .verifying], active: 0)
        #expect(Life.record([.init(credentialID: ids[1], state: .verified, uriSetVersion: 2)], in: &tenant) == 1)
        #expect(Self.states(tenant, ids) == [.superseded, .verified])
        #expect(tenant.activeCredentialID == ids[1])
        #expect(tenant.state == .verified)
    }

    @Test("an older upload that passes after a newer one is verified ends superseded at once")
    func olderPassingIsSuperseded() {
        var (tenant, ids) = Self.tenant([.verifying, .verified], active: 1)
        Life.record([.init(credentialID: ids[0], state: .verified, uriSetVersion: 2)], in: &tenant)
        #expect(Self.states(tenant, ids) == [.superseded, .verified])
        #expect(tenant.activeCredentialID == ids[1])
    }

    @Test("two passing in one batch: the newer wins")
    func newerOfTheBatchWins() {
        var (tenant, ids) = Self.tenant([.verifying, .verifying])
        Life.record([
            .init(credentialID: ids[1], state: .verified, uriSetVersion: 2),
            .init(credentialID: ids[0], state: .verified, uriSetVersion: 2),
        ], in: &tenant)
        #expect(Self.states(tenant, ids) == [.superseded, .verified])
        #expect(tenant.activeCredentialID == ids[1])
    }

    @Test("uploads of the same instant: the id breaks the tie as PostgreSQL orders uuids")
    func sameInstant() {
        var (tenant, ids) = Self.tenant([.verifying, .verifying])
        for id in ids { tenant.uploads[id] = Life.Upload(id: id, uploadedAt: Self.t0, state: .verifying, uriSetVersion: nil) }
        let newer = ids[0].precedesInPostgres(ids[1]) ? ids[1] : ids[0]
        Life.record(ids.map { .init(credentialID: $0, state: .verified, uriSetVersion: 2) }, in: &tenant)
        #expect(tenant.activeCredentialID == newer)
        #expect(tenant.uploads[newer]?.state == .verified)
    }

    @Test("verified against an older URI set: it wins, but is not active")
    func verifiedAgainstOldSet() {
        var (tenant, ids) = Self.tenant([.verifying], current: 3)
        Life.record([.init(credentialID: ids[0], state: .verified, uriSetVersion: 2)], in: &tenant)
        #expect(Self.states(tenant, ids) == [.verified])
        #expect(tenant.activeCredentialID == nil)
        #expect(tenant.state == .rejected)
    }

    @Test("a rejection of the active upload takes it away; of another, leaves it")
    func rejections() {
        var (tenant, ids) = Self.tenant([.verified, .verifying], active: 0)
        Life.record([.init(credentialID: ids[1], state: .rejected, uriSetVersion: 2)], in: &tenant)
        #expect(tenant.activeCredentialID == ids[0])
        #expect(tenant.latestCredentialState == .rejected)
        #expect(tenant.state == .rejected)

        // The active upload itself back in verification (only the rescuer's exhausted jobs do
        // this without taking it away first) and rejected: none is active.
        tenant.uploads[ids[0]]?.state = .verifying
        Life.record([.init(credentialID: ids[0], state: .rejected, uriSetVersion: 2)], in: &tenant)
        #expect(tenant.activeCredentialID == nil)
    }

    @Test("the fence: verdicts for uploads not being verified are dropped; the first of an id counts")
    func fence() {
        var (tenant, ids) = Self.tenant([.pending, .rejected, .verifying])
        let taken = Life.record([
            .init(credentialID: ids[0], state: .verified, uriSetVersion: 2),
            .init(credentialID: ids[1], state: .verified, uriSetVersion: 2),
            .init(credentialID: ids[2], state: .rejected, uriSetVersion: 2),
            .init(credentialID: ids[2], state: .verified, uriSetVersion: 2),
            .init(credentialID: UUID(), state: .verified, uriSetVersion: 2),
        ], in: &tenant)
        #expect(taken == 1)
        #expect(Self.states(tenant, ids) == [.pending, .rejected, .rejected])
    }

    @Test("an upload moves the latest pointer forward only")
    func uploadPointer() {
        var (tenant, ids) = Self.tenant([.verified], active: 0)
        let older = Life.Upload(id: UUID(), uploadedAt: Self.t0.addingTimeInterval(-5), state: .pending)
        Life.upload(older, to: &tenant)
        #expect(tenant.latestCredentialID == ids[0])
        #expect(tenant.state == .verified)
        let newer = Life.Upload(id: UUID(), uploadedAt: Self.t0.addingTimeInterval(5), state: .pending)
        Life.upload(newer, to: &tenant)
        #expect(tenant.latestCredentialID == newer.id)
        #expect(tenant.state == .verifying)
        #expect(tenant.activeCredentialID == ids[0])
    }

    @Test("re-verification takes the active credential away until it passes again")
    func reverification() {
        var (tenant, ids) = Self.tenant([.verified], active: 0)
        #expect(Life.reverify(ids[0], in: &tenant))
        #expect(tenant.activeCredentialID == nil)
        #expect(tenant.state == .verifying)
        #expect(!Life.reverify(UUID(), in: &tenant))
    }

    @Test("a new URI set: no active credential, the newest upload back to pending")
    func newURISet() {
        var (tenant, ids) = Self.tenant([.superseded, .verified], active: 1)
        Life.issueURISet(version: 3, in: &tenant)
        #expect(tenant.activeCredentialID == nil)
        #expect(Self.states(tenant, ids) == [.superseded, .pending])
        #expect(tenant.currentURISetVersion == 3)
        #expect(tenant.state == .verifying)
    }

    @Test("tenant states in their order", arguments: [
        (Life.Tenant(suspended: true), TenantState.suspended),
        (Life.Tenant(), .awaitingURIs),
        (Life.Tenant(currentURISetVersion: 1), .awaitingUpload),
    ])
    func tenantStates(_ tenant: Life.Tenant, _ state: TenantState) {
        #expect(tenant.state == state)
    }

    @Test("requeue reasons: which reset attempts, which fence earlier claims")
    func requeueReasons() {
        #expect(Life.RequeueReason.allCases.filter(\.resetsAttempts) == [.upload, .reverification, .uriSetIssued])
        #expect(Life.RequeueReason.allCases.filter(\.fencesEarlierClaims) == [.reverification, .uriSetIssued, .leaseExpired])
    }
}
