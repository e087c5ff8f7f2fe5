/// Buckets of one policy by key (a client address, a token, a tenant), in bounded memory.
///
/// Whoever picks the keys (an attacker with many addresses) must not grow memory without
/// bound, so at most `maximumKeys` buckets are held, in two generations of half that each:
/// `recent` takes every bucket used; when it is full, the buckets in it that have refilled
/// (full ones, which answer exactly as absent ones do) are dropped, and if that frees too
/// little, `recent` becomes `earlier` and the previous `earlier` is dropped whole. A bucket
/// used again while in `earlier` moves back to `recent`. So what is forgotten first is full
/// buckets, then those idle the longest; a forgotten bucket that was not full is the one
/// inexactness, and it needs `maximumKeys / 2` other keys used since that key's last request.
/// Each check is O(1), amortised: a sweep of half the keys happens at most once per quarter
/// of them inserted.
public struct RateLimiter<Key: Hashable & Sendable>: Sendable {
    public let policy: RateLimitPolicy
    public let maximumKeys: Int
    private var recent: [Key: RateLimitBucket] = [:]
    private var earlier: [Key: RateLimitBucket] = [:]

    /// `maximumKeys` is at least 2 (one per generation).
    public init(policy: RateLimitPolicy, maximumKeys: Int = 10_000) {
        self.policy = policy
        self.maximumKeys = max(2, maximumKeys)
    }

    /// How many buckets are held now: never more than `maximumKeys`.
    public var keyCount: Int { recent.count + earlier.count }

    /// What a request of `key` at `now` would get, taking nothing and storing nothing.
    public func check(_ key: Key, at now: Duration) -> RateLimitDecision {
        (recent[key] ?? earlier[key] ?? RateLimitBucket()).check(policy, at: now)
    }

    /// Takes one unit of `key`'s bucket when there is one.
    public mutating func take(_ key: Key, at now: Duration) -> RateLimitDecision {
        if var bucket = recent[key] {
            let decision = bucket.take(policy, at: now)
            recent[key] = bucket
            return decision
        }
        var bucket = earlier.removeValue(forKey: key) ?? RateLimitBucket()
        let decision = bucket.take(policy, at: now)
        if !bucket.isFull(at: now) {
            makeRoom(at: now)
            recent[key] = bucket
        }
        return decision
    }

    private var generation: Int { maximumKeys / 2 }

    /// Before a new key goes into a full `recent`: drop its full buckets; if fewer than half go,
    /// start a new generation.
    private mutating func makeRoom(at now: Duration) {
        guard recent.count >= generation else { return }
        recent = recent.filter { !$0.value.isFull(at: now) }
        if recent.count * 2 >= generation {
            earlier = recent
            recent = [:]
        }
    }
}
