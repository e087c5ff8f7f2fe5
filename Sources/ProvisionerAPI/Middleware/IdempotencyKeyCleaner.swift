import Logging
import ProvisionerStore
import ServiceLifecycle

/// Deletes idempotency keys past their 24 hours, every few minutes, so the table stays small.
struct IdempotencyKeyCleaner: Service {
    let store: any IdempotencyStore
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isCancelledOrShuttingDown {
            do {
                let deleted = try await store.deleteExpired()
                if deleted > 0 { logger.info("deleted expired idempotency keys", metadata: ["count": "\(deleted)"]) }
            } catch {
                logger.warning("could not delete expired idempotency keys", metadata: ["error": "\(DatabaseUnavailable.safeDescription(of: error))"])
            }
            // The sleep ends at once when the service group shuts down.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool { Task.isCancelled || Task.isShuttingDownGracefully }
}
