import ProvisionerStore
import Tracing

/// The span of one verification (README, "Tracing"): a new root, with a span link to the
/// request that queued the job (its trace context came with the claim, migration 0018). Not a
/// child of that request: the job may run long after the request ended, in a batch of
/// thousands, retried by another worker; a link keeps both traces readable.
///
/// It records the credential, tenant, version and attempt (ids, never the file) and what came
/// of the job. A live check made inside it is its child (`ClientSpan`).
struct VerificationSpan: Sendable {
    let tracer: any Tracer

    /// Verifies `claim` offline (no request is made: the span need not be current).
    func around(_ claim: ClaimedVerification, _ verify: () -> JobResult) -> JobResult {
        let span = start(claim)
        let result = verify()
        finish(span, result)
        return result
    }

    /// Verifies `claim` with the span current, so that the live check's request is its child.
    func around(_ claim: ClaimedVerification, _ verify: () async -> JobResult) async -> JobResult {
        let span = start(claim)
        let result = await InstrumentationContext.withValue(span.context) { await verify() }
        finish(span, result)
        return result
    }

    func start(_ claim: ClaimedVerification) -> any Span {
        let span = tracer.startSpan("verify credential", context: .topLevel, ofKind: .consumer)
        if let queued = claim.traceContext {
            var linked = InstrumentationContext.topLevel
            tracer.extract(queued, into: &linked, using: QueuedTraceContextExtractor())
            span.addLink(SpanLink(context: linked, attributes: [:]))
        }
        span.attributes["provisioner.credential_id"] = claim.credentialID.uuidString.lowercased()
        span.attributes["provisioner.tenant_id"] = claim.tenantID.uuidString.lowercased()
        span.attributes["provisioner.verification.version"] = claim.version
        span.attributes["provisioner.verification.attempt"] = claim.attempt
        return span
    }

    func finish(_ span: any Span, _ result: JobResult) {
        switch result {
        case .verdict(_, let outcome):
            span.attributes["provisioner.verification.state"] = outcome.state.rawValue
            span.attributes["provisioner.verification.findings"] = outcome.findings.count
        case .failed(_, let reason):
            // Our own words (what could not be done), the same as the row's last_error.
            span.setStatus(SpanStatus(code: .error, message: String(reason.prefix(200))))
        case .interrupted:
            span.attributes["provisioner.verification.interrupted"] = true
        }
        span.end()
    }

    /// Reads the stored `traceparent`/`tracestate`, already checked by `QueuedTraceContext`.
    struct QueuedTraceContextExtractor: Extractor {
        func extract(key: String, from carrier: QueuedTraceContext) -> String? {
            switch key {
            case "traceparent": carrier.traceParent
            case "tracestate": carrier.traceState
            default: nil
            }
        }
    }
}
