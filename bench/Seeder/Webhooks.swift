// The webhook side of provisioner-bench (bench/webhooks.sh, scripts/fault-webhook-kill.sh).
//
//   provisioner-bench webhook-endpoint --url URL     an endpoint for every event type, with a fresh
//       secret sealed by PROVISIONER_ENCRYPTION_KEYS; prints its id (never the secret)
//   provisioner-bench webhook-events --count N [--tenants T] [--one-by-one]
//       T new tenants, then N uri_set.issued events round-robin over them through the triggers'
//       fan-out function (1,000 a statement); --one-by-one: one event at a time, each waited for
//       until delivered (the latency of an idle worker)
//   provisioner-bench webhook-report [--timeout S]   waits until no delivery is pending, then
//       prints the rate (first to last attempt) and event-to-delivery latency (occurred_at to
//       attempted_at, both the database's and the worker's clock on this machine)
//   provisioner-bench webhook-receiver --port P [--delay-ms D] [--log FILE]
//       answers 204 to every POST (after D ms), appending `webhook-id` lines to FILE when given
import Foundation
import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import ProvisionerDomain
import ProvisionerStore
import Synchronization

func webhookEndpoint(url: String) async throws {
    let sealer = SecretSealer(keyring: try EncryptionKeyring(parsing: try environment("PROVISIONER_ENCRYPTION_KEYS")))
    let id = UUID()
    let sealed = try sealer.sealWebhookSecret(WebhookSecret.generate(), endpointID: id)
    try await withClient { client in
        try await client.query(
            """
            INSERT INTO webhook_endpoints (id, url, events, secret_key_id, secret_sealed)
            VALUES (\(id), \(url), \(WebhookEventType.allCases.map(\.rawValue)), \(sealed.keyID), \(ByteBuffer(bytes: sealed.combined)))
            """,
            logger: logger
        )
    }
    print(id.uuidString.lowercased())
}

func webhookEvents(count: Int, tenantCount: Int, oneByOne: Bool) async throws {
    let run = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    try await withClient { client in
        var tenants: [UUID] = []
        for start in stride(from: 0, to: tenantCount, by: 1000) {
            let slugs = (start..<min(start + 1000, tenantCount)).map { "hook-\(run)-\($0)" }
            let ids = slugs.map { _ in UUID() }
            try await client.query(
                "INSERT INTO tenants (id, slug, display_name) SELECT id, slug, slug FROM unnest(\(ids)::uuid[], \(slugs)::text[]) AS t(id, slug)",
                logger: logger
            )
            tenants += ids
        }
        let started = Date()
        if oneByOne {
            for index in 0..<count {
                try await record(client, tenants: [tenants[index % tenants.count]])
                while true {
                    let rows = try await client.query("SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE status = 'pending')", logger: logger)
                    var pending = false
                    for try await exists in rows.decode(Bool.self) { pending = exists }
                    if !pending { break }
                    try await Task.sleep(for: .milliseconds(1))
                }
                // An idle worker: the next event comes after a pause, not at once.
                try await Task.sleep(for: .milliseconds(20))
            }
        } else {
            for start in stride(from: 0, to: count, by: 1000) {
                try await record(client, tenants: (start..<min(start + 1000, count)).map { tenants[$0 % tenants.count] })
            }
        }
        print(String(format: "recorded %d events over %d tenants in %.1f s", count, tenantCount, Date().timeIntervalSince(started)))
    }
}

private func record(_ client: PostgresClient, tenants: [UUID]) async throws {
    let n = tenants.count
    try await client.query(
        """
        SELECT webhook_record_events(array_fill('uri_set.issued'::text, ARRAY[\(n)::integer]), \(tenants)::uuid[],
                                     array_fill(NULL::uuid, ARRAY[\(n)::integer]), array_fill(1, ARRAY[\(n)::integer]))
        """,
        logger: logger
    )
}

func webhookReport(timeout: Double) async throws {
    try await withClient { client in
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let rows = try await client.query("SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE status = 'pending')", logger: logger)
            var pending = false
            for try await exists in rows.decode(Bool.self) { pending = exists }
            if !pending { break }
            guard Date() < deadline else { throw BenchError("deliveries still pending after \(timeout) s") }
            try await Task.sleep(for: .milliseconds(200))
        }
        let rows = try await client.query(
            """
            SELECT count(*)::int8, count(*) FILTER (WHERE status = 'succeeded')::int8, coalesce(max(attempt), 0)::int8,
                   coalesce(extract(epoch FROM max(attempted_at) - min(attempted_at)), 0)::float8,
                   coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM attempted_at - occurred_at)), 0)::float8,
                   coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM attempted_at - occurred_at)), 0)::float8
            FROM webhook_deliveries
            """,
            logger: logger
        )
        for try await (total, succeeded, maxAttempt, span, p50, p99) in rows.decode((Int, Int, Int, Double, Double, Double).self) {
            print("deliveries: \(total) (succeeded \(succeeded), most attempts \(maxAttempt))")
            print(String(format: "drain: %.3f s from the first delivery to the last = %.0f deliveries/s", span, span > 0 ? Double(total - 1) / span : 0))
            print(String(format: "event-to-delivery latency: p50 %.1f ms, p99 %.1f ms", p50 * 1000, p99 * 1000))
        }
    }
}

func webhookReceiver(port: Int, delay: Duration?, logPath: String?) async throws {
    var serverLogger = Logger(label: "webhook-receiver")
    serverLogger.logLevel = .error
    let log: Mutex<FileHandle?>
    if let logPath {
        FileManager.default.createFile(atPath: logPath, contents: nil)
        log = Mutex(FileHandle(forWritingAtPath: logPath))
    } else {
        log = Mutex(nil)
    }
    let received = Atomic<Int>(0)
    let router = Router()
    router.post("/hooks/:name") { request, _ -> Response in
        _ = try await request.body.collect(upTo: 1 << 20)
        if let delay { try? await Task.sleep(for: delay) }
        received.add(1, ordering: .relaxed)
        if let id = request.headers.first(where: { $0.name.canonicalName == "webhook-id" })?.value {
            log.withLock { $0?.write(Data((id + "\n").utf8)) }
        }
        return Response(status: .noContent)
    }
    router.get("/count") { _, _ -> Response in
        Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "\(received.load(ordering: .relaxed))\n")))
    }
    let app = Application(
        router: router,
        configuration: .init(address: .hostname("127.0.0.1", port: port)),
        logger: serverLogger
    )
    try await app.runService()
}
