import Logging
import PostgresNIO
import ProvisionerDomain
import ProvisionerStore
import ServiceLifecycle

/// The verification service: the producer's claim loops (with the executor and the completer), the
/// notifier (LISTEN and the polling fallback), the lease rescuer and the queue gauges, run
/// together in one task group.
///
/// Graceful shutdown: the producer stops claiming, the batches in hand finish (or, after the
/// grace period, are given back to the queue), then the listener, rescuer and gauges stop.
///
/// The listener holds a connection of its own to `listenURL` (`DATABASE_LISTEN_URL`) for as
/// long as the worker runs.
public struct VerificationWorker: Service {
    let configuration: WorkerConfiguration
    let producer: VerificationProducer
    let notifier: @Sendable (WakeUps) -> QueueNotifier
    let rescuer: LeaseRescuer
    let gauges: QueueGauges
    let logger: Logger

    public init(
        queue: VerificationQueue,
        configuration: WorkerConfiguration = WorkerConfiguration(),
        sealer: SecretSealer,
        liveCheck: (any LiveCheck)?,
        listenURL: DatabaseURL,
        logger: Logger,
        onCompleted: CompletionObserver? = nil
    ) {
        var logger = logger
        logger[metadataKey: "worker_id"] = "\(configuration.workerID)"
        let metrics = WorkerMetrics()
        let completer = VerificationCompleter(
            queue: queue, configuration: configuration, metrics: metrics, logger: logger, observer: onCompleted
        )
        let executor = VerificationExecutor(
            sealer: sealer, verifier: CredentialVerifier(), liveCheck: liveCheck, metrics: metrics, logger: logger,
            tracing: configuration.tracer.map { VerificationSpan(tracer: $0) }
        )
        self.configuration = configuration
        self.producer = VerificationProducer(
            queue: queue, configuration: configuration, executor: executor, completer: completer,
            renewer: LeaseRenewer(queue: queue, configuration: configuration, metrics: metrics, logger: logger),
            metrics: metrics, logger: logger
        )
        self.notifier = { [logger] wakeUps in
            QueueNotifier(
                listenURL: listenURL, channel: VerificationQueue.channel, pollInterval: configuration.pollInterval,
                backoff: configuration.listenerBackoff, logger: logger, wake: { wakeUps.signal() }
            )
        }
        self.rescuer = LeaseRescuer(queue: queue, configuration: configuration, completer: completer, metrics: metrics, logger: logger)
        self.gauges = QueueGauges(queue: queue, interval: configuration.statsInterval, metrics: metrics, logger: logger)
        self.logger = logger
    }

    public func run() async throws {
        logger.info("verification worker started", metadata: [
            "batch_size": "\(configuration.batchSize)", "claim_streams": "\(configuration.claimStreams)", "lease": "\(configuration.lease)", "max_attempts": "\(configuration.maxAttempts)",
        ])
        // The notifier wakes the first claim loop; the others wake when a claim finds a backlog.
        let wakeUps = WakeUps()
        let helpers = (1..<configuration.claimStreams).map { _ in WakeUps() }
        let notifier = notifier(wakeUps)
        await withDiscardingTaskGroup { group in
            group.addTask { await notifier.run() }
            group.addTask { await rescuer.run() }
            group.addTask { await gauges.run() }
            await withDiscardingTaskGroup { claimLoops in
                for helper in helpers {
                    claimLoops.addTask { await producer.run(wakeUps: helper) }
                }
                await producer.run(wakeUps: wakeUps, helpers: helpers)
            }
            group.cancelAll()
        }
        for loop in [wakeUps] + helpers { loop.finish() }
        logger.info("verification worker stopped")
    }
}
