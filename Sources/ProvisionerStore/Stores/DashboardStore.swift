import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain

public struct DashboardSummary: Sendable, Equatable {
    public let tenants: Int
    public let byState: [TenantState: Int]
    public let credentialsPending: Int
    public let oldestPendingSeconds: Double?
    public let verifiedLast24h: Int
    public let rejectedLast24h: Int
    /// The active credentials of all tenants (suspended ones too: their credential is still
    /// the one to fix before they resume) by health, every state present (0 when none).
    public let byHealth: [HealthState: Int]

    public init(
        tenants: Int, byState: [TenantState: Int], credentialsPending: Int, oldestPendingSeconds: Double?,
        verifiedLast24h: Int, rejectedLast24h: Int, byHealth: [HealthState: Int]
    ) {
        self.tenants = tenants
        self.byState = byState
        self.credentialsPending = credentialsPending
        self.oldestPendingSeconds = oldestPendingSeconds
        self.verifiedLast24h = verifiedLast24h
        self.rejectedLast24h = rejectedLast24h
        self.byHealth = byHealth
    }
}

public protocol DashboardStore: Sendable {
    func summary() async throws -> DashboardSummary
    /// Tenants per state alone: what the support desk's tenant list shows, without the
    /// credential figures of the summary (most of its cost at 100,000 tenants).
    func tenantCounts() async throws -> [TenantState: Int]
}

/// The figures of `GET /v1/dashboard/summary`, each answered from an index.
public struct PostgresDashboardStore: DashboardStore {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Tenants per state, from the delta rows that migration 0006's triggers keep (a few dozen
    /// rows), not a count of the tenants.
    public static let stateCountsQuery: PostgresQuery = "SELECT state, sum(n)::bigint FROM tenant_state_counts GROUP BY state"

    /// The queue and the verdicts of the last 24 hours, each from a partial index of 0004.
    public static let credentialFiguresQuery: PostgresQuery = """
        SELECT
            (SELECT count(*) FROM credentials WHERE state IN ('pending', 'verifying')),
            (SELECT extract(epoch FROM now() - min(requested_at))::float8 FROM credentials WHERE state IN ('pending', 'verifying')),
            (SELECT count(*) FROM credentials WHERE verified_at > now() - interval '24 hours' AND state IN ('verified', 'superseded')),
            (SELECT count(*) FROM credentials WHERE verified_at > now() - interval '24 hours' AND state = 'rejected')
        """

    /// The active credentials by health (suspended tenants' too), from the counter table that
    /// triggers keep (migration 0017), as by_state is: a few rows whatever the number of tenants.
    public static let healthCountsQuery: PostgresQuery = "SELECT state, sum(n)::bigint FROM tenant_health_counts GROUP BY state"

    public func tenantCounts() async throws -> [TenantState: Int] {
        try await database.transaction(.allTenants) { connection in
            try await Self.tenantCounts(on: connection, logger: database.logger)
        }
    }

    static func tenantCounts(on connection: PostgresConnection, logger: Logger) async throws -> [TenantState: Int] {
        var byState: [TenantState: Int] = Dictionary(uniqueKeysWithValues: TenantState.allCases.map { ($0, 0) })
        let states = try await connection.query(Self.stateCountsQuery, logger: logger)
        for try await (state, count) in states.decode((String, Int).self) {
            if let state = TenantState(rawValue: state) { byState[state] = count }
        }
        return byState
    }

    public func summary() async throws -> DashboardSummary {
        try await database.transaction(.allTenants) { connection in
            let logger = database.logger
            let byState = try await Self.tenantCounts(on: connection, logger: logger)
            var byHealth: [HealthState: Int] = Dictionary(uniqueKeysWithValues: HealthState.allCases.map { ($0, 0) })
            let health = try await connection.query(Self.healthCountsQuery, logger: logger)
            for try await (state, count) in health.decode((String, Int).self) {
                // A state this build does not know counts as unchecked rather than vanishing.
                byHealth[HealthState(rawValue: state) ?? .unchecked, default: 0] += count
            }
            let rows = try await connection.query(Self.credentialFiguresQuery, logger: logger)
            for try await (pending, oldest, verified, rejected) in rows.decode((Int, Double?, Int, Int).self) {
                return DashboardSummary(
                    tenants: byState.values.reduce(0, +), byState: byState, credentialsPending: pending,
                    oldestPendingSeconds: oldest.map { max(0, $0) }, verifiedLast24h: verified, rejectedLast24h: rejected,
                    byHealth: byHealth
                )
            }
            throw DatabaseUnavailable()
        }
    }
}
