import Foundation
import Logging
import ProvisionerDomain
import ProvisionerStore
import ServiceLifecycle
import Synchronization

/// Claims deliveries while slots are free and runs each attempt in a task of its own.
///
/// At most `maxInFlight` attempts run at once, or wait to be recorded; a claim asks for the
/// free slots only, so a worker never holds a lease it cannot start on. It claims again at once
/// while a claim came back full, and otherwise waits for a wake-up: a NOTIFY of a new event,
/// the poll timer, the last answer to a claim (answers free their endpoint's share), a recorded
/// batch (which frees a tenant's next event) or a retry coming due before the next poll. On
/// graceful shutdown it stops claiming, lets the attempts in flight finish for
/// `shutdownGracePeriod`, then interrupts them (they are given back).
struct WebhookProducer: Sendable {
    let queue: WebhookDeliveryQueue
    let configuration: WebhookDeliveryConfiguration
    let workerID: String
    let databaseBackoff: Backoff
    let sender: WebhookSender
    let completer: WebhookCompleter
    /// Shared with the completer, which takes each delivery out once its result is recorded.
    let answered: AnsweredDeliveries
    let metrics: WebhookMetrics
    let logger: Logger

    func run(wakeUps: WakeUps) async {
        var wake = wakeUps.stream.makeAsyncIterator()
        let inFlight = SharedCount()
        let ended = SharedCount()
        await withDiscardingTaskGroup { group in
            var claimFailures = 0
            var busy = false
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                // An answered delivery keeps its worker slot until recorded, so that a completer
                // falling behind slows the claims instead of piling up results in memory.
                let free = configuration.maxInFlight - inFlight.value - answered.count
                let signalsBeforeClaim = wakeUps.signals
                let endedBeforeClaim = ended.value
                let claimStarted = ContinuousClock.now
                var claimedFull = false
                var sharesFull = false
                if free > 0 {
                    do {
                        let (deliveries, full, shares) = try await queue.claim(
                            workerID: workerID, limit: free, lease: configuration.lease,
                            perEndpointInFlight: configuration.perEndpointInFlight,
                            maxAttempts: configuration.retrySchedule.maxAttempts, answered: answered.ids
                        )
                        claimFailures = 0
                        claimedFull = full
                        busy = !deliveries.isEmpty
                        logger.trace("webhook deliveries claimed", metadata: [
                            "count": "\(deliveries.count)", "free": "\(free)", "claim": "\(claimStarted.duration(to: .now))",
                            "shares_full": "\(shares)", "in_flight": "\(inFlight.value)", "answered": "\(answered.count)",
                        ])
                        inFlight.add(deliveries.count)
                        sharesFull = shares && inFlight.value > 0
                        let batch = ClaimAttempts(size: deliveries.count)
                        for (claim, target) in sender.targeted(deliveries) {
                            group.addTask {
                                await deliver(claim, to: target, wakeUps: wakeUps)
                                inFlight.add(-1)
                                ended.add(1)
                                if batch.ended() { wakeUps.signal() }
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
                // Full, with slots left: more is due now. With no slot free, an answer or a recorded
                // batch wakes us.
                if claimedFull && inFlight.value + answered.count < configuration.maxInFlight { continue }
                // No reason to claim again: a wake-up signalled before the claim began (an answer
                // or a recorded batch it already counted), or, when every endpoint's share was
                // full with our attempts among them, any wake-up before one of them has ended (a
                // recorded batch frees a tenant's next event, not a slot), unless a poll interval
                // has passed (other workers' leases may have ended meanwhile). Such claims found
                // nothing, a statement's cost each, and held up the next one: half the claims
                // of a drain to one endpoint.
                var woken = false
                repeat {
                    woken = await withGracefulShutdownHandler {
                        await wake.next() != nil
                    } onGracefulShutdown: {
                        wakeUps.signal()
                    }
                } while woken && !Task.isCancelled && !Task.isShuttingDownGracefully
                    && (wakeUps.signals == signalsBeforeClaim
                        || (sharesFull && ended.value == endedBeforeClaim && claimStarted.duration(to: .now) < configuration.pollInterval))
                if !woken { break }
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
    func deliver(_ claim: ClaimedDelivery, to target: WebhookTarget, wakeUps: WakeUps) async {
        let clock = ContinuousClock()
        let started = clock.now
        let attempt = await sender.attempt(claim, to: target)
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
        // The endpoint has answered: its slot is free for the next claim, while the result waits
        // for the recording statement (a few milliseconds under load, a third of a delivery's
        // time to one endpoint when the slot was held until then).
        answered.insert(claim.id)
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

/// The deliveries a worker has had an answer for and not yet recorded: they leave their
/// endpoint's share at the next claim (`WebhookDeliveryQueue.claim(answered:)`) but keep their
/// worker slot, so there are at most `maxInFlight` of them.
final class AnsweredDeliveries: Sendable {
    private let answered = Mutex<Set<UUID>>([])
    var ids: [UUID] { answered.withLock { Array($0) } }
    var count: Int { answered.withLock { $0.count } }
    func insert(_ id: UUID) { _ = answered.withLock { $0.insert(id) } }
    func remove(_ ids: some Sequence<UUID>) { answered.withLock { $0.subtract(ids) } }
}

/// The attempts of one claim still running: the last one to end wakes the producer. Waking it
/// at every answer made claims of a row or two (1,162 claims for 10,000 deliveries to one
/// endpoint, each statement's fixed cost paid for a few rows); waking it at half the claim made
/// two claims for each share, and measured slower than one (2,850-3,300 against 3,400-3,850
/// deliveries/s to one endpoint, alternating runs). An endpoint slower than the rest of the
/// claim holds up none of them: their answers count in `ended`, and the recorded batch wakes.
final class ClaimAttempts: Sendable {
    private let running: Atomic<Int>
    init(size: Int) {
        running = Atomic(size)
    }

    /// One attempt has ended; true for the last.
    func ended() -> Bool {
        running.subtract(1, ordering: .acquiringAndReleasing).newValue == 0
    }
}
