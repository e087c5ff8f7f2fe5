import Foundation
import ProvisionerDomain
import ProvisionerStore
import Tracing

/// How the verification worker claims, retries, rescues and shuts down. The defaults are the
/// production values; tests shorten the lease and the intervals.
public struct WorkerConfiguration: Sendable {
    /// Written to `credentials.claimed_by`: which worker holds a lease.
    public var workerID: String
    /// Verifications claimed by one statement, at most: a claim takes what is due up to this,
    /// so an idle queue gives batches of one and a backlog batches of this size. With the live
    /// check on, a batch is also at most `liveCheckConcurrency`, so that every check of a batch
    /// runs at once and a batch ends within one live-check budget, well inside its lease.
    ///
    /// 4,000: a verdict's cost in PostgreSQL is mostly per row, but each batch also updates every
    /// tenant it touches once (its state, with the row trigger and the foreign-key check), plans
    /// its statements for its arrays and takes its tenants' locks; the bigger the batch, the more
    /// uploads of a tenant share that. Draining 20,000 uploads on the 2-core machine (3 in
    /// flight, other builds running, counted from the start of the release): 500 gave 7,100-8,500/s over 200 tenants, 1,000 8,200-9,000, 2,000 10,100-12,900,
    /// 4,000 11,900-15,400 (over 1,000 tenants: 2,000 6,400-6,800, 4,000 10,800-11,400).
    public var batchSize: Int
    /// The sealed bytes one claim takes at most (the first job whatever its size): a batch is
    /// held in memory while it is verified, and 4,000 uploads of 64 KiB are 256 MiB.
    public var maxBatchBytes: Int
    /// How long a claim is held before the rescuer may hand it to another worker.
    public var lease: Duration
    /// Tries of one verification request; after the last, it is rejected with `verification_failed`.
    public var maxAttempts: Int
    /// Claim at least this often even without a notification (a lost NOTIFY, a retry coming due).
    public var pollInterval: Duration
    /// How often expired leases are looked for.
    public var rescueInterval: Duration
    /// How often the queue gauges (depth, oldest pending age) are refreshed.
    public var statsInterval: Duration
    /// The wait before a failed verification is tried again (by attempt number).
    public var retryBackoff: Backoff
    /// Tries of the statement recording a batch's verdicts (a deadlock or a dropped connection)
    /// before the batch is left to the lease rescuer.
    public var completionAttempts: Int
    /// The wait between those tries, and between failed claims.
    public var databaseBackoff: Backoff
    /// The wait before the listener reconnects after losing its connection.
    public var listenerBackoff: Backoff
    /// Claimed batches being verified or recorded at once, per claim stream: the next batch is
    /// claimed while the previous one is recorded.
    public var batchesInFlight: Int
    /// Claim loops of one worker. The first claims on every wake-up (a notification, the poll
    /// timer); the others only help with a backlog: they claim when a claim of the first has
    /// found more due than it took, go on while theirs do, and wait otherwise, so an idle queue
    /// costs one claim per wake-up as with one loop. One claim of 4,000 is 125 ms of
    /// PostgreSQL's time on its own and 330-380 ms beside the verdicts of the batches before it;
    /// with one loop the claims, one after the other, were the whole drain. Draining
    /// 20,000 uploads on the 2-core machine (four runs each, alternating), two loops against
    /// one: over 1,000 tenants 15,300-19,300/s against 11,800-14,200; over 200 tenants
    /// 18,900-21,700 against 13,200-18,100. Three loops were no faster than two. A worker holds
    /// at most `claimStreams * batchesInFlight` batches.
    public var claimStreams: Int
    /// Statements recording one batch's verdicts at once, each for the tenants of one lane (a
    /// tenant is always in the same lane): a statement locks the rows of every tenant it
    /// touches, so a batch over 1,000 tenants recorded as one statement waited for the
    /// previous batch's statement to commit, and the verdicts were recorded one batch after
    /// another on one of PostgreSQL's cores. Lanes with no tenant in common do not wait for
    /// each other; one lane records what the batch had as one statement.
    public var completionLanes: Int
    /// A lane for each this many tenants of a batch, up to `completionLanes`: what a batch
    /// spends on tenant rows grows with its tenants, and only past a few hundred did splitting
    /// it pay for the second statement. Draining 20,000 uploads in batches of 4,000 on the
    /// 2-core machine, two lanes against one: over 1,000 tenants 14,300-16,200/s against
    /// 11,900-12,600; over 200 tenants (two lanes forced) 17,600-18,300 against 18,000-20,700.
    public var completionLaneTenants: Int
    /// Live checks running at once.
    public var liveCheckConcurrency: Int
    /// On graceful shutdown, how long batches in hand may still finish before they are
    /// interrupted and given back to the queue.
    public var shutdownGracePeriod: Duration
    /// Webhook deliveries: which URLs, the retry schedule, the timeout.
    public var webhooks: WebhookDeliveryConfiguration
    /// Credential health: the registration probe and the periodic re-check.
    public var health: CredentialHealthConfiguration
    /// The tracer of the verification spans and of the client spans of webhook deliveries and
    /// requests to Google (README, "Tracing"); nil, the default, when tracing is off.
    public var tracer: (any Tracer)? = nil

    public init(
        workerID: String = WorkerConfiguration.defaultWorkerID(),
        batchSize: Int = 4000,
        maxBatchBytes: Int = VerificationQueue.defaultMaxBatchBytes,
        lease: Duration = .seconds(30),
        maxAttempts: Int = 5,
        pollInterval: Duration = .seconds(1),
        rescueInterval: Duration = .seconds(5),
        statsInterval: Duration = .seconds(5),
        retryBackoff: Backoff = Backoff(base: .seconds(2), cap: .seconds(300)),
        completionAttempts: Int = 3,
        databaseBackoff: Backoff = Backoff(base: .milliseconds(100), cap: .seconds(5)),
        listenerBackoff: Backoff = Backoff(base: .milliseconds(200), cap: .seconds(10)),
        batchesInFlight: Int = 3,
        claimStreams: Int = 2,
        completionLanes: Int = 2,
        completionLaneTenants: Int = 400,
        liveCheckConcurrency: Int = 64,
        shutdownGracePeriod: Duration = .seconds(3),
        webhooks: WebhookDeliveryConfiguration = WebhookDeliveryConfiguration(),
        health: CredentialHealthConfiguration = CredentialHealthConfiguration()
    ) {
        self.workerID = workerID
        self.batchSize = max(batchSize, 1)
        self.maxBatchBytes = max(maxBatchBytes, 1)
        self.lease = lease
        self.maxAttempts = max(maxAttempts, 1)
        self.pollInterval = pollInterval
        self.rescueInterval = rescueInterval
        self.statsInterval = statsInterval
        self.retryBackoff = retryBackoff
        self.completionAttempts = max(completionAttempts, 1)
        self.databaseBackoff = databaseBackoff
        self.listenerBackoff = listenerBackoff
        self.batchesInFlight = max(batchesInFlight, 1)
        self.claimStreams = max(claimStreams, 1)
        self.completionLanes = max(completionLanes, 1)
        self.completionLaneTenants = max(completionLaneTenants, 1)
        self.liveCheckConcurrency = max(liveCheckConcurrency, 1)
        self.shutdownGracePeriod = shutdownGracePeriod
        self.webhooks = webhooks
        self.health = health
    }

    /// `host:pid:random`, unique per process.
    public static func defaultWorkerID() -> String {
        let host = ProcessInfo.processInfo.hostName
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        return "\(host.prefix(40)):\(ProcessInfo.processInfo.processIdentifier):\(suffix)"
    }

    /// The claim size: `batchSize`, bounded by the live-check concurrency when checks run.
    func claimLimit(liveCheck: Bool) -> Int {
        liveCheck ? min(batchSize, liveCheckConcurrency) : batchSize
    }
}
