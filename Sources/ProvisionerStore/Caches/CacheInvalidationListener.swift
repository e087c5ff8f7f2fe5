import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain
import ServiceLifecycle

/// What changed, as the triggers of migrations 0010 and 0022 say it on `CacheInvalidation.channel`.
public enum CacheInvalidation: Sendable, Equatable {
    /// A token was revoked or otherwise changed (not a mere `last_used_at` touch).
    case token(UUID)
    /// A tenant's URI sets changed, or the tenant was suspended, resumed or removed.
    case tenant(UUID)

    public static let channel = "provisioner_cache"

    /// `token:<uuid>` or `tenant:<uuid>`; nil for anything else.
    public init?(payload: String) {
        let parts = payload.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let id = UUID(uuidString: String(parts[1])) else { return nil }
        switch parts[0] {
        case "token": self = .token(id)
        case "tenant": self = .tenant(id)
        default: return nil
        }
    }
}

/// A cache that the listener keeps right.
public protocol InvalidatableCache: Sendable {
    func invalidate(_ invalidation: CacheInvalidation)
    /// Drops everything; caches only while `listening` (a change could go unheard otherwise).
    func reset(listening: Bool)
}

/// Listens on `CacheInvalidation.channel` for as long as the service runs and applies what it
/// hears to the caches. The caches serve nothing until LISTEN is in place, and stop (emptied)
/// whenever the connection goes, until it is back.
public struct CacheInvalidationListener: Service {
    let listener: PostgresListener
    let caches: [any InvalidatableCache]

    public init(listenURL: DatabaseURL, caches: [any InvalidatableCache], logger: Logger) {
        self.listener = PostgresListener(
            url: listenURL, channel: CacheInvalidation.channel,
            backoff: Backoff(base: .milliseconds(100), cap: .seconds(5)), logger: logger
        )
        self.caches = caches
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { [listener, caches] in
            await listener.run(
                onListening: { for cache in caches { cache.reset(listening: true) } },
                onLost: { for cache in caches { cache.reset(listening: false) } },
                onNotification: { payload in
                    guard let invalidation = CacheInvalidation(payload: payload) else {
                        listener.logger.warning("unknown cache invalidation", metadata: ["payload": "\(payload)"])
                        return
                    }
                    for cache in caches { cache.invalidate(invalidation) }
                }
            )
        }
        for cache in caches { cache.reset(listening: false) }
    }
}
