import Logging
import PostgresNIO
import ServiceLifecycle

/// The verification worker. Until the queue lands it only waits for shutdown, so that
/// `provisioner work` and `provisioner run` already start and stop cleanly.
public struct VerificationWorker: Service {
    let postgres: PostgresClient
    let logger: Logger

    public init(postgres: PostgresClient, logger: Logger) {
        self.postgres = postgres
        self.logger = logger
    }

    public func run() async throws {
        logger.info("verification worker started")
        try? await gracefulShutdown()
        logger.info("verification worker stopped")
    }
}
