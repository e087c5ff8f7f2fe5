import Foundation
import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import ProvisionerDomain
import ProvisionerNetwork
import ProvisionerStore
import ProvisionerTestSupport
import ProvisionerWorker
import ServiceLifecycle
import Synchronization
import Testing

/// A webhook receiver served by Hummingbird on 127.0.0.1 (a free port) for the duration of a
/// test. Every POST to `/hooks/NAME` is recorded with its headers and body; `respond` decides
/// each answer (status, headers, and an optional wait before answering). `/target` records
/// whatever reaches it, so that a followed redirect would show.
final class WebhookReceiver: Sendable {
    struct Delivery: Sendable {
        let path: String
        let webhookID: String
        let timestamp: String
        let signature: String
        let contentType: String
        let body: [UInt8]
        let receivedAt: ContinuousClock.Instant
    }

    struct Answer: Sendable {
        var status: Int = 200
        var retryAfter: String? = nil
        var delay: Duration? = nil
        var body: Body = .short

        enum Body: Sendable {
            case short
            /// `bytes` of body, in 64 KiB writes.
            case huge(bytes: Int)
            /// One byte every `every`, `count` times.
            case trickle(every: Duration, count: Int)
        }
    }

    typealias Responder = @Sendable (_ delivery: Delivery, _ numberOnPath: Int) async -> Answer

    private let state = Mutex<(deliveries: [Delivery], targetHits: Int)>(([], 0))
    var deliveries: [Delivery] { state.withLock { $0.deliveries } }
    var targetHits: Int { state.withLock { $0.targetHits } }
    func deliveries(to name: String) -> [Delivery] { deliveries.filter { $0.path == "/hooks/\(name)" } }
    private(set) nonisolated(unsafe) var port = 0

    func url(_ name: String) -> String { "http://127.0.0.1:\(port)/hooks/\(name)" }

    static func with<T: Sendable>(
        _ respond: @escaping Responder = { _, _ in Answer() },
        _ body: @Sendable (WebhookReceiver) async throws -> T
    ) async throws -> T {
        let receiver = WebhookReceiver()
        var logger = Logger(label: "webhook-receiver")
        logger.logLevel = .critical
        let router = Router()
        router.post("/hooks/:name") { request, _ -> Response in
            let buffer = try await request.body.collect(upTo: 1 << 20)
            let delivery = Delivery(
                path: request.uri.path,
                webhookID: request.headers.first { $0.name.canonicalName == "webhook-id" }?.value ?? "",
                timestamp: request.headers.first { $0.name.canonicalName == "webhook-timestamp" }?.value ?? "",
                signature: request.headers.first { $0.name.canonicalName == "webhook-signature" }?.value ?? "",
                contentType: request.headers[.contentType] ?? "",
                body: Array(buffer: buffer),
                receivedAt: .now
            )
            let number = receiver.state.withLock { state in
                state.deliveries.append(delivery)
                return state.deliveries.count { $0.path == delivery.path }
            }
            let answer = await respond(delivery, number)
            if let delay = answer.delay { try? await Task.sleep(for: delay) }
            var headers = HTTPFields()
            if let retryAfter = answer.retryAfter { headers[.retryAfter] = retryAfter }
            if (300...399).contains(answer.status), headers[.location] == nil { headers[.location] = "/target" }
            let body: ResponseBody
            switch answer.body {
            case .short:
                body = ResponseBody(byteBuffer: ByteBuffer(string: "ok"))
            case .huge(let bytes):
                body = ResponseBody(contentLength: bytes) { writer in
                    let chunk = ByteBuffer(repeating: UInt8(ascii: "a"), count: 64 * 1024)
                    for _ in 0..<(bytes / (64 * 1024)) { try await writer.write(chunk) }
                }
            case .trickle(let every, let count):
                body = ResponseBody(contentLength: count) { writer in
                    for _ in 0..<count {
                        try await writer.write(ByteBuffer(string: "a"))
                        try await Task.sleep(for: every)
                    }
                }
            }
            return Response(status: HTTPResponse.Status(code: answer.status), headers: headers, body: body)
        }
        router.on("/target", method: .post) { _, _ -> Response in
            receiver.state.withLock { $0.targetHits += 1 }
            return Response(status: .ok)
        }
        router.get("/target") { _, _ -> Response in
            receiver.state.withLock { $0.targetHits += 1 }
            return Response(status: .ok)
        }
        return try await withLocalHTTPServer(router, logger: logger) { port in
            receiver.port = port
            return try await body(receiver)
        }
    }
}

extension WorkerFixture {
    /// Short intervals, plain http and loopback allowed, a compressed retry schedule.
    static func webhookConfiguration(
        workerID: String = "webhook-worker",
        delays: String = "100ms,200ms,300ms",
        timeout: Duration = .seconds(2),
        allowPrivate: Bool = true,
        perEndpointInFlight: Int = 32,
        lease: Duration? = nil
    ) -> WorkerConfiguration {
        var configuration = testConfiguration(workerID: workerID)
        configuration.webhooks = WebhookDeliveryConfiguration(
            urlPolicy: WebhookURLPolicy(allowHTTP: true, allowPrivate: allowPrivate),
            retrySchedule: WebhookRetrySchedule(parsing: delays)!,
            timeout: timeout,
            perEndpointInFlight: perEndpointInFlight,
            lease: lease,
            pollInterval: .milliseconds(100),
            resolveTimeout: .seconds(1),
            cleanupInterval: .milliseconds(200),
            statsInterval: .milliseconds(200),
            shutdownGracePeriod: .seconds(2)
        )
        return configuration
    }

    var webhookQueue: WebhookDeliveryQueue { WebhookDeliveryQueue(client: client, logger: TestDatabase.logger) }

    func makeDispatcher(
        _ configuration: WorkerConfiguration = WorkerFixture.webhookConfiguration(),
        resolver: any HostResolver = FixedHostResolver(["localhost": [[127, 0, 0, 1]]])
    ) -> WebhookDispatcher {
        WebhookDispatcher(
            queue: webhookQueue, configuration: configuration, sealer: sealer, resolver: resolver, listenURL: url, logger: Self.logger
        )
    }

    /// Runs the dispatchers for the duration of `body`, then shuts them down gracefully.
    func dispatching<T: Sendable>(_ dispatchers: [WebhookDispatcher], _ body: @Sendable () async throws -> T) async throws -> T {
        try await withRunningServices(dispatchers, logger: Self.logger, body).result
    }

    /// An endpoint row, inserted as the database owner (as the API would, with its secret
    /// sealed by the fixture's sealer); subscribed to every event type unless told otherwise.
    @discardableResult
    func webhookEndpoint(
        url: String, secret: WebhookSecret, previous: (secret: WebhookSecret, expiresIn: Duration)? = nil,
        events: [String] = WebhookEventType.allCases.map(\.rawValue)
    ) async throws -> UUID {
        let id = UUID()
        let sealed = try sealer.sealWebhookSecret(secret, endpointID: id)
        let sealedPrevious = try previous.map { try sealer.sealWebhookSecret($0.secret, endpointID: id) }
        let expiresMilliseconds = previous.map { $0.expiresIn.components.seconds * 1000 + $0.expiresIn.components.attoseconds / 1_000_000_000_000_000 }
        try await TestDatabase.withClient(self.url, purpose: .owner) { owner in
            _ = try await owner.query(
                """
                INSERT INTO webhook_endpoints (id, url, events, secret_key_id, secret_sealed,
                                               previous_secret_key_id, previous_secret_sealed, previous_secret_expires_at)
                VALUES (\(id), \(url), \(events), \(sealed.keyID), \(ByteBuffer(bytes: sealed.combined)),
                        \(sealedPrevious?.keyID), \(sealedPrevious.map { ByteBuffer(bytes: $0.combined) }),
                        now() + \(expiresMilliseconds) * interval '1 millisecond')
                """,
                logger: TestDatabase.logger
            )
        }
        return id
    }

    /// `count` events for each tenant, through the triggers' own fan-out function (one
    /// statement), in the order tenant by tenant.
    func recordEvents(tenants: [Tenant], perTenant count: Int) async throws {
        var ids: [UUID] = []
        for _ in 0..<count { ids += tenants.map(\.id) }
        try await client.query(
            """
            SELECT webhook_record_events(array_fill('uri_set.issued'::text, ARRAY[\(ids.count)::integer]), \(ids)::uuid[],
                                         array_fill(NULL::uuid, ARRAY[\(ids.count)::integer]), array_fill(1, ARRAY[\(ids.count)::integer]))
            """,
            logger: TestDatabase.logger
        )
    }

    struct DeliveryRow: Sendable {
        let id: UUID
        let eventID: UUID
        let status: String
        let attempt: Int
        let responseStatus: Int?
        let lastError: String?
    }

    func deliveryRows(endpoint: UUID) async throws -> [DeliveryRow] {
        let rows = try await client.query(
            """
            SELECT id, event_id, status, attempt, response_status, last_error FROM webhook_deliveries
            WHERE endpoint_id = \(endpoint) ORDER BY seq
            """,
            logger: TestDatabase.logger
        )
        var result: [DeliveryRow] = []
        for try await (id, eventID, status, attempt, code, error) in rows.decode((UUID, UUID, String, Int, Int?, String?).self) {
            result.append(DeliveryRow(id: id, eventID: eventID, status: status, attempt: attempt, responseStatus: code, lastError: error))
        }
        return result
    }
}

extension WebhookReceiver.Delivery {
    /// Whether the signature header verifies with `secret` (timestamp within 5 minutes of now).
    func verifies(with secret: WebhookSecret) -> Bool {
        guard let timestamp = Int64(timestamp) else { return false }
        return WebhookSignature.verify(
            header: signature, id: webhookID, timestamp: timestamp, body: body, secret: secret,
            now: Int64(Date().timeIntervalSince1970)
        )
    }
}
