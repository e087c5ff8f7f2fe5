/// Runs `body` every `interval` until the task is cancelled, first at once or after one
/// interval. The waits are where cancellation ends it; `body` itself runs to its end. Gauges,
/// the lease rescuer and the cleaners share this loop.
func periodically(every interval: Duration, startingAtOnce: Bool = true, _ body: () async -> Void) async {
    if !startingAtOnce {
        do { try await Task.sleep(for: interval) } catch { return }
    }
    while !Task.isCancelled {
        await body()
        do { try await Task.sleep(for: interval) } catch { return }
    }
}
