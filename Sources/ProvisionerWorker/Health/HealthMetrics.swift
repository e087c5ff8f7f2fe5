import Metrics
import ProvisionerDomain
import ProvisionerStore

/// The health checker's metrics (swift-metrics).
struct HealthMetrics: Sendable {
    enum ProbeOutcome: String, CaseIterable, Sendable {
        case registered, mismatch
        case clientGone = "client_gone"
        case inconclusive
    }

    private let probes: [ProbeOutcome: Counter]
    private let credentials: [HealthState: Gauge]
    /// now - health_due_at of the oldest due check (0 when none is due).
    let oldestDueSeconds = Gauge(label: "provisioner_health_oldest_due_seconds")

    init() {
        var probes: [ProbeOutcome: Counter] = [:]
        for outcome in ProbeOutcome.allCases {
            probes[outcome] = Counter(label: "provisioner_health_probes_total", dimensions: [("outcome", outcome.rawValue)])
        }
        self.probes = probes
        var credentials: [HealthState: Gauge] = [:]
        for state in HealthState.allCases {
            credentials[state] = Gauge(label: "provisioner_health_credentials", dimensions: [("state", state.rawValue)])
        }
        self.credentials = credentials
    }

    func record(_ answer: ProbeAnswer) {
        let outcome: ProbeOutcome = switch answer {
        case .registered: .registered
        case .redirectURIMismatch: .mismatch
        case .clientGone: .clientGone
        case .inconclusive: .inconclusive
        }
        probes[outcome]?.increment()
    }

    func record(_ stats: HealthQueueStats) {
        for state in HealthState.allCases {
            credentials[state]?.record(stats.byState[state] ?? 0)
        }
        oldestDueSeconds.record(stats.oldestDueSeconds)
    }
}

