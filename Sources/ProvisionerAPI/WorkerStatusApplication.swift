import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle

/// What `provisioner work` listens on: `GET /healthz` and `GET /metrics` (queue depth, oldest
/// pending age, verdicts, retries...), so a worker is probed and scraped like the API. It
/// serves nothing else; the API is `provisioner serve`.
///
/// The endpoints are an aid, not the worker's job: when the address cannot be had (most often
/// a `provisioner serve` on the same host with the same `PROVISIONER_PORT`), the service says
/// so in a warning and the worker goes on verifying uploads without them.
public struct WorkerStatusService: Service {
    let host: String
    let port: Int
    let metrics: PrometheusCollectorRegistry
    let metricsAccess: MetricsAccess
    let limits: HTTPLimits
    let logger: Logger

    public init(
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

    public func run() async throws {
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

/// A listener of `GET /healthz` and `GET /metrics` only: the worker's status endpoints, and the
/// API's metrics when `PROVISIONER_METRICS_PORT` gives them a port of their own.
func buildStatusApplication(
    host: String,
    port: Int,
    metrics: PrometheusCollectorRegistry,
    metricsAccess: MetricsAccess,
    limits: HTTPLimits,
    serverName: String,
    logger: Logger
) -> some ApplicationProtocol {
    let router = Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints)
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: HeadRequestMiddleware())
    router.add(middleware: HTTPProblemMiddleware(routes: RouteTable()))
    router.add(middleware: MetricsAccessMiddleware(access: metricsAccess))
    router.get("/healthz") { _, _ -> Response in
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
    }
    router.get("/metrics") { _, _ -> Response in
        var buffer: [UInt8] = []
        metrics.emit(into: &buffer)
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: buffer))
        )
    }
    return Application(
        router: router,
        server: limits.server,
        configuration: limits.applicationConfiguration(host: host, port: port, serverName: serverName, logger: logger),
        logger: logger
    )
}
