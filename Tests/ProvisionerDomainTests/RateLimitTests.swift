import Testing
@testable import ProvisionerDomain

@Suite("Rate limits")
struct RateLimitTests {
    /// 60 a minute, 3 at once: one unit comes back each second.
    static let small = RateLimitPolicy(name: "small", quota: 60, windowSeconds: 60, burst: 3)!

    @Test("a policy is off or out of range as nil", arguments: [
        ("uploads", 600, 60, nil, true),
        ("auth_failures", 1, 1, nil, true),
        ("token", 1_000_000_000, 60, 1, true),
        ("daily", 1, 86_400, nil, true),
        ("off", 0, 60, nil, false),
        ("negative", -5, 60, nil, false),
        ("no_window", 10, 0, nil, false),
        ("long_window", 10, 86_401, nil, false),
        ("no_burst", 10, 60, 0, false),
        ("huge", 1_000_000_001, 60, nil, false),
        // a day per unit times a billion units does not fit in nanoseconds
        ("overflow", 1, 86_400, 1_000_000_000, false),
        ("", 10, 60, nil, false),
        ("Uploads", 10, 60, nil, false),
        ("up\"loads", 10, 60, nil, false),
    ] as [(String, Int, Int, Int?, Bool)])
    func policyRange(name: String, quota: Int, window: Int, burst: Int?, valid: Bool) {
        #expect((RateLimitPolicy(name: name, quota: quota, windowSeconds: window, burst: burst) != nil) == valid)
    }

    struct Step: Sendable, CustomStringConvertible {
        /// Milliseconds since the origin.
        let at: Int
        /// false: `check` only.
        let take: Bool
        let admitted: Bool
        let remaining: Int
        let untilAvailable: Int
        let untilFull: Int
        var description: String { "\(take ? "take" : "check") at \(at) ms" }
    }

    static func step(_ at: Int, take: Bool = true, _ admitted: Bool, r: Int, available: Int, full: Int) -> Step {
        Step(at: at, take: take, admitted: admitted, remaining: r, untilAvailable: available, untilFull: full)
    }

    /// One bucket of `small`, step by step: the burst, the refusals, the refill a unit a second,
    /// and `check` taking nothing.
    static let sequence: [Step] = [
        step(0, take: false, true, r: 3, available: 0, full: 0),
        step(0, true, r: 2, available: 0, full: 1),
        step(0, true, r: 1, available: 0, full: 2),
        step(0, true, r: 0, available: 1, full: 3),
        step(0, false, r: 0, available: 1, full: 3),
        step(0, take: false, false, r: 0, available: 1, full: 3),
        step(500, false, r: 0, available: 1, full: 3),
        step(999, false, r: 0, available: 1, full: 3),
        // A refusal does not push the refill back: the unit is there at 1 s.
        step(1000, true, r: 0, available: 1, full: 3),
        step(1001, false, r: 0, available: 1, full: 3),
        step(2500, true, r: 0, available: 1, full: 3),
        step(4000, take: false, true, r: 2, available: 0, full: 1),
        step(60_000, take: false, true, r: 3, available: 0, full: 0),
        step(60_000, true, r: 2, available: 0, full: 1),
    ]

    @Test("a bucket step by step")
    func bucketSequence() {
        var bucket = RateLimitBucket()
        for step in Self.sequence {
            let now = Duration.milliseconds(step.at)
            let decision = step.take ? bucket.take(Self.small, at: now) : bucket.check(Self.small, at: now)
            #expect(decision == RateLimitDecision(
                admitted: step.admitted, remaining: step.remaining,
                secondsUntilAvailable: step.untilAvailable, secondsUntilFull: step.untilFull
            ), "\(step)")
        }
    }

    @Test("the header's t: until the next unit when none is left, else until full", arguments: [
        (RateLimitDecision(admitted: true, remaining: 0, secondsUntilAvailable: 5, secondsUntilFull: 60), 5),
        (RateLimitDecision(admitted: false, remaining: 0, secondsUntilAvailable: 1, secondsUntilFull: 3), 1),
        (RateLimitDecision(admitted: true, remaining: 12, secondsUntilAvailable: 0, secondsUntilFull: 48), 48),
        (RateLimitDecision(admitted: true, remaining: 600, secondsUntilAvailable: 0, secondsUntilFull: 0), 0),
    ])
    func resetSeconds(decision: RateLimitDecision, seconds: Int) {
        #expect(decision.resetSeconds == seconds)
    }

    /// quota, window, burst: the whole burst at once, then refused until exactly one interval.
    @Test("the burst, then one unit per window / quota", arguments: [
        (600, 60, 600), (300, 60, 300), (120, 60, 120), (7, 60, 7), (1, 3600, 1), (5, 1, 5), (60, 60, 10),
    ])
    func burstThenRefill(quota: Int, window: Int, burst: Int) throws {
        let policy = try #require(RateLimitPolicy(name: "p", quota: quota, windowSeconds: window, burst: burst))
        var bucket = RateLimitBucket()
        let start = Duration.seconds(1000)
        for taken in 1...burst {
            let decision = bucket.take(policy, at: start)
            #expect(decision.admitted && decision.remaining == burst - taken, "unit \(taken)")
        }
        let refused = bucket.take(policy, at: start)
        #expect(!refused.admitted && refused.remaining == 0)
        let interval = Duration.seconds(window) / quota
        #expect(refused.secondsUntilAvailable == Int((Double(window) / Double(quota)).rounded(.up)))
        #expect(refused.secondsUntilFull == Int((Double(window * burst) / Double(quota)).rounded(.up)))
        #expect(!bucket.take(policy, at: start + interval - .nanoseconds(2)).admitted, "a hair early")
        #expect(bucket.take(policy, at: start + interval).admitted, "on time")
        #expect(!bucket.take(policy, at: start + interval).admitted, "one unit came back, not two")
    }

    /// A client that waits its Retry-After is admitted, whenever it was refused.
    @Test("waiting Retry-After is always enough", arguments: [
        (600, 60, 600), (300, 60, 300), (7, 60, 7), (1, 3600, 1), (3, 1, 3), (6_000, 60, 100),
    ])
    func retryAfterIsEnough(quota: Int, window: Int, burst: Int) throws {
        let policy = try #require(RateLimitPolicy(name: "p", quota: quota, windowSeconds: window, burst: burst))
        var bucket = RateLimitBucket()
        var now = Duration.zero
        var refusals = 0
        // Uneven knocking: some refused, each followed by a wait of exactly Retry-After.
        for index in 0..<(burst + 50) {
            now += .milliseconds(index % 7 == 0 ? 13 : 0)
            let decision = bucket.take(policy, at: now)
            if !decision.admitted {
                refusals += 1
                #expect(decision.secondsUntilAvailable >= 1)
                #expect(bucket.take(policy, at: now + .seconds(decision.secondsUntilAvailable)).admitted, "refused at \(now)")
                now += .seconds(decision.secondsUntilAvailable)
            }
        }
        #expect(refusals > 0)
    }

    @Test("a clock that goes backwards never grants more, nor crashes", arguments: [
        Duration.seconds(-5), .zero, .seconds(Int64.max), .seconds(-Int64.max),
    ])
    func backwards(jump: Duration) {
        var bucket = RateLimitBucket()
        let start = Duration.seconds(100)
        for _ in 0..<3 { _ = bucket.take(Self.small, at: start) }
        let back = bucket.take(Self.small, at: start - .seconds(50))
        #expect(!back.admitted && back.remaining == 0)
        _ = bucket.check(Self.small, at: jump)
        _ = bucket.take(Self.small, at: jump)
    }

    // MARK: keyed buckets

    @Test("keys do not share buckets; check stores nothing")
    func keysAreSeparate() {
        var limiter = RateLimiter<String>(policy: Self.small)
        for _ in 0..<3 { #expect(limiter.take("a", at: .zero).admitted) }
        #expect(!limiter.take("a", at: .zero).admitted)
        #expect(limiter.take("b", at: .zero).admitted)
        #expect(limiter.check("a", at: .zero) == RateLimitDecision(admitted: false, remaining: 0, secondsUntilAvailable: 1, secondsUntilFull: 3))
        #expect(limiter.check("c", at: .zero).remaining == 3)
        #expect(limiter.keyCount == 2)
    }

    @Test("memory stays within maximumKeys whatever the number of keys", arguments: [2, 3, 100, 1_000])
    func bounded(maximumKeys: Int) {
        // One unit an hour: no bucket refills during the flood, the worst case for memory.
        let policy = RateLimitPolicy(name: "slow", quota: 1, windowSeconds: 3600)!
        var limiter = RateLimiter<Int>(policy: policy, maximumKeys: maximumKeys)
        var largest = 0
        for key in 0..<50_000 {
            _ = limiter.take(key, at: .milliseconds(key))
            largest = max(largest, limiter.keyCount)
        }
        #expect(largest <= maximumKeys)
        #expect(limiter.keyCount > 0)
    }

    @Test("full buckets are forgotten first; an emptied one outlives half the keys of other clients")
    func fullBucketsGoFirst() {
        // Two an hour: one unit comes back each half hour.
        let policy = RateLimitPolicy(name: "slow", quota: 2, windowSeconds: 3600)!
        var limiter = RateLimiter<String>(policy: policy, maximumKeys: 100)
        _ = limiter.take("attacker", at: .zero)
        _ = limiter.take("attacker", at: .zero)
        for index in 0..<49 { _ = limiter.take("old-\(index)", at: .zero) }
        // The others are full again after half an hour, the attacker still owes one unit.
        let later = Duration.seconds(1801)
        for index in 0..<49 { _ = limiter.take("new-\(index)", at: later) }
        #expect(limiter.check("attacker", at: later).remaining == 1, "kept: its bucket was not full")
        #expect(limiter.keyCount == 50, "the 49 full buckets were dropped, nothing else")
        // Past what two generations hold, it is forgotten: the bounded memory's one inexactness.
        for index in 49..<200 { _ = limiter.take("new-\(index)", at: later) }
        #expect(limiter.check("attacker", at: later).remaining == 2)
        #expect(limiter.keyCount <= 100)
    }

    @Test("a key used while in the earlier generation moves back and keeps its state")
    func earlierGenerationIsKept() {
        let policy = RateLimitPolicy(name: "slow", quota: 2, windowSeconds: 3600)!
        var limiter = RateLimiter<String>(policy: policy, maximumKeys: 10)
        _ = limiter.take("k", at: .zero)
        // With four others it fills `recent` (half of 10); the fifth other moves them all to `earlier`.
        for index in 0..<5 { _ = limiter.take("other-\(index)", at: .zero) }
        #expect(limiter.take("k", at: .zero).remaining == 0, "its first unit was remembered")
        #expect(!limiter.take("k", at: .zero).admitted)
    }
}
