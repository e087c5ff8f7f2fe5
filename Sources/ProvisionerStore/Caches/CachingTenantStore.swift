import Foundation
import ProvisionerDomain

/// Tenants' identities (id, slug, suspended) from memory, by slug: the lookup that precedes
/// most requests under a tenant, an upload and a poll of its verdict among them. What changes
/// is suspension (a slug is never changed, a tenant never deleted by the service): `update`
/// drops the tenant's entry here once committed, other processes drop theirs by NOTIFY
/// (migration 0022's trigger, `CacheInvalidationListener`), and while no listener is connected
/// nothing is cached. Only found tenants are cached: a slug not there is asked each time.
///
/// Full records (`get`, `list`) are never served from here: they carry the tenant's state and
/// its latest upload, which every upload and verdict changes.
public struct CachingTenantStore: TenantStore, InvalidatableCache {
    let base: any TenantStore
    let cache: InvalidatedCache<String, TenantIdentity>

    public init(base: any TenantStore, timeToLive: Duration = .seconds(10), capacity: Int = 10_000) {
        self.base = base
        self.cache = InvalidatedCache(name: "tenants", timeToLive: timeToLive, capacity: capacity)
    }

    public func create(slug: TenantSlug, displayName: String, audit: AuditEntry) async throws -> TenantRecord {
        try await base.create(slug: slug, displayName: displayName, audit: audit)
    }

    public func get(slug: String, scope: AccessScope) async throws -> TenantRecord? {
        try await base.get(slug: slug, scope: scope)
    }

    public func identity(slug: String, scope: AccessScope) async throws -> TenantIdentity? {
        guard let identity = try await cache.value(for: slug, load: { try await base.identity(slug: slug, scope: scope) }) else {
            return nil
        }
        // Row-level security is not asked on a hit: a tenant-bound scope gets its own tenant only.
        if case .tenant(let id) = scope, identity.id != id { return nil }
        return identity
    }

    public func list(filter: TenantFilter, limit: Int, after: PageKey?) async throws -> [TenantRecord] {
        try await base.list(filter: filter, limit: limit, after: after)
    }

    public func update(slug: String, displayName: String?, suspended: Bool?, audit: AuditEntry) async throws -> TenantRecord? {
        defer { cache.invalidate { cached, _ in cached == slug } }
        return try await base.update(slug: slug, displayName: displayName, suspended: suspended, audit: audit)
    }

    public func invalidate(_ invalidation: CacheInvalidation) {
        guard case .tenant(let id) = invalidation else { return }
        cache.invalidate { _, identity in identity.id == id }
    }

    public func reset(listening: Bool) {
        cache.reset(enabled: listening)
    }
}
