import Synchronization

/// A count shared between a producer and its tasks: attempts in flight, attempts ended,
/// wake-ups signalled.
final class SharedCount: Sendable {
    private let count = Atomic<Int>(0)
    var value: Int { count.load(ordering: .acquiring) }
    func add(_ delta: Int) { count.add(delta, ordering: .acquiringAndReleasing) }
}
