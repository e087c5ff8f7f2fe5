import Metrics
import Synchronization

/// A small in-process read cache for rows that the hot read path needs on every request and
/// that change rarely (a token, a tenant's current URI set), kept right by PostgreSQL itself:
/// triggers NOTIFY every change (migration 0010) and `CacheInvalidationListener` drops the
/// entries behind it here.
///
/// Staleness is bounded three ways:
/// - a write of this process drops its entries itself once committed (read-your-writes);
///   other processes hear of it by NOTIFY, milliseconds after the commit;
/// - while no listener is connected, nothing is cached or served: a change could go unheard;
/// - every entry expires after `timeToLive` even so.
///
/// A load that raced with an invalidation is not stored: an invalidation bumps `generation`,
/// and a loaded value is kept only if the generation it started under is still current.
public final class InvalidatedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry {
        let value: Value
        let expires: ContinuousClock.Instant
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var generation: UInt64 = 0
        var enabled = false
    }

    private let state = Mutex(State())
    private let timeToLive: Duration
    private let capacity: Int
    private let hits: Counter
    private let misses: Counter

    /// `name` labels the metric `provisioner_cache_lookups_total{cache, result}`.
    public init(name: String, timeToLive: Duration, capacity: Int) {
        precondition(capacity > 0, "an InvalidatedCache holds at least one entry")
        self.timeToLive = timeToLive
        self.capacity = capacity
        self.hits = Counter(label: "provisioner_cache_lookups_total", dimensions: [("cache", name), ("result", "hit")])
        self.misses = Counter(label: "provisioner_cache_lookups_total", dimensions: [("cache", name), ("result", "miss")])
    }

    /// The cached value for `key`, else `load()`'s, which is kept when it is not nil and no
    /// invalidation came in meanwhile. Only found rows are cached, never an absence.
    public func value(for key: Key, load: () async throws -> Value?) async throws -> Value? {
        let now = ContinuousClock.now
        let (cached, generation): (Value?, UInt64?) = state.withLock { state in
            guard state.enabled else { return (nil, nil) }
            if let entry = state.entries[key] {
                if entry.expires > now { return (entry.value, nil) }
                state.entries[key] = nil
            }
            return (nil, state.generation)
        }
        if let cached {
            hits.increment()
            return cached
        }
        misses.increment()
        guard let loaded = try await load() else { return nil }
        if let generation {
            state.withLock { state in
                guard state.enabled, state.generation == generation else { return }
                if state.entries.count >= capacity, state.entries[key] == nil {
                    // Full: drop the expired entries, else an arbitrary one. The working set of
                    // a hot path is far below the capacity, so this is the rare case.
                    state.entries = state.entries.filter { $0.value.expires > now }
                    if state.entries.count >= capacity, let victim = state.entries.keys.first {
                        state.entries[victim] = nil
                    }
                }
                state.entries[key] = Entry(value: loaded, expires: now + timeToLive)
            }
        }
        return loaded
    }

    /// Drops every entry that matches, and makes loads in flight not store theirs.
    public func invalidate(where matches: (Key, Value) -> Bool) {
        state.withLock { state in
            state.generation &+= 1
            state.entries = state.entries.filter { !matches($0.key, $0.value.value) }
        }
    }

    /// Drops every entry and starts (`true`) or stops (`false`) caching: a cache is enabled
    /// only while its invalidations can be heard.
    public func reset(enabled: Bool) {
        state.withLock { state in
            state.generation &+= 1
            state.entries = [:]
            state.enabled = enabled
        }
    }

    /// How many entries are held (for tests and metrics).
    public var count: Int { state.withLock { $0.entries.count } }
}
