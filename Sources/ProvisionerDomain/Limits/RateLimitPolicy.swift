/// One rate limit: `quota` units per window of `windowSeconds`, at most `burst` of them at
/// once. It is a token bucket of `burst` units that refills at `quota / window`, kept as the
/// generic cell rate algorithm (GCRA) does: one instant per key, in whole nanoseconds, so that
/// a check is O(1), exact (no floating point drifting over a long uptime), and a client that
/// waits the `Retry-After` it was given is admitted.
///
/// `name`, `quota` and `windowSeconds` are what the `RateLimit-Policy` header states
/// (`"uploads";q=600;w=60`). The service keeps `burst == quota`, so that the header's "q
/// per w" is also the largest run a client can send at once.
public struct RateLimitPolicy: Sendable, Hashable {
    /// Names the policy in the headers: lowercase letters and `_` only, so it needs no escaping
    /// inside a structured-field string.
    public let name: String
    public let quota: Int
    public let windowSeconds: Int
    public let burst: Int
    /// The time one unit takes to come back: window / quota.
    let interval: Int64
    /// How far ahead of now the bucket's "full again" instant may lie: burst units' worth.
    let tolerance: Int64

    /// The largest quota or burst: far more than one process can serve a second.
    public static let maximumQuota = 1_000_000_000
    /// A window of a day at most.
    public static let maximumWindowSeconds = 86_400

    /// Nil for a limit that is off or out of range: a quota below 1 (0 is how a setting says
    /// "off"), a window outside 1 s ... 1 day, a burst below 1, or a name that is not
    /// lowercase letters and `_`. `burst` defaults to `quota`.
    public init?(name: String, quota: Int, windowSeconds: Int = 60, burst: Int? = nil) {
        let burst = burst ?? quota
        guard (1...Self.maximumQuota).contains(quota), (1...Self.maximumQuota).contains(burst),
              (1...Self.maximumWindowSeconds).contains(windowSeconds),
              !name.isEmpty, name.utf8.allSatisfy({ (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || $0 == UInt8(ascii: "_") })
        else { return nil }
        // At least one nanosecond, so that even an absurd quota refills; window / quota is
        // rounded down, which refills a fraction of a nanosecond per unit early at most.
        let interval = max(1, Int64(windowSeconds) * 1_000_000_000 / Int64(quota))
        let (tolerance, overflow) = interval.multipliedReportingOverflow(by: Int64(burst))
        // Kept under a quarter of Int64's range, so instants plus tolerances never overflow.
        guard !overflow, tolerance <= Int64.max / 4 else { return nil }
        self.name = name
        self.quota = quota
        self.windowSeconds = windowSeconds
        self.burst = burst
        self.interval = interval
        self.tolerance = tolerance
    }
}

/// What a check of a bucket found: the numbers of the `RateLimit` and `Retry-After` headers.
public struct RateLimitDecision: Sendable, Hashable {
    /// The request may go on (a unit was taken, or one is there to take).
    public let admitted: Bool
    /// Whole units left, after this request's when it was admitted: the header's `r`.
    public let remaining: Int
    /// Seconds, rounded up, until one more unit is there; 0 while some are left. The
    /// `Retry-After` of a refusal: waiting that long is enough.
    public let secondsUntilAvailable: Int
    /// Seconds, rounded up, until the bucket is full again.
    public let secondsUntilFull: Int

    public init(admitted: Bool, remaining: Int, secondsUntilAvailable: Int, secondsUntilFull: Int) {
        self.admitted = admitted
        self.remaining = remaining
        self.secondsUntilAvailable = secondsUntilAvailable
        self.secondsUntilFull = secondsUntilFull
    }

    /// The header's `t`, "seconds until more quota is available": with nothing left, until the
    /// next unit (the same instant as `Retry-After`, as the draft wants); otherwise until the
    /// whole quota is back.
    public var resetSeconds: Int { remaining == 0 ? secondsUntilAvailable : secondsUntilFull }
}
