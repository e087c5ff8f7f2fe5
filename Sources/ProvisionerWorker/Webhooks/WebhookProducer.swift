import Foundation
import Logging
import ProvisionerDomain
import ProvisionerStore
import ServiceLifecycle
import Synchronization

/// Claims deliveries while slots are free and runs each attempt in a task of its own.
///
/// At most `maxInFlight` attempts run at once; a claim asks for the free slots only, so a
/// worker never holds a lease it cannot start on. It claims again at once while a claim came
/// back full, and otherwise waits for a wake-up: a NOTIFY of a new event, the poll timer, a
/// recorded batch (which frees a tenant's next event) or a retry coming due before the next
/// poll. On graceful shutdown it stops claiming, lets the attempts in flight finish for
/// `shutdownGracePeriod`, then interrupts them (they are given back).
struct WebhookProducer: Sendable {
    let queue: WebhookDeliveryQueue
    let configuration: WebhookDeliveryConfiguration
    let workerID: String
    let databaseBackoff: Backoff
    let sender: WebhookSender
    let completer: WebhookCompleter
    let metrics: WebhookMetrics
    let logger: Logger

    func run(wakeUps: WakeUps) async {
        var wake = wakeUps.stream.makeAsyncIterator()
        let inFlight = InFlightCount()
        await withDiscardingTaskGroup { group in
            var claimFailures = 0
            var busy = false
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                let free = configuration.maxInFlight - inFlight.value
                var claimedFull = false
                if free > 0 {
                    do {
                        let claimStarted = ContinuousClock.now
                        let (deliveries, full) = try await queue.claim(
                            workerID: workerID, limit: free, lease: configuration.lease,
                            perEndpointInFlight: configuration.perEndpointInFlight,
                            maxAttempts: configuration.retrySchedule.maxAttempts
                        )
                        claimFailures = 0
                        claimedFull = full
                        busy = !deliveries.isEmpty
                        logger.trace("webhook deliveries claimed", metadata: [
                            "count": "\(deliveries.count)", "free": "\(free)", "claim": "\(claimStarted.duration(to: .now))",
                        ])
                        inFlight.add(deliveries.count)
                        for claim in deliveries {
                            group.addTask {
                                await deliver(claim, wakeUps: wakeUps)
                                inFlight.add(-1)
                            }
                        }
                    } catch {
                        if Task.isCancelled { break }
                        claimFailures += 1
                        logger.warning("could not claim webhook deliveries", metadata: [
                            "failures": "\(claimFailures)", "error": "\(DatabaseUnavailable.safeDescription(of: error))",
                        ])
                        let wait = databaseBackoff.delay(attempt: claimFailures)
                        try? await cancelWhenGracefulShutdown {
                            try await Task.sleep(for: wait)
                        }
                        continue
                    }
                }
                // Full, with slots left: more is due now. With no slot free, a recorded batch wakes us.
                if claimedFull && inFlight.value < configuration.maxInFlight { continue }
                _ = await withGracefulShutdownHandler {
                    await wake.next()
                } onGracefulShutdown: {
                    wakeUps.signal()
                }
                // Busy: let a few more results land before claiming, so that one claim takes the
                // slots they free together. Claiming after each recorded batch made statements of
                // a few rows each, and the database's cost per delivery several times higher. An
                // idle worker (its last claim found nothing) claims at once.
                if busy && inFlight.value > 0 && configuration.claimCoalescing > .zero {
                    try? await Task.sleep(for: configuration.claimCoalescing)
                }
            }

            guard inFlight.value > 0 else { return }
            logger.info("webhook dispatcher stopping: finishing the attempts in flight",
                        metadata: ["in_flight": "\(inFlight.value)"])
            let clock = ContinuousClock()
            let deadline = clock.now + configuration.shutdownGracePeriod
            while inFlight.value > 0 && clock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
            if inFlight.value > 0 {
                logger.warning("grace period over: interrupting the webhook attempts in flight")
                group.cancelAll()
            }
        }
    }

    /// One attempt and its result, handed to the completer. A retry due before the next poll
    /// wakes the producer itself when it comes due.
    func deliver(_ claim: ClaimedDelivery, wakeUps: WakeUps) async {
        let clock = ContinuousClock()
        let started = clock.now
        let attempt = await sender.attempt(claim)
        let elapsed = started.duration(to: clock.now)
        guard let (result, outcome) = WebhookOutcomes.result(
            of: attempt, claim: claim, schedule: configuration.retrySchedule, now: Date(), jitter: Double.random(in: 0..<1)
        ) else {
            completer.submit(.release(claim))
            return
        }
        metrics.attempts.increment()
        metrics.attemptDuration.recordNanoseconds(WebhookSender.nanoseconds(elapsed))
        metrics.record(outcome)
        // The metadata is built only for a line that is written (an autoclosure): at thousands of
        // deliveries a second, five UUIDs formatted for a debug line nobody reads cost CPU.
        if outcome == .succeeded {
            logger.debug("webhook delivered", metadata: Self.metadata(claim, result, outcome))
        } else {
            logger.notice("webhook attempt failed", metadata: Self.metadata(claim, result, outcome).merging(
                ["reason": "\(result.lastError ?? "-")"], uniquingKeysWith: { $1 }
            ))
        }
        completer.submit(.result(result))
        if let next = result.nextAttemptAt {
            let wait = next.timeIntervalSinceNow
            if wait < Backoff.seconds(configuration.pollInterval) {
                // A timer of its own for a retry due before the next poll, so that the slot is
                // free meanwhile; it lasts less than one poll interval.
                Task {
                    try? await Task.sleep(for: .milliseconds(Int64(max(wait, 0) * 1000) + 1))
                    wakeUps.signal()
                }
            }
        }
    }
}

extension WebhookProducer {
    static func metadata(_ claim: ClaimedDelivery, _ result: DeliveryResult, _ outcome: WebhookMetrics.Outcome) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "delivery_id": "\(claim.id.uuidString.lowercased())", "endpoint_id": "\(claim.endpointID.uuidString.lowercased())",
            "webhook_id": "\(claim.eventID.uuidString.lowercased())", "attempt": "\(claim.attempt)", "outcome": "\(outcome.rawValue)",
        ]
        if let status = result.responseStatus { metadata["status"] = "\(status)" }
        return metadata
    }
}

/// The attempts running in a producer, shared with their tasks.
final class InFlightCount: Sendable {
    private let count = Atomic<Int>(0)
    var value: Int { count.load(ordering: .acquiring) }
    func add(_ delta: Int) { count.add(delta, ordering: .acquiringAndReleasing) }
}
