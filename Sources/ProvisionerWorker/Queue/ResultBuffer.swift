import Synchronization

/// Where finished work waits to be recorded, many per statement: `submit` puts an item in at
/// once, and `drain` hands whatever has gathered (up to `batchSize`) to its recorder as soon as
/// the previous call returned. An idle worker records one result at a time with no wait; a busy
/// one records hundreds per statement. Used by the webhook completer and the health recorder.
final class ResultBuffer<Item: Sendable>: Sendable {
    let batchSize: Int
    private let buffer = Mutex<(items: [Item], finished: Bool)>(([], false))
    private let wakeUps = WakeUps()

    init(batchSize: Int) {
        self.batchSize = max(batchSize, 1)
    }

    func submit(_ item: Item) {
        buffer.withLock { $0.items.append(item) }
        wakeUps.signal()
    }

    /// No more items will come: `drain` returns once the buffer is recorded.
    func finish() {
        buffer.withLock { $0.finished = true }
        wakeUps.signal()
    }

    /// Runs until `finish()` and an empty buffer. Not to be cancelled on shutdown, so that
    /// what was done is recorded.
    func drain(_ record: ([Item]) async -> Void) async {
        var wake = wakeUps.stream.makeAsyncIterator()
        while true {
            let (batch, finished) = buffer.withLock { state -> ([Item], Bool) in
                let taken = Array(state.items.prefix(batchSize))
                state.items.removeFirst(taken.count)
                return (taken, state.finished && state.items.isEmpty)
            }
            if !batch.isEmpty {
                await record(batch)
                continue
            }
            if finished { break }
            await wake.next()
        }
        wakeUps.finish()
    }
}
