import Foundation
import Logging
import ProvisionerDomain
import ProvisionerStore

/// Called after each attempt to record a batch of verdicts: what was submitted, and how many
/// the database took (a verdict for a request that is no longer being verified is dropped).
public typealias CompletionObserver = @Sendable (_ submitted: [VerificationOutcome], _ recorded: Int) -> Void

/// Records what became of a batch: the verdicts in one statement per lane of tenants, failed
/// jobs back to the queue after a backoff (or rejected with `verification_failed` after the last attempt), and
/// interrupted jobs given back.
///
/// When the database cannot take the verdicts after `completionAttempts` tries, the jobs are
/// left as they are: their lease runs out and the rescuer hands them out again (the attempt
/// counted), so an upload still reaches a verdict, whatever failed in between.
struct VerificationCompleter: Sendable {
    let queue: VerificationQueue
    let configuration: WorkerConfiguration
    let metrics: WorkerMetrics
    let logger: Logger
    let observer: CompletionObserver?

    /// The verdict of a verification that could not be run, after its last attempt.
    static func finalFailure(_ claim: ClaimedVerification) -> VerificationOutcome {
        VerificationOutcome(
            credentialID: claim.credentialID,
            version: claim.version,
            state: .rejected,
            findings: [Finding(code: .verificationFailed)],
            uriSetVersion: claim.uriSet?.version
        )
    }

    func record(_ results: [JobResult]) async {
        var verdicts: [(claim: ClaimedVerification, outcome: VerificationOutcome)] = []
        var retries: [(claim: ClaimedVerification, reason: String)] = []
        var interrupted: [ClaimedVerification] = []
        verdicts.reserveCapacity(results.count)
        for result in results {
            switch result {
            case .verdict(let claim, let outcome):
                verdicts.append((claim, outcome))
            case .failed(let claim, let reason):
                metrics.jobFailures.increment()
                if claim.attempt >= configuration.maxAttempts {
                    logger.error("verification failed on its last attempt; rejecting it", metadata: metadata(claim, reason))
                    verdicts.append((claim, Self.finalFailure(claim)))
                } else {
                    logger.warning("verification failed; it will be tried again", metadata: metadata(claim, reason))
                    retries.append((claim, reason))
                }
            case .interrupted(let claim):
                interrupted.append(claim)
            }
        }
        await complete(verdicts)
        await retry(retries)
        await release(interrupted)
    }

    /// The batch's verdicts split by tenant into `completionLanes` lanes, recorded at once, one
    /// statement each: lanes share no tenant, so no lane waits for another's locks (a lane may
    /// wait for the same lane of the batch before it, whose tenants it shares).
    func complete(_ verdicts: [(claim: ClaimedVerification, outcome: VerificationOutcome)]) async {
        guard !verdicts.isEmpty else { return }
        let tenants = Set(verdicts.map(\.claim.tenantID)).count
        let lanes = Self.lanes(verdicts, count: min(configuration.completionLanes, tenants / configuration.completionLaneTenants))
        guard lanes.count > 1 else {
            await completeLane(verdicts)
            return
        }
        await withDiscardingTaskGroup { group in
            for lane in lanes {
                group.addTask { await completeLane(lane) }
            }
        }
    }

    /// The verdicts by lane, a tenant always in the same one (by its id's last byte); empty
    /// lanes left out.
    static func lanes(
        _ verdicts: [(claim: ClaimedVerification, outcome: VerificationOutcome)], count: Int
    ) -> [[(claim: ClaimedVerification, outcome: VerificationOutcome)]] {
        guard count > 1 else { return [verdicts] }
        var lanes = [[(claim: ClaimedVerification, outcome: VerificationOutcome)]](repeating: [], count: count)
        for verdict in verdicts {
            lanes[Int(verdict.claim.tenantID.uuid.15) % count].append(verdict)
        }
        return lanes.filter { !$0.isEmpty }
    }

    /// One statement for one lane, tried again on a transient error (a deadlock between two
    /// workers' batches, a dropped connection).
    func completeLane(_ verdicts: [(claim: ClaimedVerification, outcome: VerificationOutcome)]) async {
        // The same order in every worker: tenants' rows are locked in one order, so two
        // batches with uploads of the same tenants wait for each other rather than deadlock.
        let ordered = verdicts.sorted { lhs, rhs in
            lhs.claim.tenantID.precedesInPostgres(rhs.claim.tenantID)
                || (lhs.claim.tenantID == rhs.claim.tenantID && lhs.claim.credentialID.precedesInPostgres(rhs.claim.credentialID))
        }
        let outcomes = ordered.map(\.outcome)
        for attempt in 1...configuration.completionAttempts {
            do {
                let recorded = try await queue.complete(outcomes)
                observer?(outcomes, recorded)
                metrics.completed.increment(by: Int64(recorded))
                metrics.recordVerdicts(ordered.map { ($0.outcome, $0.claim.pendingSince) })
                if recorded < outcomes.count {
                    logger.info("verdicts dropped: their requests were re-asked or rescued meanwhile",
                                metadata: ["dropped": "\(outcomes.count - recorded)"])
                }
                return
            } catch where DataException.matches(error) {
                // One verdict the database cannot take must not hold back the others, nor be
                // tried again as it is: record them one by one.
                logger.error("a verdict of the batch cannot be stored; recording the batch one by one",
                             metadata: ["count": "\(outcomes.count)", "error": "\(DatabaseUnavailable.safeDescription(of: error))"])
                await completeOneByOne(ordered)
                return
            } catch {
                logger.warning(
                    "could not record verdicts",
                    metadata: ["attempt": "\(attempt)", "count": "\(outcomes.count)", "error": "\(DatabaseUnavailable.safeDescription(of: error))"]
                )
                if attempt == configuration.completionAttempts || Task.isCancelled { break }
                try? await Task.sleep(for: configuration.databaseBackoff.delay(attempt: attempt))
            }
        }
        logger.error("verdicts not recorded; their leases will expire and the rescuer will requeue them",
                     metadata: ["count": "\(outcomes.count)"])
    }

    /// Each verdict on its own; one the database refuses is replaced by `verification_failed`,
    /// so that its upload still ends `rejected` rather than going round the queue for ever.
    func completeOneByOne(_ verdicts: [(claim: ClaimedVerification, outcome: VerificationOutcome)]) async {
        for (claim, outcome) in verdicts {
            for candidate in [outcome, Self.finalFailure(claim)] {
                do {
                    let recorded = try await queue.complete([candidate])
                    observer?([candidate], recorded)
                    metrics.completed.increment(by: Int64(recorded))
                    metrics.recordVerdicts([(candidate, claim.pendingSince)])
                    break
                } catch where DataException.matches(error) {
                    logger.error("verdict cannot be stored; rejecting the upload with verification_failed",
                                 metadata: ["credential_id": "\(claim.credentialID.uuidString.lowercased())",
                                            "error": "\(DatabaseUnavailable.safeDescription(of: error))"])
                } catch {
                    logger.warning("could not record a verdict; its lease will expire and the rescuer will requeue it",
                                   metadata: ["credential_id": "\(claim.credentialID.uuidString.lowercased())",
                                              "error": "\(DatabaseUnavailable.safeDescription(of: error))"])
                    break
                }
            }
        }
    }

    func retry(_ retries: [(claim: ClaimedVerification, reason: String)]) async {
        for (claim, reason) in retries {
            let notBefore = Date().addingTimeInterval(Backoff.seconds(configuration.retryBackoff.delay(attempt: claim.attempt)))
            do {
                try await queue.retry(credentialID: claim.credentialID, version: claim.version, notBefore: notBefore, error: reason)
                metrics.retried.increment()
            } catch {
                logger.warning(
                    "could not schedule retries; their leases will expire and the rescuer will requeue them",
                    metadata: ["count": "\(retries.count)", "error": "\(DatabaseUnavailable.safeDescription(of: error))"]
                )
                return
            }
        }
    }

    func release(_ claims: [ClaimedVerification]) async {
        guard !claims.isEmpty else { return }
        do {
            try await queue.release(claims.map { ($0.credentialID, $0.version) })
            metrics.released.increment(by: Int64(claims.count))
            logger.info("gave back unfinished verifications", metadata: ["count": "\(claims.count)"])
        } catch {
            logger.warning(
                "could not give back unfinished verifications; their leases will expire",
                metadata: ["count": "\(claims.count)", "error": "\(DatabaseUnavailable.safeDescription(of: error))"]
            )
        }
    }

    private func metadata(_ claim: ClaimedVerification, _ reason: String) -> Logger.Metadata {
        [
            "credential_id": "\(claim.credentialID.uuidString.lowercased())",
            "attempt": "\(claim.attempt)",
            "reason": "\(reason)",
        ]
    }
}
