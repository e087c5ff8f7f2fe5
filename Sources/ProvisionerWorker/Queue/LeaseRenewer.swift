import Foundation
import Logging
import ProvisionerStore

/// Keeps the leases of a batch alive while it is verified, so that a slow batch (many heavy
/// uploads, a slow live check) is never rescued from under a worker that is still at it: a
/// rescue would count an attempt against every job of the batch, and after the last attempt
/// even good uploads of other tenants would end `verification_failed`.
///
/// Every third of the lease it extends the batch's leases by a whole lease. A worker that dies
/// stops renewing, so the rescuer still takes its jobs back one lease after the last renewal.
/// A renewal that fails (the database away) is only logged: the leases then run out as before.
struct LeaseRenewer: Sendable {
    let queue: VerificationQueue
    let configuration: WorkerConfiguration
    let metrics: WorkerMetrics
    let logger: Logger

    /// Runs `work` while renewing the leases of `batch`; renewal stops when `work` returns.
    func renewing<Result: Sendable>(
        _ batch: [ClaimedVerification],
        _ work: @Sendable () async -> Result
    ) async -> Result {
        let claims = batch.map { (credentialID: $0.credentialID, version: $0.version) }
        let interval = configuration.lease / 3
        return await withTaskGroup(of: Result?.self) { group in
            group.addTask {
                while true {
                    do {
                        try await Task.sleep(for: interval)
                    } catch {
                        return nil
                    }
                    await renew(claims)
                }
            }
            let result = await work()
            group.cancelAll()
            return result
        }
    }

    private func renew(_ claims: [(credentialID: UUID, version: Int)]) async {
        do {
            let renewed = try await queue.renewLeases(claims, lease: configuration.lease, workerID: configuration.workerID)
            metrics.leasesRenewed.increment(by: Int64(renewed))
            logger.debug("leases renewed", metadata: ["renewed": "\(renewed)", "claimed": "\(claims.count)"])
        } catch {
            if Task.isCancelled { return }
            logger.warning("could not renew leases", metadata: ["error": "\(DatabaseUnavailable.safeDescription(of: error))"])
        }
    }
}
