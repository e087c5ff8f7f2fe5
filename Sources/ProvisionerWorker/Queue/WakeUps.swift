/// Wake-ups for the producer: any number of signals while it is busy collapse into one, so it
/// claims once more when it is done, and never spins.
struct WakeUps: Sendable {
    let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func signal() {
        continuation.yield()
    }

    func finish() {
        continuation.finish()
    }
}
