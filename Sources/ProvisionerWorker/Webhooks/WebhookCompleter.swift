import Foundation
import Logging
import ProvisionerDomain
import ProvisionerStore

/// Records what became of attempts, many per statement: each finished attempt is put in a
/// buffer at once, and the completer writes whatever has gathered (up to
/// `completionBatchSize`) as soon as the previous statement is done, so an idle worker
/// records one result at a time with no wait and a busy one records hundreds per statement.
///
/// A batch the database does not take after `completionAttempts` tries is dropped: its leases
/// run out and the deliveries are claimed again (at least once: the receiver may see the same
/// webhook-id twice). After each batch the producer is woken, since a recorded result frees the
/// next event of its tenant and a slot of its endpoint.
final class WebhookCompleter: Sendable {
    enum Item: Sendable {
        case result(DeliveryResult)
        /// Interrupted by shutdown before an answer: given back, attempt not counted.
        case release(ClaimedDelivery)
    }

    private let queue: WebhookDeliveryQueue
    private let configuration: WebhookDeliveryConfiguration
    private let databaseBackoff: Backoff
    private let logger: Logger
    private let answered: AnsweredDeliveries
    private let onRecorded: @Sendable () -> Void
    private let buffer: ResultBuffer<Item>

    init(
        queue: WebhookDeliveryQueue, configuration: WebhookDeliveryConfiguration, databaseBackoff: Backoff, logger: Logger,
        answered: AnsweredDeliveries, onRecorded: @escaping @Sendable () -> Void
    ) {
        self.queue = queue
        self.configuration = configuration
        self.databaseBackoff = databaseBackoff
        self.logger = logger
        self.answered = answered
        self.onRecorded = onRecorded
        self.buffer = ResultBuffer(batchSize: configuration.completionBatchSize)
    }

    func submit(_ item: Item) {
        buffer.submit(item)
    }

    /// No more items will come: `run` returns once the buffer is written.
    func finish() {
        buffer.finish()
    }

    /// Runs until `finish()` and an empty buffer. Not cancelled on shutdown, so that what was
    /// delivered is recorded.
    func run() async {
        await buffer.drain { batch in await record(batch) }
    }

    private func record(_ batch: [Item]) async {
        var results: [DeliveryResult] = []
        var released: [ClaimedDelivery] = []
        for item in batch {
            switch item {
            case .result(let result): results.append(result)
            case .release(let claim): released.append(claim)
            }
        }
        let started = ContinuousClock.now
        for attempt in 1...configuration.completionAttempts {
            do {
                let recorded = try await queue.complete(results)
                logger.trace("webhook results recorded", metadata: ["count": "\(results.count)", "record": "\(started.duration(to: .now))"])
                if recorded < results.count {
                    logger.info("results dropped: their lease had been taken by another claim (fenced)",
                                metadata: ["dropped": "\(results.count - recorded)"])
                }
                break
            } catch {
                logger.warning("could not record webhook results", metadata: [
                    "count": "\(results.count)", "try": "\(attempt)", "error": "\(DatabaseUnavailable.safeDescription(of: error))",
                ])
                if attempt == configuration.completionAttempts {
                    logger.error("webhook results not recorded; their leases will expire and they will be sent again",
                                 metadata: ["count": "\(results.count)"])
                } else {
                    try? await Task.sleep(for: databaseBackoff.delay(attempt: attempt))
                }
            }
        }
        // Recorded, or left to their leases (which then count in the endpoint's share again).
        answered.remove(results.lazy.map(\.id))
        if !released.isEmpty {
            do {
                try await queue.release(released)
                logger.info("gave back unfinished webhook deliveries", metadata: ["count": "\(released.count)"])
            } catch {
                logger.warning("could not give back unfinished webhook deliveries; their leases will expire",
                               metadata: ["count": "\(released.count)", "error": "\(DatabaseUnavailable.safeDescription(of: error))"])
            }
        }
        onRecorded()
    }
}

/// Turns an attempt into the result to record: the pure part of the decision, apart from the
/// clock and the jitter, which the caller gives.
enum WebhookOutcomes {
    static func result(
        of attempt: WebhookAttempt, claim: ClaimedDelivery, schedule: WebhookRetrySchedule, now: Date, jitter: Double
    ) -> (result: DeliveryResult, outcome: WebhookMetrics.Outcome)? {
        let status: Int?
        let error: String?
        var retryAfter: Duration?
        var refused = false
        switch attempt {
        case .interrupted:
            return nil
        case .unsendable(let reason):
            return (DeliveryResult(claim: claim, status: .failed, responseStatus: nil, attemptedAt: now, lastError: reason), .failed)
        case .refused(let reason):
            (status, error, refused) = (nil, "refused before sending: \(reason)", true)
        case .failed(let reason):
            (status, error) = (nil, reason)
        case .answered(let code, let after):
            switch WebhookResponseOutcome.classify(status: code) {
            case .succeeded:
                return (DeliveryResult(claim: claim, status: .succeeded, responseStatus: code, attemptedAt: now, lastError: nil), .succeeded)
            case .gone:
                return (DeliveryResult(
                    claim: claim, status: .failed, gone: true, responseStatus: code, attemptedAt: now,
                    lastError: "the endpoint answered 410 Gone: it was disabled"
                ), .gone)
            case .retry:
                status = code
                error = (300...399).contains(code) ? "answered \(code), a redirect, which is not followed" : "answered \(code)"
                retryAfter = after
            }
        }
        // A manual retry may allow attempts beyond the schedule; they wait its last delay.
        let allowed = max(claim.attemptLimit ?? 0, schedule.maxAttempts)
        let delay = claim.attempt < allowed
            ? schedule.delay(afterAttempt: min(claim.attempt, schedule.maxAttempts - 1), retryAfter: retryAfter, jitter: jitter)
            : nil
        guard let delay else {
            return (DeliveryResult(
                claim: claim, status: .failed, responseStatus: status, attemptedAt: now,
                lastError: "gave up after attempt \(claim.attempt): \(error ?? "failed")"
            ), refused ? .refused : .failed)
        }
        let next = now.addingTimeInterval(Double(Backoff.seconds(delay)))
        return (DeliveryResult(
            claim: claim, status: .retrying, responseStatus: status, attemptedAt: now, nextAttemptAt: next, lastError: error
        ), refused ? .refused : .retrying)
    }
}
