import AsyncHTTPClient
import Foundation
import Logging
import ProvisionerDomain
import ProvisionerStore
import ServiceLifecycle
import Synchronization

/// The credential health service: claims due checks (verified credentials that are their
/// tenant's active one), asks Google within the service-wide budget (`take_google_requests`,
/// before each credential's requests), decides with `HealthCheckRules` and records the results.
/// Started beside the verification worker when the registration probe is on, or the live check
/// is on and the re-check interval is not zero.
///
/// The probe sends no secret. The live check (the token endpoint, as at verification) needs the
/// client secret: the sealed file is opened for it only, and the secret is never logged.
public struct CredentialHealthChecker: Service {
    let queue: CredentialHealthQueue
    let configuration: WorkerConfiguration
    let sealer: SecretSealer
    let liveCheck: (any LiveCheck)?
    let logger: Logger

    public init(
        queue: CredentialHealthQueue,
        configuration: WorkerConfiguration,
        sealer: SecretSealer,
        liveCheck: (any LiveCheck)?,
        logger: Logger
    ) {
        var logger = logger
        logger[metadataKey: "worker_id"] = "\(configuration.workerID)"
        self.queue = queue
        self.configuration = configuration
        self.sealer = sealer
        self.liveCheck = liveCheck
        self.logger = logger
    }

    var health: CredentialHealthConfiguration { configuration.health }

    public func run() async throws {
        logger.info("credential health checker started", metadata: [
            "probe": "\(health.probe)", "live_check": "\(liveCheck != nil)", "rate_per_minute": "\(health.requestsPerMinute)",
            "window": "\(health.rules.window)", "recheck_interval": "\(health.rules.recheckInterval)",
        ])
        let client = RegistrationProber.makeHTTPClient(health)
        let prober = RegistrationProber(client: client, configuration: health, logger: logger, tracer: configuration.tracer)
        let metrics = HealthMetrics()
        let woken = WakeFlag()
        let inFlight = SharedCount()
        let results = HealthResultRecorder(queue: queue, databaseBackoff: configuration.databaseBackoff, logger: logger)
        await withDiscardingTaskGroup { outer in
            outer.addTask { await results.run() }
            await withDiscardingTaskGroup { group in
                group.addTask { await self.gauges(metrics) }
                await produce(group: &group, prober: prober, metrics: metrics, woken: woken, inFlight: inFlight, results: results)
                // Let the checks in flight finish for the grace period, then interrupt them
                // (they are given back).
                let clock = ContinuousClock()
                let deadline = clock.now + configuration.shutdownGracePeriod
                while inFlight.value > 0 && clock.now < deadline {
                    try? await Task.sleep(for: .milliseconds(20))
                }
                group.cancelAll()
            }
            results.finish()
        }
        try? await client.shutdown()
        logger.info("credential health checker stopped")
    }

    private func gauges(_ metrics: HealthMetrics) async {
        await periodically(every: health.statsInterval) {
            do {
                metrics.record(try await queue.stats())
            } catch {
                if Task.isCancelled { return }
                logger.debug("could not read health stats", metadata: ["error": "\(DatabaseUnavailable.safeDescription(of: error))"])
            }
        }
    }

    /// Requests to Google one check makes.
    func requests(for claim: ClaimedHealthCheck) -> Int {
        (health.probe ? claim.redirectURIs.count : 0) + (liveCheck != nil ? 1 : 0)
    }

    private func produce(
        group: inout DiscardingTaskGroup, prober: RegistrationProber, metrics: HealthMetrics, woken: WakeFlag,
        inFlight: SharedCount, results: HealthResultRecorder
    ) async {
        var failures = 0
        let clock = ContinuousClock()
        // A claim takes no more credentials than the budget can serve soon: the bucket holds
        // five seconds' worth, and a credential asks about two URIs (and its secret) or so.
        let perCredential = max((health.probe ? 2 : 0) + (liveCheck != nil ? 1 : 0), 1)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let free = health.maxInFlight - inFlight.value
            var claimedFull = false
            if free > 0 {
                let limit = max(1, min(free, health.burst / perCredential))
                let claims: [ClaimedHealthCheck]
                do {
                    claims = try await queue.claim(limit: limit, lease: health.lease, workerID: configuration.workerID)
                    failures = 0
                } catch {
                    if Task.isCancelled { break }
                    failures += 1
                    logger.warning("could not claim health checks", metadata: [
                        "failures": "\(failures)", "error": "\(DatabaseUnavailable.safeDescription(of: error))",
                    ])
                    let wait = configuration.databaseBackoff.delay(attempt: failures)
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
                    continue
                }
                claimedFull = claims.count == limit
                for (index, claim) in claims.enumerated() {
                    guard await takeBudget(requests(for: claim)) else {
                        // Shutting down while waiting for the budget: give the rest back.
                        results.submit(.release(Array(claims[index...])))
                        return
                    }
                    inFlight.add(1)
                    group.addTask {
                        if let decision = await check(claim, prober: prober, metrics: metrics) {
                            results.submit(.result(HealthCheckResult(claim: claim, decision: decision)))
                        } else {
                            results.submit(.release([claim]))
                        }
                        inFlight.add(-1)
                        woken.set()
                    }
                }
            }
            if claimedFull && inFlight.value < health.maxInFlight { continue }
            // Until the poll interval has passed, or a check has ended (a slot is free).
            let deadline = clock.now + health.pollInterval
            while clock.now < deadline && !Task.isCancelled && !Task.isShuttingDownGracefully {
                if woken.take() && claimedFull { break }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// Waits until `wanted` requests are granted from the service-wide budget (the bucket
    /// refills at rate/60 a second); false when shutting down meanwhile.
    private func takeBudget(_ wanted: Int) async -> Bool {
        var granted = 0
        var failures = 0
        while granted < wanted {
            if Task.isCancelled || Task.isShuttingDownGracefully { return false }
            do {
                granted += try await queue.takeGoogleRequests(wanted - granted, perMinute: health.requestsPerMinute)
                failures = 0
            } catch {
                failures += 1
                logger.warning("could not take from the Google request budget", metadata: [
                    "error": "\(DatabaseUnavailable.safeDescription(of: error))",
                ])
                let wait = configuration.databaseBackoff.delay(attempt: failures)
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
                continue
            }
            if granted < wanted {
                let seconds = min(max(Double(wanted - granted) * 60 / Double(health.requestsPerMinute), 0.05), 5)
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(seconds)) }
            }
        }
        return true
    }

    /// One check: the probe of each redirect URI, the live check, and the decision; nil when
    /// interrupted.
    func check(_ claim: ClaimedHealthCheck, prober: RegistrationProber, metrics: HealthMetrics) async -> HealthDecision? {
        var logger = logger
        logger[metadataKey: "credential_id"] = "\(claim.credentialID.uuidString.lowercased())"
        var answers: [ProbeAnswer]?
        if health.probe {
            var list: [ProbeAnswer] = []
            if let clientID = claim.clientID {
                for uri in claim.redirectURIs {
                    let answer = await prober.probe(clientID: clientID, redirectURI: uri)
                    if Task.isCancelled { return nil }
                    metrics.record(answer)
                    list.append(answer)
                }
            } else {
                list = claim.redirectURIs.map { _ in .inconclusive("no client id") }
            }
            answers = list
        }
        var outcome: LiveCheckOutcome?
        if let liveCheck {
            outcome = await runLiveCheck(claim, liveCheck: liveCheck, logger: logger)
            if Task.isCancelled { return nil }
        }
        let decision = health.rules.decide(
            memory: claim.memory, uris: claim.redirectURIs, answers: answers, liveCheck: outcome, now: Date(),
            random: Double.random(in: 0..<1)
        )
        logger.info("credential health checked", metadata: [
            "state": "\(decision.health.state.rawValue)", "inconclusive": "\(decision.inconclusive)",
            "next_due_at": "\(decision.nextDueAt.map { "\($0)" } ?? "-")",
        ])
        return decision
    }

    private func runLiveCheck(_ claim: ClaimedHealthCheck, liveCheck: any LiveCheck, logger: Logger) async -> LiveCheckOutcome {
        let bytes: [UInt8]
        do {
            bytes = try sealer.open(claim.sealedFile, tenantID: claim.tenantID, credentialID: claim.credentialID)
        } catch {
            logger.error("health check: the sealed file cannot be opened", metadata: ["error": "\(error.description)"])
            return .unavailable
        }
        guard let credential = RuntimeCredential(fileBytes: bytes) else { return .unavailable }
        do {
            return try await liveCheck.check(credential, redirectURI: claim.redirectURIs.first ?? "")
        } catch {
            logger.warning("health check: the live check could not be made", metadata: [
                "error": "\((error as? LiveCheckError)?.description ?? String(reflecting: type(of: error)))",
            ])
            return .unavailable
        }
    }
}

/// Records results (many per statement when they pile up) and gives back interrupted claims.
/// Not cancelled on shutdown, so that what was checked is recorded.
final class HealthResultRecorder: Sendable {
    enum Item: Sendable {
        case result(HealthCheckResult)
        case release([ClaimedHealthCheck])
    }

    private let queue: CredentialHealthQueue
    private let databaseBackoff: Backoff
    private let logger: Logger
    private let buffer = ResultBuffer<Item>(batchSize: 500)

    init(queue: CredentialHealthQueue, databaseBackoff: Backoff, logger: Logger) {
        self.queue = queue
        self.databaseBackoff = databaseBackoff
        self.logger = logger
    }

    func submit(_ item: Item) {
        buffer.submit(item)
    }

    func finish() {
        buffer.finish()
    }

    func run() async {
        await buffer.drain { batch in await record(batch) }
    }

    private func record(_ batch: [Item]) async {
        var results: [HealthCheckResult] = []
        var released: [ClaimedHealthCheck] = []
        for item in batch {
            switch item {
            case .result(let result): results.append(result)
            case .release(let claims): released += claims
            }
        }
        for attempt in 1...3 where !results.isEmpty {
            do {
                let recorded = try await queue.complete(results)
                if recorded < results.count {
                    logger.info("health results dropped: their lease had been taken by another claim (fenced)",
                                metadata: ["dropped": "\(results.count - recorded)"])
                }
                break
            } catch {
                logger.warning("could not record health results", metadata: [
                    "count": "\(results.count)", "try": "\(attempt)", "error": "\(DatabaseUnavailable.safeDescription(of: error))",
                ])
                if attempt < 3 { try? await Task.sleep(for: databaseBackoff.delay(attempt: attempt)) }
            }
        }
        if !released.isEmpty {
            do {
                try await queue.release(released)
            } catch {
                logger.warning("could not give back health checks; their leases will expire",
                               metadata: ["count": "\(released.count)", "error": "\(DatabaseUnavailable.safeDescription(of: error))"])
            }
        }
    }
}

/// Set when a check ends (a slot is free), taken by the producer's wait.
final class WakeFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .releasing) }
    func take() -> Bool { flag.exchange(false, ordering: .acquiringAndReleasing) }
}
