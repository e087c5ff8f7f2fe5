import Foundation
import Logging
import PostgresNIO
import ProvisionerStore

/// A real PostgreSQL for tests: every test that needs one gets a database of its own, created
/// from `TEST_DATABASE_URL` (an owner or superuser URL; `make test` sets it), so that suites
/// run in parallel without seeing each other.
public enum TestDatabase {
    public static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        return logger
    }()

    /// The database deadline of the tests' own `Database`s and of the applications they build,
    /// in place of the service's 5 s. `make test` runs every suite at once on two cores, and
    /// under that load set-up writes, requests and their connections have waited longer than
    /// 5 s (and 40 queued writes longer than 30 s), failing tests with "the database does not
    /// answer" or 503 though nothing was wrong. The deadline itself is tested where it is the
    /// subject (the readiness probe's, OperationsEndpointsTests); finite, so a hang still fails.
    public static let deadline: Duration = .seconds(120)

    /// The stores' `Database` on a test's client, under `deadline`; `role` as in `Database`.
    public static func database(
        _ client: PostgresClient, logger: Logger = TestDatabase.logger, role: String = DatabaseClientFactory.applicationRole
    ) -> Database {
        Database(client: client, logger: logger, deadline: deadline, role: role)
    }

    /// The folder of SQL migrations at the root of the checkout.
    public static let migrationsDirectory: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("migrations").path
    }()

    public static func serverURL() throws -> DatabaseURL {
        guard let raw = ProcessInfo.processInfo.environment["TEST_DATABASE_URL"] else {
            throw TestDatabaseError("TEST_DATABASE_URL is not set: run the tests with `make test`")
        }
        return try DatabaseURL(parsing: raw)
    }

    public static func migrations() throws -> [Migration] {
        try Migration.load(from: migrationsDirectory)
    }

    /// Creates an empty database, optionally migrated (a copy of `MigratedTemplate`), runs
    /// `body` with its URL, drops it; at most `DatabaseSlots` tests at once.
    public static func withFreshDatabase<T: Sendable>(
        migrated: Bool = true,
        _ body: @Sendable (DatabaseURL) async throws -> T
    ) async throws -> T {
        try await DatabaseSlots.shared.withSlot { try await withUnslottedFreshDatabase(migrated: migrated, body) }
    }

    private static func withUnslottedFreshDatabase<T: Sendable>(
        migrated: Bool,
        _ body: @Sendable (DatabaseURL) async throws -> T
    ) async throws -> T {
        let server = try serverURL()
        let name = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        // template1 is what a plain CREATE DATABASE copies.
        let template = migrated ? try await MigratedTemplate.shared.name(on: server) : "template1"
        try await withClient(server, purpose: .owner) { client in
            try await client.query("CREATE DATABASE \(unescaped: String(name)) TEMPLATE \(unescaped: template)", logger: logger)
        }
        let url = server.with(database: String(name))
        do {
            let result = try await body(url)
            try? await drop(String(name), on: server)
            return result
        } catch {
            try? await drop(String(name), on: server)
            throw error
        }
    }

    static func drop(_ name: String, on server: DatabaseURL) async throws {
        try await withClient(server, purpose: .owner) { client in
            try await client.query("DROP DATABASE IF EXISTS \(unescaped: name) WITH (FORCE)", logger: logger)
        }
    }

    /// Runs a client for the duration of `body`.
    ///
    /// The service's connections carry no session state (each transaction takes the role). For
    /// the tests' own queries on these clients, an `.application` client's sessions are
    /// `provisioner_app` and a `.worker` client's also see every tenant, as a session of the
    /// service would; `.owner` is the role of the URL. Code under test that must not lean on
    /// this runs on `DatabaseClientFactory.makeClient` clients (the API tests) or behind a
    /// pooler with a NOINHERIT login (`scripts/pooler-test.sh`).
    public static func withClient<T: Sendable>(
        _ url: DatabaseURL,
        purpose: DatabaseClientFactory.Purpose,
        _ body: @Sendable (PostgresClient) async throws -> T
    ) async throws -> T {
        let session: [(String, String)] = switch purpose {
        case .application: [("role", DatabaseClientFactory.applicationRole)]
        case .worker: [("role", DatabaseClientFactory.applicationRole), ("provisioner.all_tenants", "on")]
        case .owner: []
        }
        let client = DatabaseClientFactory.makeClient(url: url, purpose: purpose, logger: logger, sessionParameters: session)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}

public struct TestDatabaseError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
