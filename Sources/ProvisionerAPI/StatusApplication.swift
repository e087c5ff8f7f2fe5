import Hummingbird
import Logging
import Prometheus

/// A listener of `GET /healthz` and `GET /metrics` only: the worker's status endpoints
/// (`WorkerStatusService` of the executable), and the API's metrics when
/// `PROVISIONER_METRICS_PORT` gives them a port of their own. Built here since it shares the
/// API's middleware (security headers, request ids, problems, the metrics token).
public func buildStatusApplication(
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
