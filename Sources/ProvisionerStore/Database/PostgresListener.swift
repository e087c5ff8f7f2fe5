import Logging
import PostgresNIO
import ProvisionerDomain

/// LISTEN on one channel for as long as the task runs, holding one connection of the pool.
///
/// Notifications sent while no connection listens are lost, so the caller hears of every gap:
/// `onListening` runs after each (re)connection, once LISTEN is in place (catch up there), and
/// `onLost` when the connection goes (the database restarted). It then listens again after a
/// backoff that grows while it keeps failing.
public struct PostgresListener: Sendable {
    public let postgres: PostgresClient
    public let channel: String
    public let backoff: Backoff
    public let logger: Logger

    public init(postgres: PostgresClient, channel: String, backoff: Backoff, logger: Logger) {
        self.postgres = postgres
        self.channel = channel
        self.backoff = backoff
        self.logger = logger
    }

    /// Runs until cancelled.
    public func run(
        onListening: @escaping @Sendable () -> Void,
        onLost: @escaping @Sendable () -> Void = {},
        onNotification: @escaping @Sendable (_ payload: String) -> Void
    ) async {
        var failures = 0
        while !Task.isCancelled {
            var listened = false
            do {
                try await postgres.withConnection { connection in
                    try await connection.listen(on: channel) { notifications in
                        listened = true
                        if failures > 0 {
                            logger.info("listener reconnected", metadata: ["channel": "\(channel)"])
                        }
                        onListening()
                        for try await notification in notifications {
                            onNotification(notification.payload)
                        }
                    }
                }
            } catch {
                if !Task.isCancelled {
                    logger.warning(
                        "listener lost its connection",
                        metadata: ["channel": "\(channel)", "error": "\(DatabaseUnavailable.safeDescription(of: error))"]
                    )
                }
            }
            onLost()
            if Task.isCancelled { return }
            failures = listened ? 1 : failures + 1
            do {
                try await Task.sleep(for: backoff.delay(attempt: failures))
            } catch {
                return
            }
        }
    }
}
