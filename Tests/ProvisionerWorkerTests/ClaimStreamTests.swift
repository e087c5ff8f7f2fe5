import Foundation
import PostgresNIO
import ProvisionerDomain
import ProvisionerTestSupport
import ProvisionerWorker
import Synchronization
import Testing

/// The worker's claim loops (`WorkerConfiguration.claimStreams`): a backlog is claimed by every
/// loop at once, each within its `batchesInFlight`, and every upload still gets one verdict.
@Suite("Verification worker: claim loops")
struct ClaimStreamTests {
    /// Holds every live check until opened, so that claimed batches stay in hand and the
    /// batches a worker holds at once can be counted.
    final class GatedLiveCheck: LiveCheck {
        private let opened = Mutex(false)

        func open() { opened.withLock { $0 = true } }

        func check(_ credential: RuntimeCredential, redirectURI: String) async throws -> LiveCheckOutcome {
            while !opened.withLock({ $0 }) {
                try await Task.sleep(for: .milliseconds(5))
            }
            return .validPair
        }
    }

    @Test("a backlog is claimed by each claim loop, one batch in hand each, and verified once", arguments: [1, 2, 3])
    func backlogClaimedByEveryLoop(streams: Int) async throws {
        try await WorkerFixture.with { fixture in
            let tenants = [try await fixture.tenant("acme"), try await fixture.tenant("globex")]
            var ids: [UUID] = []
            for number in 0..<24 {
                let tenant = tenants[number % tenants.count]
                ids.append(try await fixture.upload(ClientFiles.clean(for: tenant.uriSet, clientID: ClientFiles.clientID(number)), to: tenant))
            }
            // Parked while the worker starts (each loop claims once as it starts, and finds
            // nothing due), then due at once: only the first loop is woken (by the poll
            // timer), and the others claim because it found more due than it took.
            try await fixture.client.query("UPDATE credentials SET next_attempt_at = now() + interval '1 hour'", logger: TestDatabase.logger)
            let uploads = ids
            let batch = 4
            // A claim with the live check on takes at most `liveCheckConcurrency` jobs.
            var configuration = WorkerFixture.testConfiguration(liveCheckConcurrency: batch)
            configuration.claimStreams = streams
            configuration.batchesInFlight = 1
            let gate = GatedLiveCheck()
            let verifying = "SELECT count(*)::int FROM credentials WHERE state = 'verifying'"
            try await fixture.running(fixture.makeWorker(configuration, liveCheck: gate)) {
                try await Task.sleep(for: .milliseconds(300))
                #expect(try await fixture.count(verifying) == 0)
                try await fixture.client.query("UPDATE credentials SET next_attempt_at = now()", logger: TestDatabase.logger)
                // Each loop claims one batch and waits for it.
                try await fixture.waitUntil("\(streams * batch) uploads in hand") {
                    try await fixture.count(verifying) == streams * batch
                }
                try await Task.sleep(for: .milliseconds(300))
                #expect(try await fixture.count(verifying) == streams * batch)
                gate.open()
                for id in uploads {
                    let row = try await fixture.waitForVerdict(id)
                    #expect(row.attempts == 1)
                }
            }
            #expect(try await fixture.count("SELECT count(*)::int FROM credentials WHERE state IN ('pending', 'verifying')") == 0)
            for tenant in tenants {
                #expect(try await fixture.tenantRow(tenant).state == .verified)
            }
        }
    }
}
