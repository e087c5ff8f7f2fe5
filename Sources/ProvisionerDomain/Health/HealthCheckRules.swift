#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the health check remembers of a credential between checks (the `health_*` columns).
public struct HealthMemory: Sendable, Hashable {
    public var health: CredentialHealth
    /// When the current run of `redirect_uri_mismatch` answers began.
    public var mismatchSince: Date?
    /// Checks in a row that settled nothing (propagating or inconclusive), this one included
    /// (counted at claim).
    public var attempts: Int

    public init(health: CredentialHealth = .unchecked, mismatchSince: Date? = nil, attempts: Int = 1) {
        self.health = health
        self.mismatchSince = mismatchSince
        self.attempts = attempts
    }
}

/// What one check decided: what to write in the `health_*` columns.
public struct HealthDecision: Sendable, Hashable {
    public var health: CredentialHealth
    public var mismatchSince: Date?
    /// nil: not due again (final or ok with the re-check off).
    public var nextDueAt: Date?
    /// The value of `health_attempts` to keep: 0 once settled, else the attempts so far.
    public var attempts: Int
    /// Nothing usable came back: health and `checked_at` are the previous ones.
    public var inconclusive: Bool
    /// Why it was inconclusive (or nil).
    public var lastError: String?
}

/// The rules of the health check, pure: from the memory of the previous checks, the probe's
/// answers and the live check's outcome, the new health, when the mismatches began and when to
/// check again.
///
/// - Overall state by priority: client_deleted > client_secret_invalid >
///   redirect_uri_not_registered > propagating > ok.
/// - A mismatch is `propagating` until `window` has passed since the first one of the current
///   run, then `redirect_uri_not_registered`; propagating is checked again with
///   `propagationBackoff` (never later than the end of the window).
/// - Nothing conclusive: health and `checked_at` unchanged, again after `retryBackoff`.
/// - Settled (ok or a final state): again after `recheckInterval * (0.5 + random)` (spread over
///   the interval), or never when the interval is zero.
public struct HealthCheckRules: Sendable, Hashable {
    public var window: Duration
    public var recheckInterval: Duration
    public var propagationBackoff: Backoff
    public var retryBackoff: Backoff

    public init(
        window: Duration = .seconds(6 * 3600),
        recheckInterval: Duration = .seconds(24 * 3600),
        propagationBackoff: Backoff = Backoff(base: .seconds(60), cap: .seconds(30 * 60)),
        retryBackoff: Backoff = Backoff(base: .seconds(60), cap: .seconds(30 * 60))
    ) {
        self.window = window
        self.recheckInterval = recheckInterval
        self.propagationBackoff = propagationBackoff
        self.retryBackoff = retryBackoff
    }

    /// - Parameters:
    ///   - uris: the issued redirect URIs probed, in order.
    ///   - answers: the probe's answer per URI (same order), nil when the probe is off.
    ///   - liveCheck: the live check's outcome, nil when it is off (or could not be made).
    ///   - random: a number in 0..<1, for the spread of the re-checks.
    public func decide(
        memory: HealthMemory, uris: [String], answers: [ProbeAnswer]?, liveCheck: LiveCheckOutcome?, now: Date, random: Double
    ) -> HealthDecision {
        var clientGone: String?
        var anyMismatch = false
        var allRegistered = true
        var inconclusive: [String] = []
        if let answers {
            for answer in answers {
                switch answer {
                case .registered: break
                case .redirectURIMismatch: anyMismatch = true; allRegistered = false
                case .clientGone(let name): clientGone = clientGone ?? name; allRegistered = false
                case .inconclusive(let reason): inconclusive.append(reason); allRegistered = false
                }
            }
        }
        switch liveCheck {
        case .clientNotFound?: clientGone = clientGone ?? "client_not_found"
        case .unavailable?: inconclusive.append("the live check got no usable answer")
        default: break
        }
        let secretInvalid = liveCheck == .clientSecretInvalid

        let mismatchSince: Date? = if anyMismatch {
            memory.mismatchSince ?? now
        } else if answers != nil && allRegistered {
            nil
        } else {
            memory.mismatchSince
        }
        let windowEnd = mismatchSince.map { $0.addingTimeInterval(Backoff.seconds(window)) }
        let windowOver = windowEnd.map { now >= $0 } ?? false

        var uriStates: [URIHealth] = []
        if let answers {
            for (uri, answer) in zip(uris, answers) {
                let state: HealthState = switch answer {
                case .registered: .ok
                case .redirectURIMismatch: windowOver ? .redirectURINotRegistered : .propagating
                case .clientGone, .inconclusive: .unchecked
                }
                uriStates.append(URIHealth(uri: uri, state: state))
            }
        }

        let state: HealthState
        if clientGone != nil {
            state = .clientDeleted
        } else if secretInvalid {
            state = .clientSecretInvalid
        } else if anyMismatch {
            state = windowOver ? .redirectURINotRegistered : .propagating
        } else if !inconclusive.isEmpty || (answers == nil && liveCheck == nil) {
            let reason = inconclusive.first ?? "nothing to check"
            let wait = Backoff.seconds(retryBackoff.ceiling(attempt: memory.attempts))
            return HealthDecision(
                health: memory.health, mismatchSince: mismatchSince, nextDueAt: now.addingTimeInterval(wait),
                attempts: memory.attempts, inconclusive: true, lastError: String(reason.prefix(500))
            )
        } else {
            state = .ok
        }

        let health = CredentialHealth(state: state, checkedAt: now, uris: uriStates)
        if state == .propagating, let windowEnd {
            let wait = Backoff.seconds(propagationBackoff.ceiling(attempt: memory.attempts))
            let next = min(now.addingTimeInterval(wait), windowEnd)
            return HealthDecision(
                health: health, mismatchSince: mismatchSince, nextDueAt: max(next, now), attempts: memory.attempts,
                inconclusive: false, lastError: inconclusive.first.map { String($0.prefix(500)) }
            )
        }
        return HealthDecision(
            health: health, mismatchSince: mismatchSince, nextDueAt: nextRecheck(now: now, random: random), attempts: 0,
            inconclusive: false, lastError: inconclusive.first.map { String($0.prefix(500)) }
        )
    }

    /// now + interval * (0.5 + random), or nil when the re-check is off.
    public func nextRecheck(now: Date, random: Double) -> Date? {
        let interval = Backoff.seconds(recheckInterval)
        guard interval > 0 else { return nil }
        let spread = min(max(random, 0), 1)
        return now.addingTimeInterval(interval * (0.5 + spread))
    }
}
