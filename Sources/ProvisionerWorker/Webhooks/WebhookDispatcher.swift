import AsyncHTTPClient
import Logging
import NIOCore
import PostgresNIO
import ProvisionerDomain
import ProvisionerNetwork
import ProvisionerStore
import ServiceLifecycle

/// The webhook delivery service: the producer (claims, with the sender and the completer), the
/// notifier (LISTEN `webhook_deliveries` and the polling fallback), the cleaner (exhausted
/// leases, retention) and the gauges, run together beside the verification worker.
///
/// It owns one HTTPClient, made when it starts and shut down when it stops: redirects are never
/// followed (a 3xx is a failed attempt: its target was never checked against the policy), and
/// the connections it opens are bounded by `maxInFlight` (the claim keeps each endpoint within
/// `perEndpointInFlight`; several endpoints on one host share its connections, so the pool's
/// bound per host must not be the per-endpoint one, or a slow endpoint would hold up its
/// neighbours on the same host).
///
/// The listener holds a connection of its own to `listenURL` while the dispatcher runs.
public struct WebhookDispatcher: Service {
    let queue: WebhookDeliveryQueue
    let configuration: WorkerConfiguration
    let sealer: SecretSealer
    let resolver: any HostResolver
    let listenURL: DatabaseURL
    let logger: Logger

    public init(
        queue: WebhookDeliveryQueue,
        configuration: WorkerConfiguration = WorkerConfiguration(),
        sealer: SecretSealer,
        resolver: (any HostResolver)? = nil,
        listenURL: DatabaseURL,
        logger: Logger
    ) {
        var logger = logger
        logger[metadataKey: "worker_id"] = "\(configuration.workerID)"
        self.queue = queue
        self.configuration = configuration
        self.sealer = sealer
        self.resolver = resolver ?? SystemHostResolver(timeout: configuration.webhooks.resolveTimeout)
        self.listenURL = listenURL
        self.logger = logger
    }

    static func makeHTTPClient(_ configuration: WebhookDeliveryConfiguration) -> HTTPClient {
        let timeout = TimeAmount.nanoseconds(WebhookSender.nanoseconds(configuration.timeout))
        var http = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: timeout, read: timeout),
            decompression: .disabled
        )
        http.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.maxInFlight
        )
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: http.withoutLibraryTracing())
    }

    public func run() async throws {
        let webhooks = configuration.webhooks
        logger.info("webhook dispatcher started", metadata: [
            "max_in_flight": "\(webhooks.maxInFlight)", "per_endpoint": "\(webhooks.perEndpointInFlight)",
            "timeout": "\(webhooks.timeout)", "max_attempts": "\(webhooks.retrySchedule.maxAttempts)",
        ])
        let client = Self.makeHTTPClient(webhooks)
        let metrics = WebhookMetrics()
        let wakeUps = WakeUps()
        let answered = AnsweredDeliveries()
        let completer = WebhookCompleter(
            queue: queue, configuration: webhooks, databaseBackoff: configuration.databaseBackoff, logger: logger,
            answered: answered, onRecorded: { wakeUps.signal() }
        )
        let producer = WebhookProducer(
            queue: queue, configuration: webhooks, workerID: configuration.workerID, databaseBackoff: configuration.databaseBackoff,
            sender: WebhookSender(client: client, resolver: resolver, configuration: webhooks, sealer: sealer, tracer: configuration.tracer),
            completer: completer, answered: answered, metrics: metrics, logger: logger
        )
        let notifier = QueueNotifier(
            listenURL: listenURL, channel: WebhookDeliveryQueue.channel, pollInterval: webhooks.pollInterval,
            backoff: configuration.listenerBackoff, logger: logger, wake: { wakeUps.signal() }
        )
        let cleaner = WebhookCleaner(queue: queue, configuration: webhooks, logger: logger)
        let gauges = WebhookGauges(queue: queue, interval: webhooks.statsInterval, metrics: metrics, logger: logger)
        await withDiscardingTaskGroup { group in
            group.addTask { await completer.run() }
            await withDiscardingTaskGroup { background in
                background.addTask { await notifier.run() }
                background.addTask { await cleaner.run() }
                background.addTask { await gauges.run() }
                await producer.run(wakeUps: wakeUps)
                background.cancelAll()
            }
            // Every attempt has ended: record what is left, then stop.
            completer.finish()
        }
        wakeUps.finish()
        do {
            try await client.shutdown()
        } catch {
            logger.debug("HTTP client shutdown", metadata: ["error": "\(error)"])
        }
        logger.info("webhook dispatcher stopped")
    }
}
