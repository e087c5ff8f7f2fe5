import Logging
import ProvisionerStore

/// Keeps the queue gauges current: how many verifications wait or run, and how long the
/// oldest has waited (0 when none).
struct QueueGauges: Sendable {
    let queue: VerificationQueue
    let interval: Duration
    let metrics: WorkerMetrics
    let logger: Logger

    /// Runs until cancelled.
    func run() async {
        await periodically(every: interval) { await refresh() }
    }

    func refresh() async {
        do {
            let stats = try await queue.stats()
            metrics.queuePending.record(stats.pending)
            metrics.queueVerifying.record(stats.verifying)
            metrics.oldestPendingSeconds.record(stats.oldestPendingSeconds ?? 0)
        } catch {
            if Task.isCancelled { return }
            logger.debug("could not read queue statistics", metadata: ["error": "\(DatabaseUnavailable.safeDescription(of: error))"])
        }
    }
}
