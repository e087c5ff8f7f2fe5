import Foundation
import ProvisionerDomain

/// Tenants' current URI sets from memory on the hot read (`GET .../uri-sets/current`), by
/// slug. A set is immutable once issued; what changes is which set is current, and that only
/// by an issuance, which drops the tenant's entry here once committed and, in other
/// processes, by NOTIFY (`CacheInvalidationListener`). Only issued sets are cached: a missing
/// tenant or set is asked of the database each time.
public struct CachingURISetStore: URISetStore, InvalidatableCache {
    let base: any URISetStore
    let cache: InvalidatedCache<String, URISetRecord>

    public init(base: any URISetStore, timeToLive: Duration = .seconds(10), capacity: Int = 10_000) {
        self.base = base
        self.cache = InvalidatedCache(name: "uri_sets", timeToLive: timeToLive, capacity: capacity)
    }

    public func issue(tenantSlug: String, uris: IssuedURIs, issuedBy: Actor, audit: AuditEntry) async throws -> URISetRecord {
        defer { cache.invalidate { slug, _ in slug == tenantSlug } }
        return try await base.issue(tenantSlug: tenantSlug, uris: uris, issuedBy: issuedBy, audit: audit)
    }

    public func current(tenantID: UUID, scope: AccessScope) async throws -> URISetRecord? {
        try await base.current(tenantID: tenantID, scope: scope)
    }

    public func current(tenantSlug: String, scope: AccessScope) async throws -> CurrentURISet {
        var uncached: CurrentURISet?
        let record = try await cache.value(for: tenantSlug) {
            let found = try await base.current(tenantSlug: tenantSlug, scope: scope)
            uncached = found
            if case .issued(let record) = found { return record }
            return nil
        }
        guard let record else { return uncached ?? .noTenant }
        // Row-level security is not asked on a hit: a tenant-bound scope gets its own tenant only.
        if case .tenant(let id) = scope, record.tenantID != id { return .noTenant }
        return .issued(record)
    }

    public func list(tenantID: UUID, scope: AccessScope, limit: Int, beforeVersion: Int?) async throws -> [URISetRecord] {
        try await base.list(tenantID: tenantID, scope: scope, limit: limit, beforeVersion: beforeVersion)
    }

    public func invalidate(_ invalidation: CacheInvalidation) {
        guard case .tenant(let id) = invalidation else { return }
        cache.invalidate { _, record in record.tenantID == id }
    }

    public func reset(listening: Bool) {
        cache.reset(enabled: listening)
    }
}
