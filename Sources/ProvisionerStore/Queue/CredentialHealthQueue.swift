import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain

/// A health check claimed by a worker: a verified credential that is its tenant's active one,
/// with what the probe and the live check need and what the previous checks remember.
public struct ClaimedHealthCheck: Sendable {
    public let credentialID: UUID
    public let tenantID: UUID
    public let clientID: String?
    /// Opened only when the live check is on (it needs the secret).
    public let sealedFile: SealedSecret
    /// The tenant's current URI set's redirect URIs (empty when none is current).
    public let redirectURIs: [String]
    public let memory: HealthMemory
    /// Counted at claim; with `claimedBy`, fences the completion.
    public let attempt: Int
    public let claimedBy: String
}

/// What one check decided, ready to be recorded.
public struct HealthCheckResult: Sendable {
    public let credentialID: UUID
    public let claimedBy: String
    public let attempt: Int
    public let decision: HealthDecision

    public init(claim: ClaimedHealthCheck, decision: HealthDecision) {
        self.credentialID = claim.credentialID
        self.claimedBy = claim.claimedBy
        self.attempt = claim.attempt
        self.decision = decision
    }
}

public struct HealthQueueStats: Sendable, Equatable {
    /// Active verified credentials by health state.
    public let byState: [HealthState: Int]
    /// now - health_due_at of the oldest due check (0 when none is due).
    public let oldestDueSeconds: Double
}

/// The health check queue, kept in the credential's row (migration 0017) like the verification
/// queue: one auto-committed statement claims with `FOR UPDATE SKIP LOCKED` and records a lease;
/// one statement records a batch of results, fenced by (id, claimed_by, attempts); no
/// transaction is held while Google is asked. A lease that runs out is claimable again.
///
/// Each statement is a transaction of its own in the all-tenants scope (`Database.statement`).
public struct CredentialHealthQueue: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Each statement is a transaction of its own, as `provisioner_app` seeing every tenant,
    /// with no deadline: a claim's batch is bounded by its own limits.
    var database: Database { Database(client: client, logger: logger, deadline: nil) }

    /// Claims up to `limit` due checks: verified credentials that are the active credential of
    /// a tenant not suspended, whose lease is free or expired.
    public func claim(limit: Int, lease: Duration, workerID: String) async throws -> [ClaimedHealthCheck] {
        guard limit > 0 else { return [] }
        let rows = try await database.statement(
            .allTenants,
            """
            WITH picked AS (
                SELECT c.id, c.tenant_id FROM credentials c
                JOIN tenants t ON t.active_credential_id = c.id AND t.id = c.tenant_id AND t.state <> 'suspended'
                WHERE c.state = 'verified' AND c.health_due_at <= now()
                  AND (c.health_lease_expires_at IS NULL OR c.health_lease_expires_at < now())
                ORDER BY c.health_due_at
                LIMIT \(limit)
                FOR UPDATE OF c SKIP LOCKED
            )
            UPDATE credentials c
            SET health_attempts = c.health_attempts + 1, health_claimed_by = \(workerID),
                health_lease_expires_at = now() + \(Self.milliseconds(lease)) * interval '1 millisecond'
            FROM picked
            LEFT JOIN LATERAL (
                SELECT redirect_uris FROM uri_sets
                WHERE tenant_id = picked.tenant_id AND superseded_at IS NULL
                LIMIT 1
            ) u ON true
            WHERE c.id = picked.id
            RETURNING c.id, c.tenant_id, c.client_id, c.sealed_key_id, c.sealed_file, u.redirect_uris,
                      c.health_state, c.health_checked_at, c.health_uris::text, c.health_mismatch_since, c.health_attempts
            """
        )
        var claimed: [ClaimedHealthCheck] = []
        for (id, tenantID, clientID, keyID, sealed, redirects, state, checkedAt, urisJSON, mismatchSince, attempts)
            in try rows.decode((UUID, UUID, String?, String, ByteBuffer, [String]?, String, Date?, String, Date?, Int).self)
        {
            // The same defensive reading as the API's (an odd element never loses the others).
            let uris = PostgresCredentialStore.healthURIList(urisJSON)
            let health = CredentialHealth(state: HealthState(rawValue: state) ?? .unchecked, checkedAt: checkedAt, uris: uris)
            claimed.append(ClaimedHealthCheck(
                credentialID: id, tenantID: tenantID, clientID: clientID,
                sealedFile: SealedSecret(keyID: keyID, combined: Array(buffer: sealed)), redirectURIs: redirects ?? [],
                memory: HealthMemory(health: health, mismatchSince: mismatchSince, attempts: attempts),
                attempt: attempts, claimedBy: workerID
            ))
        }
        return claimed
    }

    /// Records a batch of results in one statement; returns how many were taken (a result whose
    /// claim was taken over after its lease ran out is dropped).
    @discardableResult
    public func complete(_ results: [HealthCheckResult]) async throws -> Int {
        guard !results.isEmpty else { return 0 }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let uris = try results.map { String(decoding: try encoder.encode($0.decision.health.uris), as: UTF8.self) }
        func epoch(_ date: Date?) -> Double { date.map(\.timeIntervalSince1970) ?? -1 }
        let rows = try await database.statement(
            .allTenants,
            """
            WITH r AS (
                SELECT * FROM unnest(
                    \(results.map(\.credentialID))::uuid[], \(results.map(\.claimedBy))::text[], \(results.map(\.attempt))::integer[],
                    \(results.map(\.decision.health.state.rawValue))::text[],
                    \(results.map { epoch($0.decision.health.checkedAt) })::float8[], \(uris)::text[],
                    \(results.map { epoch($0.decision.nextDueAt) })::float8[], \(results.map(\.decision.attempts))::integer[],
                    \(results.map { epoch($0.decision.mismatchSince) })::float8[],
                    \(results.map { $0.decision.lastError.map { String($0.prefix(500)) } ?? "" })::text[]
                ) AS r(id, claimed_by, attempt, state, checked_at, uris, due_at, attempts, mismatch_since, last_error)
            ), done AS (
                UPDATE credentials c
                SET health_state = r.state,
                    health_checked_at = CASE WHEN r.checked_at < 0 THEN NULL ELSE to_timestamp(r.checked_at) END,
                    health_uris = r.uris::jsonb,
                    health_due_at = CASE WHEN r.due_at < 0 THEN NULL ELSE to_timestamp(r.due_at) END,
                    health_attempts = r.attempts,
                    health_mismatch_since = CASE WHEN r.mismatch_since < 0 THEN NULL ELSE to_timestamp(r.mismatch_since) END,
                    health_last_error = left(nullif(r.last_error, ''), 500),
                    health_lease_expires_at = NULL, health_claimed_by = NULL
                FROM r
                WHERE c.id = r.id AND c.health_claimed_by = r.claimed_by AND c.health_attempts = r.attempt
                  AND c.health_lease_expires_at IS NOT NULL
                RETURNING 1
            )
            SELECT count(*)::integer FROM done
            """
        )
        for recorded in try rows.decode(Int.self) { return recorded }
        return 0
    }

    /// Gives back claims that were not checked (shutdown): the attempt counted at claim too.
    public func release(_ claims: [ClaimedHealthCheck]) async throws {
        guard !claims.isEmpty else { return }
        try await database.statement(
            .allTenants,
            """
            UPDATE credentials c
            SET health_attempts = greatest(c.health_attempts - 1, 0), health_lease_expires_at = NULL, health_claimed_by = NULL
            FROM unnest(\(claims.map(\.credentialID))::uuid[], \(claims.map(\.claimedBy))::text[], \(claims.map(\.attempt))::integer[])
                 AS r(id, claimed_by, attempt)
            WHERE c.id = r.id AND c.health_claimed_by = r.claimed_by AND c.health_attempts = r.attempt
            """
        )
    }

    /// Takes up to `wanted` requests from the service-wide budget of `perMinute` requests a
    /// minute (`take_google_requests`); returns how many it took.
    public func takeGoogleRequests(_ wanted: Int, perMinute: Int) async throws -> Int {
        guard wanted > 0 else { return 0 }
        let rows = try await database.statement(.allTenants, "SELECT take_google_requests(\(wanted)::integer, \(perMinute)::integer)")
        for taken in try rows.decode(Int.self) { return taken }
        return 0
    }

    public func stats() async throws -> HealthQueueStats {
        let rows = try await database.statement(
            .allTenants,
            """
            SELECT c.health_state, count(*)::integer,
                   coalesce(extract(epoch FROM now() - min(c.health_due_at) FILTER (WHERE c.health_due_at <= now()))::float8, 0)
            FROM credentials c
            JOIN tenants t ON t.active_credential_id = c.id AND t.id = c.tenant_id AND t.state <> 'suspended'
            WHERE c.state = 'verified'
            GROUP BY c.health_state
            """
        )
        var byState: [HealthState: Int] = [:]
        var oldest = 0.0
        for (state, count, due) in try rows.decode((String, Int, Double).self) {
            if let state = HealthState(rawValue: state) { byState[state] = count }
            oldest = max(oldest, due)
        }
        return HealthQueueStats(byState: byState, oldestDueSeconds: oldest)
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
