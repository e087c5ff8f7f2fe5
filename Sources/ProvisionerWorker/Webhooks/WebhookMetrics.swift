import Metrics

/// The dispatcher's metrics (swift-metrics; the executable bootstraps the Prometheus backend).
/// Made once per dispatcher, so that the hot path only increments.
struct WebhookMetrics: Sendable {
    enum Outcome: String, CaseIterable, Sendable {
        /// A 2xx.
        case succeeded
        /// Failed, another attempt scheduled.
        case retrying
        /// Failed on the last attempt (or the event cannot be sent at all).
        case failed
        /// 410: the endpoint was disabled.
        case gone
        /// Refused before any request: the URL, or the addresses its host resolves to now,
        /// break the policy (retried like any failed attempt).
        case refused
    }

    private let outcomes: [Outcome: Counter]
    /// Every attempt made, whatever came of it.
    let attempts = Counter(label: "provisioner_webhook_attempts_total")
    /// One attempt, from resolving the host to the end of the answer.
    let attemptDuration = Metrics.Timer(label: "provisioner_webhook_delivery_seconds", preferredDisplayUnit: .seconds)
    /// now - occurred_at of the oldest pending delivery (0 when none).
    let oldestPendingSeconds = Gauge(label: "provisioner_webhook_oldest_pending_seconds")
    let pending = Gauge(label: "provisioner_webhook_pending")
    let endpointsEnabled = Gauge(label: "provisioner_webhook_endpoints", dimensions: [("state", "enabled")])
    let endpointsDisabled = Gauge(label: "provisioner_webhook_endpoints", dimensions: [("state", "disabled")])

    init() {
        var outcomes: [Outcome: Counter] = [:]
        for outcome in Outcome.allCases {
            outcomes[outcome] = Counter(label: "provisioner_webhook_deliveries_total", dimensions: [("outcome", outcome.rawValue)])
        }
        self.outcomes = outcomes
    }

    func record(_ outcome: Outcome) {
        outcomes[outcome]?.increment()
    }
}
