import Logging
import PostgresNIO
import ProvisionerDomain
import ProvisionerStore

/// Wakes the producer when there may be work: on every NOTIFY of `VerificationQueue.channel`
/// (uploads, re-verifications, new URI sets, released and rescued jobs), once after each
/// (re)connection (notifications sent while it was away are lost), and on a timer as the
/// fallback for anything else (a lost notification, a retry coming due).
struct QueueNotifier: Sendable {
    /// Where LISTEN connects (`DATABASE_LISTEN_URL`).
    let listenURL: DatabaseURL
    let channel: String
    let pollInterval: Duration
    let backoff: Backoff
    let logger: Logger
    let wake: @Sendable () -> Void

    /// Runs until cancelled.
    func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await poll() }
            group.addTask {
                await PostgresListener(url: listenURL, channel: channel, backoff: backoff, logger: logger)
                    .run(onListening: wake, onNotification: { _ in wake() })
            }
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
}
