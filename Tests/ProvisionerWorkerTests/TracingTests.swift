import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import OTel
import PostgresNIO
import Prometheus
import ProvisionerAPI
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import ProvisionerWorker
import ServiceLifecycle
import Synchronization
import Testing
import Tracing

/// Tracing end to end: an upload through the API with the caller's `traceparent`, verified by
/// the worker with the live check, a webhook delivered, every span exported by swift-otel's
/// tracer (OTLP/HTTP, JSON) to a collector the test serves, which also plays Google's token
/// endpoint and the webhook receiver.
///
/// The tracer is handed to the application and the worker, as the executable does: nothing is
/// bootstrapped in the process-wide `InstrumentationSystem`, so suites running beside this one
/// trace nothing.
@Suite struct TracingTests {
    /// The caller's trace: a parent span in another service.
    static let incomingTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let incomingSpanID = "00f067aa0ba902b7"
    static let incomingTraceState = "rojo=00f067aa0ba902b7"
    static let onboardingCode = "olc_" + String(repeating: "Q7", count: 20)

    @Test func theUploadsTraceReachesTheVerificationAndItsRequestsCarryTraceparent() async throws {
        try await TraceCollector.with { collector in
            let tracing = try TracingBackend(endpoint: collector.url("/v1/traces"))
            try await tracing.running { tracer in
                try await WorkerFixture.with { fixture in
                    try await Self.flow(fixture: fixture, collector: collector, tracer: tracer)
                }
            }
        }
    }

    /// The queue's side, without a tracer: the context of the request that asks for a
    /// verification is stored with the job, replaced by a re-verification's, cleared by one made
    /// without tracing, returned by the claim; the column refuses what is not a `traceparent`.
    @Test func theTraceContextIsStoredWithTheJobAndReturnedByTheClaim() async throws {
        try await WorkerFixture.with { fixture in
            let tenant = try await fixture.tenant("acme")
            let upload = try #require(QueuedTraceContext(traceParent: "00-\(Self.incomingTraceID)-\(Self.incomingSpanID)-01", traceState: Self.incomingTraceState))
            let reverify = try #require(QueuedTraceContext(traceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", traceState: nil))
            let id = try await QueuedTraceContext.$current.withValue(upload) {
                try await fixture.upload(ClientFiles.clean(for: tenant.uriSet), to: tenant)
            }
            func stored() async throws -> QueuedTraceContext? {
                let rows = try await fixture.client.query(
                    "SELECT trace_parent, trace_state FROM credentials WHERE id = \(id)", logger: TestDatabase.logger
                ).collect()
                let (parent, state) = try #require(rows.first).decode((String?, String?).self)
                return parent.flatMap { QueuedTraceContext(traceParent: $0, traceState: state) }
            }
            #expect(try await stored() == upload)

            try await QueuedTraceContext.$current.withValue(reverify) { try await fixture.reverify(id, of: tenant) }
            #expect(try await stored() == reverify)
            let claimed = try await fixture.queue.claim(limit: 10, lease: .seconds(30), workerID: "trace-test")
            #expect(claimed.jobs.map(\.traceContext) == [reverify])

            try await fixture.reverify(id, of: tenant)
            #expect(try await stored() == nil)
            let again = try await fixture.queue.claim(limit: 10, lease: .seconds(30), workerID: "trace-test")
            #expect(again.jobs.count == 1 && again.jobs.first?.traceContext == nil)

            for (parent, state) in [("bogus", nil), ("00-\(Self.incomingTraceID)-\(Self.incomingSpanID)-01", String(repeating: "a", count: 513)), (nil, "rojo=1")] as [(String?, String?)] {
                await #expect(throws: PSQLError.self) {
                    try await TestDatabase.withClient(fixture.url, purpose: .owner) { owner in
                        try await owner.query(
                            "UPDATE credentials SET trace_parent = \(parent), trace_state = \(state) WHERE id = \(id)", logger: TestDatabase.logger
                        )
                    }
                }
            }
        }
    }

    static func flow(fixture: WorkerFixture, collector: TraceCollector, tracer: any Tracer) async throws {
        // A webhook endpoint first, so that issuing the tenant's URI set queues a delivery.
        _ = try await fixture.webhookEndpoint(url: collector.url("/hooks/t"), secret: .generate())
        let tenant = try await fixture.tenant("acme")
        let uriSet = try #require(tenant.uriSet)
        let admin = try await PostgresTokenStore(database: fixture.database).create(
            NewToken(role: .tenantAdmin, name: "acme-admin", tenant: (tenant.id, tenant.slug), expiresAt: nil),
            createdBy: nil, audit: WorkerFixture.audit("token.create")
        ).token

        // The upload, with the caller's trace context; then a read of it, with a malformed one.
        let keyring = try EncryptionKeyring(parsing: EncryptionKeyring.generateEntry(id: "trace1"))
        var dependencies = APIDependencies(
            postgres: DatabaseClientFactory.makeClient(url: fixture.url, purpose: .application(maximumConnections: 4), logger: TestDatabase.logger),
            listenURL: fixture.url, migrations: try TestDatabase.migrations(), metrics: PrometheusCollectorRegistry(), keyring: keyring
        )
        dependencies.tracer = tracer
        let app = try buildApplication(
            configuration: APIConfiguration(host: "127.0.0.1", port: 0, uriIssuer: try URISetIssuer(cloudDomain: "crm.example.com")),
            dependencies: dependencies, logger: TestDatabase.logger
        )
        let credentialID: String = try await app.test(.router) { client in
            let file = ClientFiles.clean(for: uriSet, tokenURI: "https://oauth2.googleapis.com/token")
            let uploaded = try await client.execute(
                uri: "/v1/tenants/acme/credentials", method: .post,
                headers: [
                    .authorization: "Bearer \(admin)", .contentType: "application/json",
                    HTTPField.Name("traceparent")!: "00-\(incomingTraceID)-\(incomingSpanID)-01",
                    HTTPField.Name("tracestate")!: incomingTraceState,
                ],
                body: ByteBuffer(bytes: file)
            )
            #expect(uploaded.status == .accepted)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(buffer: uploaded.body)) as? [String: Any])
            let id = try #require(json["id"] as? String)
            let read = try await client.execute(
                uri: "/v1/tenants/acme/credentials/\(id)", method: .get,
                headers: [.authorization: "Bearer \(admin)", HTTPField.Name("traceparent")!: "00-\(incomingTraceID)-zz-01"]
            )
            #expect(read.status == .ok)
            // An onboarding link's code is part of its path: the span names the route only.
            _ = try await client.execute(uri: "/connect/\(onboardingCode)", method: .get)
            return id
        }

        // The verification, with the live check against the collector's fake token endpoint,
        // and the webhook delivery.
        let keyringSealer = SecretSealer(keyring: keyring)
        var traced = WorkerFixture.webhookConfiguration()
        traced.tracer = tracer
        let configuration = traced
        let liveCheck = LiveGoogleCheck(
            configuration: .init(tokenURL: collector.url("/token"), retries: 0), logger: WorkerFixture.logger, tracer: tracer
        )
        let worker = fixture.makeWorker(configuration, sealer: keyringSealer, liveCheck: liveCheck)
        try await fixture.running(worker) {
            try await fixture.dispatching([fixture.makeDispatcher(configuration)]) {
                let row = try await fixture.waitForVerdict(try #require(UUID(uuidString: credentialID)))
                #expect(row.state == .verified)
                try await fixture.waitUntil("the webhook delivered") { !collector.requests(to: "/hooks/t").isEmpty }
            }
        }

        // Stored with the job: the upload request's own span, in the caller's trace.
        let stored = try await fixture.client.query(
            "SELECT trace_parent, trace_state FROM credentials WHERE id = \(UUID(uuidString: credentialID)!)", logger: TestDatabase.logger
        ).collect().first?.decode((String?, String?).self)
        let storedParent = try #require(stored?.0)
        #expect(storedParent.hasPrefix("00-\(incomingTraceID)-"))
        #expect(stored?.1 == incomingTraceState)

        // Every request sent carried the context of a client span that was exported.
        @Sendable func sentSpan(_ request: TraceCollector.Request) -> TraceCollector.Span? {
            collector.spans.first { $0.kind == 3 && request.traceparent == "00-\($0.traceID)-\($0.spanID)-01" }
        }
        try await fixture.waitUntil("the spans exported") {
            let names = Set(collector.spans.map(\.name))
            return names.isSuperset(of: [
                "POST /v1/tenants/{slug}/credentials", "GET /v1/tenants/{slug}/credentials/{credentialId}", "verify credential",
                "GET /connect/{code}",
            ]) && (collector.requests(to: "/token") + collector.requests(to: "/hooks/t")).allSatisfy { sentSpan($0) != nil }
        }
        let spans = collector.spans

        // The server span of the upload: child of the caller's span, named by its route.
        let upload = try #require(spans.first { $0.name == "POST /v1/tenants/{slug}/credentials" })
        #expect(upload.kind == 2)  // SERVER
        #expect(upload.traceID == incomingTraceID)
        #expect(upload.parentSpanID == incomingSpanID)
        #expect(upload.attributes["http.route"] == "/v1/tenants/{slug}/credentials")
        #expect(upload.attributes["http.response.status_code"] == "202")
        #expect(storedParent == "00-\(incomingTraceID)-\(upload.spanID)-01")

        // A malformed traceparent starts a trace of its own.
        let read = try #require(spans.first { $0.name == "GET /v1/tenants/{slug}/credentials/{credentialId}" })
        #expect(read.traceID != incomingTraceID && read.parentSpanID == nil)

        // The verification: a root span (not the upload's child), linked to the upload's span.
        let verification = try #require(spans.first { $0.name == "verify credential" })
        #expect(verification.kind == 5)  // CONSUMER
        #expect(verification.parentSpanID == nil)
        #expect(verification.traceID != incomingTraceID)
        #expect(verification.links.contains { $0.traceID == incomingTraceID && $0.spanID == upload.spanID && $0.traceState == incomingTraceState })
        #expect(verification.attributes["provisioner.credential_id"] == credentialID.lowercased())
        #expect(verification.attributes["provisioner.verification.state"] == "verified")

        // The live check: a client span inside the verification, whose context the request carried.
        let tokenRequests = collector.requests(to: "/token")
        #expect(tokenRequests.count == 1)
        let google = try #require(tokenRequests.first.flatMap(sentSpan))
        #expect(google.name == "POST google token (live check)")
        #expect(google.traceID == verification.traceID && google.parentSpanID == verification.spanID)

        // Each webhook attempt: a client span of its own (a new trace), whose context it carried.
        let deliveries = collector.requests(to: "/hooks/t")
        #expect(!deliveries.isEmpty)
        for delivery in deliveries {
            let webhook = try #require(sentSpan(delivery))
            #expect(webhook.name == "POST webhook" && webhook.parentSpanID == nil)
            #expect(WebhookEventType(rawValue: webhook.attributes["provisioner.webhook.event_type"] ?? "") != nil)
            #expect(webhook.attributes["provisioner.webhook.attempt"] == "1")
        }

        // Nothing secret or identifying beyond ids: no token, no secret, no path with a slug.
        for span in spans {
            for value in [span.name] + Array(span.attributes.values) {
                #expect(!value.contains(admin) && !value.contains(ClientFiles.secret), "\(span.name): \(value)")
                #expect(!value.contains("acme") && !value.contains(onboardingCode), "\(span.name): \(value)")
                // Ids are the worker's attributes, never part of a server span's name.
                #expect(span.kind != 2 || !value.contains(credentialID.lowercased()), "\(span.name): \(value)")
            }
            #expect(span.attributes["url.path"] == nil && span.attributes["url.query"] == nil && span.attributes["url.full"] == nil)
        }
    }
}

/// swift-otel's tracing backend pointed at the collector: OTLP/HTTP with JSON bodies, exported
/// every 100 ms. Its service runs for the duration of `running`, and flushes on the way out.
struct TracingBackend {
    let tracer: any Tracer
    let service: any Service

    init(endpoint: String) throws {
        var configuration = OTel.Configuration.default
        configuration.serviceName = "provisioner-test"
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.protocol = .httpJSON
        configuration.traces.otlpExporter.endpoint = endpoint
        configuration.traces.batchSpanProcessor.scheduleDelay = .milliseconds(100)
        var logger = Logger(label: "swift-otel-test")
        logger.logLevel = .critical
        configuration.diagnosticLogger = .custom(logger)
        configuration.diagnosticLogLevel = .error
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        tracer = backend.factory
        service = backend.service
    }

    func running<T: Sendable>(_ body: @Sendable (any Tracer) async throws -> T) async throws -> T {
        let group = ServiceGroup(configuration: .init(services: [.init(service: service)], logger: WorkerFixture.logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                let result = try await body(tracer)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }
}

/// An OTLP/HTTP collector (JSON) on 127.0.0.1, which also answers as Google's token endpoint
/// (`/token`: a known client, a valid secret) and as a webhook receiver (`/hooks/NAME`), and
/// records the `traceparent` of every request it gets.
final class TraceCollector: Sendable {
    struct Request: Sendable {
        let path: String
        let traceparent: String?
    }

    struct Link: Sendable {
        let traceID: String
        let spanID: String
        let traceState: String?
    }

    struct Span: Sendable {
        let traceID: String
        let spanID: String
        let parentSpanID: String?
        let name: String
        let kind: Int
        let attributes: [String: String]
        let links: [Link]
    }

    private let state = Mutex<(requests: [Request], spans: [Span])>(([], []))
    private let boundPort = Mutex(0)
    var port: Int { boundPort.withLock { $0 } }
    var spans: [Span] { state.withLock { $0.spans } }
    func requests(to path: String) -> [Request] { state.withLock { $0.requests.filter { $0.path == path } } }
    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    static func with<T: Sendable>(_ body: @Sendable (TraceCollector) async throws -> T) async throws -> T {
        let collector = TraceCollector()
        var logger = Logger(label: "trace-collector")
        logger.logLevel = .critical
        let router = Router()
        router.post("/v1/traces") { request, _ -> Response in
            let buffer = try await request.body.collect(upTo: 16 << 20)
            let spans = try Self.spans(fromOTLPJSON: Data(buffer: buffer))
            collector.state.withLock { $0.spans += spans }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: "{}")))
        }
        router.post("/token") { request, _ -> Response in
            collector.record(request)
            let json = #"{"error":"invalid_grant","error_description":"Malformed auth code."}"#
            return Response(status: .badRequest, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: json)))
        }
        router.post("/hooks/:name") { request, _ -> Response in
            collector.record(request)
            return Response(status: .noContent)
        }
        return try await withLocalHTTPServer(router, logger: logger) { port in
            collector.boundPort.withLock { $0 = port }
            return try await body(collector)
        }
    }

    private func record(_ request: Hummingbird.Request) {
        let entry = Request(path: request.uri.path, traceparent: request.headers[HTTPField.Name("traceparent")!])
        state.withLock { $0.requests.append(entry) }
    }

    /// The spans of an OTLP `ExportTraceServiceRequest` in protobuf's JSON mapping. Ids are
    /// bytes fields, which swift-otel's JSON gives in base64 (OTLP/JSON proper says hex): both
    /// are read, and returned as lower-case hex.
    static func spans(fromOTLPJSON data: Data) throws -> [Span] {
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var spans: [Span] = []
        for resource in root["resourceSpans"] as? [[String: Any]] ?? [] {
            for scope in resource["scopeSpans"] as? [[String: Any]] ?? [] {
                for span in scope["spans"] as? [[String: Any]] ?? [] {
                    var attributes: [String: String] = [:]
                    for attribute in span["attributes"] as? [[String: Any]] ?? [] {
                        guard let key = attribute["key"] as? String, let value = attribute["value"] as? [String: Any] else { continue }
                        attributes[key] = value.values.first.map { "\($0)" }
                    }
                    let links = (span["links"] as? [[String: Any]] ?? []).map { link in
                        Link(
                            traceID: hex(link["traceId"]) ?? "", spanID: hex(link["spanId"]) ?? "",
                            traceState: (link["traceState"] as? String).flatMap { $0.isEmpty ? nil : $0 }
                        )
                    }
                    spans.append(Span(
                        traceID: hex(span["traceId"]) ?? "", spanID: hex(span["spanId"]) ?? "",
                        parentSpanID: hex(span["parentSpanId"]), name: span["name"] as? String ?? "",
                        kind: span["kind"] as? Int ?? 0, attributes: attributes, links: links
                    ))
                }
            }
        }
        return spans
    }

    static func hex(_ value: Any?) -> String? {
        guard let text = value as? String, !text.isEmpty else { return nil }
        if text.count == 32 || text.count == 16, text.allSatisfy(\.isHexDigit) { return text.lowercased() }
        guard let bytes = Data(base64Encoded: text) else { return nil }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }
}
