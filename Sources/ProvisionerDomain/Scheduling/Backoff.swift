/// Capped exponential backoff with full jitter (the "Exponential Backoff And Jitter" scheme):
/// the n-th wait is drawn uniformly from `0 ... min(cap, base · 2^(n−1))`, so that workers
/// which failed together do not come back together.
public struct Backoff: Sendable, Hashable {
    public var base: Duration
    public var cap: Duration

    public init(base: Duration, cap: Duration) {
        self.base = base
        self.cap = cap
    }

    /// The largest wait after the `attempt`-th failure (1-based).
    public func ceiling(attempt: Int) -> Duration {
        let exponent = Double(min(max(attempt, 1) - 1, 62))
        let seconds = min(Self.seconds(cap), Self.seconds(base) * pow2(exponent))
        return .seconds(max(seconds, 0))
    }

    /// A wait after the `attempt`-th failure (1-based), with full jitter.
    public func delay(attempt: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(attempt: attempt, using: &generator)
    }

    public func delay<G: RandomNumberGenerator>(attempt: Int, using generator: inout G) -> Duration {
        let ceiling = Self.seconds(ceiling(attempt: attempt))
        guard ceiling > 0 else { return .zero }
        return .seconds(Double.random(in: 0...ceiling, using: &generator))
    }

    public static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    private func pow2(_ exponent: Double) -> Double {
        var value = 1.0
        var remaining = Int(exponent)
        while remaining > 0 { value *= 2; remaining -= 1 }
        return value
    }
}
