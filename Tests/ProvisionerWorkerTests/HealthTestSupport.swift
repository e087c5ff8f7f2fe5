import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import ProvisionerWorker
import ServiceLifecycle
import Synchronization
import Testing

extension WorkerFixture {
    /// A worker configuration whose health checker probes `authURL` with short intervals.
    static func healthConfiguration(
        workerID: String = "health-worker",
        authURL: String,
        probe: Bool = true,
        window: Duration = .seconds(3600),
        recheck: Duration = .zero,
        rate: Int = 6000,
        requestTimeout: Duration = .seconds(2)
    ) -> WorkerConfiguration {
        var configuration = webhookConfiguration(workerID: workerID)
        configuration.health = CredentialHealthConfiguration(
            probe: probe,
            authorizationEndpoint: authURL,
            rules: HealthCheckRules(
                window: window, recheckInterval: recheck,
                propagationBackoff: Backoff(base: .milliseconds(100), cap: .milliseconds(300)),
                retryBackoff: Backoff(base: .milliseconds(100), cap: .milliseconds(300))
            ),
            requestsPerMinute: rate,
            requestTimeout: requestTimeout,
            lease: .seconds(30),
            pollInterval: .milliseconds(100),
            statsInterval: .milliseconds(200)
        )
        return configuration
    }

    func makeChecker(_ configuration: WorkerConfiguration, liveCheck: (any LiveCheck)? = nil) -> CredentialHealthChecker {
        CredentialHealthChecker(
            queue: CredentialHealthQueue(client: client, logger: TestDatabase.logger), configuration: configuration,
            sealer: sealer, liveCheck: liveCheck, logger: Self.logger
        )
    }

    /// Runs any services for the duration of `body`, then shuts them down gracefully.
    func runningServices<T: Sendable>(_ services: [any Service], _ body: @Sendable () async throws -> T) async throws -> T {
        try await withRunningServices(services, logger: Self.logger, body).result
    }

    struct HealthRow: Sendable {
        let credentialState: CredentialState
        let state: HealthState
        let checkedAt: Date?
        let uris: [URIHealth]
        let dueAt: Date?
        let mismatchSince: Date?
        let attempts: Int
        let lastError: String?
        let leased: Bool
    }

    func health(_ id: UUID) async throws -> HealthRow {
        let rows = try await client.query(
            """
            SELECT state, health_state, health_checked_at, health_uris::text, health_due_at, health_mismatch_since, health_attempts,
                   health_last_error, health_lease_expires_at IS NOT NULL
            FROM credentials WHERE id = \(id)
            """,
            logger: TestDatabase.logger
        )
        for try await (state, health, checkedAt, uris, due, since, attempts, lastError, leased) in rows.decode(
            (String, String, Date?, String, Date?, Date?, Int, String?, Bool).self
        ) {
            return HealthRow(
                credentialState: CredentialState(rawValue: state)!, state: HealthState(rawValue: health)!, checkedAt: checkedAt,
                uris: try JSONDecoder().decode([URIHealth].self, from: Data(uris.utf8)), dueAt: due, mismatchSince: since,
                attempts: attempts, lastError: lastError, leased: leased
            )
        }
        throw TestDatabaseError("no credential \(id)")
    }

    /// Waits until the credential's health is `state`.
    @discardableResult
    func waitForHealth(_ id: UUID, _ state: HealthState, timeout: Duration = .seconds(20)) async throws -> HealthRow {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            let row = try await health(id)
            if row.state == state && !row.leased { return row }
            if clock.now > deadline {
                Issue.record("credential \(id) health still \(row.state) after \(timeout), not \(state) (last error \(row.lastError ?? "-"))")
                return row
            }
            try await Task.sleep(for: .milliseconds(25))
        }
    }

    /// A tenant with a clean upload verified by the real worker (no live check).
    func verifiedUpload(_ slug: String, clientID: String = ClientFiles.clientID) async throws -> (tenant: Tenant, id: UUID) {
        let tenant = try await self.tenant(slug)
        let id = try await upload(ClientFiles.clean(for: tenant.uriSet, clientID: clientID), to: tenant)
        return (tenant, id)
    }
}

/// Answers that change when the test says so.
final class Switch<Value: Sendable>: Sendable {
    private let state: Mutex<Value>
    init(_ value: Value) { state = Mutex(value) }
    var value: Value {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}
