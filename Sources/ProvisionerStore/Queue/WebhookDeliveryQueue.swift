import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain

/// A webhook delivery claimed by a worker: the event as the row keeps it (the body is rebuilt
/// from these fields, identical on every attempt), and where and how to sign it.
public struct ClaimedDelivery: Sendable {
    public let id: UUID
    public let endpointID: UUID
    public let eventID: UUID
    public let eventType: String
    public let tenantID: UUID
    public let tenantSlug: String
    public let credentialID: UUID?
    public let uriSetVersion: Int?
    public let occurredAt: Date
    /// Counted at claim: 1 on the first try. Fences the completion with `claimedBy`.
    public let attempt: Int
    /// Set by a manual retry: attempts are allowed up to max(attemptLimit, schedule.maxAttempts).
    public let attemptLimit: Int?
    public let claimedBy: String
    public let url: String
    public let secret: SealedSecret
    /// The previous secret while a rotation lasts (`previous_secret_expires_at > now()`).
    public let previousSecret: SealedSecret?
}

/// What one attempt came to, ready to be recorded.
public struct DeliveryResult: Sendable {
    public enum Status: String, Sendable {
        /// A 2xx.
        case succeeded
        /// Another attempt at `nextAttemptAt`.
        case retrying = "pending"
        /// No attempt left, or 410 (`gone`).
        case failed
    }

    public let id: UUID
    public let claimedBy: String
    public let attempt: Int
    public let status: Status
    /// 410: the endpoint is disabled and its other pending deliveries fail, with this one.
    public let gone: Bool
    public let responseStatus: Int?
    public let attemptedAt: Date
    public let nextAttemptAt: Date?
    public let lastError: String?

    public init(
        claim: ClaimedDelivery, status: Status, gone: Bool = false, responseStatus: Int?, attemptedAt: Date,
        nextAttemptAt: Date? = nil, lastError: String?
    ) {
        self.id = claim.id
        self.claimedBy = claim.claimedBy
        self.attempt = claim.attempt
        self.status = status
        self.gone = gone
        self.responseStatus = responseStatus
        self.attemptedAt = attemptedAt
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
    }
}

public struct WebhookQueueStats: Sendable, Equatable {
    public let pending: Int
    /// now - occurred_at of the oldest pending delivery; nil when none is pending.
    public let oldestPendingSeconds: Double?
    public let endpointsEnabled: Int
    public let endpointsDisabled: Int
}

/// The webhook delivery queue, kept in `webhook_deliveries` (migration 0016: the outbox the
/// triggers write is the queue itself), in the style of `VerificationQueue` (River, Oban):
/// one auto-committed statement claims with `FOR UPDATE SKIP LOCKED`, counts the attempt and
/// records a lease; one statement records a batch of results; no transaction is held while a
/// request is on its way. A lease that runs out (its worker died) is simply claimable again.
///
/// Each statement is a transaction of its own in the all-tenants scope (`Database.statement`),
/// which both tables' row-level security asks for.
public struct WebhookDeliveryQueue: Sendable {
    /// The channel the event triggers notify (`webhook_record_events`).
    public static let channel = "webhook_deliveries"

    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Each statement is a transaction of its own, as `provisioner_app` seeing every tenant,
    /// with no deadline: a claim's batch is bounded by its own limits.
    var database: Database { Database(client: client, logger: logger, deadline: nil) }

    /// Claims up to `limit` deliveries that are due, not leased, of an enabled endpoint, and
    /// the first pending one of their (endpoint, tenant) (so a tenant's events reach an
    /// endpoint in the order they happened, retries included), with fewer than
    /// `perEndpointInFlight` leased per endpoint (so one slow endpoint cannot take every slot;
    /// two workers claiming at the same instant may overshoot by one claim's worth), by
    /// `claim_webhook_deliveries` (migration 0023): one call, parsed once per connection.
    ///
    /// The leases in flight are counted first (the `webhook_deliveries_leased` index: a few
    /// hundred rows), so that the endpoints whose share is full are left out of the scan itself:
    /// a slow endpoint's backlog at the head of the due order must not fill every claim's scan
    /// and starve the endpoints behind it. The scan then locks at most as many rows as the open
    /// endpoints have free slots (a lock is a write: locking 288 rows to take 4 cost more than
    /// the rest of the claim), skipping those other workers hold, and a window keeps each
    /// endpoint within its share; rows locked but not chosen are unlocked when the statement
    /// commits. The scan must walk `webhook_deliveries_due` in order and stop after a few rows
    /// more than `limit` (about 2 ms over a backlog of 10,000), so it is planned for its
    /// arguments on every call, and its filters are written for the planner's estimates (the
    /// open endpoints as one array; the order check a per-row filter, `OR d.attempt < 0` keeping
    /// it from becoming an anti-join): as joins, or with a LIMIT the planner could not see, it
    /// sorted the whole backlog (20-70 ms a claim instead of 3-17). The function says more.
    /// `maxAttempts` is the schedule's: a row whose attempts are used up is left to
    /// `failExhausted`.
    ///
    /// `answered` are this worker's leased deliveries whose endpoint has answered and whose
    /// result is being recorded: they hold no request open at the endpoint, so they leave its
    /// share, and the next claim need not wait for the recording statement. They stay pending
    /// until recorded, so their tenant's next event still waits for them.
    ///
    /// `sharesFull`: with what it claimed, every enabled endpoint is at its share, so that only
    /// an answer can make the next claim find anything.
    public func claim(
        workerID: String, limit: Int, lease: Duration, perEndpointInFlight: Int, maxAttempts: Int, answered: [UUID] = []
    ) async throws -> (deliveries: [ClaimedDelivery], moreDue: Bool, sharesFull: Bool) {
        guard limit > 0 else { return ([], false, false) }
        let rows = try await database.statement(
            .allTenants,
            """
            SELECT * FROM claim_webhook_deliveries(
                \(workerID), \(Int32(clamping: limit)), \(Self.milliseconds(lease)), \(Int32(clamping: perEndpointInFlight)),
                \(Int32(clamping: maxAttempts)), \(answered)::uuid[])
            """
        )
        var claimed: [ClaimedDelivery] = []
        var sharesFull = false
        for (id, endpointID, eventID, type, tenantID, slug, credentialID, uriSetVersion, occurredAt, attempt, attemptLimit,
                       url, keyID, sealed, previousKeyID, previousSealed, full)
            in try rows.decode(
                (UUID?, UUID?, UUID?, String?, UUID?, String?, UUID?, Int?, Date?, Int?, Int?, String?, String?, ByteBuffer?, String?, ByteBuffer?,
                 Bool?).self
            )
        {
            // The last row carries only `shares_full`.
            guard let id, let endpointID, let eventID, let type, let tenantID, let slug, let occurredAt, let attempt, let url,
                  let keyID, let sealed
            else {
                sharesFull = full ?? false
                continue
            }
            var previous: SealedSecret?
            if let previousKeyID, let previousSealed {
                previous = SealedSecret(keyID: previousKeyID, combined: Array(buffer: previousSealed))
            }
            claimed.append(ClaimedDelivery(
                id: id, endpointID: endpointID, eventID: eventID, eventType: type, tenantID: tenantID, tenantSlug: slug,
                credentialID: credentialID, uriSetVersion: uriSetVersion, occurredAt: occurredAt, attempt: attempt,
                attemptLimit: attemptLimit, claimedBy: workerID, url: url,
                secret: SealedSecret(keyID: keyID, combined: Array(buffer: sealed)), previousSecret: previous
            ))
        }
        return (claimed, claimed.count == limit, sharesFull)
    }

    /// Records a batch of results in one call of `complete_webhook_deliveries` (migration 0024;
    /// one statement, so one transaction, planned once per connection): each is fenced by
    /// (id, claimed_by, attempt), so the answer of a worker whose lease ran out and was claimed
    /// again changes nothing. A `gone` result also disables its endpoint and fails the
    /// endpoint's other pending deliveries. Returns how many results were taken.
    @discardableResult
    public func complete(_ results: [DeliveryResult]) async throws -> Int {
        guard !results.isEmpty else { return 0 }
        let rows = try await database.statement(
            .allTenants,
            """
            SELECT complete_webhook_deliveries(
                \(results.map(\.id))::uuid[], \(results.map(\.claimedBy))::text[], \(results.map(\.attempt))::integer[],
                \(results.map(\.status.rawValue))::text[], \(results.map(\.gone))::boolean[],
                \(results.map { $0.responseStatus ?? 0 })::integer[], \(results.map(\.attemptedAt))::timestamptz[],
                \(results.map { $0.nextAttemptAt ?? $0.attemptedAt })::timestamptz[],
                \(results.map { $0.lastError.map { String($0.prefix(500)) } ?? "" })::text[])
            """
        )
        for recorded in try rows.decode(Int.self) { return recorded }
        return 0
    }

    /// Gives back claimed deliveries that were not sent (shutdown interrupted them): the
    /// attempt counted at claim is returned too, and the other workers are woken.
    public func release(_ claims: [ClaimedDelivery]) async throws {
        guard !claims.isEmpty else { return }
        try await database.statement(
            .allTenants,
            """
            WITH released AS (
                UPDATE webhook_deliveries d SET attempt = greatest(d.attempt - 1, 0), lease_expires_at = NULL, claimed_by = NULL
                FROM unnest(\(claims.map(\.id))::uuid[], \(claims.map(\.claimedBy))::text[], \(claims.map(\.attempt))::integer[])
                     AS r(id, claimed_by, attempt)
                WHERE d.id = r.id AND d.claimed_by = r.claimed_by AND d.attempt = r.attempt AND d.status = 'pending'
                RETURNING 1
            )
            SELECT pg_notify('webhook_deliveries', '') WHERE EXISTS (SELECT 1 FROM released)
            """
        )
    }

    /// Deliveries whose worker died on their last allowed attempt: their lease ran out and no
    /// claim will take them again, so they end 'failed' rather than stay pending for ever.
    public func failExhausted(maxAttempts: Int) async throws -> Int {
        let rows = try await database.statement(
            .allTenants,
            """
            WITH failed AS (
                UPDATE webhook_deliveries
                SET status = 'failed', lease_expires_at = NULL, claimed_by = NULL,
                    last_error = 'the lease expired on the last attempt (the worker stopped before an answer was recorded)'
                WHERE status = 'pending' AND lease_expires_at < now()
                  AND attempt >= greatest(coalesce(attempt_limit, 0), \(maxAttempts))
                RETURNING 1
            )
            SELECT count(*)::integer FROM failed
            """
        )
        for count in try rows.decode(Int.self) { return count }
        return 0
    }

    /// Deletes up to `chunk` finished deliveries older than `olderThan` (by their last attempt,
    /// or when they happened for those failed before any attempt); returns how many. Callers
    /// repeat while a whole chunk went, so no statement holds many locks or a long WAL burst.
    public func deleteFinished(olderThan: Duration, chunk: Int) async throws -> Int {
        let rows = try await database.statement(
            .allTenants,
            """
            WITH gone AS (
                DELETE FROM webhook_deliveries WHERE id IN (
                    SELECT id FROM webhook_deliveries
                    WHERE status <> 'pending'
                      AND coalesce(attempted_at, occurred_at) < now() - \(Self.milliseconds(olderThan)) * interval '1 millisecond'
                    LIMIT \(chunk)
                )
                RETURNING 1
            )
            SELECT count(*)::integer FROM gone
            """
        )
        for count in try rows.decode(Int.self) { return count }
        return 0
    }

    public func stats() async throws -> WebhookQueueStats {
        let rows = try await database.statement(
            .allTenants,
            """
            SELECT (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending')::integer,
                   (SELECT extract(epoch FROM now() - min(occurred_at))::float8 FROM webhook_deliveries WHERE status = 'pending'),
                   (SELECT count(*) FROM webhook_endpoints WHERE enabled)::integer,
                   (SELECT count(*) FROM webhook_endpoints WHERE NOT enabled)::integer
            """
        )
        for (pending, oldest, enabled, disabled) in try rows.decode((Int, Double?, Int, Int).self) {
            return WebhookQueueStats(pending: pending, oldestPendingSeconds: oldest, endpointsEnabled: enabled, endpointsDisabled: disabled)
        }
        return WebhookQueueStats(pending: 0, oldestPendingSeconds: nil, endpointsEnabled: 0, endpointsDisabled: 0)
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
