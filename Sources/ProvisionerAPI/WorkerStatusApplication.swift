import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle

/// What `provisioner work` listens on: `GET /healthz` and `GET /metrics` (queue depth, oldest
/// pending age, verdicts, retries...), so a worker is probed and scraped like the API. It
/// serves nothing else; the API is `provisioner serve`.
public func buildWorkerStatusApplication(
    host: String,
    port: Int,
    metrics: PrometheusCollectorRegistry,
    services: [any Service],
    logger: Logger
) -> some ApplicationProtocol {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: HTTPProblemMiddleware(routes: RouteTable()))
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
        configuration: .init(address: .hostname(host, port: port), serverName: "provisioner-work"),
        services: services,
        logger: logger
    )
}
