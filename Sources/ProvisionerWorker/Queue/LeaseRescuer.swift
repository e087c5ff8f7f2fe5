import Logging
import ProvisionerDomain
import ProvisionerStore

/// Hands out again the verifications whose worker died: every `rescueInterval`, expired leases
/// go back to `pending` (the attempt stays counted), and those that have had their last
/// attempt are rejected with `verification_failed`, so no upload stays unanswered.
struct LeaseRescuer: Sendable {
    let queue: VerificationQueue
    let configuration: WorkerConfiguration
    let completer: VerificationCompleter
    let metrics: WorkerMetrics
    let logger: Logger

    /// Runs until cancelled.
    func run() async {
        await periodically(every: configuration.rescueInterval, startingAtOnce: false) { await rescueOnce() }
    }

    func rescueOnce() async {
        do {
            let (requeued, exhausted) = try await queue.rescueExpiredLeases(maxAttempts: configuration.maxAttempts)
            if requeued > 0 {
                metrics.rescued.increment(by: Int64(requeued))
                logger.warning("requeued verifications whose lease expired", metadata: ["count": "\(requeued)"])
            }
            if !exhausted.isEmpty {
                metrics.rescuedExhausted.increment(by: Int64(exhausted.count))
                await completer.record(exhausted.map { .failed($0, reason: "the lease expired on the last attempt") })
            }
        } catch {
            if Task.isCancelled { return }
            logger.warning("could not rescue expired leases", metadata: ["error": "\(DatabaseUnavailable.safeDescription(of: error))"])
        }
    }
}
