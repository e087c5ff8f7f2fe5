import Hummingbird
import Logging
import Prometheus
import ProvisionerAPI
import ServiceLifecycle

/// What `provisioner work` listens on: `GET /healthz` and `GET /metrics` (queue depth, oldest
/// pending age, verdicts, retries...), so a worker is probed and scraped like the API. It
/// serves nothing else; the API is `provisioner serve`.
///
/// The endpoints are an aid, not the worker's job: when the address cannot be had (most often
/// a `provisioner serve` on the same host with the same `PROVISIONER_PORT`), the service says
/// so in a warning and the worker goes on verifying uploads without them.
struct WorkerStatusService: Service {
    let host: String
    let port: Int
    let metrics: PrometheusCollectorRegistry
    let metricsAccess: MetricsAccess
    let limits: HTTPLimits
    let logger: Logger

    init(
        host: String,
        port: Int,
        metrics: PrometheusCollectorRegistry,
        metricsAccess: MetricsAccess = .open,
        limits: HTTPLimits = HTTPLimits(),
        logger: Logger
    ) {
        self.host = host
        self.port = port
        self.metrics = metrics
        self.metricsAccess = metricsAccess
        self.limits = limits
        self.logger = logger
    }

    func run() async throws {
        do {
            try await buildStatusApplication(
                host: host, port: port, metrics: metrics, metricsAccess: metricsAccess, limits: limits,
                serverName: "provisioner-work", logger: logger
            ).run()
        } catch is CancellationError {
            return
        } catch {
            logger.warning(
                "the worker's /healthz and /metrics are not served: cannot listen on \(host):\(port) (\(error)); the worker goes on without them. Give `provisioner work` its own PROVISIONER_PORT."
            )
            // Stay until the group stops, as a service that ended early would stop it.
            try? await gracefulShutdown()
        }
    }
}
