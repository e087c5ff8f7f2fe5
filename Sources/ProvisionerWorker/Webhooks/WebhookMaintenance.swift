import Logging
import ProvisionerDomain
import ProvisionerStore

/// Every `cleanupInterval`: fails the deliveries whose worker died on their last attempt (no
/// claim will take them again), and deletes finished deliveries past `retention`, in chunks,
/// so that the outbox does not grow for ever and no one statement holds many locks.
struct WebhookCleaner: Sendable {
    let queue: WebhookDeliveryQueue
    let configuration: WebhookDeliveryConfiguration
    let logger: Logger

    func run() async {
        await periodically(every: configuration.cleanupInterval) { await cleanOnce() }
    }

    func cleanOnce() async {
        do {
            let failed = try await queue.failExhausted(maxAttempts: configuration.retrySchedule.maxAttempts)
            if failed > 0 {
                logger.warning("webhook deliveries failed: their worker stopped on the last attempt", metadata: ["count": "\(failed)"])
            }
            var deleted = 0
            while !Task.isCancelled {
                let chunk = try await queue.deleteFinished(olderThan: configuration.retention, chunk: configuration.retentionChunk)
                deleted += chunk
                if chunk < configuration.retentionChunk { break }
            }
            if deleted > 0 {
                logger.info("deleted finished webhook deliveries past retention", metadata: ["count": "\(deleted)"])
            }
        } catch {
            if Task.isCancelled { return }
            logger.warning("could not clean webhook deliveries", metadata: ["error": "\(DatabaseUnavailable.safeDescription(of: error))"])
        }
    }
}

/// Keeps the webhook gauges current: pending deliveries, the age of the oldest, endpoints by state.
struct WebhookGauges: Sendable {
    let queue: WebhookDeliveryQueue
    let interval: Duration
    let metrics: WebhookMetrics
    let logger: Logger

    func run() async {
        await periodically(every: interval) { await refresh() }
    }

    func refresh() async {
        do {
            let stats = try await queue.stats()
            metrics.pending.record(stats.pending)
            metrics.oldestPendingSeconds.record(stats.oldestPendingSeconds ?? 0)
            metrics.endpointsEnabled.record(stats.endpointsEnabled)
            metrics.endpointsDisabled.record(stats.endpointsDisabled)
        } catch {
            if Task.isCancelled { return }
            logger.debug("could not read webhook statistics", metadata: ["error": "\(DatabaseUnavailable.safeDescription(of: error))"])
        }
    }
}
