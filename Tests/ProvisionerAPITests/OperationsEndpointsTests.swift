import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ProvisionerTestSupport
import Testing
@testable import ProvisionerAPI

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
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.json?["status"] as? String == "ready")
            }
        }
    }

    @Test func notReadyWhileMigrationsArePending() async throws {
        try await withTestApplication(migrated: false) { client, _ in
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(response.json?["code"] as? String == "service_unavailable")
                // Not an outage: it says what to do.
                #expect((response.json?["detail"] as? String)?.contains("provisioner migrate") == true, "\(response.json ?? [:])")
            }
        }
    }

    /// The database goes away (it stops accepting connections and every session is ended),
    /// then comes back: readiness follows by itself, without a restart.
    @Test func readinessFollowsTheDatabaseAwayAndBack() async throws {
        try await withTestApplication { client, url in
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .ok) }
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
