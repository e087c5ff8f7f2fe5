import Foundation
import ProvisionerStore
import Synchronization
import Testing

/// The in-process cache of the hot read path, without a database: what it serves, when it
/// refuses to, and that a load racing with an invalidation is not kept.
@Suite struct InvalidatedCacheTests {
    /// Counts loads, so a test sees whether a value came from memory.
    final class Source: Sendable {
        let loads = Atomic<Int>(0)
        let value = Mutex<String?>("v1")

        func load() -> String? {
            loads.add(1, ordering: .relaxed)
            return value.withLock { $0 }
        }

        var loadCount: Int { loads.load(ordering: .relaxed) }
    }

    func enabledCache(timeToLive: Duration = .seconds(60), capacity: Int = 100) -> InvalidatedCache<String, String> {
        let cache = InvalidatedCache<String, String>(name: "test", timeToLive: timeToLive, capacity: capacity)
        cache.reset(enabled: true)
        return cache
    }

    @Test("serves nothing from memory until enabled, nor after being disabled")
    func disabledCachePassesThrough() async throws {
        let cache = InvalidatedCache<String, String>(name: "test", timeToLive: .seconds(60), capacity: 10)
        let source = Source()
        for _ in 0..<3 { #expect(try await cache.value(for: "k") { source.load() } == "v1") }
        #expect(source.loadCount == 3)
        #expect(cache.count == 0)

        cache.reset(enabled: true)
        _ = try await cache.value(for: "k") { source.load() }
        #expect(cache.count == 1)
        cache.reset(enabled: false)
        #expect(cache.count == 0)
        _ = try await cache.value(for: "k") { source.load() }
        #expect(source.loadCount == 5)
    }

    @Test("a found value is served from memory until invalidated")
    func cachesUntilInvalidated() async throws {
        let cache = enabledCache()
        let source = Source()
        for _ in 0..<5 { #expect(try await cache.value(for: "k") { source.load() } == "v1") }
        #expect(source.loadCount == 1)

        source.value.withLock { $0 = "v2" }
        cache.invalidate { key, _ in key == "other" }
        #expect(try await cache.value(for: "k") { source.load() } == "v1")
        cache.invalidate { _, value in value == "v1" }
        #expect(try await cache.value(for: "k") { source.load() } == "v2")
        #expect(source.loadCount == 2)
    }

    @Test("an absence is never cached")
    func absenceIsNotCached() async throws {
        let cache = enabledCache()
        let source = Source()
        source.value.withLock { $0 = nil }
        #expect(try await cache.value(for: "k") { source.load() } == nil)
        source.value.withLock { $0 = "now-there" }
        #expect(try await cache.value(for: "k") { source.load() } == "now-there")
        #expect(cache.count == 1)
    }

    @Test("a value loaded while an invalidation came in is returned but not kept")
    func loadRacingAnInvalidationIsNotStored() async throws {
        let cache = enabledCache()
        let value = try await cache.value(for: "k") {
            // The row changed and its NOTIFY arrived while this load was reading the old row.
            cache.invalidate { _, _ in true }
            return "stale"
        }
        #expect(value == "stale")
        #expect(cache.count == 0)
        // The same when the listener lost its connection meanwhile.
        _ = try await cache.value(for: "k") {
            cache.reset(enabled: false)
            cache.reset(enabled: true)
            return "stale"
        }
        #expect(cache.count == 0)
    }

    @Test("entries expire after their time to live")
    func entriesExpire() async throws {
        let cache = enabledCache(timeToLive: .milliseconds(50))
        let source = Source()
        _ = try await cache.value(for: "k") { source.load() }
        _ = try await cache.value(for: "k") { source.load() }
        #expect(source.loadCount == 1)
        try await Task.sleep(for: .milliseconds(80))
        _ = try await cache.value(for: "k") { source.load() }
        #expect(source.loadCount == 2)
    }

    @Test("never holds more than its capacity")
    func boundedByCapacity() async throws {
        let cache = enabledCache(capacity: 3)
        for i in 0..<10 { _ = try await cache.value(for: "k\(i)") { "v\(i)" } }
        #expect(cache.count == 3)
        // The newest is among those kept.
        #expect(try await cache.value(for: "k9") { "reloaded" } == "v9")
    }

    @Test("a failing load throws and stores nothing")
    func failingLoad() async throws {
        struct Boom: Error {}
        let cache = enabledCache()
        await #expect(throws: Boom.self) { try await cache.value(for: "k") { throw Boom() } }
        #expect(cache.count == 0)
    }

    @Test(
        "notification payloads",
        arguments: [
            ("token:6f1c1c2e-8f5e-4a53-9b7e-1d2c3b4a5f60", CacheInvalidation.token(UUID(uuidString: "6f1c1c2e-8f5e-4a53-9b7e-1d2c3b4a5f60")!)),
            ("tenant:6F1C1C2E-8F5E-4A53-9B7E-1D2C3B4A5F60", CacheInvalidation.tenant(UUID(uuidString: "6f1c1c2e-8f5e-4a53-9b7e-1d2c3b4a5f60")!)),
            ("tenant:", nil),
            ("tenant:not-a-uuid", nil),
            ("credential:6f1c1c2e-8f5e-4a53-9b7e-1d2c3b4a5f60", nil),
            ("", nil),
            ("token", nil),
        ] as [(String, CacheInvalidation?)]
    )
    func payloads(payload: String, expected: CacheInvalidation?) {
        #expect(CacheInvalidation(payload: payload) == expected)
    }
}
