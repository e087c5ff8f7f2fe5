import Foundation
import PostgresNIO
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import ProvisionerWorker
import Testing

/// Webhook deliveries shared between workers, and endpoints that do not hold each other up.
@Suite(.serialized) struct WebhookConcurrencyTests {
    @Test func aSlowEndpointDoesNotDelayAnother() async throws {
        try await WorkerFixture.with { fixture in
            // "slow" answers after 5 s, past the 1 s timeout; "fast" at once.
            try await WebhookReceiver.with({ delivery, _ in
                delivery.path.hasSuffix("/slow") ? .init(status: 200, delay: .seconds(5)) : .init(status: 200)
            }) { receiver in
                let slow = try await fixture.webhookEndpoint(url: receiver.url("slow"), secret: .generate())
                let fast = try await fixture.webhookEndpoint(url: receiver.url("fast"), secret: .generate())
                var tenants: [WorkerFixture.Tenant] = []
                for index in 0..<40 { tenants.append(try await fixture.tenant("slowfast-\(index)", issue: false)) }
                // 40 tenants x 2 events for each endpoint: more than the slow one's 4 slots.
                try await fixture.recordEvents(tenants: tenants, perTenant: 2)
                // The fast endpoint's 80 take 20 rounds of its 4 slots: held up by the slow one's
                // timeouts, that would be 20 s or more; on its own, 1-4 s in a debug build under
                // the whole suite's load (a 4 s bound with a 500 ms timeout failed once at 4.07 s).
                let configuration = WorkerFixture.webhookConfiguration(delays: "10s", timeout: .seconds(1), perEndpointInFlight: 4)
                let clock = ContinuousClock()
                let started = clock.now
                try await fixture.dispatching([fixture.makeDispatcher(configuration)]) {
                    try await fixture.waitUntil(timeout: .seconds(20), "the fast endpoint has all 80") {
                        try await fixture.deliveryRows(endpoint: fast).allSatisfy { $0.status == "succeeded" }
                    }
                    let elapsed = started.duration(to: clock.now)
                    #expect(elapsed < .seconds(10), "the fast endpoint took \(elapsed)")
                }
                // The slow one had its 4 requests open, and no more. A request is open from its
                // attempt's start until its 1 s timeout, and only then may another start, so any
                // 600 ms holds at most 4 arrivals (the 400 ms left cover the time from an
                // attempt's start to its arrival). Counted at the receiver, not from the leases:
                // a timed-out attempt stays leased until its result is recorded, while its slot
                // is already free.
                let arrivals = receiver.deliveries.filter { $0.path.hasSuffix("/slow") }.map(\.receivedAt).sorted()
                let mostOpen = arrivals.indices.map { first in
                    arrivals[first...].prefix { arrivals[first].duration(to: $0) < .milliseconds(600) }.count
                }.max() ?? 0
                #expect(mostOpen == 4, "at most \(mostOpen) requests to the slow endpoint in 600 ms")
                let slowRows = try await fixture.deliveryRows(endpoint: slow)
                #expect(slowRows.filter { $0.attempt > 0 }.allSatisfy { $0.status == "pending" })
                #expect(slowRows.contains { $0.lastError?.contains("no answer") == true })
            }
        }
    }

    /// A slow endpoint's backlog ahead of everything in the due order (more rows than one
    /// claim scans) must not starve the endpoint whose deliveries come after it.
    @Test func aSlowEndpointsBacklogDoesNotStarveTheEndpointsBehindIt() async throws {
        try await WorkerFixture.with { fixture in
            try await WebhookReceiver.with({ delivery, _ in
                delivery.path.hasSuffix("/slow") ? .init(status: 200, delay: .seconds(5)) : .init(status: 200)
            }) { receiver in
                try await fixture.webhookEndpoint(url: receiver.url("slow"), secret: .generate())
                let tenants = try await fixture.bulkTenants(1200)
                try await fixture.recordEvents(tenants: tenants, perTenant: 1)
                let fast = try await fixture.webhookEndpoint(url: receiver.url("fast"), secret: .generate())
                try await fixture.recordEvents(tenants: Array(tenants.prefix(10)), perTenant: 1)
                let configuration = WorkerFixture.webhookConfiguration(delays: "10s", timeout: .milliseconds(500), perEndpointInFlight: 4)
                try await fixture.dispatching([fixture.makeDispatcher(configuration)]) {
                    try await fixture.waitUntil(timeout: .seconds(5), "the fast endpoint has its 10") {
                        try await fixture.deliveryRows(endpoint: fast).allSatisfy { $0.status == "succeeded" }
                    }
                }
                #expect(receiver.deliveries(to: "fast").count == 10)
            }
        }
    }

    /// A huge body, a body trickled byte by byte, an answer that never comes, a redirect loop:
    /// each attempt ends within the timeout and holds no lease past it.
    @Test func aHostileReceiverCostsBoundedTime() async throws {
        try await WorkerFixture.with { fixture in
            try await WebhookReceiver.with({ delivery, _ in
                switch delivery.path {
                case "/hooks/huge": .init(status: 200, body: .huge(bytes: 32 << 20))
                case "/hooks/trickle": .init(status: 200, body: .trickle(every: .milliseconds(100), count: 200))
                case "/hooks/silent": .init(status: 200, delay: .seconds(4))
                default: .init(status: 307)  // to /target, which would redirect again if followed
                }
            }) { receiver in
                var endpoints: [String: UUID] = [:]
                for name in ["huge", "trickle", "silent", "loop"] {
                    endpoints[name] = try await fixture.webhookEndpoint(url: receiver.url(name), secret: .generate())
                }
                _ = try await fixture.tenant("hostile")
                let configuration = WorkerFixture.webhookConfiguration(delays: "30s", timeout: .seconds(1))
                let clock = ContinuousClock()
                let started = clock.now
                try await fixture.dispatching([fixture.makeDispatcher(configuration)]) {
                    try await fixture.waitUntil(timeout: .seconds(10), "every endpoint had its attempt recorded") {
                        try await fixture.count(
                            "SELECT count(*)::int FROM webhook_deliveries WHERE attempted_at IS NOT NULL AND lease_expires_at IS NULL"
                        ) == 4
                    }
                }
                #expect(started.duration(to: clock.now) < .seconds(4))
                let huge = try #require(try await fixture.deliveryRows(endpoint: endpoints["huge"]!).first)
                #expect(huge.status == "succeeded" && huge.responseStatus == 200)
                // The status came in time: counted, however slowly the body follows.
                let trickle = try #require(try await fixture.deliveryRows(endpoint: endpoints["trickle"]!).first)
                #expect(trickle.status == "succeeded" && trickle.responseStatus == 200)
                let silent = try #require(try await fixture.deliveryRows(endpoint: endpoints["silent"]!).first)
                #expect(silent.status == "pending" && silent.responseStatus == nil && silent.lastError != nil)
                let loop = try #require(try await fixture.deliveryRows(endpoint: endpoints["loop"]!).first)
                #expect(loop.status == "pending" && loop.responseStatus == 307)
                #expect(receiver.targetHits == 0)
            }
        }
    }

    @Test func aClaimKeepsEachEndpointWithinItsShareAcrossWorkers() async throws {
        try await WorkerFixture.with { fixture in
            let endpoint = try await fixture.webhookEndpoint(url: "http://127.0.0.1:9/hooks/share", secret: .generate())
            var tenants: [WorkerFixture.Tenant] = []
            for index in 0..<20 { tenants.append(try await fixture.tenant("cap-\(index)", issue: false)) }
            try await fixture.recordEvents(tenants: tenants, perTenant: 2)
            let queue = fixture.webhookQueue
            let first = try await queue.claim(workerID: "a", limit: 256, lease: .seconds(30), perEndpointInFlight: 8, maxAttempts: 8)
            #expect(first.deliveries.count == 8)
            // Another worker: the endpoint's share is taken.
            let second = try await queue.claim(workerID: "b", limit: 256, lease: .seconds(30), perEndpointInFlight: 8, maxAttempts: 8)
            #expect(second.deliveries.isEmpty)
            // One tenant's second event waits for its first: at most one per tenant.
            #expect(Set(first.deliveries.map(\.tenantID)).count == 8)
            #expect(first.sharesFull && second.sharesFull)
            _ = endpoint
        }
    }

    /// `sharesFull` is false while an endpoint has room, and true when no endpoint is enabled.
    @Test func aClaimSaysWhetherEveryShareIsFull() async throws {
        try await WorkerFixture.with { fixture in
            let endpoint = try await fixture.webhookEndpoint(url: "http://127.0.0.1:9/hooks/room", secret: .generate())
            var tenants: [WorkerFixture.Tenant] = []
            for index in 0..<3 { tenants.append(try await fixture.tenant("room-\(index)", issue: false)) }
            try await fixture.recordEvents(tenants: tenants, perTenant: 1)
            let queue = fixture.webhookQueue
            let first = try await queue.claim(workerID: "a", limit: 256, lease: .seconds(30), perEndpointInFlight: 8, maxAttempts: 8)
            #expect(first.deliveries.count == 3 && !first.sharesFull && !first.moreDue)
            #expect(first.deliveries.allSatisfy { $0.endpointID == endpoint && $0.attempt == 1 && $0.claimedBy == "a" })
            // Nothing left to claim, and room left: not full.
            let empty = try await queue.claim(workerID: "a", limit: 256, lease: .seconds(30), perEndpointInFlight: 8, maxAttempts: 8)
            #expect(empty.deliveries.isEmpty && !empty.sharesFull)
            _ = try await fixture.client.query(
                "UPDATE webhook_endpoints SET enabled = false, disabled_reason = 'gone', disabled_at = now()", logger: TestDatabase.logger
            )
            let none = try await queue.claim(workerID: "a", limit: 256, lease: .seconds(30), perEndpointInFlight: 8, maxAttempts: 8)
            #expect(none.deliveries.isEmpty && none.sharesFull)
        }
    }

    @Test func answeredDeliveriesLeaveTheShareButKeepTheirTenantsOrder() async throws {
        try await WorkerFixture.with { fixture in
            _ = try await fixture.webhookEndpoint(url: "http://127.0.0.1:9/hooks/answered", secret: .generate())
            var tenants: [WorkerFixture.Tenant] = []
            for index in 0..<20 { tenants.append(try await fixture.tenant("answered-\(index)", issue: false)) }
            try await fixture.recordEvents(tenants: tenants, perTenant: 2)
            let queue = fixture.webhookQueue
            let first = try await queue.claim(workerID: "a", limit: 256, lease: .seconds(30), perEndpointInFlight: 8, maxAttempts: 8)
            #expect(first.deliveries.count == 8 && first.sharesFull)
            // Three answered, their results not yet recorded: three requests are open no more.
            let answered = first.deliveries.prefix(3).map(\.id)
            let next = try await queue.claim(
                workerID: "a", limit: 256, lease: .seconds(30), perEndpointInFlight: 8, maxAttempts: 8, answered: answered
            )
            #expect(next.deliveries.count == 3 && next.sharesFull)
            // Still pending, so their tenants' second events wait: none of the first tenants again.
            #expect(Set(next.deliveries.map(\.tenantID)).isDisjoint(with: first.deliveries.map(\.tenantID)))
            // Another worker's answers are not this one's to count: its share stays full.
            let other = try await queue.claim(
                workerID: "b", limit: 256, lease: .seconds(30), perEndpointInFlight: 8, maxAttempts: 8, answered: answered
            )
            #expect(other.deliveries.isEmpty && other.sharesFull)
        }
    }

    @Test func twoDispatchersShare500DeliveriesWithoutDuplicates() async throws {
        try await WorkerFixture.with { fixture in
            try await WebhookReceiver.with({ _, _ in .init(status: 200, delay: .milliseconds(5)) }) { receiver in
                let endpoint = try await fixture.webhookEndpoint(url: receiver.url("shared"), secret: .generate())
                var tenants: [WorkerFixture.Tenant] = []
                for index in 0..<100 { tenants.append(try await fixture.tenant("share-\(index)", issue: false)) }
                try await fixture.recordEvents(tenants: tenants, perTenant: 5)
                let dispatchers = [
                    fixture.makeDispatcher(WorkerFixture.webhookConfiguration(workerID: "one")),
                    fixture.makeDispatcher(WorkerFixture.webhookConfiguration(workerID: "two")),
                ]
                try await fixture.dispatching(dispatchers) {
                    try await fixture.waitUntil(timeout: .seconds(30), "all 500 delivered") {
                        try await fixture.count("SELECT count(*)::int FROM webhook_deliveries WHERE status = 'succeeded'") == 500
                    }
                }
                let ids = receiver.deliveries.map(\.webhookID)
                #expect(ids.count == 500)
                #expect(Set(ids).count == 500)
                let rows = try await fixture.deliveryRows(endpoint: endpoint)
                #expect(rows.allSatisfy { $0.attempt == 1 })
                // Each tenant's five events arrived in the order they happened.
                let position = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, $0) })
                let seqOrder = rows.map { $0.eventID.uuidString.lowercased() }
                let tenantOf = try await fixture.eventTenants(endpoint: endpoint)
                for tenant in Set(tenantOf.values) {
                    let events = seqOrder.filter { tenantOf[$0] == tenant }
                    #expect(events.map { position[$0]! } == events.map { position[$0]! }.sorted())
                }
                // Both workers took part.
                let workers = try await fixture.count("SELECT count(*)::int FROM webhook_deliveries WHERE claimed_by IS NOT NULL")
                #expect(workers == 0)
            }
        }
    }
}

extension WorkerFixture {
    /// Tenants inserted in one statement (no URI set), as the database owner would.
    func bulkTenants(_ count: Int) async throws -> [Tenant] {
        let ids = (0..<count).map { _ in UUID() }
        let slugs = (0..<count).map { "bulk-\($0)" }
        try await client.query(
            "INSERT INTO tenants (id, slug, display_name) SELECT id, slug, slug FROM unnest(\(ids)::uuid[], \(slugs)::text[]) AS t(id, slug)",
            logger: TestDatabase.logger
        )
        return zip(ids, slugs).map { Tenant(id: $0, slug: $1, uriSet: nil) }
    }

    func eventTenants(endpoint: UUID) async throws -> [String: UUID] {
        let rows = try await client.query(
            "SELECT event_id, tenant_id FROM webhook_deliveries WHERE endpoint_id = \(endpoint)", logger: TestDatabase.logger
        )
        var result: [String: UUID] = [:]
        for try await (event, tenant) in rows.decode((UUID, UUID).self) { result[event.uuidString.lowercased()] = tenant }
        return result
    }
}
