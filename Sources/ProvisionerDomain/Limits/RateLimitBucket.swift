/// The state of one key's bucket: the instant it is full again (the GCRA's "theoretical
/// arrival time"). Taking a unit moves that instant one interval later; time passing brings
/// it nearer. A bucket whose instant has passed is full, exactly as if it had never been used,
/// so it can be forgotten at any time without changing any answer.
///
/// Time is whatever monotonic clock the caller keeps, as the `Duration` since an origin of its
/// choosing (the service: a `ContinuousClock` instant taken at start; tests: plain numbers).
public struct RateLimitBucket: Sendable, Hashable {
    /// Nanoseconds of the caller's clock; at or before now means full.
    public private(set) var fullAt: Int64

    /// A full bucket.
    public init() {
        fullAt = 0
    }

    public func isFull(at now: Duration) -> Bool {
        fullAt <= Self.nanoseconds(now)
    }

    /// What a request at `now` would get, taking nothing.
    public func check(_ policy: RateLimitPolicy, at now: Duration) -> RateLimitDecision {
        let debt = debt(policy, at: Self.nanoseconds(now))
        return Self.decision(policy, debt: debt, admitted: debt + policy.interval <= policy.tolerance)
    }

    /// Takes one unit when there is one; a refused request changes nothing (it does not push
    /// the refill back, so a client that keeps knocking is let in as soon as a unit is back).
    public mutating func take(_ policy: RateLimitPolicy, at now: Duration) -> RateLimitDecision {
        let instant = Self.nanoseconds(now)
        let debt = debt(policy, at: instant)
        guard debt + policy.interval <= policy.tolerance else {
            return Self.decision(policy, debt: debt, admitted: false)
        }
        fullAt = instant + debt + policy.interval
        return Self.decision(policy, debt: debt + policy.interval, admitted: true)
    }

    /// How long until full, between 0 and the tolerance: a clock that went backwards (or a
    /// bucket kept across a change of policy) never makes a bucket emptier than empty.
    private func debt(_ policy: RateLimitPolicy, at instant: Int64) -> Int64 {
        min(max(fullAt - instant, 0), policy.tolerance)
    }

    private static func decision(_ policy: RateLimitPolicy, debt: Int64, admitted: Bool) -> RateLimitDecision {
        let remaining = Int((policy.tolerance - debt) / policy.interval)
        let untilAvailable = remaining > 0 ? 0 : debt + policy.interval - policy.tolerance
        return RateLimitDecision(
            admitted: admitted, remaining: remaining,
            secondsUntilAvailable: seconds(roundingUp: untilAvailable), secondsUntilFull: seconds(roundingUp: debt)
        )
    }

    private static func seconds(roundingUp nanoseconds: Int64) -> Int {
        nanoseconds <= 0 ? 0 : Int((nanoseconds - 1) / 1_000_000_000 + 1)
    }

    /// Whole nanoseconds, clamped to 0 ... Int64.max / 4 (a negative time counts as the origin;
    /// the bound keeps every sum with a policy's tolerance from overflowing).
    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        let limit = Int64.max / 4
        guard seconds < limit / 1_000_000_000 else { return limit }
        return min(seconds * 1_000_000_000 + attoseconds / 1_000_000_000, limit)
    }
}
