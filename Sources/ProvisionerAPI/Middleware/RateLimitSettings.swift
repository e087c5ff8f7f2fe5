/// The rate limits of one process (`PROVISIONER_RATE_LIMIT_*`), each a number a minute; 0
/// turns that limit off. Every replica counts on its own, so N replicas behind a load balancer
/// allow up to N times as much.
///
/// The defaults are generous on purpose: normal use, scripts and acceptance checks (a hundred
/// requests with a bad token, a few hundred uploads of one tenant in a row, thousands over many
/// tenants, a client polling the verdicts of thousands of uploads with one token) never meet
/// them; they stop floods and guessing, not work. Each bucket holds its whole minute's worth,
/// so a burst of the full number is admitted at once and then one more every 60 s / number.
public struct RateLimitSettings: Sendable, Equatable {
    /// `PROVISIONER_RATE_LIMIT_AUTH_FAILURES`: failed authentications per client address (no
    /// token, or a malformed, unknown, expired or revoked one; a console sign-in with such a
    /// token; an onboarding link that is not known, expired or revoked). Once they are spent,
    /// every request of that address that needs authentication answers 429 before any token
    /// or link is looked at.
    public var authFailuresPerAddress: Int
    /// `PROVISIONER_RATE_LIMIT_TOKEN_REQUESTS`: requests per valid token, whatever the operation.
    public var requestsPerToken: Int
    /// `PROVISIONER_RATE_LIMIT_UPLOADS`: uploads of client_secrets.json per tenant.
    public var uploadsPerTenant: Int
    /// `PROVISIONER_RATE_LIMIT_LINKS`: onboarding links made per tenant.
    public var onboardingLinksPerTenant: Int
    /// Buckets held per limit at most (clients, tokens or tenants seen lately): the memory
    /// bound, whatever the number of addresses a flood comes from.
    public var maximumKeys: Int

    public static let defaultAuthFailuresPerAddress = 600
    public static let defaultRequestsPerToken = 30_000
    public static let defaultUploadsPerTenant = 600
    public static let defaultOnboardingLinksPerTenant = 120
    public static let defaultMaximumKeys = 10_000
    /// The largest value a setting takes.
    public static let maximumPerMinute = 1_000_000

    public init(
        authFailuresPerAddress: Int = defaultAuthFailuresPerAddress,
        requestsPerToken: Int = defaultRequestsPerToken,
        uploadsPerTenant: Int = defaultUploadsPerTenant,
        onboardingLinksPerTenant: Int = defaultOnboardingLinksPerTenant,
        maximumKeys: Int = defaultMaximumKeys
    ) {
        self.authFailuresPerAddress = authFailuresPerAddress
        self.requestsPerToken = requestsPerToken
        self.uploadsPerTenant = uploadsPerTenant
        self.onboardingLinksPerTenant = onboardingLinksPerTenant
        self.maximumKeys = maximumKeys
    }

    /// Every limit off.
    public static let off = RateLimitSettings(authFailuresPerAddress: 0, requestsPerToken: 0, uploadsPerTenant: 0, onboardingLinksPerTenant: 0)
}
