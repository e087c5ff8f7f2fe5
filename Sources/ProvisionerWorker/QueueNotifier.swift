import Logging
import PostgresNIO
import ProvisionerStore

/// Wakes the producer when there may be work: on every NOTIFY of `VerificationQueue.channel`
/// (uploads, re-verifications, new URI sets, released and rescued jobs), once after each
/// (re)connection (notifications sent while it was away are lost), and on a timer as the
/// fallback for anything else (a lost notification, a retry coming due).
///
/// LISTEN holds one connection of the pool for as long as it runs. When the connection goes
/// (the database restarted), it listens again after a backoff, growing while it fails.
struct QueueNotifier: Sendable {
    let postgres: PostgresClient
    let channel: String
    let pollInterval: Duration
    let backoff: Backoff
    let logger: Logger
    let wake: @Sendable () -> Void

    /// Runs until cancelled.
    func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await poll() }
            group.addTask { await listen() }
        }
    }

    private func poll() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: pollInterval)
            } catch {
                return
            }
            wake()
        }
    }

    private func listen() async {
        var failures = 0
        while !Task.isCancelled {
            var listened = false
            do {
                try await postgres.withConnection { connection in
                    try await connection.listen(on: channel) { notifications in
                        listened = true
                        if failures > 0 {
                            logger.info("verification queue listener reconnected")
                        }
                        wake()
                        for try await _ in notifications {
                            wake()
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning(
                    "verification queue listener lost its connection",
                    metadata: ["error": "\(DatabaseUnavailable.safeDescription(of: error))"]
                )
            }
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
