/// How many tests hold a fresh database at once.
///
/// `make test` starts every suite at once on two cores. With each database a quick copy of the
/// migrated template, a hundred tests and more ran together and starved one another: tests
/// that wait for something in the background (a NOTIFY, an idle timeout) took 40 s and timed
/// out. A test waits here for a slot before its database is made, which no test times.
///
/// A test that holds a database and asks for a second could wait for a slot that only such
/// tests hold: after `patience` it goes on without one, so slots bound the load and never
/// hang a run.
actor DatabaseSlots {
    static let shared = DatabaseSlots(count: 16, patience: .seconds(60))

    private var free: Int
    private let patience: Duration
    private var waiting: [(id: Int, continuation: CheckedContinuation<Bool, Never>)] = []
    private var nextID = 0

    init(count: Int, patience: Duration) {
        self.free = count
        self.patience = patience
    }

    /// Runs `body` holding a slot (or without one, after `patience`).
    nonisolated func withSlot<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        let held = await acquire()
        defer { if held { Task { await self.release() } } }
        return try await body()
    }

    /// True with a slot, false when the patience ran out.
    private func acquire() async -> Bool {
        if free > 0 {
            free -= 1
            return true
        }
        let id = nextID
        nextID += 1
        let patience = patience
        Task { [weak self] in
            try? await Task.sleep(for: patience)
            await self?.giveUp(id)
        }
        return await withCheckedContinuation { waiting.append((id, $0)) }
    }

    private func giveUp(_ id: Int) {
        guard let index = waiting.firstIndex(where: { $0.id == id }) else { return }
        waiting.remove(at: index).continuation.resume(returning: false)
    }

    private func release() {
        if waiting.isEmpty {
            free += 1
        } else {
            waiting.removeFirst().continuation.resume(returning: true)
        }
    }
}
