import ProvisionerDomain

/// How webhooks are delivered. The defaults are the production values; tests compress the
/// retry schedule and allow plain http to a receiver on loopback.
public struct WebhookDeliveryConfiguration: Sendable {
    /// Which URLs may be called: https only and no private address unless allowed
    /// (`PROVISIONER_WEBHOOK_ALLOW_HTTP`, `PROVISIONER_WEBHOOK_ALLOW_PRIVATE`). Checked again
    /// before every delivery, since a name may resolve elsewhere later.
    public var urlPolicy: WebhookURLPolicy
    /// The waits between attempts (`PROVISIONER_WEBHOOK_RETRY_DELAYS`, default 5 s, 5 min,
    /// 30 min, 2 h, 5 h, 10 h, 10 h).
    public var retrySchedule: WebhookRetrySchedule
    /// One attempt's limit, connecting and reading the answer included
    /// (`PROVISIONER_WEBHOOK_TIMEOUT`, default 10 s).
    public var timeout: Duration
    /// Deliveries in flight in one worker, at most, answered ones waiting to be recorded
    /// included: the HTTP connections and memory a worker spends on receivers is bounded by this
    /// whatever they do. Four times the default share, so that four endpoints that hang for the
    /// whole timeout still leave a worker room for the others.
    public var maxInFlight: Int
    /// Requests open at one endpoint at once, at most (its leased deliveries counted across
    /// workers at claim, less those this worker has had an answer for), so that a slow or dead
    /// endpoint holds `perEndpointInFlight` slots for one timeout and no more, and the other
    /// endpoints keep theirs (`PROVISIONER_WEBHOOK_ENDPOINT_CONCURRENCY`).
    ///
    /// It also bounds one endpoint's rate: a claim's round trip, the requests, then the next
    /// claim. Measured to one endpoint on 2 cores (`bench/webhooks.sh`, alternating runs): 32
    /// gave 2,600-3,100 deliveries/s, 64 gave 2,850-4,000, 128 gave 3,350-5,300 (the machine's
    /// CPU then the bound).
    public var perEndpointInFlight: Int
    /// The default share, also `PROVISIONER_WEBHOOK_ENDPOINT_CONCURRENCY`'s.
    public static let defaultPerEndpointInFlight = 128
    /// How long a claim is held before another worker may take the delivery again. Longer than
    /// the resolution limit and the timeout together, so a live worker never loses its lease
    /// mid-attempt; a dead one's deliveries are retried this long after it died.
    public var lease: Duration
    /// Claim at least this often without a notification (a lost NOTIFY, a retry coming due).
    public var pollInterval: Duration
    /// While busy, how long the producer waits after a wake-up before claiming, so that one
    /// claim takes the slots of several recorded batches (zero: claim at once every time).
    public var claimCoalescing: Duration
    /// Results recorded by one statement, at most.
    public var completionBatchSize: Int
    /// Tries of the statement recording results before they are left to their leases.
    public var completionAttempts: Int
    /// The response body read at most, then dropped: only the status counts, and a receiver
    /// answering gigabytes costs this much memory and no more.
    public var maxResponseBytes: Int
    /// How long a host name may take to resolve before the attempt fails.
    public var resolveTimeout: Duration
    /// Finished deliveries are deleted this long after their last attempt.
    public var retention: Duration
    /// How often the retention cleaner and the exhausted-lease sweep run.
    public var cleanupInterval: Duration
    /// Rows one retention statement deletes, at most.
    public var retentionChunk: Int
    /// How often the gauges are refreshed.
    public var statsInterval: Duration
    /// On graceful shutdown, how long attempts in flight may finish before they are
    /// interrupted and given back.
    public var shutdownGracePeriod: Duration

    public init(
        urlPolicy: WebhookURLPolicy = WebhookURLPolicy(),
        retrySchedule: WebhookRetrySchedule = .standard,
        timeout: Duration = .seconds(10),
        maxInFlight: Int = 512,
        perEndpointInFlight: Int = Self.defaultPerEndpointInFlight,
        lease: Duration? = nil,
        pollInterval: Duration = .seconds(1),
        claimCoalescing: Duration = .milliseconds(3),
        completionBatchSize: Int = 500,
        completionAttempts: Int = 3,
        maxResponseBytes: Int = 64 * 1024,
        resolveTimeout: Duration = .seconds(3),
        retention: Duration = .seconds(30 * 24 * 3600),
        cleanupInterval: Duration = .seconds(60),
        retentionChunk: Int = 1000,
        statsInterval: Duration = .seconds(5),
        shutdownGracePeriod: Duration = .seconds(5)
    ) {
        self.urlPolicy = urlPolicy
        self.retrySchedule = retrySchedule
        self.timeout = timeout
        self.maxInFlight = max(maxInFlight, 1)
        self.perEndpointInFlight = max(perEndpointInFlight, 1)
        self.lease = lease ?? (resolveTimeout + timeout + .seconds(20))
        self.pollInterval = pollInterval
        self.claimCoalescing = claimCoalescing
        self.completionBatchSize = max(completionBatchSize, 1)
        self.completionAttempts = max(completionAttempts, 1)
        self.maxResponseBytes = max(maxResponseBytes, 0)
        self.resolveTimeout = resolveTimeout
        self.retention = retention
        self.cleanupInterval = cleanupInterval
        self.retentionChunk = max(retentionChunk, 1)
        self.statsInterval = statsInterval
        self.shutdownGracePeriod = shutdownGracePeriod
    }
}
