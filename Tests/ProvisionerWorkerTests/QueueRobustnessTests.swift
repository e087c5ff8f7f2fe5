import Foundation
import PostgresNIO
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import ProvisionerWorker
import Synchronization
import Testing

/// Crashes, retries, poison, concurrency and shutdown: every upload still reaches one verdict.
@Suite("Verification worker: robustness", .timeLimit(.minutes(3)))
struct QueueRobustnessTests {
    @Test("a lease abandoned by a crashed worker is rescued and the upload verified")
    func expiredLeaseRescued() async throws {
        try await WorkerFixture.with { fixture in
            let acme = try await fixture.tenant("acme")
            let id = try await fixture.upload(ClientFiles.clean(for: acme.uriSet), to: acme)
            // A worker claims it and dies before recording anything.
            let claimed = try await fixture.queue.claim(limit: 10, lease: .milliseconds(300), workerID: "crashed")
            #expect(claimed.map(\.credentialID) == [id])
            #expect(try await fixture.credential(id).state == .verifying)

            try await fixture.running(fixture.makeWorker()) {
                let row = try await fixture.waitForVerdict(id)
                #expect(row.state == .verified)
                #expect(row.attempts == 2)
            }
        }
    }

    @Test("a worker whose lease was rescued cannot record a late verdict over the next claim")
    func lateVerdictAfterRescueIsDropped() async throws {
        try await WorkerFixture.with { fixture in
            let acme = try await fixture.tenant("acme")
            let id = try await fixture.upload(ClientFiles.clean(for: acme.uriSet), to: acme)
            // A slow worker's lease runs out; the rescuer requeues the job and another claims it.
            let slow = try #require(try await fixture.queue.claim(limit: 10, lease: .milliseconds(100), workerID: "slow").first)
            try await Task.sleep(for: .milliseconds(150))
            #expect(try await fixture.queue.rescueExpiredLeases(maxAttempts: 5).requeued == 1)
            let next = try #require(try await fixture.queue.claim(limit: 10, lease: .seconds(30), workerID: "next").first)
            #expect(next.version > slow.version)

            // The slow worker wakes up with its verdict, then with a retry: both are dropped.
            let late = VerificationOutcome(
                credentialID: id, version: slow.version, state: .rejected,
                findings: [Finding(code: .redirectURIMissing)], uriSetVersion: acme.uriSet?.version
            )
            #expect(try await fixture.queue.complete([late]) == 0)
            try await fixture.queue.retry(credentialID: id, version: slow.version, notBefore: Date(), error: "late")
            #expect(try await fixture.credential(id).state == .verifying)

            let current = VerificationOutcome(credentialID: id, version: next.version, state: .verified, findings: [], uriSetVersion: acme.uriSet?.version)
            #expect(try await fixture.queue.complete([current]) == 1)
            #expect(try await fixture.credential(id).state == .verified)
        }
    }

    @Test("a lease that expires on the last attempt ends rejected with verification_failed")
    func exhaustedLeaseRejected() async throws {
        try await WorkerFixture.with { fixture in
            let acme = try await fixture.tenant("acme")
            let id = try await fixture.upload(ClientFiles.clean(for: acme.uriSet), to: acme)
            // Two workers claim it in turn and die; the second time was its last attempt.
            _ = try await fixture.queue.claim(limit: 10, lease: .milliseconds(100), workerID: "crashed-1")
            try await Task.sleep(for: .milliseconds(150))
            #expect(try await fixture.queue.rescueExpiredLeases(maxAttempts: 2).requeued == 1)
            _ = try await fixture.queue.claim(limit: 10, lease: .milliseconds(100), workerID: "crashed-2")
            try await Task.sleep(for: .milliseconds(150))
            try await fixture.running(fixture.makeWorker(WorkerFixture.testConfiguration(maxAttempts: 2))) {
                let row = try await fixture.waitForVerdict(id)
                #expect(row.state == .rejected)
                #expect(row.codes == [.verificationFailed])
                #expect(try await fixture.tenantRow(acme).state == .rejected)
            }
        }
    }

    @Test("a file sealed under an unknown key is retried with backoff, then rejected with verification_failed")
    func unknownKeyRetriedThenRejected() async throws {
        try await WorkerFixture.with { fixture in
            let acme = try await fixture.tenant("acme")
            let foreign = WorkerFixture.makeSealer(keyID: "retired")
            let id = try await fixture.upload(ClientFiles.clean(for: acme.uriSet), to: acme, sealer: foreign)
            let healthy = try await fixture.upload(ClientFiles.clean(for: acme.uriSet, clientID: ClientFiles.clientID(7)), to: acme)
            try await fixture.running(fixture.makeWorker(WorkerFixture.testConfiguration(maxAttempts: 3))) {
                let row = try await fixture.waitForVerdict(id)
                #expect(row.state == .rejected)
                #expect(row.codes == [.verificationFailed])
                #expect(row.attempts == 3)
                #expect(try await fixture.waitForVerdict(healthy).state == .verified)
            }
        }
    }

    @Test("a tampered sealed file (moved to another row) is a job failure, not a worker failure")
    func tamperedFile() async throws {
        try await WorkerFixture.with { fixture in
            let acme = try await fixture.tenant("acme")
            let donor = try await fixture.upload(ClientFiles.clean(for: acme.uriSet), to: acme)
            let victim = try await fixture.upload(ClientFiles.clean(for: acme.uriSet), to: acme)
            _ = try await fixture.client.query(
                """
                UPDATE credentials SET sealed_file = (SELECT sealed_file FROM credentials WHERE id = \(donor)), state = 'pending'
                WHERE id = \(victim)
                """,
                logger: WorkerFixture.logger
            )
            try await fixture.running(fixture.makeWorker(WorkerFixture.testConfiguration(maxAttempts: 2))) {
                let row = try await fixture.waitForVerdict(victim)
                #expect(row.state == .rejected)
                #expect(row.codes == [.verificationFailed])
                #expect(try await fixture.credential(donor).state == .verified)
            }
        }
    }

    @Test("poison input gets a verdict and the worker goes on")
    func poisonInput() async throws {
        try await WorkerFixture.with { fixture in
            let acme = try await fixture.tenant("acme")
            var generator = SystemRandomNumberGenerator()
            let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
            let deepObject = String(repeating: "{\"web\":", count: 5_000) + "1" + String(repeating: "}", count: 5_000)
            // (client_id stays under PostgreSQL's b-tree entry limit: it is indexed.)
            let huge = "{\"web\":{\"client_id\":\"" + String(repeating: "9", count: 2_000) + "\",\"client_secret\":\"" +
                String(repeating: "s", count: 1_000_000) + "\",\"project_id\":\"" + String(repeating: "p", count: 100_000) + "\",\"redirect_uris\":[" +
                Array(repeating: "\"https://" + String(repeating: "a", count: 1000) + ".com/\"", count: 2000).joined(separator: ",") + "]}}"
            let poisons: [[UInt8]] = [
                (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) },
                [],
                [0xEF, 0xBB, 0xBF],
                Array(deep.utf8),
                Array(deepObject.utf8),
                Array(huge.utf8),
                Array("{\"web\":{\"client_id\":\"\u{0}\u{1}\",\"client_secret\":\"\\ud800\"}}".utf8),
                [0xC3, 0x28, 0xA0, 0xA1, 0xF0, 0x28, 0x8C, 0xBC],
                Array("{\"web\":null,\"installed\":{}}".utf8),
                Array("{\"web\":{\"redirect_uris\":\"not a list\",\"javascript_origins\":[1,2,{},[]]}}".utf8),
                Array("1e999999999".utf8),
            ]
            try await fixture.running(fixture.makeWorker()) {
                var ids: [UUID] = []
                for poison in poisons {
                    ids.append(try await fixture.upload(poison, to: acme))
                }
                for id in ids {
                    let row = try await fixture.waitForVerdict(id)
                    #expect(row.state == .rejected)
                    #expect(!row.codes.contains(.verificationFailed))
                }
                // Still working.
                let clean = try await fixture.upload(ClientFiles.clean(for: acme.uriSet), to: acme)
                #expect(try await fixture.waitForVerdict(clean).state == .verified)
            }
        }
    }

    /// JSON allows "\u0000", PostgreSQL's text and jsonb do not: a file holding it in the
    /// fields that end up in findings or in the summary must still get its verdict, and must
    /// not hold back the other verdicts of its batch (another tenant's).
    @Test("U+0000 in a file: its verdict is stored, the batch's other verdicts too")
    func nulInAFileDoesNotPoisonTheBatch() async throws {
        try await WorkerFixture.with { fixture in
            let evil = try await fixture.tenant("evil")
            let good = try await fixture.tenant("good")
            let nul = "\\u0000"
            let files = [
                #"{"web":{"client_id":"1-a\#(nul).apps.googleusercontent.com","project_id":"p\#(nul)","auth_uri":"https://accounts.google.com/o/oauth2/auth\#(nul)","token_uri":"https://oauth2.googleapis.com/token\#(nul)","client_secret":"GOCSPX-abc\#(nul)","redirect_uris":["https://evil\#(nul).example.com/cb"],"javascript_origins":["https://\#(nul)"]}}"#,
                #"{"web":{"client_id":"\#(nul)","redirect_uris":["\#(nul)"]}}"#,
                #"{"\#(nul)":{}}"#,
            ]
            var evilIDs: [UUID] = []
            for file in files { evilIDs.append(try await fixture.upload(Array(file.utf8), to: evil)) }
            var goodIDs: [UUID] = []
            for _ in 0..<10 { goodIDs.append(try await fixture.upload(ClientFiles.clean(for: good.uriSet), to: good)) }
            let (evilUploads, goodUploads) = (evilIDs, goodIDs)
            // Everything is queued before the worker starts: one batch holds both tenants.
            try await fixture.running(fixture.makeWorker()) {
                for id in goodUploads {
                    let row = try await fixture.waitForVerdict(id)
                    #expect(row.state == .verified || row.state == .superseded, "\(row.state) \(row.codes)")
                    #expect(row.attempts == 1)
                }
                for id in evilUploads {
                    let row = try await fixture.waitForVerdict(id)
                    #expect(row.state == .rejected)
                    #expect(!row.codes.contains(.verificationFailed), "\(row.codes)")
                    #expect(row.attempts == 1)
                }
                let first = try await fixture.credential(evilUploads[0])
                #expect(first.findings.contains { ($0.value ?? "").contains("\\u0000") }, "\(first.findings)")
            }
            #expect(try await fixture.tenantRow(good).state == .verified)
        }
    }

    /// Concurrent uploads commit in any order; the tenant's latest upload (and so its state)
    /// must still be the newest by (uploaded_at, id), the order of every list.
    @Test("concurrent uploads: the tenant follows its newest upload")
    func concurrentUploadsKeepTheNewest() async throws {
        try await WorkerFixture.with { fixture in
            let good = try await fixture.tenant("good")
            for round in 0..<4 {
                let ids = try await withThrowingTaskGroup(of: UUID.self) { group in
                    // As many as the fixture's pool has connections, so none waits for one past
                    // the store's deadline when the whole suite runs in parallel.
                    for _ in 0..<8 {
                        group.addTask { try await fixture.upload(ClientFiles.clean(for: good.uriSet), to: good) }
                    }
                    var made: [UUID] = []
                    for try await id in group { made.append(id) }
                    return made
                }
                #expect(ids.count == 8)
                let pointerIsNewest = try await fixture.count("""
                    SELECT count(*)::int8 FROM tenants t
                    WHERE t.id = '\(good.id)' AND t.latest_credential_id = (
                        SELECT id FROM credentials WHERE tenant_id = t.id ORDER BY uploaded_at DESC, id DESC LIMIT 1)
                    """)
                #expect(pointerIsNewest == 1, "round \(round)")
                try await fixture.running(fixture.makeWorker()) {
                    for id in ids { _ = try await fixture.waitForVerdict(id) }
                }
                let tenant = try await fixture.tenantRow(good)
                #expect(tenant.state == .verified, "round \(round)")
                let newest = try await fixture.count("""
                    SELECT count(*)::int8 FROM tenants t
                    WHERE t.id = '\(good.id)' AND t.active_credential_id = (
                        SELECT id FROM credentials WHERE tenant_id = t.id ORDER BY uploaded_at DESC, id DESC LIMIT 1)
                    """)
                #expect(newest == 1, "round \(round): the active credential is the newest upload")
            }
        }
    }

    @Test("two workers on one queue: every upload gets exactly one verdict")
    func twoWorkers() async throws {
        try await WorkerFixture.with { fixture in
            var made: [WorkerFixture.Tenant] = []
            for index in 0..<20 {
                made.append(try await fixture.tenant("tenant-\(index)"))
            }
            let tenants = made
            let ledger = CompletionLedger()
            let workers = (1...2).map { number in
                fixture.makeWorker(
                    WorkerFixture.testConfiguration(workerID: "worker-\(number)", batchSize: 25),
                    onCompleted: ledger.observer
                )
            }
            let ids = try await fixture.running(workers) {
                // Uploads from several tasks at once while both workers run.
                try await withThrowingTaskGroup(of: [UUID].self) { group in
                    for (index, tenant) in tenants.enumerated() {
                        group.addTask {
                            var ids: [UUID] = []
                            for upload in 0..<20 {
                                let bytes = upload % 5 == 4
                                    ? ClientFiles.severalProblems(for: tenant.uriSet!)
                                    : ClientFiles.clean(for: tenant.uriSet, clientID: ClientFiles.clientID(index * 100 + upload))
                                ids.append(try await fixture.upload(bytes, to: tenant))
                            }
                            return ids
                        }
                    }
                    var all: [UUID] = []
                    for try await ids in group { all += ids }
                    try await fixture.waitUntil(timeout: .seconds(30), "the queue to drain") {
                        try await fixture.count("SELECT count(*)::int8 FROM credentials WHERE state IN ('pending', 'verifying')") == 0
                    }
                    return all
                }
            }.result
            #expect(ids.count == 400)
            let submitted = ledger.submitted
            #expect(submitted.count == 400)
            #expect(submitted.values.allSatisfy { $0 == 1 })
            #expect(ledger.recorded == 400)
            // Per tenant: the newest clean upload is active, every other clean one superseded.
            for tenant in tenants {
                let active = try await fixture.tenantRow(tenant).activeCredentialID
                #expect(active != nil)
                let verified = try await fixture.count(
                    "SELECT count(*)::int8 FROM credentials WHERE tenant_id = '\(tenant.id.uuidString.lowercased())' AND state = 'verified'"
                )
                #expect(verified == 1)
            }
            #expect(try await fixture.count("SELECT count(*)::int8 FROM credentials WHERE state = 'superseded'") == 20 * 15)
            #expect(try await fixture.count("SELECT count(*)::int8 FROM credentials WHERE state = 'rejected'") == 20 * 4)
        }
    }

    @Test("the listener reconnects after losing its connection")
    func listenerReconnects() async throws {
        try await WorkerFixture.with { fixture in
            let acme = try await fixture.tenant("acme")
            // Polling only every minute: a prompt verdict can only come from a notification.
            let worker = fixture.makeWorker(WorkerFixture.testConfiguration(pollInterval: .seconds(60), rescueInterval: .seconds(60)))
            try await fixture.running(worker) {
                let first = try await fixture.upload(ClientFiles.clean(for: acme.uriSet), to: acme)
                #expect(try await fixture.waitForVerdict(first, timeout: .seconds(5)).state == .verified)

                try await TestDatabase.withClient(fixture.url, purpose: .owner) { owner in
                    try await fixture.waitUntil("the listener to be terminated") {
                        let rows = try await owner.query(
                            """
                            SELECT count(pg_terminate_backend(pid))::int8 FROM pg_stat_activity
                            WHERE datname = current_database() AND application_name LIKE 'provisioner-listen:%'
                            """,
                            logger: WorkerFixture.logger
                        )
                        for try await count in rows.decode(Int.self) { return count > 0 }
                        return false
                    }
                }
                try await Task.sleep(for: .milliseconds(500))
                let second = try await fixture.upload(ClientFiles.clean(for: acme.uriSet, clientID: ClientFiles.clientID(3)), to: acme)
                #expect(try await fixture.waitForVerdict(second, timeout: .seconds(5)).state == .verified)
            }
        }
    }

    @Test("graceful shutdown is prompt and gives back what is in hand")
    func gracefulShutdownReleases() async throws {
        try await WorkerFixture.with { fixture in
            let acme = try await fixture.tenant("acme")
            let hanging = HangingLiveCheck()
            let worker = fixture.makeWorker(
                WorkerFixture.testConfiguration(shutdownGracePeriod: .milliseconds(500)), liveCheck: hanging
            )
            let id = try await fixture.upload(ClientFiles.clean(for: acme.uriSet), to: acme)
            let (_, shutdown) = try await fixture.running([worker]) {
                try await fixture.waitUntil("the live check to start") { hanging.started }
            }
            #expect(shutdown < .seconds(3))
            let row = try await fixture.credential(id)
            #expect(row.state == .pending)
            #expect(row.attempts == 0)
        }
    }

    /// Alone it stops in about a millisecond; under a full parallel run on two cores a
    /// connection being set up when the shutdown comes has taken over a second. The grace
    /// period is long here, so that a worker waiting for it instead of stopping still fails.
    @Test("an idle worker stops at once, not after its grace period")
    func idleShutdown() async throws {
        try await WorkerFixture.with { fixture in
            let worker = fixture.makeWorker(WorkerFixture.testConfiguration(shutdownGracePeriod: .seconds(30)))
            let (_, shutdown) = try await fixture.running([worker]) {
                try await Task.sleep(for: .milliseconds(300))
            }
            #expect(shutdown < .seconds(5))
        }
    }
}

/// A live check that never answers until cancelled.
final class HangingLiveCheck: LiveCheck, Sendable {
    private let state = Synchronization.Mutex(false)
    var started: Bool { state.withLock { $0 } }

    func check(_ credential: RuntimeCredential, redirectURI: String) async throws -> LiveCheckOutcome {
        state.withLock { $0 = true }
        try await Task.sleep(for: .seconds(3600))
        return .validPair
    }
}
