import Foundation
import ProvisionerAPI
import ProvisionerDomain
import ProvisionerStore
import ProvisionerWorker

/// The configuration of the service, read from the process environment.
///
/// Parsed completely before anything starts, so that a missing or malformed value stops the
/// process with one line naming the variable (exit status 2) instead of a stack trace later.
struct ServiceEnvironment: Sendable {
    var databaseURL: DatabaseURL
    /// `DATABASE_LISTEN_URL`, by default `DATABASE_URL`: where LISTEN connects. Behind a pooler
    /// in transaction mode `DATABASE_URL` names the pooler and this names PostgreSQL itself.
    var databaseListenURL: DatabaseURL
    var host: String
    var port: Int
    var keyring: EncryptionKeyring?
    var cloudDomain: String
    var uriIssuer: URISetIssuer
    var liveCheck: LiveCheckMode
    var googleTokenURL: String
    /// Retries of the live check after a network error, timeout or 5xx.
    var liveCheckRetries: Int
    var logLevel: String
    /// `PROVISIONER_MIGRATIONS_DIR`; nil means the default search of `loadMigrations`.
    var migrationsDirectory: String?
    /// `PROVISIONER_HTTP_IDLE_TIMEOUT` (seconds) and `PROVISIONER_HTTP_MAX_CONNECTIONS`.
    var httpLimits: HTTPLimits
    /// `PROVISIONER_METRICS_TOKEN`: `/metrics` needs it as a bearer token when set.
    var metricsToken: String?
    /// `PROVISIONER_METRICS_PORT`: `serve` and `run` serve `/metrics` there, not on the API's port.
    var metricsPort: Int?
    /// `PROVISIONER_PUBLIC_URL`: the base URL people reach (onboarding links, the console's
    /// cookie `Secure` when https). Default `http://PROVISIONER_HOST:PROVISIONER_PORT`.
    var publicURL: String
    /// `PROVISIONER_WEBHOOK_ALLOW_HTTP` and `PROVISIONER_WEBHOOK_ALLOW_PRIVATE` (default false):
    /// which webhook URLs the API accepts and the worker sends to.
    var webhookURLPolicy: WebhookURLPolicy
    /// `PROVISIONER_WEBHOOK_RETRY_DELAYS` (default 5s,5m,30m,2h,5h,10h,10h).
    var webhookRetrySchedule: WebhookRetrySchedule
    /// `PROVISIONER_WEBHOOK_TIMEOUT` (seconds, 1 to 60, default 10).
    var webhookTimeout: Duration
    /// `PROVISIONER_WEBHOOK_ENDPOINT_CONCURRENCY`: requests open at one endpoint at once, all
    /// workers together (1 to 1000, default 128).
    var webhookEndpointConcurrency: Int
    /// `PROVISIONER_REGISTRATION_PROBE` (on/off, default off).
    var registrationProbe: Bool
    /// `PROVISIONER_GOOGLE_AUTH_URL` (default Google's authorization endpoint).
    var googleAuthURL: String
    /// `PROVISIONER_REGISTRATION_WINDOW` (default 6h).
    var registrationWindow: Duration
    /// `PROVISIONER_GOOGLE_RATE`: requests to Google a minute, service-wide (default 60).
    var googleRate: Int
    /// `PROVISIONER_RECHECK_INTERVAL` (default 24h, 0 = off).
    var recheckInterval: Duration
    /// `PROVISIONER_RATE_LIMIT_AUTH_FAILURES`, `_TOKEN_REQUESTS`, `_UPLOADS`, `_LINKS`: a minute
    /// each, per process; 0 = off.
    var rateLimits: RateLimitSettings

    enum LiveCheckMode: String, Sendable { case off, token }

    struct Invalid: Error, CustomStringConvertible, Equatable {
        let variable: String
        let reason: String
        /// "VARIABLE reason", unless the reason names the variable already.
        var description: String { reason.hasPrefix(variable) ? reason : "\(variable) \(reason)" }
    }

    enum Need { case database, databaseAndKeys }

    /// An address to listen on: IPv4 in dotted decimal, an IPv6 literal, or a DNS host name
    /// (which must not end in a number, as `999.1.1.1` would).
    static func isListenHost(_ host: String) -> Bool {
        if host.contains(":") {
            return (2...45).contains(host.count) && host.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
        }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        if let last = labels.last, !last.isEmpty, last.allSatisfy({ $0.isASCII && $0.isNumber }) {
            return labels.count == 4 && labels.allSatisfy { label in
                (1...3).contains(label.count) && label.allSatisfy { $0.isASCII && $0.isNumber } && Int(label)! <= 255
            }
        }
        return (1...253).contains(host.count) && labels.allSatisfy { label in
            (1...63).contains(label.count) && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    /// A tenant slug to try the cloud domain with.
    static let sampleSlug = try! TenantSlug(validating: "acme")

    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    init(_ environment: [String: String], need: Need) throws(Invalid) {
        func value(_ name: String) -> String? {
            guard let raw = environment[name], !raw.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return nil }
            return raw
        }
        guard let rawURL = value("DATABASE_URL") else {
            throw Invalid(variable: "DATABASE_URL", reason: "is required (postgres://user:pass@host:port/db)")
        }
        do {
            databaseURL = try DatabaseURL(parsing: rawURL)
        } catch {
            throw Invalid(variable: "DATABASE_URL", reason: error.description)
        }
        if let rawListenURL = value("DATABASE_LISTEN_URL") {
            do {
                databaseListenURL = try DatabaseURL(parsing: rawListenURL)
            } catch {
                throw Invalid(variable: "DATABASE_LISTEN_URL", reason: error.description)
            }
        } else {
            databaseListenURL = databaseURL
        }
        host = value("PROVISIONER_HOST") ?? "127.0.0.1"
        guard Self.isListenHost(host) else {
            throw Invalid(variable: "PROVISIONER_HOST", reason: "must be an IP address (127.0.0.1, 0.0.0.0, ::) or a host name")
        }
        let rawPort = value("PROVISIONER_PORT") ?? "8080"
        guard let port = Int(rawPort), (1...65535).contains(port) else {
            throw Invalid(variable: "PROVISIONER_PORT", reason: "must be a port number from 1 to 65535")
        }
        self.port = port
        if let rawKeys = value("PROVISIONER_ENCRYPTION_KEYS") {
            do {
                keyring = try EncryptionKeyring(parsing: rawKeys)
            } catch {
                throw Invalid(variable: "PROVISIONER_ENCRYPTION_KEYS", reason: "\(error)")
            }
        } else if need == .databaseAndKeys {
            throw Invalid(variable: "PROVISIONER_ENCRYPTION_KEYS", reason: "is required (id:base64 of 32 bytes[,id:base64...], the first one is primary)")
        } else {
            keyring = nil
        }
        cloudDomain = (value("PROVISIONER_CLOUD_DOMAIN") ?? "crm.example.com").lowercased()
        do {
            uriIssuer = try URISetIssuer(cloudDomain: cloudDomain)
            // A domain can be a valid host name and still give URIs Google refuses
            // (googleusercontent.com): better to stop here than to answer 422 to every issuance.
            _ = try uriIssuer.issue(slug: Self.sampleSlug, customDomain: nil)
        } catch {
            throw Invalid(variable: "PROVISIONER_CLOUD_DOMAIN", reason: "is not a usable domain: \(error.message(in: .en))")
        }
        let rawLive = (value("PROVISIONER_LIVE_CHECK") ?? "off").lowercased()
        guard let liveCheck = LiveCheckMode(rawValue: rawLive) else {
            throw Invalid(variable: "PROVISIONER_LIVE_CHECK", reason: "must be off or token")
        }
        self.liveCheck = liveCheck
        googleTokenURL = value("PROVISIONER_GOOGLE_TOKEN_URL") ?? "https://oauth2.googleapis.com/token"
        if let problem = LiveGoogleCheck.tokenURLProblem(googleTokenURL) {
            throw Invalid(variable: "PROVISIONER_GOOGLE_TOKEN_URL", reason: problem)
        }
        let rawRetries = value("PROVISIONER_LIVE_CHECK_RETRIES") ?? "3"
        guard let retries = Int(rawRetries), (0...10).contains(retries) else {
            throw Invalid(variable: "PROVISIONER_LIVE_CHECK_RETRIES", reason: "must be a whole number from 0 to 10")
        }
        liveCheckRetries = retries
        logLevel = (value("LOG_LEVEL") ?? "info").lowercased()
        guard Self.logLevels.contains(logLevel) else {
            throw Invalid(variable: "LOG_LEVEL", reason: "must be one of \(Self.logLevels.joined(separator: ", "))")
        }
        migrationsDirectory = value("PROVISIONER_MIGRATIONS_DIR")
        let rawIdle = value("PROVISIONER_HTTP_IDLE_TIMEOUT") ?? "30"
        guard let idleSeconds = Int(rawIdle), (1...3600).contains(idleSeconds) else {
            throw Invalid(variable: "PROVISIONER_HTTP_IDLE_TIMEOUT", reason: "must be a whole number of seconds from 1 to 3600")
        }
        let rawConnections = value("PROVISIONER_HTTP_MAX_CONNECTIONS") ?? String(HTTPLimits.defaultMaximumConnections)
        guard let maximumConnections = Int(rawConnections), (1...1_000_000).contains(maximumConnections) else {
            throw Invalid(variable: "PROVISIONER_HTTP_MAX_CONNECTIONS", reason: "must be a whole number from 1 to 1000000")
        }
        httpLimits = HTTPLimits(idleTimeout: .seconds(idleSeconds), maximumConnections: maximumConnections)
        metricsToken = value("PROVISIONER_METRICS_TOKEN")
        if let metricsToken {
            // A bearer token: one header value, and long enough not to be guessed.
            guard metricsToken.utf8.count >= 16, metricsToken.utf8.count <= 512,
                  metricsToken.utf8.allSatisfy({ (0x21...0x7E).contains($0) })
            else {
                throw Invalid(variable: "PROVISIONER_METRICS_TOKEN", reason: "must be 16 to 512 visible ASCII characters without spaces")
            }
        }
        if let rawMetricsPort = value("PROVISIONER_METRICS_PORT") {
            guard let metricsPort = Int(rawMetricsPort), (1...65535).contains(metricsPort) else {
                throw Invalid(variable: "PROVISIONER_METRICS_PORT", reason: "must be a port number from 1 to 65535")
            }
            guard metricsPort != port else {
                throw Invalid(variable: "PROVISIONER_METRICS_PORT", reason: "must differ from PROVISIONER_PORT")
            }
            self.metricsPort = metricsPort
        } else {
            metricsPort = nil
        }
        if let rawPublicURL = value("PROVISIONER_PUBLIC_URL") {
            guard let publicURL = Self.publicURL(rawPublicURL) else {
                throw Invalid(
                    variable: "PROVISIONER_PUBLIC_URL",
                    reason: "must be an http or https URL with a host and no query or fragment (https://provisioner.example.com)"
                )
            }
            self.publicURL = publicURL
        } else {
            publicURL = APIConfiguration.defaultPublicURL(host: host, port: port)
        }
        func flag(_ name: String) throws(Invalid) -> Bool {
            switch value(name)?.trimmingCharacters(in: .whitespaces).lowercased() {
            case nil, "false": return false
            case "true": return true
            default: throw Invalid(variable: name, reason: "must be true or false")
            }
        }
        webhookURLPolicy = WebhookURLPolicy(
            allowHTTP: try flag("PROVISIONER_WEBHOOK_ALLOW_HTTP"), allowPrivate: try flag("PROVISIONER_WEBHOOK_ALLOW_PRIVATE")
        )
        if let rawDelays = value("PROVISIONER_WEBHOOK_RETRY_DELAYS") {
            guard let schedule = WebhookRetrySchedule(parsing: rawDelays) else {
                throw Invalid(
                    variable: "PROVISIONER_WEBHOOK_RETRY_DELAYS",
                    reason: "must be comma-separated delays with a unit (ms, s, m, h), each at most 24h, such as 5s,5m,30m,2h,5h,10h,10h"
                )
            }
            webhookRetrySchedule = schedule
        } else {
            webhookRetrySchedule = .standard
        }
        let rawTimeout = value("PROVISIONER_WEBHOOK_TIMEOUT") ?? "10"
        guard let timeoutSeconds = Int(rawTimeout.trimmingCharacters(in: .whitespaces)), (1...60).contains(timeoutSeconds) else {
            throw Invalid(variable: "PROVISIONER_WEBHOOK_TIMEOUT", reason: "must be a whole number of seconds from 1 to 60")
        }
        webhookTimeout = .seconds(timeoutSeconds)
        let rawConcurrency = value("PROVISIONER_WEBHOOK_ENDPOINT_CONCURRENCY") ?? "\(WebhookDeliveryConfiguration.defaultPerEndpointInFlight)"
        guard let concurrency = Int(rawConcurrency.trimmingCharacters(in: .whitespaces)), (1...1000).contains(concurrency) else {
            throw Invalid(variable: "PROVISIONER_WEBHOOK_ENDPOINT_CONCURRENCY", reason: "must be a whole number from 1 to 1000")
        }
        webhookEndpointConcurrency = concurrency

        switch (value("PROVISIONER_REGISTRATION_PROBE") ?? "off").trimmingCharacters(in: .whitespaces).lowercased() {
        case "off": registrationProbe = false
        case "on": registrationProbe = true
        default: throw Invalid(variable: "PROVISIONER_REGISTRATION_PROBE", reason: "must be on or off")
        }
        googleAuthURL = (value("PROVISIONER_GOOGLE_AUTH_URL") ?? "https://accounts.google.com/o/oauth2/v2/auth")
            .trimmingCharacters(in: .whitespaces)
        if let problem = CredentialHealthConfiguration.endpointProblem(googleAuthURL) {
            throw Invalid(variable: "PROVISIONER_GOOGLE_AUTH_URL", reason: problem)
        }
        let rawWindow = value("PROVISIONER_REGISTRATION_WINDOW") ?? "6h"
        guard let window = Self.duration(rawWindow), window <= .seconds(30 * 86400) else {
            throw Invalid(
                variable: "PROVISIONER_REGISTRATION_WINDOW",
                reason: "must be a duration with a unit (s, m, h, d) of at most 30d, such as 6h, 30m or 90s"
            )
        }
        registrationWindow = window
        let rawRate = value("PROVISIONER_GOOGLE_RATE") ?? "60"
        guard let rate = Int(rawRate.trimmingCharacters(in: .whitespaces)), (1...100_000).contains(rate) else {
            throw Invalid(variable: "PROVISIONER_GOOGLE_RATE", reason: "must be a whole number of requests a minute from 1 to 100000")
        }
        googleRate = rate
        let rawRecheck = value("PROVISIONER_RECHECK_INTERVAL") ?? "24h"
        guard let recheck = Self.duration(rawRecheck), recheck <= .seconds(365 * 86400) else {
            throw Invalid(
                variable: "PROVISIONER_RECHECK_INTERVAL",
                reason: "must be a duration with a unit (s, m, h, d) of at most 365d, such as 24h, or 0 to turn the re-check off"
            )
        }
        recheckInterval = recheck

        // Rate limits, a minute each in this process (README, "Rate limits").
        func perMinute(_ name: String, _ fallback: Int) throws(Invalid) -> Int {
            guard let raw = value(name) else { return fallback }
            guard let number = Int(raw.trimmingCharacters(in: .whitespaces)), (0...RateLimitSettings.maximumPerMinute).contains(number) else {
                throw Invalid(variable: name, reason: "must be a whole number a minute from 0 (off) to \(RateLimitSettings.maximumPerMinute)")
            }
            return number
        }
        rateLimits = RateLimitSettings(
            authFailuresPerAddress: try perMinute("PROVISIONER_RATE_LIMIT_AUTH_FAILURES", RateLimitSettings.defaultAuthFailuresPerAddress),
            requestsPerToken: try perMinute("PROVISIONER_RATE_LIMIT_TOKEN_REQUESTS", RateLimitSettings.defaultRequestsPerToken),
            uploadsPerTenant: try perMinute("PROVISIONER_RATE_LIMIT_UPLOADS", RateLimitSettings.defaultUploadsPerTenant),
            onboardingLinksPerTenant: try perMinute("PROVISIONER_RATE_LIMIT_LINKS", RateLimitSettings.defaultOnboardingLinksPerTenant)
        )
    }

    /// How credential health is checked, from the variables above.
    var credentialHealth: CredentialHealthConfiguration {
        CredentialHealthConfiguration(
            probe: registrationProbe,
            authorizationEndpoint: googleAuthURL,
            rules: HealthCheckRules(window: registrationWindow, recheckInterval: recheckInterval),
            requestsPerMinute: googleRate
        )
    }

    /// `90s`, `30m`, `6h`, `2d` (a whole number and a unit), or `0`; nil otherwise.
    static func duration(_ raw: String) -> Duration? {
        let text = raw.trimmingCharacters(in: .whitespaces).lowercased()
        if text == "0" { return .zero }
        guard let unit = text.last, let scale: Int64 = ["s": 1, "m": 60, "h": 3600, "d": 86400][unit] else { return nil }
        let digits = text.dropLast()
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int64(digits) else {
            return nil
        }
        return .seconds(number * scale)
    }

    /// How the worker delivers webhooks, from the variables above.
    var webhookDelivery: WebhookDeliveryConfiguration {
        WebhookDeliveryConfiguration(
            urlPolicy: webhookURLPolicy, retrySchedule: webhookRetrySchedule, timeout: webhookTimeout,
            perEndpointInFlight: webhookEndpointConcurrency
        )
    }

    /// The base URL without a trailing `/`, or nil when it is not `http(s)://host[:port][/path]`.
    static func publicURL(_ raw: String) -> String? {
        let trimmed = raw.trimmingCharacters(in: .whitespaces)
        guard let components = URLComponents(string: trimmed), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty,
              components.query == nil, components.fragment == nil, components.user == nil, components.password == nil
        else { return nil }
        return trimmed.hasSuffix("/") ? String(trimmed.dropLast()) : trimmed
    }
}

extension ServiceEnvironment {
    /// The keyring of commands that seal or open secrets (checked by `need: .databaseAndKeys`).
    func requiredKeyring() throws -> EncryptionKeyring {
        guard let keyring else { throw Invalid(variable: "PROVISIONER_ENCRYPTION_KEYS", reason: "is required") }
        return keyring
    }
}
