import Foundation
import HTTPTypes
import Metrics
import NIOCore
import ProvisionerDomain
import Synchronization

/// The rate limits of this process, in memory: one `RateLimiter` (domain) per limit, behind a
/// mutex each, keyed by client address, token id or tenant id. Shared by the bearer-token
/// middleware, the handlers of uploads and onboarding links, and the console's sign-ins.
///
/// Per replica on purpose: a check costs no database round trip and no replica depends on
/// another; N replicas allow N times the numbers (README, "Rate limits"). Memory is bounded
/// by `RateLimitSettings.maximumKeys` buckets per limit (`RateLimiter`), so a flood from many
/// addresses, or with many random tokens (which make no bucket of their own: they are failures
/// of their address), cannot grow it.
///
/// Refusals are counted in `provisioner_rate_limited_total{policy}` and are neither audited nor
/// logged one by one (a flood must not cost a database write or a log line per request); the
/// failed authentications themselves still reach the audit log through `FailedSignInCounter`.
final class RateLimits: Sendable {
    /// One limit: its policy, its buckets, its count of refusals.
    final class Limit<Key: Hashable & Sendable>: Sendable {
        let policy: RateLimitPolicy
        let buckets: Mutex<RateLimiter<Key>>
        let refusals: Counter

        init(_ policy: RateLimitPolicy, maximumKeys: Int) {
            self.policy = policy
            buckets = Mutex(RateLimiter(policy: policy, maximumKeys: maximumKeys))
            refusals = Counter(label: "provisioner_rate_limited_total", dimensions: [("policy", policy.name)])
        }

        /// `refusal: false` for a unit taken after the fact (a failed authentication, already
        /// answered 401), which no request is refused for.
        func take(_ key: Key, at now: Duration, refusal: Bool = true) -> RateLimitState {
            let decision = buckets.withLock { $0.take(key, at: now) }
            if refusal, !decision.admitted { refusals.increment() }
            return RateLimitState(policy: policy, decision: decision)
        }

        func check(_ key: Key, at now: Duration) -> RateLimitState {
            RateLimitState(policy: policy, decision: buckets.withLock { $0.check(key, at: now) })
        }

        var keyCount: Int { buckets.withLock { $0.keyCount } }
    }

    let authFailures: Limit<String>?
    let tokens: Limit<UUID>?
    let uploads: Limit<UUID>?
    let onboardingLinks: Limit<UUID>?
    private let clock: @Sendable () -> Duration

    /// `clock`: a monotonic time since any origin (tests pass their own); by default a
    /// `ContinuousClock`, which wall-clock changes do not move.
    init(settings: RateLimitSettings, clock: (@Sendable () -> Duration)? = nil) {
        func limit<Key>(_ name: String, _ perMinute: Int) -> Limit<Key>? {
            RateLimitPolicy(name: name, quota: perMinute, windowSeconds: 60).map { Limit($0, maximumKeys: settings.maximumKeys) }
        }
        authFailures = limit("auth_failures", settings.authFailuresPerAddress)
        tokens = limit("token", settings.requestsPerToken)
        uploads = limit("uploads", settings.uploadsPerTenant)
        onboardingLinks = limit("onboarding_links", settings.onboardingLinksPerTenant)
        if let clock {
            self.clock = clock
        } else {
            let origin = ContinuousClock.now
            self.clock = { origin.duration(to: .now) }
        }
    }

    // MARK: failed authentication, per client address

    /// The refusal for an address that has spent its failed authentications, or nil while it
    /// may try. Checked before any token or link is looked at, and takes nothing: a throttled
    /// request is not a guess (it is not counted as a failed sign-in either, neither here nor
    /// in the audit log), and its answer is the same whether the token it carried is valid or
    /// not, so it tells a guesser nothing.
    func authFailureRefusal(address: String?) -> RateLimitState? {
        guard let authFailures else { return nil }
        let state = authFailures.check(Self.addressKey(address), at: clock())
        guard !state.decision.admitted else { return nil }
        authFailures.refusals.increment()
        return state
    }

    /// One failed authentication of `address`.
    func recordAuthFailure(address: String?) {
        _ = authFailures?.take(Self.addressKey(address), at: clock(), refusal: false)
    }

    /// The key of a client address: an IPv6 address by its /64 (the block one subscriber or
    /// host usually holds whole: counting each address would let one client guess on and on),
    /// an IPv4-mapped IPv6 address (a dual-stack listener's IPv4 client) as its IPv4 address,
    /// anything else as it is; none (a Unix socket, the tests' in-memory router) as "".
    static func addressKey(_ address: String?) -> String {
        guard let address else { return "" }
        guard address.contains(":"), let parsed = try? SocketAddress(ipAddress: address, port: 0), case .v6(let v6) = parsed else {
            return address
        }
        let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
        guard bytes.count == 16 else { return address }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return bytes[12...].map { String($0) }.joined(separator: ".")
        }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }

    // MARK: per token, per tenant

    /// Takes one request of a valid token: any operation, once the token is known to be usable.
    func admitToken(_ id: UUID) throws {
        guard let tokens else { return }
        let state = tokens.take(id, at: clock())
        guard state.decision.admitted else {
            throw state.problem("This token has sent its \(tokens.policy.quota) requests a minute; try again in \(Self.seconds(state.decision.secondsUntilAvailable)).")
        }
    }

    /// Takes one upload of the tenant; the state is for the answer's headers (nil: no limit).
    func admitUpload(tenantID: UUID, slug: String) throws -> RateLimitState? {
        guard let uploads else { return nil }
        let state = uploads.take(tenantID, at: clock())
        guard state.decision.admitted else {
            throw state.problem(
                "Tenant '\(slug)' has had its \(uploads.policy.quota) uploads a minute; nothing was stored. Try again in \(Self.seconds(state.decision.secondsUntilAvailable))."
            )
        }
        return state
    }

    /// Takes one onboarding link of the tenant; the state is for the answer's headers (nil: no limit).
    func admitOnboardingLink(tenantID: UUID, slug: String) throws -> RateLimitState? {
        guard let onboardingLinks else { return nil }
        let state = onboardingLinks.take(tenantID, at: clock())
        guard state.decision.admitted else {
            throw state.problem(
                "Tenant '\(slug)' has had its \(onboardingLinks.policy.quota) onboarding links a minute; no link was made. Try again in \(Self.seconds(state.decision.secondsUntilAvailable))."
            )
        }
        return state
    }

    static func seconds(_ count: Int) -> String {
        count == 1 ? "1 second" : "\(count) seconds"
    }
}

/// A limit's state after a check: what the headers say, and the 429 when it refused.
struct RateLimitState: Sendable, Equatable {
    let policy: RateLimitPolicy
    let decision: RateLimitDecision

    /// The answer to a refused request: `429 rate_limited`, with `Retry-After` and the fields.
    func problem(_ detail: String) -> Problem {
        Problem(.tooManyRequests, code: .rateLimited, detail: detail, headers: RateLimitHeaders.fields(self))
    }

    /// The answer to a request of an address that has spent its failed authentications. It
    /// says nothing of the token the request carried, which was not looked at.
    var authFailureProblem: Problem {
        problem(
            "Too many requests from this address failed to authenticate (\(policy.quota) a minute are allowed); no token is checked until then. Try again in \(RateLimits.seconds(decision.secondsUntilAvailable))."
        )
    }
}
