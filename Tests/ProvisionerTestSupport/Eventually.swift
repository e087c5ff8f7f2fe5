import Testing

/// Waits until `condition` holds, checking every 20 ms; records an issue naming `what` after
/// `timeout` (for what happens in the background: a worker's verdict, a NOTIFY's effect).
public func waitUntil(
    timeout: Duration = .seconds(15),
    _ what: String,
    _ condition: @Sendable () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while try await !condition() {
        if clock.now > deadline {
            Issue.record("timed out waiting for \(what)")
            return
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}
