// provisioner-bench: the data side of bench/drain.sh and bench/latency.sh.
//
//   provisioner-bench seed --count N [--tenants T] [--parked]
//       N uploads, sealed one by one (the associated data binds each to its row), spread over T
//       tenants made with URI sets; inserted straight into PostgreSQL, 1,000 rows a statement.
//       --parked: not due (next_attempt_at = infinity) until `release`.
//   provisioner-bench release          makes the parked uploads due at once and notifies; prints
//       when that committed (the worker sees none of them before).
//   provisioner-bench report [--since RFC3339|--tag TAG] [--from RFC3339] [--timeout S]
//       waits until the queue is empty, then prints the drain rate and verdict latencies,
//       from the database's own timestamps; --from: counted from then (the release's commit)
//       rather than from the requests.
//
// Environment: DATABASE_URL (the role of `provisioner migrate`, or any role granted
// provisioner_app), PROVISIONER_ENCRYPTION_KEYS (the keys of the worker under test),
// PROVISIONER_CLOUD_DOMAIN (default crm.example.com).
import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain
import ProvisionerStore

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func option(_ name: String, in arguments: [String]) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

func environment(_ name: String) throws -> String {
    guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { throw BenchError("\(name) is required") }
    return value
}

let logger: Logger = {
    var logger = Logger(label: "provisioner-bench")
    logger.logLevel = .error
    return logger
}()

func withClient<T: Sendable>(_ body: @escaping @Sendable (PostgresClient) async throws -> T) async throws -> T {
    let url = try DatabaseURL(parsing: try environment("DATABASE_URL"))
    // As provisioner_app, seeing every tenant: the worker's own view of the data.
    let client = DatabaseClientFactory.makeClient(url: url, purpose: .worker(maximumConnections: 4), logger: logger)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            await client.run()
            return nil
        }
        defer { group.cancelAll() }
        return try await body(client)
    }
}

func cleanFile(clientID: String, uriSet: IssuedURIs) -> [UInt8] {
    func list(_ values: [String]) -> String { "[" + values.map { "\"\($0)\"" }.joined(separator: ",") + "]" }
    return Array("""
    {"web":{"client_id":"\(clientID)","project_id":"all-gather-crm-google-calendar",\
    "auth_uri":"https://accounts.google.com/o/oauth2/auth","token_uri":"https://oauth2.googleapis.com/token",\
    "auth_provider_x509_cert_url":"https://www.googleapis.com/oauth2/v1/certs",\
    "client_secret":"GOCSPX-AbCdEfGhIjKlMnOpQrStUvWx_-12",\
    "redirect_uris":\(list(uriSet.redirectURIs)),"javascript_origins":\(list(uriSet.javascriptOrigins))}}
    """.utf8)
}

func seed(count: Int, tenantCount: Int, parked: Bool) async throws {
    let sealer = SecretSealer(keyring: try EncryptionKeyring(parsing: try environment("PROVISIONER_ENCRYPTION_KEYS")))
    let issuer = try URISetIssuer(cloudDomain: ProcessInfo.processInfo.environment["PROVISIONER_CLOUD_DOMAIN"] ?? "crm.example.com")
    let run = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    let started = Date()
    try await withClient { client in
        // Tenants, each with URI set 1.
        var tenants: [(id: UUID, uris: IssuedURIs)] = []
        for start in stride(from: 0, to: tenantCount, by: 1000) {
            let slugs = (start..<min(start + 1000, tenantCount)).map { "bench-\(run)-\($0)" }
            let uris = try slugs.map { try issuer.issue(slug: TenantSlug(validating: $0), customDomain: nil) }
            let ids = slugs.map { _ in UUID() }
            try await client.query(
                """
                INSERT INTO tenants (id, slug, display_name, current_uri_set_version)
                SELECT id, slug, slug, 1 FROM unnest(\(ids)::uuid[], \(slugs)::text[]) AS t(id, slug)
                """,
                logger: logger
            )
            try await client.query(
                """
                INSERT INTO uri_sets (tenant_id, version, host, javascript_origins, redirect_uris, issued_by)
                SELECT id, 1, host, ARRAY[origin], ARRAY[callback, account], 'bench'
                FROM unnest(\(ids)::uuid[], \(uris.map(\.host))::text[], \(uris.map { $0.javascriptOrigins[0] })::text[],
                            \(uris.map { $0.redirectURIs[0] })::text[], \(uris.map { $0.redirectURIs[1] })::text[])
                     AS u(id, host, origin, callback, account)
                """,
                logger: logger
            )
            tenants += zip(ids, uris).map { ($0, $1) }
        }
        // Uploads, round-robin over the tenants, sealed per row.
        let nextAttempt = parked ? "infinity" : "now"
        for start in stride(from: 0, to: count, by: 1000) {
            var ids: [UUID] = [], tenantIDs: [UUID] = [], clientIDs: [String] = [], hashes: [String] = [], sealed: [ByteBuffer] = []
            var keyIDs: [String] = []
            for index in start..<min(start + 1000, count) {
                let tenant = tenants[index % tenants.count]
                let id = UUID()
                let clientID = "\(100000000000 + index)-benchabcdefghijklmnopqrstuvwxyz01.apps.googleusercontent.com"
                let file = cleanFile(clientID: clientID, uriSet: tenant.uris)
                let box = try sealer.seal(file, tenantID: tenant.id, credentialID: id)
                ids.append(id)
                tenantIDs.append(tenant.id)
                clientIDs.append(clientID)
                hashes.append(ClientSecretsSummary.sha256Hex(file))
                keyIDs.append(box.keyID)
                sealed.append(ByteBuffer(bytes: box.combined))
            }
            try await client.query(
                """
                INSERT INTO credentials (id, tenant_id, uploaded_by, sha256, client_type, client_id, project_id, client_secret_hint,
                                         sealed_key_id, sealed_file, next_attempt_at)
                SELECT id, tenant_id, 'bench', sha, 'web', client_id, 'all-gather-crm-google-calendar', '_-12', key_id, sealed,
                       \(nextAttempt)::timestamptz
                FROM unnest(\(ids)::uuid[], \(tenantIDs)::uuid[], \(hashes)::text[], \(clientIDs)::text[], \(keyIDs)::text[], \(sealed)::bytea[])
                     AS c(id, tenant_id, sha, client_id, key_id, sealed)
                """,
                logger: logger
            )
        }
        // Each tenant's newest upload, as the API keeps it.
        try await client.query(
            """
            UPDATE tenants t SET latest_credential_id = n.id, latest_credential_state = 'pending', latest_credential_uploaded_at = n.uploaded_at
            FROM (SELECT DISTINCT ON (tenant_id) tenant_id, id, uploaded_at FROM credentials
                  WHERE tenant_id = ANY(\(tenants.map(\.id))::uuid[]) ORDER BY tenant_id, uploaded_at DESC, id DESC) n
            WHERE t.id = n.tenant_id
            """,
            logger: logger
        )
        if !parked { try await client.query("SELECT pg_notify('verification_queue', '')", logger: logger) }
    }
    print(String(format: "seeded %d uploads over %d tenants in %.1f s%@", count, tenantCount, Date().timeIntervalSince(started), parked ? " (parked)" : ""))
}

func release() async throws {
    try await withClient { client in
        let rows = try await client.query(
            """
            WITH released AS (
                UPDATE credentials SET next_attempt_at = now(), requested_at = now()
                WHERE state = 'pending' AND next_attempt_at = 'infinity' RETURNING 1
            )
            SELECT count(*)::int8, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), pg_notify('verification_queue', '')::text
            FROM released
            """,
            logger: logger
        )
        var released = 0, at = ""
        for try await (count, time, _) in rows.decode((Int, String, String).self) { (released, at) = (count, time) }
        // The statement above has committed: from now on a worker can see the rows. Un-parking
        // 20,000 rows takes a few hundred milliseconds during which no worker can claim any of
        // them; that is the bench's time, not the worker's.
        let visible = try await client.query(
            "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", logger: logger
        )
        for try await committed in visible.decode(String.self) {
            print("released \(released) at \(at), committed at \(committed)")
        }
    }
}

/// `from`: when the uploads became visible to the worker (the release's commit); the drain and
/// the latencies are counted from then, or from each upload's request when later.
func report(since: String?, tag: String?, from: String?, timeout: Double) async throws {
    try await withClient { client in
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            // EXISTS, not count(*): counting 20,000 rows every 100 ms took a quarter of a core
            // from the drain it was measuring.
            let rows = try await client.query(
                "SELECT EXISTS (SELECT 1 FROM credentials WHERE state IN ('pending', 'verifying') AND next_attempt_at <> 'infinity')",
                logger: logger
            )
            var waiting = false
            for try await exists in rows.decode(Bool.self) { waiting = exists }
            if !waiting { break }
            guard Date() < deadline else { throw BenchError("uploads still waiting after \(timeout) s") }
            try await Task.sleep(for: .milliseconds(200))
        }
        let rows = try await client.query(
            """
            WITH v AS (
                SELECT state, verified_at, greatest(requested_at, coalesce(\(from)::timestamptz, requested_at)) AS requested_at
                FROM credentials
                WHERE verified_at IS NOT NULL
                  AND (\(since)::timestamptz IS NULL OR requested_at >= \(since)::timestamptz)
                  AND (\(tag)::text IS NULL OR uploaded_by = \(tag))
            )
            SELECT count(*)::int8,
                   count(*) FILTER (WHERE state = 'verified')::int8,
                   count(*) FILTER (WHERE state = 'superseded')::int8,
                   count(*) FILTER (WHERE state = 'rejected')::int8,
                   coalesce(extract(epoch FROM max(verified_at) - min(requested_at)), 0)::float8,
                   coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM verified_at - requested_at)), 0)::float8,
                   coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM verified_at - requested_at)), 0)::float8,
                   coalesce(max(extract(epoch FROM verified_at - requested_at)), 0)::float8
            FROM v
            """,
            logger: logger
        )
        for try await (total, verified, superseded, rejected, span, p50, p99, maxLatency) in rows.decode(
            (Int, Int, Int, Int, Double, Double, Double, Double).self
        ) {
            print("verdicts: \(total) (verified \(verified), superseded \(superseded), rejected \(rejected))")
            let start = from == nil ? "the first request" : "the release's commit"
            print(String(format: "drain: %.3f s from %@ to the last verdict = %.0f verifications/s", span, start, span > 0 ? Double(total) / span : 0))
            print(String(format: "request-to-verdict latency: p50 %.1f ms, p99 %.1f ms, max %.1f ms", p50 * 1000, p99 * 1000, maxLatency * 1000))
        }
    }
}

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    switch arguments.first {
    case "seed":
        let count = Int(option("--count", in: arguments) ?? "20000") ?? 20000
        let tenants = Int(option("--tenants", in: arguments) ?? "1000") ?? 1000
        try await seed(count: count, tenantCount: max(1, min(tenants, count)), parked: arguments.contains("--parked"))
    case "release":
        try await release()
    case "report":
        try await report(
            since: option("--since", in: arguments), tag: option("--tag", in: arguments), from: option("--from", in: arguments),
            timeout: Double(option("--timeout", in: arguments) ?? "300") ?? 300
        )
    case "webhook-endpoint":
        guard let url = option("--url", in: arguments) else { throw BenchError("--url is required") }
        try await webhookEndpoint(url: url)
    case "webhook-events":
        try await webhookEvents(
            count: Int(option("--count", in: arguments) ?? "10000") ?? 10000,
            tenantCount: max(1, Int(option("--tenants", in: arguments) ?? "2000") ?? 2000),
            oneByOne: arguments.contains("--one-by-one")
        )
    case "webhook-report":
        try await webhookReport(timeout: Double(option("--timeout", in: arguments) ?? "300") ?? 300)
    case "webhook-receiver":
        let delay = Int(option("--delay-ms", in: arguments) ?? "0") ?? 0
        try await webhookReceiver(
            port: Int(option("--port", in: arguments) ?? "18099") ?? 18099,
            delay: delay > 0 ? .milliseconds(delay) : nil, logPath: option("--log", in: arguments)
        )
    default:
        FileHandle.standardError.write(Data("usage: provisioner-bench seed --count N [--tenants T] [--parked] | release | report [--since TIME] [--tag TAG] [--from TIME] | webhook-endpoint --url URL | webhook-events --count N [--tenants T] [--one-by-one] | webhook-report | webhook-receiver --port P [--delay-ms D] [--log FILE]\n".utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("provisioner-bench: \(error)\n".utf8))
    exit(1)
}
