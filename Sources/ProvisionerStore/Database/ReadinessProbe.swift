import Logging
import PostgresNIO

/// Answers `/readyz`: the database answers and every migration this binary knows is applied.
public struct ReadinessProbe: Sendable {
    public enum Status: Sendable, Equatable {
        case ready
        case databaseUnavailable
        case migrationsMissing([Int])
    }

    let client: PostgresClient
    let expectedVersions: Set<Int>
    let logger: Logger

    public init(client: PostgresClient, expectedMigrations: [Migration], logger: Logger) {
        self.client = client
        self.expectedVersions = Set(expectedMigrations.map(\.version))
        self.logger = logger
    }

    public func check() async -> Status {
        do {
            // A short deadline: a readiness probe that hangs is worse than one that fails.
            // As the service's own transactions run: the role taken first.
            let applied = try await Database(client: client, logger: logger, deadline: .seconds(2)).transaction(.allTenants) { [logger] connection in
                try await Migrator.applied(on: connection, logger: logger)
            }
            let missing = expectedVersions.subtracting(applied.keys).sorted()
            return missing.isEmpty ? .ready : .migrationsMissing(missing)
        } catch {
            // A database `provisioner migrate` never ran (or not this binary's migrations)
            // answers, but without the role, the function that takes it or the migrations
            // table: that is missing migrations, not an outage.
            if Migrator.isNotMigrated(error) {
                return .migrationsMissing(expectedVersions.sorted())
            }
            logger.debug("readiness check failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            return .databaseUnavailable
        }
    }
}
