import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
import Prometheus
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Testing
@testable import ProvisionerAPI

/// The real application on a fresh database, as `withTestApplication` builds it, with
/// `configure` applied to its configuration (limits, metrics protection); `live` runs it on a
/// real socket.
func withConfiguredApplication<T: Sendable>(
    live: Bool = false,
    _ configure: (inout APIConfiguration) -> Void,
    _ body: @Sendable @escaping (any TestClientProtocol, DatabaseURL) async throws -> T
) async throws -> T {
    var configuration = APIConfiguration(host: "127.0.0.1", port: 0, uriIssuer: try URISetIssuer(cloudDomain: "crm.example.com"))
    configure(&configuration)
    return try await TestDatabase.withFreshDatabase { [configuration] url in
        let app = try buildApplication(
            configuration: configuration,
            dependencies: APIDependencies(
                postgres: DatabaseClientFactory.makeClient(url: url, purpose: .application(maximumConnections: 4), logger: TestDatabase.logger),
                listenURL: url,
                migrations: try TestDatabase.migrations(),
                metrics: PrometheusCollectorRegistry(),
                keyring: testKeyring
            ),
            logger: TestDatabase.logger
        )
        return try await app.test(live ? .live : .router) { client in
            try await body(client, url)
        }
    }
}

/// A TCP port nobody listens on right now (bound to port 0 and released).
func freeLocalPort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
    let port = try #require(channel.localAddress?.port)
    try await channel.close()
    return port
}

/// One HTTP/1.1 exchange on a connection of its own: sends `request`, reads until the server
/// closes or `timeout` passes. Returns what arrived and whether the server closed.
func rawExchange(port: Int, _ request: String, timeout: Duration = .seconds(10)) async throws -> (received: String, closed: Bool) {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
        }
    return try await channel.executeThenClose { inbound, outbound in
        try await outbound.write(ByteBuffer(string: request))
        return try await withThrowingTaskGroup(of: (String, Bool)?.self) { group in
            group.addTask {
                var received = ByteBuffer()
                do {
                    for try await var buffer in inbound { received.writeBuffer(&buffer) }
                } catch {
                    // A reset is a close too.
                }
                return (String(buffer: received), true)
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let result = first else { return ("", false) }
            return result
        }
    }
}

@Suite struct OperationsEndpointsTests {
    @Test func healthAnswersOK() async throws {
        try await withTestApplication { client, _ in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.json?["status"] as? String == "ok")
                #expect(response.headers[.xRequestID] != nil)
            }
        }
    }

    @Test func readyWhenMigrated() async throws {
        try await withTestApplication { client, _ in
            // As below: a probe past its 2 s deadline under a full parallel run is asked again.
            var status: String?
            for _ in 0..<10 {
                status = try await client.execute(uri: "/readyz", method: .get) { response in
                    response.status == .ok ? response.json?["status"] as? String : nil
                }
                if status != nil { break }
                try await Task.sleep(for: .milliseconds(500))
            }
            #expect(status == "ready")
        }
    }

    @Test func notReadyWhileMigrationsArePending() async throws {
        try await withTestApplication(migrated: false) { client, _ in
            // The probe's 2 s deadline can pass while every suite runs at once on two cores
            // (then it rightly says the database does not answer): ask again, a few times.
            var detail: String?
            for _ in 0..<10 {
                detail = try await client.execute(uri: "/readyz", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(response.headers[.contentType] == "application/problem+json")
                    #expect(response.json?["code"] as? String == "service_unavailable")
                    return response.json?["detail"] as? String
                }
                if detail?.contains("does not answer") != true { break }
                try await Task.sleep(for: .milliseconds(500))
            }
            // Not an outage: it says what to do.
            #expect(detail?.contains("provisioner migrate") == true, "\(detail ?? "no detail")")
        }
    }

    /// The database goes away (it stops accepting connections and every session is ended),
    /// then comes back: readiness follows by itself, without a restart.
    @Test func readinessFollowsTheDatabaseAwayAndBack() async throws {
        try await withTestApplication { client, url in
            // Ready first (asked again while the probe's 2 s deadline passes under the load of
            // every suite at once).
            var ready = false
            for _ in 0..<20 where !ready {
                ready = try await client.execute(uri: "/readyz", method: .get) { $0.status == .ok }
                if !ready { try await Task.sleep(for: .milliseconds(500)) }
            }
            #expect(ready, "ready before the database goes away")
            try await TestDatabase.withClient(try TestDatabase.serverURL(), purpose: .owner) { admin in
                try await admin.query("ALTER DATABASE \(unescaped: url.database) ALLOW_CONNECTIONS false", logger: TestDatabase.logger)
                try await admin.query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(url.database) AND pid <> pg_backend_pid()",
                    logger: TestDatabase.logger
                )
                try await client.execute(uri: "/readyz", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(response.json?["code"] as? String == "service_unavailable")
                }
                try await admin.query("ALTER DATABASE \(unescaped: url.database) ALLOW_CONNECTIONS true", logger: TestDatabase.logger)
            }
            var status: HTTPResponse.Status = .serviceUnavailable
            for _ in 0..<50 where status != .ok {
                status = try await client.execute(uri: "/readyz", method: .get) { $0.status }
                if status != .ok { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(status == .ok)
        }
    }

    @Test func servesTheOpenAPIDocument() async throws {
        try await withTestApplication { client, _ in
            try await client.execute(uri: "/openapi.yaml", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.text.hasPrefix("openapi: 3.1"))
            }
        }
    }

    // MARK: metrics protection

    static let metricsToken = "scrape-4f1d9c0e7b2a6d3e"

    @Test func metricsNeedTheTokenWhenOneIsSet() async throws {
        try await withConfiguredApplication({ $0.metricsToken = Self.metricsToken }) { client, _ in
            for authorization in [nil, "Bearer wrong-token-0000000000", "Bearer \(Self.metricsToken)x", "Basic \(Self.metricsToken)", "Bearer"] {
                var headers = HTTPFields()
                if let authorization { headers[.authorization] = authorization }
                try await client.execute(uri: "/metrics", method: .get, headers: headers) { response in
                    #expect(response.status == .unauthorized, "\(authorization ?? "no Authorization")")
                    #expect(response.headers[.contentType] == "application/problem+json")
                    #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                    #expect(response.json?["code"] as? String == "unauthenticated")
                    #expect(!response.text.contains("http_requests"))
                }
            }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(Self.metricsToken)"]) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            }
            // The scheme is case-insensitive, as for every bearer token of the API.
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "bearer \(Self.metricsToken)"]) { response in
                #expect(response.status == .ok)
            }
            // Nothing else needs it.
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/openapi.yaml", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test func theMetricsTokenComparisonHasNoShortcuts() {
        let access = MetricsAccess(token: Self.metricsToken)
        #expect(access.allows(authorization: "Bearer \(Self.metricsToken)"))
        #expect(!access.allows(authorization: "Bearer \(Self.metricsToken.dropLast())"))
        #expect(!access.allows(authorization: "Bearer \(Self.metricsToken)\(Self.metricsToken)"))
        #expect(!access.allows(authorization: nil))
        #expect(MetricsAccess.open.allows(authorization: nil))
    }

    /// With a port of their own, metrics leave the API's port (404 there, like any unknown path)
    /// and are served, with /healthz, on theirs, under the same token.
    @Test func metricsOnTheirOwnPort() async throws {
        let metricsPort = try await freeLocalPort()
        try await withConfiguredApplication({
            $0.metricsPort = metricsPort
            $0.metricsToken = Self.metricsToken
        }) { client, _ in
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(Self.metricsToken)"]) { response in
                #expect(response.status == .notFound)
                #expect(response.json?["code"] as? String == "not_found")
            }
            // The listener is a service of the application: it may still be starting.
            var answer = (received: "", closed: false)
            for _ in 0..<50 {
                answer = (try? await rawExchange(
                    port: metricsPort,
                    "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(Self.metricsToken)\r\nConnection: close\r\n\r\n"
                )) ?? ("", false)
                if answer.received.hasPrefix("HTTP/1.1 200") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(answer.received.hasPrefix("HTTP/1.1 200"), "\(answer)")
            #expect(answer.received.lowercased().contains("x-content-type-options: nosniff"))
            let refused = try await rawExchange(port: metricsPort, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            #expect(refused.received.hasPrefix("HTTP/1.1 401"), "\(refused)")
            let health = try await rawExchange(port: metricsPort, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            #expect(health.received.hasPrefix("HTTP/1.1 200"), "\(health)")
        }
    }

    /// The worker's status listener honours the token too.
    @Test func theWorkerStatusEndpointsHonourTheToken() async throws {
        let app = buildStatusApplication(
            host: "127.0.0.1", port: 0, metrics: PrometheusCollectorRegistry(), metricsAccess: MetricsAccess(token: Self.metricsToken),
            limits: HTTPLimits(), serverName: "provisioner-work", logger: TestDatabase.logger
        )
        try await app.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
            }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(Self.metricsToken)"]) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test func metricsAreInPrometheusText() async throws {
        try await withTestApplication { client, _ in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            }
        }
    }

    @Test func unknownRouteIsAProblem() async throws {
        try await withTestApplication { client, _ in
            try await client.execute(uri: "/no/such/thing", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType] == "application/problem+json")
                let problem = try #require(response.json)
                #expect(problem["code"] as? String == "not_found")
                #expect(problem["status"] as? Int == 404)
                #expect(problem["title"] is String && problem["type"] is String && problem["detail"] is String)
            }
        }
    }

    @Test func wrongMethodIs405WithAllow() async throws {
        try await withTestApplication { client, _ in
            try await client.execute(uri: "/healthz", method: .post) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "GET, HEAD")
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(response.json?["code"] as? String == "method_not_allowed")
            }
        }
    }

    @Test(arguments: [
        ("abc-123_DEF.456", true),
        (String(repeating: "a", count: 128), true),
        (String(repeating: "a", count: 129), false),
        ("has space", false),
        ("new\nline", false),
        ("quote\"", false),
    ])
    func requestIDIsEchoedWhenSane(sent: String, echoed: Bool) async throws {
        try await withTestApplication { client, _ in
            var headers = HTTPFields()
            if let name = HTTPField.Name("X-Request-Id"), !sent.contains("\n") { headers[name] = sent }
            try await client.execute(uri: "/healthz", method: .get, headers: headers) { response in
                let id = try #require(response.headers[.xRequestID])
                if echoed { #expect(id == sent) } else { #expect(id != sent && !id.isEmpty) }
            }
        }
    }

    @Test func problemsCarryTheRequestID() async throws {
        try await withTestApplication { client, _ in
            try await client.execute(uri: "/nowhere", method: .get, headers: [.xRequestID: "trace-42"]) { response in
                #expect(response.headers[.xRequestID] == "trace-42")
                #expect(response.json?["request_id"] as? String == "trace-42")
            }
        }
    }
}
