import ProvisionerDomain

/// How credential health is checked. The defaults are the production values; tests shorten the
/// window, the intervals and the backoffs, and point the endpoint at a fake Google.
public struct CredentialHealthConfiguration: Sendable {
    /// `PROVISIONER_REGISTRATION_PROBE` (default off).
    public var probe: Bool
    /// `PROVISIONER_GOOGLE_AUTH_URL`: Google's authorization endpoint.
    public var authorizationEndpoint: String
    /// Window, re-check interval (`PROVISIONER_REGISTRATION_WINDOW`,
    /// `PROVISIONER_RECHECK_INTERVAL`) and backoffs.
    public var rules: HealthCheckRules
    /// `PROVISIONER_GOOGLE_RATE`: requests to Google a minute, service-wide.
    public var requestsPerMinute: Int
    /// One probe request's limit, connection included.
    public var requestTimeout: Duration
    /// The probe's response body read at most.
    public var maxBodyBytes: Int
    /// Checks running at once in one worker.
    public var maxInFlight: Int
    /// How long a claim is held before another worker may take the check again.
    public var lease: Duration
    /// Claim at least this often.
    public var pollInterval: Duration
    /// How often the gauges are refreshed.
    public var statsInterval: Duration

    public init(
        probe: Bool = false,
        authorizationEndpoint: String = "https://accounts.google.com/o/oauth2/v2/auth",
        rules: HealthCheckRules = HealthCheckRules(),
        requestsPerMinute: Int = 60,
        requestTimeout: Duration = .seconds(10),
        maxBodyBytes: Int = RegistrationProbe.maxBodyBytes,
        maxInFlight: Int = 16,
        lease: Duration = .seconds(120),
        pollInterval: Duration = .seconds(5),
        statsInterval: Duration = .seconds(15)
    ) {
        self.probe = probe
        self.authorizationEndpoint = authorizationEndpoint
        self.rules = rules
        self.requestsPerMinute = min(max(requestsPerMinute, 1), 100_000)
        self.requestTimeout = requestTimeout
        self.maxBodyBytes = max(min(maxBodyBytes, RegistrationProbe.maxBodyBytes), 0)
        self.maxInFlight = max(maxInFlight, 1)
        self.lease = lease
        self.pollInterval = pollInterval
        self.statsInterval = statsInterval
    }

    /// Whether the checker has anything to do: the probe is on, or the live check is on and
    /// re-checks are wanted.
    public func enabled(liveCheck: Bool) -> Bool {
        probe || (liveCheck && rules.recheckInterval > .zero)
    }

    /// The bucket's capacity (five seconds' worth, at least one): what `take_google_requests`
    /// can grant at once.
    var burst: Int { max(requestsPerMinute / 12, 1) }

    /// Why `url` is not an authorization endpoint to probe, or nil: an absolute `https` URL, or
    /// `http` to a loopback host (a fake Google in tests).
    public static func endpointProblem(_ url: String) -> String? {
        LiveGoogleCheck.tokenURLProblem(url).map { _ in
            url.lowercased().hasPrefix("http://")
                ? "must be https: http is allowed only for a loopback host (127.0.0.1, ::1, localhost)"
                : "must be an absolute https URL"
        }
    }
}
