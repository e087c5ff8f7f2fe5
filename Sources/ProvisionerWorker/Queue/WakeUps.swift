/// Wake-ups for the producer: any number of signals while it is busy collapse into one, so it
/// claims once more when it is done, and never spins. `signals` counts them, so that a producer
/// can tell a wake-up its last claim already saw (signalled before that claim began) from a
/// new one.
struct WakeUps: Sendable {
    let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation
    private let count = SharedCount()

    var signals: Int { count.value }

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func signal() {
        count.add(1)
        continuation.yield()
    }

    func finish() {
        continuation.finish()
    }
}
