import Foundation
import Logging
import ProvisionerStore
import Synchronization

/// Failed sign-ins (no token, or a token nobody issued) are audited at most once per client
/// address per minute, as one `auth.failed` row whose `count` says how many there were:
/// a flood of guesses must not grow the audit table, nor cost a
/// database write, per request.
///
/// Two layers. PostgreSQL makes the bound a property of the table: `record_auth_failure`
/// (migration 0013) upserts on a unique index of (address, minute), whatever the number of
/// replicas. This in-process fast path spares the database the flood itself: the first failure
/// of an address in a minute is written at once (so the row exists when the 401 is answered);
/// later ones of that minute are counted here and added to the row by one write per address
/// at most every `flushDelay`. A process that stops within `flushDelay` of a failure loses that
/// tail of the count, never the row.
///
/// Memory is bounded by `capacity` addresses; past it (a flood from very many addresses),
/// failures are counted in the database one by one, where the index still holds the bound.
final class FailedSignInCounter: Sendable {
    private struct Window {
        /// Minutes since the epoch.
        var minute: Int64
        /// The minute's row is written (or being written).
        var recorded = false
        /// Failures counted here and not yet added to the row.
        var pending = 0
        /// A flush of `pending` is scheduled.
        var flushing = false
    }

    private enum Step {
        /// Write the minute's first failure, and first the tail of the previous minute if any.
        case first(previous: (minute: Int64, attempts: Int)?)
        /// Counted here; schedule a flush if none is.
        case counted(scheduleFlush: Bool)
        /// No room: straight to the database.
        case direct
    }

    private let windows = Mutex<[String: Window]>([:])
    private let audit: any AuditStore
    private let flushDelay: Duration
    private let capacity: Int
    private let logger = Logger(label: "provisioner.api.failed-sign-ins")

    init(audit: any AuditStore, flushDelay: Duration = .seconds(1), capacity: Int = 10_000) {
        self.audit = audit
        self.flushDelay = flushDelay
        self.capacity = capacity
    }

    /// Counts one failed sign-in. Throws when the minute's first row cannot be written (the
    /// request then fails as any other whose denial cannot be audited).
    func record(sourceAddress: String?, requestID: String, at now: Date = Date()) async throws {
        let key = sourceAddress ?? ""
        let minute = Self.minute(of: now)
        let step: Step = windows.withLock { windows in
            if var window = windows[key], window.minute == minute, window.recorded {
                window.pending += 1
                let schedule = !window.flushing
                window.flushing = true
                windows[key] = window
                return .counted(scheduleFlush: schedule)
            }
            if var window = windows[key], window.minute == minute {
                // Its first write failed: this one writes the row again, keeping the count.
                window.recorded = true
                windows[key] = window
                return .first(previous: nil)
            }
            var previous: (minute: Int64, attempts: Int)?
            if let window = windows[key], window.pending > 0 {
                previous = (window.minute, window.pending)
            }
            if windows[key] == nil, windows.count >= capacity {
                windows = windows.filter { $0.value.minute == minute || $0.value.flushing }
                if windows.count >= capacity { return .direct }
            }
            windows[key] = Window(minute: minute, recorded: true)
            return .first(previous: previous)
        }
        switch step {
        case .counted(let scheduleFlush):
            if scheduleFlush { scheduleFlushing(key: key, minute: minute) }
        case .direct:
            try await audit.recordFailedSignIns(sourceAddress: sourceAddress, requestID: requestID, attempts: 1, attemptedAt: now)
        case .first(let previous):
            if let previous {
                await write(key: key, attempts: previous.attempts, minute: previous.minute)
            }
            do {
                try await audit.recordFailedSignIns(sourceAddress: sourceAddress, requestID: requestID, attempts: 1, attemptedAt: now)
            } catch {
                // The next failure of this minute tries to write the row again.
                windows.withLock { windows in
                    if windows[key]?.minute == minute { windows[key]?.recorded = false }
                }
                throw error
            }
        }
    }

    private func scheduleFlushing(key: String, minute: Int64) {
        Task { [self] in
            try? await Task.sleep(for: flushDelay)
            await flush(key: key, minute: minute)
        }
    }

    /// Adds what was counted here to the minute's row. A window that moved on to a new minute
    /// meanwhile had its tail written by the first failure of that minute.
    private func flush(key: String, minute: Int64) async {
        let attempts: Int = windows.withLock { windows in
            guard var window = windows[key], window.minute == minute else { return 0 }
            let attempts = window.pending
            window.pending = 0
            window.flushing = false
            windows[key] = window
            return attempts
        }
        guard attempts > 0 else { return }
        await write(key: key, attempts: attempts, minute: minute)
    }

    private func write(key: String, attempts: Int, minute: Int64) async {
        do {
            try await audit.recordFailedSignIns(
                sourceAddress: key.isEmpty ? nil : key, requestID: nil, attempts: attempts,
                attemptedAt: Date(timeIntervalSince1970: TimeInterval(minute) * 60)
            )
        } catch {
            logger.error("could not add failed sign-ins to the audit log", metadata: [
                "attempts": "\(attempts)", "error": "\(Problem.safeDescription(of: error))",
            ])
        }
    }

    static func minute(of date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 / 60).rounded(.down))
    }
}
