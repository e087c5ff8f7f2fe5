import Synchronization

struct DeadlineExceeded: Error {}

/// Runs `work`, giving up after `duration`.
///
/// It races the work against the clock instead of joining it: a query on a connection the
/// server just killed may not heed cancellation, and a request must answer 503 in time rather
/// than wait for it. The work is cancelled and left to finish on its own.
func withDeadline<T: Sendable>(_ duration: Duration, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
    let outcome = OneShot<T>()
    let workTask = Task {
        do {
            outcome.finish(.success(try await work()))
        } catch {
            outcome.finish(.failure(error))
        }
    }
    let timer = Task {
        try? await Task.sleep(for: duration)
        if outcome.finish(.failure(DeadlineExceeded())) { workTask.cancel() }
    }
    defer { timer.cancel() }
    return try await withTaskCancellationHandler {
        try await outcome.value
    } onCancel: {
        workTask.cancel()
        outcome.finish(.failure(CancellationError()))
    }
}

/// A result delivered once, to one waiter.
private final class OneShot<T: Sendable>: Sendable {
    private let state = Mutex<(result: Result<T, any Error>?, waiter: CheckedContinuation<T, any Error>?)>((nil, nil))

    /// Delivers `result` unless one was delivered before; true when this one was taken.
    @discardableResult
    func finish(_ result: Result<T, any Error>) -> Bool {
        let (taken, waiter) = state.withLock { state -> (Bool, CheckedContinuation<T, any Error>?) in
            guard state.result == nil else { return (false, nil) }
            state.result = result
            let waiter = state.waiter
            state.waiter = nil
            return (true, waiter)
        }
        waiter?.resume(with: result)
        return taken
    }

    var value: T {
        get async throws {
            try await withCheckedThrowingContinuation { continuation in
                let ready: Result<T, any Error>? = state.withLock { state in
                    if let result = state.result { return result }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        }
    }
}
