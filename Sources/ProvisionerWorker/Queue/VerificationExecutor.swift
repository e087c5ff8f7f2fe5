import Foundation
import Logging
import ProvisionerDomain
import ProvisionerStore

/// What became of one claimed verification.
enum JobResult: Sendable {
    /// A verdict: recorded by the completer.
    case verdict(ClaimedVerification, VerificationOutcome)
    /// The job could not be run (a file that does not open, a live check that could not be
    /// made, the database away): tried again later, or rejected after the last attempt.
    case failed(ClaimedVerification, reason: String)
    /// Shutdown came before the verdict: given back to the queue.
    case interrupted(ClaimedVerification)

    var claim: ClaimedVerification {
        switch self {
        case .verdict(let claim, _), .failed(let claim, _), .interrupted(let claim): claim
        }
    }
}

/// Runs the verifications of one claimed batch: opens each sealed file, asks Google when the
/// live check is on (every check of the batch at once), and lets the pure verifier decide.
/// A problem with one job is that job's failure, never the worker's.
struct VerificationExecutor: Sendable {
    let sealer: SecretSealer
    let verifier: CredentialVerifier
    let liveCheck: (any LiveCheck)?
    let metrics: WorkerMetrics
    let logger: Logger
    /// The verification spans, when tracing is on (`VerificationSpan`).
    var tracing: VerificationSpan? = nil

    func execute(_ batch: [ClaimedVerification]) async -> [JobResult] {
        guard let liveCheck else {
            guard let tracing else { return batch.map { verifyOffline($0) } }
            return batch.map { claim in tracing.around(claim) { verifyOffline(claim) } }
        }
        return await withTaskGroup(of: (Int, JobResult).self) { group in
            for (index, claim) in batch.enumerated() {
                group.addTask {
                    guard let tracing else { return (index, await verifyWithLiveCheck(claim, liveCheck: liveCheck)) }
                    return (index, await tracing.around(claim) { await verifyWithLiveCheck(claim, liveCheck: liveCheck) })
                }
            }
            var results = [JobResult?](repeating: nil, count: batch.count)
            for await (index, result) in group {
                results[index] = result
            }
            return results.enumerated().map { index, result in result ?? .interrupted(batch[index]) }
        }
    }

    /// Without the live check: no suspension at all.
    func verifyOffline(_ claim: ClaimedVerification) -> JobResult {
        let bytes: [UInt8]
        do {
            bytes = try sealer.open(claim.sealedFile, tenantID: claim.tenantID, credentialID: claim.credentialID)
        } catch {
            return .failed(claim, reason: "the sealed file cannot be opened: \(error.description)")
        }
        return decide(claim, fileBytes: bytes, liveCheck: nil)
    }

    private func verifyWithLiveCheck(_ claim: ClaimedVerification, liveCheck: any LiveCheck) async -> JobResult {
        let bytes: [UInt8]
        do {
            bytes = try sealer.open(claim.sealedFile, tenantID: claim.tenantID, credentialID: claim.credentialID)
        } catch {
            return .failed(claim, reason: "the sealed file cannot be opened: \(error.description)")
        }
        var outcome: LiveCheckOutcome?
        // Only a usable pair is worth asking about, and only with an issued redirect URI to send
        // (without one the upload is rejected with uri_set_not_issued anyway).
        if let redirectURI = claim.uriSet?.redirectURIs.first,
           let credential = RuntimeCredential(fileBytes: bytes),
           CredentialVerifier.isWellFormedClientID(credential.clientID)
        {
            do {
                outcome = try await liveCheck.check(credential, redirectURI: redirectURI)
            } catch {
                if Task.isCancelled { return .interrupted(claim) }
                let reason = (error as? LiveCheckError)?.description ?? String(reflecting: type(of: error))
                return .failed(claim, reason: "the live check could not be made: \(reason)")
            }
            if let outcome { metrics.recordLiveCheck(outcome) }
        }
        if Task.isCancelled { return .interrupted(claim) }
        return decide(claim, fileBytes: bytes, liveCheck: outcome)
    }

    private func decide(_ claim: ClaimedVerification, fileBytes: [UInt8], liveCheck: LiveCheckOutcome?) -> JobResult {
        let context = VerificationContext(
            clientIDActiveElsewhere: claim.clientIDActiveElsewhere,
            liveCheck: liveCheck,
            secretCarriedFrom: claim.secretCarriedFrom
        )
        let verdict = verifier.verify(fileBytes: fileBytes, against: claim.uriSet, context: context)
        return .verdict(claim, VerificationOutcome(
            credentialID: claim.credentialID,
            version: claim.version,
            state: verdict.state,
            findings: verdict.findings,
            uriSetVersion: claim.uriSet?.version
        ))
    }
}
