import Logging
import ProvisionerDomain
import ProvisionerStore
import ServiceLifecycle

/// Claims batches and hands each to the executor and the completer: one claim loop of the
/// worker (see `WorkerConfiguration.claimStreams`).
///
/// One statement claims a batch. While more are due than a batch took it claims again at once (the
/// previous batch is verified and recorded meanwhile, up to `batchesInFlight` at a time), so a
/// backlog drains at full speed; otherwise it waits for a wake-up (a notification or the poll
/// timer). On graceful shutdown it stops claiming, lets the batches in hand finish for
/// `shutdownGracePeriod`, then interrupts them (their jobs are given back).
struct VerificationProducer: Sendable {
    let queue: VerificationQueue
    let configuration: WorkerConfiguration
    let executor: VerificationExecutor
    let completer: VerificationCompleter
    let renewer: LeaseRenewer
    let metrics: WorkerMetrics
    let logger: Logger

    private enum Finished: Sendable {
        case batch
        case gracePeriodOver
    }

    /// Claims until shutdown. `wakeUps` wakes this loop; `helpers` are the wake-ups of the
    /// other claim loops of the worker (`claimStreams`), signalled whenever a claim found more
    /// due than it took.
    func run(wakeUps: WakeUps, helpers: [WakeUps] = []) async {
        var wake = wakeUps.stream.makeAsyncIterator()
        let limit = configuration.claimLimit(liveCheck: executor.liveCheck != nil)
        await withTaskGroup(of: Finished.self) { group in
            var inFlight = 0
            var claimFailures = 0
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                while inFlight >= configuration.batchesInFlight, let finished = await group.next() {
                    if case .batch = finished { inFlight -= 1 }
                }
                if Task.isCancelled || Task.isShuttingDownGracefully { break }

                let batch: ClaimedBatch
                do {
                    let claimStarted = ContinuousClock.now
                    batch = try await queue.claim(
                        limit: limit, maxBytes: configuration.maxBatchBytes, lease: configuration.lease, workerID: configuration.workerID
                    )
                    if !batch.isEmpty {
                        logger.trace("batch claimed", metadata: ["count": "\(batch.count)", "claim": "\(claimStarted.duration(to: .now))"])
                    }
                    claimFailures = 0
                } catch {
                    if Task.isCancelled { break }
                    claimFailures += 1
                    logger.warning(
                        "could not claim verifications",
                        metadata: ["failures": "\(claimFailures)", "error": "\(DatabaseUnavailable.safeDescription(of: error))"]
                    )
                    let wait = configuration.databaseBackoff.delay(attempt: claimFailures)
                    try? await cancelWhenGracefulShutdown {
                        try await Task.sleep(for: wait)
                    }
                    continue
                }
                if !batch.isEmpty {
                    metrics.claimed.increment(by: Int64(batch.count))
                    inFlight += 1
                    group.addTask {
                        await process(batch.jobs)
                        return .batch
                    }
                }
                if batch.moreDue {
                    for helper in helpers { helper.signal() }
                    continue
                }
                _ = await withGracefulShutdownHandler {
                    await wake.next()
                } onGracefulShutdown: {
                    wakeUps.signal()
                }
            }

            guard inFlight > 0 else { return }
            logger.info("verification worker stopping: finishing the batches in hand", metadata: ["batches": "\(inFlight)"])
            let grace = configuration.shutdownGracePeriod
            group.addTask {
                try? await Task.sleep(for: grace)
                return .gracePeriodOver
            }
            while inFlight > 0, let finished = await group.next() {
                switch finished {
                case .batch:
                    inFlight -= 1
                case .gracePeriodOver:
                    logger.warning("grace period over: interrupting the batches in hand")
                    group.cancelAll()
                }
            }
            group.cancelAll()
        }
    }

    /// Verifies and records one claimed batch. The verifications stop when the task is
    /// cancelled (shutdown after the grace period); recording what became of them does not,
    /// so interrupted jobs are given back rather than left to expire.
    func process(_ batch: [ClaimedVerification]) async {
        let clock = ContinuousClock()
        let started = clock.now
        // Whether each client id is in use elsewhere came with the claim.
        let results: [JobResult] = await renewer.renewing(batch) { [executor, logger] in
            let results = await executor.execute(batch)
            logger.trace("batch verified", metadata: ["count": "\(batch.count)", "verify": "\(started.duration(to: clock.now))"])
            return results
        }
        // An unstructured task does not inherit cancellation.
        let verified = clock.now
        await Task { [completer] in await completer.record(results) }.value
        logger.trace("batch recorded", metadata: ["count": "\(batch.count)", "record": "\(verified.duration(to: clock.now))"])
    }
}
