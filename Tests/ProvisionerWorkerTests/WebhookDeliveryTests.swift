import Foundation
import PostgresNIO
import ProvisionerDomain
import ProvisionerNetwork
import ProvisionerStore
import ProvisionerTestSupport
import ProvisionerWorker
import Synchronization
import Testing

/// Webhook delivery end to end: real triggers writing deliveries, the dispatcher delivering
/// them to a receiver the test serves.
@Suite(.serialized) struct WebhookDeliveryTests {
    @Test func aDeliveryIsSignedAndCarriesTheEventAsItsBody() async throws {
        try await WorkerFixture.with { fixture in
            try await WebhookReceiver.with { receiver in
                let secret = WebhookSecret.generate()
                let endpoint = try await fixture.webhookEndpoint(url: receiver.url("a"), secret: secret)
                let tenant = try await fixture.tenant("acme")  // issues URI set 1: uri_set.issued
                try await fixture.dispatching([fixture.makeDispatcher()]) {
                    try await fixture.waitUntil("delivered") { receiver.deliveries.count == 1 }
                    try await fixture.waitUntil("recorded") { try await fixture.deliveryRows(endpoint: endpoint).first?.status == "succeeded" }
                }
                let delivery = try #require(receiver.deliveries.first)
                let row = try #require(try await fixture.deliveryRows(endpoint: endpoint).first)
                #expect(delivery.webhookID == row.eventID.uuidString.lowercased())
                #expect(delivery.contentType == "application/json")
                #expect(delivery.verifies(with: secret))
                #expect(!delivery.verifies(with: WebhookSecret.generate()))
                #expect(delivery.signature.hasPrefix("v1,") && !delivery.signature.contains(" "))
                let timestamp = try #require(Int64(delivery.timestamp))
                #expect(abs(timestamp - Int64(Date().timeIntervalSince1970)) < 30)
                let json = try #require(try JSONSerialization.jsonObject(with: Data(delivery.body)) as? [String: Any])
                #expect(json["type"] as? String == "uri_set.issued")
                let data = try #require(json["data"] as? [String: Any])
                #expect(data["tenant"] as? String == tenant.slug)
                #expect(data["uri_set_version"] as? Int == 1)
                #expect(row.attempt == 1 && row.responseStatus == 200)
            }
        }
    }

    @Test func failuresAreRetriedOnTheScheduleWithTheSameWebhookID() async throws {
        try await WorkerFixture.with { fixture in
            // 500, 503, then 204.
            try await WebhookReceiver.with({ _, number in .init(status: number == 1 ? 500 : number == 2 ? 503 : 204) }) { receiver in
                let endpoint = try await fixture.webhookEndpoint(url: receiver.url("r"), secret: .generate())
                _ = try await fixture.tenant("retry")
                try await fixture.dispatching([fixture.makeDispatcher()]) {
                    try await fixture.waitUntil("three attempts") { try await fixture.deliveryRows(endpoint: endpoint).first?.status == "succeeded" }
                }
                let seen = receiver.deliveries
                #expect(seen.count == 3)
                #expect(Set(seen.map(\.webhookID)).count == 1)
                #expect(Set(seen.map(\.body)).count == 1)
                // 100 ms then 200 ms (±10 % jitter), not sooner.
                #expect(seen[0].receivedAt.duration(to: seen[1].receivedAt) >= .milliseconds(85))
                #expect(seen[1].receivedAt.duration(to: seen[2].receivedAt) >= .milliseconds(175))
                let row = try #require(try await fixture.deliveryRows(endpoint: endpoint).first)
                #expect(row.attempt == 3 && row.responseStatus == 204 && row.lastError == nil)
            }
        }
    }

    @Test func theScheduleGivesUpAfterItsLastAttempt() async throws {
        try await WorkerFixture.with { fixture in
            try await WebhookReceiver.with({ _, _ in .init(status: 500) }) { receiver in
                let endpoint = try await fixture.webhookEndpoint(url: receiver.url("x"), secret: .generate())
                _ = try await fixture.tenant("giveup")
                try await fixture.dispatching([fixture.makeDispatcher(WorkerFixture.webhookConfiguration(delays: "50ms,50ms"))]) {
                    try await fixture.waitUntil("failed") { try await fixture.deliveryRows(endpoint: endpoint).first?.status == "failed" }
                }
                #expect(receiver.deliveries.count == 3)
                let row = try #require(try await fixture.deliveryRows(endpoint: endpoint).first)
                #expect(row.attempt == 3 && row.responseStatus == 500)
                #expect(row.lastError?.contains("answered 500") == true)
            }
        }
    }

    @Test func retryAfterIsHonouredOverAShorterScheduleDelay() async throws {
        try await WorkerFixture.with { fixture in
            try await WebhookReceiver.with({ _, number in
                number == 1 ? .init(status: 503, retryAfter: "1") : .init(status: 200)
            }) { receiver in
                let endpoint = try await fixture.webhookEndpoint(url: receiver.url("ra"), secret: .generate())
                _ = try await fixture.tenant("later")
                try await fixture.dispatching([fixture.makeDispatcher()]) {
                    try await fixture.waitUntil("delivered") { try await fixture.deliveryRows(endpoint: endpoint).first?.status == "succeeded" }
                }
                let seen = receiver.deliveries
                #expect(seen.count == 2)
                #expect(seen[0].receivedAt.duration(to: seen[1].receivedAt) >= .milliseconds(950))
            }
        }
    }

    @Test func goneDisablesTheEndpointAndFailsItsPendingDeliveries() async throws {
        try await WorkerFixture.with { fixture in
            // The first answer is 410 (after a moment, so that the other events are pending by then).
            try await WebhookReceiver.with({ _, _ in .init(status: 410, delay: .milliseconds(300)) }) { receiver in
                let endpoint = try await fixture.webhookEndpoint(url: receiver.url("g"), secret: .generate())
                let tenant = try await fixture.tenant("gone")
                try await fixture.dispatching([fixture.makeDispatcher()]) {
                    try await fixture.waitUntil("first attempt") { receiver.deliveries.count == 1 }
                    try await fixture.issueURISet(tenant.slug)
                    try await fixture.issueURISet(tenant.slug)
                    try await fixture.waitUntil("disabled") {
                        try await fixture.count("SELECT count(*)::int FROM webhook_endpoints WHERE NOT enabled AND disabled_reason = 'gone' AND disabled_at IS NOT NULL") == 1
                    }
                    try await fixture.waitUntil("all failed") {
                        try await fixture.deliveryRows(endpoint: endpoint).allSatisfy { $0.status == "failed" }
                    }
                    try await Task.sleep(for: .milliseconds(300))
                }
                let rows = try await fixture.deliveryRows(endpoint: endpoint)
                #expect(rows.count == 3)
                #expect(rows[0].responseStatus == 410)
                #expect(rows[1...].allSatisfy { $0.attempt == 0 && $0.lastError?.contains("410") == true })
                #expect(receiver.deliveries.count == 1)
                // Events after the endpoint was disabled are not written at all.
                try await fixture.issueURISet(tenant.slug)
                #expect(try await fixture.deliveryRows(endpoint: endpoint).count == 3)
            }
        }
    }

    @Test func aTenantsEventsArriveInOrderThroughRetries() async throws {
        try await WorkerFixture.with { fixture in
            // The first event fails twice, then succeeds; the second must come after it.
            let firstID = Mutex<String?>(nil)
            let failuresLeft = Mutex(2)
            try await WebhookReceiver.with({ delivery, _ in
                let first = firstID.withLock { id -> Bool in
                    if id == nil { id = delivery.webhookID }
                    return id == delivery.webhookID
                }
                if first {
                    let fail = failuresLeft.withLock { left -> Bool in
                        defer { left -= 1 }
                        return left > 0
                    }
                    return .init(status: fail ? 500 : 200)
                }
                return .init(status: 200)
            }) { receiver in
                let endpoint = try await fixture.webhookEndpoint(url: receiver.url("o"), secret: .generate())
                let tenant = try await fixture.tenant("order")
                try await fixture.issueURISet(tenant.slug)
                try await fixture.issueURISet(tenant.slug)
                try await fixture.dispatching([fixture.makeDispatcher()]) {
                    try await fixture.waitUntil("all delivered") {
                        try await fixture.deliveryRows(endpoint: endpoint).allSatisfy { $0.status == "succeeded" }
                    }
                }
                let rows = try await fixture.deliveryRows(endpoint: endpoint)
                let seen = receiver.deliveries.map(\.webhookID)
                #expect(seen.count == 5)
                let order = rows.map { $0.eventID.uuidString.lowercased() }
                #expect(seen == [order[0], order[0], order[0], order[1], order[2]])
            }
        }
    }

    @Test func duringARotationBothSecretsSignUntilThePreviousExpires() async throws {
        try await WorkerFixture.with { fixture in
            try await WebhookReceiver.with { receiver in
                let current = WebhookSecret.generate()
                let previous = WebhookSecret.generate()
                try await fixture.webhookEndpoint(url: receiver.url("rot"), secret: current, previous: (previous, .seconds(3600)))
                try await fixture.webhookEndpoint(url: receiver.url("expired"), secret: current, previous: (previous, .seconds(-1)))
                _ = try await fixture.tenant("rotate")
                try await fixture.dispatching([fixture.makeDispatcher()]) {
                    try await fixture.waitUntil("delivered") { receiver.deliveries.count == 2 }
                }
                let rotating = try #require(receiver.deliveries(to: "rot").first)
                let signatures = rotating.signature.split(separator: " ").map(String.init)
                #expect(signatures.count == 2)
                #expect(rotating.verifies(with: current) && rotating.verifies(with: previous))
                let id = rotating.webhookID, ts = Int64(rotating.timestamp)!, body = rotating.body
                let now = Int64(Date().timeIntervalSince1970)
                #expect(WebhookSignature.verify(header: signatures[0], id: id, timestamp: ts, body: body, secret: current, now: now))
                #expect(WebhookSignature.verify(header: signatures[1], id: id, timestamp: ts, body: body, secret: previous, now: now))
                let expired = try #require(receiver.deliveries(to: "expired").first)
                #expect(!expired.signature.contains(" "))
                #expect(expired.verifies(with: current) && !expired.verifies(with: previous))
            }
        }
    }

    @Test func aRedirectIsAFailedAttemptAndIsNotFollowed() async throws {
        try await WorkerFixture.with { fixture in
            try await WebhookReceiver.with({ _, _ in .init(status: 302) }) { receiver in
                let endpoint = try await fixture.webhookEndpoint(url: receiver.url("redir"), secret: .generate())
                _ = try await fixture.tenant("redirect")
                try await fixture.dispatching([fixture.makeDispatcher(WorkerFixture.webhookConfiguration(delays: "5s"))]) {
                    try await fixture.waitUntil("attempted") {
                        try await fixture.deliveryRows(endpoint: endpoint).first?.responseStatus == 302
                    }
                }
                let row = try #require(try await fixture.deliveryRows(endpoint: endpoint).first)
                #expect(row.status == "pending" && row.attempt == 1)
                #expect(row.lastError?.contains("redirect") == true)
                #expect(receiver.targetHits == 0)
            }
        }
    }

    @Test func aHostResolvingToAPrivateAddressIsRefusedWithoutARequest() async throws {
        try await WorkerFixture.with { fixture in
            try await WebhookReceiver.with { receiver in
                let url = "http://hooks.example.com:\(receiver.port)/hooks/private"
                let endpoint = try await fixture.webhookEndpoint(url: url, secret: .generate())
                _ = try await fixture.tenant("refused-host")
                let resolver = FixedHostResolver(["hooks.example.com": [[10, 0, 0, 7]]])
                let configuration = WorkerFixture.webhookConfiguration(delays: "5s", allowPrivate: false)
                try await fixture.dispatching([fixture.makeDispatcher(configuration, resolver: resolver)]) {
                    try await fixture.waitUntil("refused") { try await fixture.deliveryRows(endpoint: endpoint).first?.lastError != nil }
                }
                let row = try #require(try await fixture.deliveryRows(endpoint: endpoint).first)
                #expect(row.status == "pending" && row.attempt == 1 && row.responseStatus == nil)
                #expect(row.lastError?.contains("webhook_url_private") == true)
                #expect(row.lastError?.contains("10.0.0.7") == true)
                #expect(receiver.deliveries.isEmpty)
            }
        }
    }

    /// The resolver's own limit ends the attempt: no request, the reason recorded, retried later.
    @Test func aHostThatDoesNotResolveInTimeIsAFailedAttemptWithoutARequest() async throws {
        try await WorkerFixture.with { fixture in
            try await WebhookReceiver.with { receiver in
                let endpoint = try await fixture.webhookEndpoint(url: "http://slow-dns.example.com:\(receiver.port)/hooks/x", secret: .generate())
                _ = try await fixture.tenant("slow-dns")
                let configuration = WorkerFixture.webhookConfiguration(delays: "5s")
                try await fixture.dispatching([fixture.makeDispatcher(configuration, resolver: SilentResolver())]) {
                    try await fixture.waitUntil("failed") { try await fixture.deliveryRows(endpoint: endpoint).first?.lastError != nil }
                }
                let row = try #require(try await fixture.deliveryRows(endpoint: endpoint).first)
                #expect(row.status == "pending" && row.attempt == 1 && row.responseStatus == nil)
                #expect(row.lastError == "resolving 'slow-dns.example.com' took too long")
                #expect(receiver.deliveries.isEmpty)
            }
        }
    }

    /// Stands for a DNS server that does not answer: the limit of `SystemHostResolver`, shortened.
    struct SilentResolver: HostResolver {
        func addresses(of host: String) async throws -> [[UInt8]] {
            try await Task.sleep(for: .milliseconds(200))
            throw HostResolutionTimeout(host: host)
        }
    }

    @Test func aCompletionWhoseLeaseWasTakenChangesNothing() async throws {
        try await WorkerFixture.with { fixture in
            let endpoint = try await fixture.webhookEndpoint(url: "http://127.0.0.1:9/hooks/none", secret: .generate())
            _ = try await fixture.tenant("fenced")
            let queue = fixture.webhookQueue
            let first = try await queue.claim(workerID: "slow", limit: 10, lease: .milliseconds(50), perEndpointInFlight: 32, maxAttempts: 8)
            let stale = try #require(first.deliveries.first)
            try await Task.sleep(for: .milliseconds(120))
            let second = try await queue.claim(workerID: "quick", limit: 10, lease: .seconds(30), perEndpointInFlight: 32, maxAttempts: 8)
            let current = try #require(second.deliveries.first)
            #expect(current.id == stale.id && current.attempt == 2)
            // The slow worker's answer arrives late: dropped.
            let late = DeliveryResult(claim: stale, status: .succeeded, responseStatus: 200, attemptedAt: Date(), lastError: nil)
            #expect(try await queue.complete([late]) == 0)
            var row = try #require(try await fixture.deliveryRows(endpoint: endpoint).first)
            #expect(row.status == "pending" && row.attempt == 2)
            // Even a 410 from the stale attempt disables nothing.
            let lateGone = DeliveryResult(claim: stale, status: .failed, gone: true, responseStatus: 410, attemptedAt: Date(), lastError: "gone")
            #expect(try await queue.complete([lateGone]) == 0)
            #expect(try await fixture.count("SELECT count(*)::int FROM webhook_endpoints WHERE enabled") == 1)
            // The current holder's answer counts.
            let answer = DeliveryResult(claim: current, status: .succeeded, responseStatus: 204, attemptedAt: Date(), lastError: nil)
            #expect(try await queue.complete([answer]) == 1)
            row = try #require(try await fixture.deliveryRows(endpoint: endpoint).first)
            #expect(row.status == "succeeded" && row.responseStatus == 204)
        }
    }

    @Test func aDeliveryWhoseWorkerDiedOnItsLastAttemptEndsFailed() async throws {
        try await WorkerFixture.with { fixture in
            let endpoint = try await fixture.webhookEndpoint(url: "http://127.0.0.1:9/hooks/none", secret: .generate())
            _ = try await fixture.tenant("exhausted")
            let queue = fixture.webhookQueue
            let claimed = try await queue.claim(workerID: "dies", limit: 10, lease: .milliseconds(20), perEndpointInFlight: 32, maxAttempts: 1)
            #expect(claimed.deliveries.count == 1)
            try await Task.sleep(for: .milliseconds(60))
            #expect(try await queue.claim(workerID: "next", limit: 10, lease: .seconds(30), perEndpointInFlight: 32, maxAttempts: 1).deliveries.isEmpty)
            #expect(try await queue.failExhausted(maxAttempts: 1) == 1)
            let row = try #require(try await fixture.deliveryRows(endpoint: endpoint).first)
            #expect(row.status == "failed" && row.lastError?.contains("lease expired") == true)
        }
    }
}
