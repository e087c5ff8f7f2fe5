import Hummingbird
import Logging
import ServiceLifecycle

/// Runs `services` in one service group for the duration of `body`, then shuts them down
/// gracefully (also when `body` throws); returns `body`'s result and how long the shutdown took.
/// Workers, dispatchers, health checkers and the tests' HTTP fakes all run this way.
@discardableResult
func withRunningServices<T: Sendable>(
    _ services: [any Service],
    logger: Logger,
    _ body: @Sendable () async throws -> T
) async throws -> (result: T, shutdown: Duration) {
    let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        let result: T
        do {
            result = try await body()
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
        let clock = ContinuousClock()
        let started = clock.now
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
        return (result, started.duration(to: clock.now))
    }
}

/// Serves `router` on 127.0.0.1, on a port the system picks, for the duration of `body`, which
/// gets the port. The fakes of the worker's tests (Google, webhook receivers, a trace
/// collector) all run this way.
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
    return try await withRunningServices([app], logger: logger) {
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        return try await body(port)
    }.result
}
