import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import ProvisionerDomain
import ProvisionerNetwork
import ProvisionerStore
import ProvisionerTestSupport
@testable import ProvisionerAPI

/// One development key for every test application.
let testKeyring: EncryptionKeyring = try! EncryptionKeyring(parsing: EncryptionKeyring.generateEntry(id: "test1"))

/// Builds the real application against a fresh, migrated database and runs `body` with a
/// test client (the application's services, PostgreSQL client included, run meanwhile).
/// Webhook URLs are checked with `webhookURLPolicy` against `hostResolver`'s table: tests
/// never reach DNS, so a name not in it does not resolve.
func withTestApplication<T: Sendable>(
    migrated: Bool = true,
    webhookURLPolicy: WebhookURLPolicy = WebhookURLPolicy(),
    hostResolver: any HostResolver = FixedHostResolver([:]),
    logger: Logger = TestDatabase.logger,
    _ body: @Sendable @escaping (any TestClientProtocol, DatabaseURL) async throws -> T
) async throws -> T {
    try await TestDatabase.withFreshDatabase(migrated: migrated) { url in
        let app = try buildApplication(
            configuration: APIConfiguration(host: "127.0.0.1", port: 0, uriIssuer: try URISetIssuer(cloudDomain: "crm.example.com"),
                                           webhookURLPolicy: webhookURLPolicy),
            dependencies: APIDependencies(
                // As many connections as `provisioner serve` has: with eight, twenty concurrent
                // requests of one test queued past the 5 s database deadline in a full parallel run.
                postgres: DatabaseClientFactory.makeClient(url: url, purpose: .application(maximumConnections: 20), logger: logger),
                listenURL: url,
                migrations: try TestDatabase.migrations(),
                metrics: PrometheusCollectorRegistry(),
                keyring: testKeyring,
                hostResolver: hostResolver,
                databaseDeadline: TestDatabase.deadline
            ),
            logger: logger
        )
        return try await app.test(.router) { client in
            try await body(client, url)
        }
    }
}

extension TestResponse {
    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any]
    }

    var text: String { String(buffer: body) }
}
