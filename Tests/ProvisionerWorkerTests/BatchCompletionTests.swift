import Foundation
import PostgresNIO
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Synchronization
import Testing

/// complete_verifications (migration 0008) records a whole batch with set-wide statements: the
/// verdicts of several jobs of one tenant must come out as if recorded one by one.
@Suite("Verification queue: one batch of verdicts", .timeLimit(.minutes(2)))
struct BatchCompletionTests {
    @Test("several jobs of one tenant in one batch: newest verified wins, older superseded, stale version left alone")
    func oneBatchManyJobsPerTenant() async throws {
        try await WorkerFixture.with { fixture in
            let queue = fixture.queue
            let acme = try await fixture.tenant("acme")
            let bravo = try await fixture.tenant("bravo")
            let globex = try await fixture.tenant("globex")
            func clean(_ tenant: WorkerFixture.Tenant, _ number: Int) -> [UInt8] {
                ClientFiles.clean(for: tenant.uriSet, clientID: ClientFiles.clientID(number))
            }
            func verified(_ id: UUID, _ tenant: WorkerFixture.Tenant, version: Int = 1) -> VerificationOutcome {
                VerificationOutcome(credentialID: id, version: version, state: .verified, findings: [], uriSetVersion: tenant.uriSet?.version)
            }
            func rejected(_ id: UUID, _ tenant: WorkerFixture.Tenant) -> VerificationOutcome {
                VerificationOutcome(
                    credentialID: id, version: 1, state: .rejected,
                    findings: [Finding(code: .redirectURIMissing)], uriSetVersion: tenant.uriSet?.version
                )
            }

            // Verified earlier, each its tenant's active credential.
            let acmeOld = try await fixture.upload(clean(acme, 1), to: acme)
            let globexOld = try await fixture.upload(clean(globex, 2), to: globex)
            #expect(Set(try await queue.claim(limit: 10, lease: .seconds(30), workerID: "w").map(\.credentialID)) == [acmeOld, globexOld])
            #expect(try await queue.complete([verified(acmeOld, acme), verified(globexOld, globex)]) == 2)
            try await expectTenant(fixture, acme, .verified, active: acmeOld)
            try await expectTenant(fixture, globex, .verified, active: globexOld)

            // Then, oldest first: four uploads of acme, two of bravo, one of globex, claimed at once.
            let a1 = try await fixture.upload(clean(acme, 11), to: acme)
            let a2 = try await fixture.upload(clean(acme, 12), to: acme)
            let a3 = try await fixture.upload(clean(acme, 13), to: acme)
            let a4 = try await fixture.upload(clean(acme, 14), to: acme)
            let b1 = try await fixture.upload(clean(bravo, 21), to: bravo)
            let b2 = try await fixture.upload(clean(bravo, 22), to: bravo)
            let g1 = try await fixture.upload(clean(globex, 31), to: globex)
            let claimed = try await queue.claim(limit: 50, lease: .seconds(30), workerID: "w")
            #expect(Set(claimed.map(\.credentialID)) == [a1, a2, a3, a4, b1, b2, g1])
            #expect(claimed.allSatisfy { $0.version == 1 })
            // a4 is asked again while its first verification runs: its verdict for version 1 is stale.
            try await fixture.reverify(a4, of: acme)

            // One batch, in no particular order (the function takes its locks in its own order).
            let recorded = try await queue.complete([
                verified(a1, acme), rejected(g1, globex), verified(b1, bravo), verified(a4, acme),
                rejected(a3, acme), verified(b2, bravo), verified(a2, acme),
            ])
            #expect(recorded == 6)

            // acme: a2 (newer than a1) is verified and active; a1 and the earlier acmeOld are
            // superseded; a3 rejected; a4 untouched (pending at version 2), so acme is verifying.
            #expect(try await fixture.credential(a2).state == .verified)
            #expect(try await fixture.credential(a1).state == .superseded)
            #expect(try await fixture.credential(acmeOld).state == .superseded)
            let acmeRejected = try await fixture.credential(a3)
            #expect(acmeRejected.state == .rejected)
            #expect(acmeRejected.codes == [.redirectURIMissing])
            let stale = try await fixture.credential(a4)
            #expect(stale.state == .pending)
            #expect(stale.version == 2)
            #expect(stale.verifiedAt == nil)
            try await expectTenant(fixture, acme, .verifying, active: a2)

            // bravo: both verified in the same batch, the newer one wins.
            #expect(try await fixture.credential(b2).state == .verified)
            #expect(try await fixture.credential(b1).state == .superseded)
            #expect(try await fixture.credential(b1).uriSetVersion == bravo.uriSet?.version)
            try await expectTenant(fixture, bravo, .verified, active: b2)

            // globex: its newest upload rejected; the earlier verified one stays active.
            #expect(try await fixture.credential(g1).state == .rejected)
            #expect(try await fixture.credential(globexOld).state == .verified)
            try await expectTenant(fixture, globex, .rejected, active: globexOld)

            // Leases are cleared on what was recorded; the dashboard's per-state counts still
            // add up to the tenants' states (one statement changed three tenants).
            #expect(try await fixture.count("SELECT count(*) FROM credentials WHERE claimed_by IS NOT NULL OR lease_expires_at IS NOT NULL") == 0)
            #expect(try await fixture.count(
                """
                SELECT count(*) FROM (SELECT state, count(*) AS n FROM tenants GROUP BY state) t
                FULL JOIN (SELECT state, sum(n) AS n FROM tenant_state_counts GROUP BY state HAVING sum(n) <> 0) c USING (state)
                WHERE t.n IS DISTINCT FROM c.n
                """
            ) == 0)

            // The same batch again records nothing: every job has its verdict.
            #expect(try await queue.complete([verified(a2, acme), verified(b2, bravo), rejected(g1, globex)]) == 0)

            // a4's second request: a verdict for version 2 makes it the newest verified, and active.
            #expect(try await queue.claim(limit: 10, lease: .seconds(30), workerID: "w").map(\.credentialID) == [a4])
            #expect(try await queue.complete([verified(a4, acme, version: 2)]) == 1)
            #expect(try await fixture.credential(a2).state == .superseded)
            try await expectTenant(fixture, acme, .verified, active: a4)
        }
    }

    @Test("a verdict that passes while a newer upload of its tenant is verified ends superseded at once")
    func passesBehindNewerVerified() async throws {
        try await WorkerFixture.with { fixture in
            let queue = fixture.queue
            let acme = try await fixture.tenant("acme")
            let older = try await fixture.upload(ClientFiles.clean(for: acme.uriSet, clientID: ClientFiles.clientID(1)), to: acme)
            let newer = try await fixture.upload(ClientFiles.clean(for: acme.uriSet, clientID: ClientFiles.clientID(2)), to: acme)
            _ = try await queue.claim(limit: 10, lease: .seconds(30), workerID: "w")
            // The newer one first, alone; then the older one in a batch of its own.
            #expect(try await queue.complete([
                VerificationOutcome(credentialID: newer, version: 1, state: .verified, findings: [], uriSetVersion: acme.uriSet?.version),
            ]) == 1)
            #expect(try await queue.complete([
                VerificationOutcome(credentialID: older, version: 1, state: .verified, findings: [], uriSetVersion: acme.uriSet?.version),
            ]) == 1)
            #expect(try await fixture.credential(older).state == .superseded)
            #expect(try await fixture.credential(newer).state == .verified)
            try await expectTenant(fixture, acme, .verified, active: newer)
        }
    }

    @Test("a batch over many tenants is recorded in lanes that share no tenant, with the same verdicts as one statement")
    func aBatchRecordedInLanes() async throws {
        try await WorkerFixture.with { fixture in
            var tenants: [WorkerFixture.Tenant] = []
            for index in 0..<12 { tenants.append(try await fixture.tenant("lanes-\(index)")) }
            // Three clean uploads per tenant, all due before the worker starts: one batch.
            var uploads: [(tenant: WorkerFixture.Tenant, ids: [UUID])] = []
            for (index, tenant) in tenants.enumerated() {
                var ids: [UUID] = []
                for number in 0..<3 {
                    ids.append(try await fixture.upload(
                        ClientFiles.clean(for: tenant.uriSet, clientID: ClientFiles.clientID(100 + index * 10 + number)), to: tenant
                    ))
                }
                uploads.append((tenant, ids))
            }
            var configuration = WorkerFixture.testConfiguration()
            configuration.completionLanes = 2
            configuration.completionLaneTenants = 1
            let statements = Mutex<[Set<UUID>]>([])
            let tenantOf = Dictionary(uniqueKeysWithValues: uploads.flatMap { upload in upload.ids.map { ($0, upload.tenant.id) } })
            let worker = fixture.makeWorker(configuration) { submitted, _ in
                statements.withLock { $0.append(Set(submitted.compactMap { tenantOf[$0.credentialID] })) }
            }
            try await fixture.running(worker) {
                try await fixture.waitUntil("every upload has its verdict") {
                    try await fixture.count("SELECT count(*)::int FROM credentials WHERE state IN ('pending', 'verifying')") == 0
                }
            }
            // One statement per lane that has tenants (two, unless all 12 ids fell in one lane:
            // 1 in 2,048), whose tenants do not overlap, and every tenant in one of them.
            let recorded = statements.withLock { $0 }
            let lanes = Set(tenants.map { Int($0.id.uuid.15) % 2 }).count
            #expect(recorded.count == lanes)
            #expect(recorded.reduce(0) { $0 + $1.count } == tenants.count)
            #expect(recorded.reduce(Set<UUID>()) { $0.union($1) } == Set(tenants.map(\.id)))
            // As one statement would have it: the newest upload verified and active, the others superseded.
            for (tenant, ids) in uploads {
                #expect(try await fixture.credential(ids[2]).state == .verified)
                #expect(try await fixture.credential(ids[0]).state == .superseded)
                #expect(try await fixture.credential(ids[1]).state == .superseded)
                try await expectTenant(fixture, tenant, .verified, active: ids[2])
            }
        }
    }

    func expectTenant(
        _ fixture: WorkerFixture, _ tenant: WorkerFixture.Tenant, _ state: TenantState, active: UUID?,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let row = try await fixture.tenantRow(tenant)
        #expect(row.state == state, "\(tenant.slug)", sourceLocation: sourceLocation)
        #expect(row.activeCredentialID == active, "\(tenant.slug)", sourceLocation: sourceLocation)
    }
}
