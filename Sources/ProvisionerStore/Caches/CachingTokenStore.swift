import Foundation

/// Authentication from memory on the hot path: a token found by its hash is kept for up to
/// `timeToLive` (which also bounds how stale `last_used_at` gets, touched at most once a minute
/// anyway). Revoking through this store drops the token (and a cascade's offspring) here once committed; a revocation by
/// another process arrives by NOTIFY (`CacheInvalidationListener`). Unknown hashes are never
/// cached, and expiry is judged by the caller at each request from the cached record.
public struct CachingTokenStore: TokenStore, InvalidatableCache {
    let base: any TokenStore
    let cache: InvalidatedCache<[UInt8], TokenRecord>

    public init(base: any TokenStore, timeToLive: Duration = .seconds(10), capacity: Int = 10_000) {
        self.base = base
        self.cache = InvalidatedCache(name: "tokens", timeToLive: timeToLive, capacity: capacity)
    }

    public func create(_ token: NewToken, createdBy: UUID?, audit: AuditEntry) async throws -> (record: TokenRecord, token: String) {
        try await base.create(token, createdBy: createdBy, audit: audit)
    }

    public func authenticate(hash: [UInt8]) async throws -> TokenRecord? {
        try await cache.value(for: hash) { try await base.authenticate(hash: hash) }
    }

    public func list(limit: Int, after: PageKey?) async throws -> [TokenRecord] {
        try await base.list(limit: limit, after: after)
    }

    /// Drops every token the revocation reached once it has committed: the one asked for
    /// (even when the call fails, as before: the commit may have happened) and, after a cascade,
    /// each of its offspring. Other processes hear of each by its own NOTIFY.
    public func revoke(id: UUID, cascade: Bool, audit: AuditEntry) async throws -> TokenRevocation? {
        defer { invalidate(.token(id)) }
        let revocation = try await base.revoke(id: id, cascade: cascade, audit: audit)
        if let revocation, !revocation.offspring.isEmpty {
            let reached = Set(revocation.offspring)
            cache.invalidate { _, token in reached.contains(token.id) }
        }
        return revocation
    }

    public func invalidate(_ invalidation: CacheInvalidation) {
        guard case .token(let id) = invalidation else { return }
        cache.invalidate { _, token in token.id == id }
    }

    public func reset(listening: Bool) {
        cache.reset(enabled: listening)
    }
}
