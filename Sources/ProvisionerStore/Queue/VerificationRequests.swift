import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain

/// The one door into the verification queue for the other stores: what they call inside their
/// own transaction (River's `InsertTx`) to ask for a verification, so that the queue's columns
/// are written and the workers woken in one place. The set-based completion lives in
/// `complete_verifications`; the claim, retries, releases and rescues in `VerificationQueue`.
///
/// A NOTIFY sent inside a transaction is delivered when it commits, and not at all when it
/// rolls back: a worker is never woken for a request that did not happen.
public enum VerificationRequests {
    /// Wakes the workers (at commit of the surrounding transaction, if any), by
    /// `wake_verification_workers()` (migration 0026), a NOTIFY on `VerificationQueue.channel`.
    /// A new upload's queue columns are the table's defaults (`pending`, due now, version 1, no
    /// attempt), so asking for its verification is that call alone, which `upload_credential`
    /// makes in the same unit of work (`PostgresCredentialStore.upload`).
    static var notifyWorkers: PostgresQuery { "SELECT wake_verification_workers()" }

    /// A new verification of an existing upload (`RequeueReason.reverification` or
    /// `.uriSetIssued`): back to `pending`, due now, attempts from zero, and a new version, so a
    /// verdict of a claim still in flight is dropped (`complete_verifications`' fence). Returns
    /// false when the upload is not there (or not visible in the caller's scope).
    ///
    /// The caller holds the tenant row's lock, as every writer of a tenant's uploads takes it
    /// first (see `complete_verifications`).
    public static func requeue(
        _ credentialID: UUID, tenantID: UUID, reason: CredentialLifecycle.RequeueReason,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Bool {
        precondition(reason == .reverification || reason == .uriSetIssued, "\(reason) is the queue's own requeue")
        // The verification span links to the request asking now (none with tracing off).
        let trace = QueuedTraceContext.current
        let rows = try await connection.query(
            """
            UPDATE credentials
            SET state = 'pending', attempts = 0, verification_version = verification_version + 1, next_attempt_at = now(),
                requested_at = now(), lease_expires_at = NULL, claimed_by = NULL, last_error = NULL,
                trace_parent = \(trace?.traceParent), trace_state = \(trace?.traceState)
            WHERE id = \(credentialID) AND tenant_id = \(tenantID)
            RETURNING id
            """,
            logger: logger
        )
        guard try await rows.decode(UUID.self).first(where: { _ in true }) != nil else { return false }
        try await connection.query(notifyWorkers, logger: logger)
        return true
    }
}
