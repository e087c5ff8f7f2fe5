import Foundation
import Logging
import Synchronization
import PostgresNIO
import ProvisionerDomain

/// LISTEN on one channel for as long as the task runs, on a connection of its own to `url`
/// (`DATABASE_LISTEN_URL`, by default `DATABASE_URL`).
///
/// LISTEN is the one session feature of the service, so it never goes through the pools, which
/// may sit behind a connection pooler in transaction mode: there a LISTEN is accepted but its
/// notifications go to whichever server connection happened to run it, and are lost. A LISTEN
/// that is accepted is therefore not trusted until a probe, NOTIFYed on the channel right after
/// from another connection, has come back: only then does `onListening` run (the caches serve from then on, the worker
/// stops relying on its polling alone). A probe that does not come back within `probeTimeout`
/// counts as a lost connection, with a warning that says what to set.
///
/// Notifications sent while no connection listens are lost, so the caller hears of every gap:
/// `onListening` runs after each (re)connection once the probe is back (catch up there), and
/// `onLost` when the connection goes. It then listens again after a backoff that grows while it
/// keeps failing.
public struct PostgresListener: Sendable {
    public let url: DatabaseURL
    public let channel: String
    public let backoff: Backoff
    public let probeTimeout: Duration
    public let logger: Logger

    /// Payloads of probes start with this; listeners of every process drop them.
    static let probePrefix = "provisioner-listen-probe:"

    public init(url: DatabaseURL, channel: String, backoff: Backoff, probeTimeout: Duration = .seconds(5), logger: Logger) {
        self.url = url
        self.channel = channel
        self.backoff = backoff
        self.probeTimeout = probeTimeout
        self.logger = logger
    }

    struct ProbeNotReturned: Error {}

    /// How long to wait before listening again after a probe did not come back.
    static let misconfiguredRetry: Duration = .seconds(60)

    /// Runs until cancelled.
    public func run(
        onListening: @escaping @Sendable () -> Void,
        onLost: @escaping @Sendable () -> Void = {},
        onNotification: @escaping @Sendable (_ payload: String) -> Void
    ) async {
        var failures = 0
        while !Task.isCancelled {
            let confirmed = ProbeConfirmation()
            var probeLost = false
            do {
                try await listenOnce(failures: failures, confirmed: confirmed, onListening: onListening, onNotification: onNotification)
            } catch {
                if !Task.isCancelled {
                    if error is ProbeNotReturned {
                        probeLost = true
                        logger.warning(
                            "notifications do not come back to an accepted LISTEN: DATABASE_LISTEN_URL must name PostgreSQL directly, not a pooler in transaction mode; polling meanwhile",
                            metadata: ["channel": "\(channel)", "host": "\(url.host)"]
                        )
                    } else {
                        logger.warning(
                            "listener lost its connection",
                            metadata: ["channel": "\(channel)", "error": "\(DatabaseUnavailable.safeDescription(of: error))"]
                        )
                    }
                }
            }
            onLost()
            if Task.isCancelled { return }
            failures = confirmed.isConfirmed ? 1 : failures + 1
            do {
                // A misconfiguration is not fixed by asking again soon: once every
                // `misconfiguredRetry`, not at the backoff's pace (nor a warning each time).
                try await Task.sleep(for: probeLost ? max(backoff.delay(attempt: failures), Self.misconfiguredRetry) : backoff.delay(attempt: failures))
            } catch {
                return
            }
        }
    }

    /// One connection: LISTEN, the probe, then notifications until the connection goes.
    private func listenOnce(
        failures: Int,
        confirmed: ProbeConfirmation,
        onListening: @escaping @Sendable () -> Void,
        onNotification: @escaping @Sendable (_ payload: String) -> Void
    ) async throws {
        // Not under a deadline of ours (the connection has its own 5 s connect timeout): a
        // connection made while a deadline fired would be dropped unclosed.
        let probe = Self.probePrefix + UUID().uuidString.lowercased()
        try await DatabaseClientFactory.withConnection(
            url: url, applicationName: DatabaseClientFactory.listenerApplicationName(channel: channel), logger: logger
        ) { connection in
            try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask { [channel, url, logger] in
                    try await connection.listen(on: channel) { notifications in
                        try await Self.sendProbe(probe, channel: channel, url: url, logger: logger)
                        for try await notification in notifications {
                            if notification.payload == probe {
                                confirmed.confirm()
                                if failures > 0 {
                                    logger.info("listener reconnected", metadata: ["channel": "\(channel)"])
                                }
                                onListening()
                            } else if !notification.payload.hasPrefix(Self.probePrefix) {
                                onNotification(notification.payload)
                            }
                        }
                    }
                    return true
                }
                group.addTask { [probeTimeout] in
                    try await Task.sleep(for: probeTimeout)
                    if !confirmed.isConfirmed { throw ProbeNotReturned() }
                    return false
                }
                // Until the listening task ends (the connection went); the timer throws if
                // the probe did not come back in time, and ends quietly otherwise.
                while let listeningEnded = try await group.next() {
                    if listeningEnded { break }
                }
                group.cancelAll()
            }
        }
    }
}

extension PostgresListener {
    /// NOTIFYs the probe from a connection of its own. Sent on the listening connection itself,
    /// a pooler in transaction mode would run it on the server connection that ran the LISTEN
    /// (the one it just freed) and deliver it back to the sender, so the probe would pass there
    /// and the notifications of every other session would still be lost.
    static func sendProbe(_ probe: String, channel: String, url: DatabaseURL, logger: Logger) async throws {
        try await DatabaseClientFactory.withConnection(
            url: url, applicationName: DatabaseClientFactory.listenerProbeApplicationName(channel: channel), logger: logger
        ) { sender in
            _ = try await sender.query("SELECT pg_notify(\(channel), \(probe))", logger: logger)
        }
    }
}

/// Whether the probe came back; set by the listening task, read by the timer.
final class ProbeConfirmation: Sendable {
    private let confirmed = Mutex(false)
    func confirm() { confirmed.withLock { $0 = true } }
    var isConfirmed: Bool { confirmed.withLock { $0 } }
}
