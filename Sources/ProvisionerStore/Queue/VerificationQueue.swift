import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain

/// A verification claimed by a worker: the credential at one `verification_version`, with
/// what the verifier needs (the sealed file and the tenant's current URI set).
public struct ClaimedVerification: Sendable {
    public let credentialID: UUID
    public let tenantID: UUID
    public let version: Int
    /// Counted at claim: 1 on the first try.
    public let attempt: Int
    public let clientID: String?
    public let sealedFile: SealedSecret
    public let uriSet: IssuedURISet?
    /// When this verification was asked for (upload, re-verification, new URI set).
    public let pendingSince: Date
    /// The earlier upload whose secret was carried over into this file (migration 0014).
    public var secretCarriedFrom: UUID? = nil
    /// Whether `clientID` was, when the batch was claimed, the active credential of another
    /// tenant (looked up by the claim statement itself; false for a job handed back by the
    /// rescuer, which gets no verdict from the verifier).
    public var clientIDActiveElsewhere: Bool = false
    /// The trace context of the request that queued this verification (migration 0018), when
    /// tracing was on: the worker's verification span links to it.
    public var traceContext: QueuedTraceContext? = nil
}

/// What one claim took: its jobs, and whether more were due than it took (its count or its
/// byte budget ran out), so that the producer claims again at once rather than waiting.
public struct ClaimedBatch: RandomAccessCollection, Sendable {
    public let jobs: [ClaimedVerification]
    public let moreDue: Bool

    public var startIndex: Int { jobs.startIndex }
    public var endIndex: Int { jobs.endIndex }
    public subscript(position: Int) -> ClaimedVerification { jobs[position] }
}

/// A verdict ready to be recorded for a claimed verification.
public struct VerificationOutcome: Sendable {
    public let credentialID: UUID
    public let version: Int
    public let state: CredentialState
    public let findings: [Finding]
    public let uriSetVersion: Int?

    public init(credentialID: UUID, version: Int, state: CredentialState, findings: [Finding], uriSetVersion: Int?) {
        self.credentialID = credentialID
        self.version = version
        self.state = state
        self.findings = findings
        self.uriSetVersion = uriSetVersion
    }
}

public struct QueueStats: Sendable, Equatable {
    public let pending: Int
    public let verifying: Int
    public let oldestPendingSeconds: Double?
}

/// The verification queue, kept in the `credentials` table (migration 0004), learned from
/// River and Oban: one auto-committed statement claims a batch with `FOR UPDATE SKIP LOCKED`,
/// counts the attempt and records a lease; one statement completes a batch; expired leases
/// are rescued; failures are retried later. No transaction is held while a job runs.
///
/// Each is one statement in a transaction of its own (`Database.statement`), which takes the
/// role and the all-tenants scope first, or, for the claim and the verdicts that every upload
/// waits on, one function call that takes them itself (`Database.call`): no state is left on
/// the connection either way, so the worker runs behind a pooler in transaction mode too.
public struct VerificationQueue: Sendable {
    /// The channel uploads, re-verifications and retries notify.
    public static let channel = "verification_queue"

    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Each statement is a transaction of its own, as `provisioner_app` seeing every tenant,
    /// with no deadline: a claim's batch is bounded by its own limits.
    var database: Database { Database(client: client, logger: logger, deadline: nil) }

    /// Claims up to `limit` due verifications for `lease`, by `claim_verifications` (migration
    /// 0021): a function, so that each connection parses and plans the claim once, where a
    /// statement sent each time spent 1.4 ms of an idle claim's 1.8 in PostgreSQL doing that.
    ///
    /// The tenant's current URI set is one probe of `uri_sets_one_current` per claimed row (a
    /// LATERAL subquery; LIMIT 1 keeps it one, and there is at most one current set). As a plain
    /// join, a table without statistics yet (a backlog just loaded) was planned as a nested loop
    /// over every current set for each claimed row: 500 x 1,000 rows, 15 ms of a 45 ms claim.
    ///
    /// Whether each client id is another tenant's active credential is looked up here too, one
    /// probe of `credentials_verified_client_id` per claimed row, written as a LATERAL subquery with
    /// LIMIT 1 so that it stays one (as a join, the planner sometimes preferred a sequential scan
    /// of all credentials), rather than by a second statement: one round trip less per batch.
    ///
    /// A batch is also bounded by the size of its sealed files: `maxBytes` in all (the first
    /// job is always taken, whatever its size). Jobs are held in memory while they are verified,
    /// and uploads of 64 KiB each would make a batch of 4,000 a quarter of a gigabyte; the rows
    /// beyond the budget are locked only for the statement and stay `pending` for the next claim.
    public func claim(limit: Int, maxBytes: Int = Self.defaultMaxBatchBytes, lease: Duration, workerID: String) async throws -> ClaimedBatch {
        let leaseMilliseconds = Self.milliseconds(lease)
        // One round trip: the function takes the role and scope itself (migration 0025).
        let rows = try await database.call(.allTenants) {
            "SELECT * FROM claim_verifications(\($0), \(Int32(clamping: limit)), \(Int64(maxBytes)), \(leaseMilliseconds), \(workerID))"
        }
        var claimed: [ClaimedVerification] = []
        var picked = 0
        for (id, tenantID, version, attempt, clientID, keyID, sealed, pendingSince, uriVersion, host, origins, redirects, carriedFrom, inUse, pickedCount,
             traceParent, traceState)
            in try rows.decode((UUID, UUID, Int, Int, String?, String, ByteBuffer, Date, Int?, String?, [String]?, [String]?, UUID?, Bool, Int,
                                String?, String?).self)
        {
            picked = pickedCount
            var uriSet: IssuedURISet?
            if let uriVersion, let host, let origins, let redirects {
                uriSet = IssuedURISet(version: uriVersion, host: host, javascriptOrigins: origins, redirectURIs: redirects)
            }
            claimed.append(ClaimedVerification(
                credentialID: id, tenantID: tenantID, version: version, attempt: attempt, clientID: clientID,
                sealedFile: SealedSecret(keyID: keyID, combined: Array(buffer: sealed)), uriSet: uriSet, pendingSince: pendingSince,
                secretCarriedFrom: carriedFrom, clientIDActiveElsewhere: inUse,
                traceContext: traceParent.flatMap { QueuedTraceContext(traceParent: $0, traceState: traceState) }
            ))
        }
        return ClaimedBatch(jobs: claimed, moreDue: !claimed.isEmpty && (picked == limit || claimed.count < picked))
    }

    /// The sealed bytes one claim holds at most (see `claim`).
    public static let defaultMaxBatchBytes = 16 << 20

    /// Records a batch of verdicts in one statement; returns how many were taken (a verdict
    /// for a version that is no longer the one being verified is dropped).
    @discardableResult
    public func complete(_ outcomes: [VerificationOutcome]) async throws -> Int {
        guard !outcomes.isEmpty else { return 0 }
        let encoder = JSONEncoder()
        let findings = try outcomes.map { String(decoding: try encoder.encode($0.findings), as: UTF8.self) }
        // One round trip: the function takes the role and scope itself (migration 0025).
        let rows = try await database.call(.allTenants) {
            """
            SELECT complete_verifications(
                \($0), \(outcomes.map(\.credentialID))::uuid[], \(outcomes.map(\.version))::integer[],
                \(outcomes.map(\.state.rawValue))::text[], \(findings)::jsonb[], \(outcomes.map { $0.uriSetVersion ?? 0 })::integer[])
            """
        }
        for recorded in try rows.decode(Int.self) { return recorded }
        return 0
    }

    /// Extends the leases this worker still holds on `claims` to `lease` from now; returns how
    /// many it still held. A lease that was rescued meanwhile (its version bumped) or taken by
    /// another worker is left alone: the fence holds.
    @discardableResult
    public func renewLeases(_ claims: [(credentialID: UUID, version: Int)], lease: Duration, workerID: String) async throws -> Int {
        guard !claims.isEmpty else { return 0 }
        let rows = try await database.statement(
            .allTenants,
            """
            WITH renewed AS (
                UPDATE credentials c SET lease_expires_at = now() + \(Self.milliseconds(lease)) * interval '1 millisecond'
                FROM unnest(\(claims.map(\.credentialID))::uuid[], \(claims.map(\.version))::integer[]) AS r(id, version)
                WHERE c.id = r.id AND c.verification_version = r.version AND c.state = 'verifying' AND c.claimed_by = \(workerID)
                RETURNING 1
            )
            SELECT count(*)::integer FROM renewed
            """
        )
        for renewed in try rows.decode(Int.self) { return renewed }
        return 0
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// Puts a claimed verification back to wait until `notBefore` after a transient failure.
    public func retry(credentialID: UUID, version: Int, notBefore: Date, error: String) async throws {
        try await database.statement(
            .allTenants,
            """
            UPDATE credentials SET state = 'pending', next_attempt_at = \(notBefore), lease_expires_at = NULL,
                                   claimed_by = NULL, last_error = \(String(error.prefix(500)))
            WHERE id = \(credentialID) AND verification_version = \(version) AND state = 'verifying'
            """
        )
    }

    /// Gives back claimed verifications that were not started (graceful shutdown): the attempt
    /// counted at claim is returned too.
    public func release(_ claims: [(credentialID: UUID, version: Int)]) async throws {
        guard !claims.isEmpty else { return }
        try await database.statement(
            .allTenants,
            """
            UPDATE credentials c SET state = 'pending', attempts = greatest(c.attempts - 1, 0), lease_expires_at = NULL, claimed_by = NULL
            FROM unnest(\(claims.map(\.credentialID))::uuid[], \(claims.map(\.version))::integer[]) AS r(id, version)
            WHERE c.id = r.id AND c.verification_version = r.version AND c.state = 'verifying'
            """
        )
        try await database.statement(.allTenants, VerificationRequests.notifyWorkers)
    }

    /// Verifications whose lease ran out (their worker died): each goes back to `pending`, or,
    /// when it has had `maxAttempts`, is returned for a final verdict.
    ///
    /// Both bump `verification_version`, which fences the lost lease: the worker that held it
    /// may be slow rather than dead, and its late verdict, retry or release names the old
    /// version, so it is dropped instead of overtaking the next claim's.
    public func rescueExpiredLeases(maxAttempts: Int) async throws -> (requeued: Int, exhausted: [ClaimedVerification]) {
        let requeued = try await database.statement(
            .allTenants,
            """
            UPDATE credentials SET state = 'pending', next_attempt_at = now(), lease_expires_at = NULL, claimed_by = NULL,
                                   last_error = 'lease expired', verification_version = verification_version + 1
            WHERE state = 'verifying' AND lease_expires_at < now() AND attempts < \(maxAttempts)
            RETURNING id
            """
        )
        var count = 0
        for _ in try requeued.decode(UUID.self) { count += 1 }
        let exhaustedRows = try await database.statement(
            .allTenants,
            """
            UPDATE credentials SET lease_expires_at = now() + interval '1 minute', claimed_by = 'rescuer',
                                   verification_version = verification_version + 1
            WHERE state = 'verifying' AND lease_expires_at < now() AND attempts >= \(maxAttempts)
            RETURNING id, tenant_id, verification_version, attempts, client_id, sealed_key_id, sealed_file, requested_at
            """
        )
        var exhausted: [ClaimedVerification] = []
        for (id, tenantID, version, attempt, clientID, keyID, sealed, since) in try exhaustedRows.decode(
            (UUID, UUID, Int, Int, String?, String, ByteBuffer, Date).self
        ) {
            exhausted.append(ClaimedVerification(
                credentialID: id, tenantID: tenantID, version: version, attempt: attempt, clientID: clientID,
                sealedFile: SealedSecret(keyID: keyID, combined: Array(buffer: sealed)), uriSet: nil, pendingSince: since
            ))
        }
        if count > 0 { try await database.statement(.allTenants, VerificationRequests.notifyWorkers) }
        return (count, exhausted)
    }

    public func stats() async throws -> QueueStats {
        let rows = try await database.statement(
            .allTenants,
            """
            SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'verifying'),
                   extract(epoch FROM now() - min(requested_at))::float8
            FROM credentials WHERE state IN ('pending', 'verifying')
            """
        )
        for (pending, verifying, oldest) in try rows.decode((Int, Int, Double?).self) {
            return QueueStats(pending: pending, verifying: verifying, oldestPendingSeconds: oldest)
        }
        return QueueStats(pending: 0, verifying: 0, oldestPendingSeconds: nil)
    }
}
