import HTTPTypes
import OpenAPIRuntime
import ProvisionerDomain
import Synchronization

extension HTTPField.Name {
    static let rateLimit = Self("RateLimit")!
    static let rateLimitPolicy = Self("RateLimit-Policy")!
}

/// The IETF rate limit fields, as draft-ietf-httpapi-ratelimit-headers-11 (May 2026) writes
/// them (the same syntax since draft 08): each field is a Structured Field List (RFC 9651) of
/// Items whose value is the policy's name as an sf-string, with Integer parameters.
///
///     RateLimit-Policy: "uploads";q=600;w=60     quota q per window of w seconds
///     RateLimit: "uploads";r=12;t=5              r units left; more in t seconds
///
/// `t` is the seconds until one more unit when none is left (then equal to `Retry-After`, as
/// the draft asks: Retry-After never names an earlier moment than `t`), else until the quota is
/// whole again (`RateLimitDecision.resetSeconds`). No partition key (`pk`) is sent: which
/// bucket counted (the address, the token, the tenant) is implied by the policy's name.
enum RateLimitHeaders {
    static func policy(_ policy: RateLimitPolicy) -> String {
        // The name is lowercase letters and `_` (RateLimitPolicy checks it): nothing to escape.
        "\"\(policy.name)\";q=\(policy.quota);w=\(policy.windowSeconds)"
    }

    static func limit(_ state: RateLimitState) -> String {
        "\"\(state.policy.name)\";r=\(state.decision.remaining);t=\(state.decision.resetSeconds)"
    }

    /// Both fields, and `Retry-After` (delta-seconds) when the request was refused.
    static func fields(_ state: RateLimitState) -> HTTPFields {
        var fields = HTTPFields()
        fields[.rateLimitPolicy] = policy(state.policy)
        fields[.rateLimit] = limit(state)
        if !state.decision.admitted {
            fields[.retryAfter] = String(max(1, state.decision.secondsUntilAvailable))
        }
        return fields
    }
}

/// Carries a tenant limit's state from the handler that took it (an upload, an onboarding
/// link) to its answer. The generated code would percent-encode a typed header value, which
/// mangles a structured field (`%22uploads%22%3Bq%3D600...`), so the handler leaves the
/// declared headers empty and `RateLimitFieldsMiddleware` writes the fields as they are.
final class RateLimitFields: Sendable {
    @TaskLocal static var current: RateLimitFields?

    private let state = Mutex<RateLimitState?>(nil)

    func record(_ state: RateLimitState?) {
        self.state.withLock { $0 = state }
    }

    var recorded: RateLimitState? { state.withLock { $0 } }
}

/// Adds `RateLimit-Policy` and `RateLimit` to the successful answers of the operations a tenant
/// limit counts (a refusal carries them in its problem already).
struct RateLimitFieldsMiddleware: ServerMiddleware {
    static let operations: Set<String> = [Operations.UploadCredential.id, Operations.CreateOnboardingLink.id]

    func intercept(
        _ request: HTTPRequest,
        body: HTTPBody?,
        metadata: ServerRequestMetadata,
        operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard Self.operations.contains(operationID) else { return try await next(request, body, metadata) }
        let fields = RateLimitFields()
        var (response, responseBody) = try await RateLimitFields.$current.withValue(fields) { try await next(request, body, metadata) }
        if let state = fields.recorded {
            response.headerFields[.rateLimitPolicy] = RateLimitHeaders.policy(state.policy)
            response.headerFields[.rateLimit] = RateLimitHeaders.limit(state)
        }
        return (response, responseBody)
    }
}
