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
            let applied = try await withDeadline(.seconds(2)) { [client, logger] in
                try await client.withConnection { connection in
                    try await Migrator.applied(on: connection, logger: logger)
                }
            }
            let missing = expectedVersions.subtracting(applied.keys).sorted()
            return missing.isEmpty ? .ready : .migrationsMissing(missing)
        } catch {
            logger.debug("readiness check failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            return .databaseUnavailable
        }
    }
}

struct DeadlineExceeded: Error {}

/// Runs `work`, giving up after `duration`.
func withDeadline<T: Sendable>(_ duration: Duration, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await work() }
        group.addTask {
            try await Task.sleep(for: duration)
            throw DeadlineExceeded()
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw DeadlineExceeded() }
        return first
    }
}
