import Hummingbird
import Logging
import ServiceLifecycle

/// Serves `router` on 127.0.0.1, on a port the system picks, for the duration of `body`, which
/// gets the port; then shuts the server down gracefully (also when `body` throws). The fakes of
/// the worker's tests (Google, webhook receivers, a trace collector) all run this way.
func withLocalHTTPServer<T: Sendable>(
    _ router: Router<BasicRequestContext>,
    logger: Logger,
    _ body: @Sendable (_ port: Int) async throws -> T
) async throws -> T {
    let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
    let app = Application(
        router: router,
        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) },
        logger: logger
    )
    let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        do {
            let result = try await body(port)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}
