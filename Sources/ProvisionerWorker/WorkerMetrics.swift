import Foundation
import Metrics
import ProvisionerDomain
import ProvisionerStore

/// The worker's metrics (swift-metrics; the executable bootstraps the Prometheus backend).
/// Made once per worker, so that the hot path only increments.
struct WorkerMetrics: Sendable {
    let queuePending = Gauge(label: "provisioner_verification_queue_depth", dimensions: [("state", "pending")])
    let queueVerifying = Gauge(label: "provisioner_verification_queue_depth", dimensions: [("state", "verifying")])
    let oldestPendingSeconds = Gauge(label: "provisioner_verification_oldest_pending_seconds")
    let claimed = Counter(label: "provisioner_verifications_claimed_total")
    let completed = Counter(label: "provisioner_verifications_completed_total")
    let retried = Counter(label: "provisioner_verifications_retried_total")
    let released = Counter(label: "provisioner_verifications_released_total")
    let rescued = Counter(label: "provisioner_verifications_rescued_total", dimensions: [("outcome", "requeued")])
    let rescuedExhausted = Counter(label: "provisioner_verifications_rescued_total", dimensions: [("outcome", "exhausted")])
    let jobFailures = Counter(label: "provisioner_verification_job_failures_total")
    /// Leases extended while their batch was still being verified (`LeaseRenewer`).
    let leasesRenewed = Counter(label: "provisioner_verification_leases_renewed_total")
    /// From the request (upload, re-verification, new URI set) to the verdict.
    let latency = Metrics.Timer(label: "provisioner_verification_latency_seconds", preferredDisplayUnit: .seconds)
    private let verdictsByState: [CredentialState: Counter]
    private let findingsByCode: [FindingCode: Counter]
    private let liveChecks: [LiveCheckOutcome: Counter]

    init() {
        var verdicts: [CredentialState: Counter] = [:]
        for state in CredentialState.allCases {
            verdicts[state] = Counter(label: "provisioner_verification_verdicts_total", dimensions: [("state", state.rawValue)])
        }
        verdictsByState = verdicts
        var findings: [FindingCode: Counter] = [:]
        for code in FindingCode.allCases {
            findings[code] = Counter(
                label: "provisioner_verification_findings_total",
                dimensions: [("code", code.rawValue), ("severity", code.severity.rawValue)]
            )
        }
        findingsByCode = findings
        var live: [LiveCheckOutcome: Counter] = [:]
        for outcome in LiveCheckOutcome.allCases {
            live[outcome] = Counter(label: "provisioner_live_checks_total", dimensions: [("outcome", outcome.rawValue)])
        }
        liveChecks = live
    }

    /// Counts verdicts the database took, with their findings and latency.
    func recordVerdicts(_ recorded: [(outcome: VerificationOutcome, pendingSince: Date)], at now: Date = Date()) {
        for (outcome, pendingSince) in recorded {
            verdictsByState[outcome.state]?.increment()
            for finding in outcome.findings {
                findingsByCode[finding.code]?.increment()
            }
            let seconds = max(now.timeIntervalSince(pendingSince), 0)
            latency.recordNanoseconds(Int64(seconds * 1e9))
        }
    }

    func recordLiveCheck(_ outcome: LiveCheckOutcome) {
        liveChecks[outcome]?.increment()
    }
}
