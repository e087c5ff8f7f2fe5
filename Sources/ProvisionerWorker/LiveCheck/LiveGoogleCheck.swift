import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ProvisionerDomain
import ProvisionerStore
import Tracing

/// The live check against Google's token endpoint.
///
/// It redeems a dummy authorization code with the client's id and secret: Google checks the
/// client before the code, so `400 {"error":"invalid_grant"}` means it knows the client and
/// accepted the secret; a 401 OAuth error (`invalid_client`, `deleted_client`) saying "not
/// found" or "deleted" means the client does not exist, any other one that the secret is wrong.
/// Network errors, timeouts, 429 and 5xx are retried with backoff, within `budget`; then the
/// answer is `.unavailable`. Any other answer (another status or error code) is not something
/// a retry would change, so it is `.unavailable` at once.
///
/// Redirects are never followed: a 307 or 308 would send the form, secret included, to
/// wherever the `Location` names. A 3xx is `.unavailable` at once, like any other answer a
/// retry would not change, and logged with its status (the verdict carries the warning
/// `live_check_unavailable`). For the same reason the token URL must be `https`, but for a
/// loopback host (tests serve a fake Google on 127.0.0.1): `tokenURLProblem` is checked at
/// start-up, and again before each request.
///
/// Neither the secret nor the request body is ever logged; logs carry the status and
/// Google's `error` code only.
public struct LiveGoogleCheck: LiveCheck {
    public struct Configuration: Sendable {
        /// `PROVISIONER_GOOGLE_TOKEN_URL`.
        public var tokenURL: String
        /// Per request, connection included.
        public var requestTimeout: Duration
        /// Retries after the first try (network errors, timeouts, 429, 5xx).
        public var retries: Int
        public var backoff: Backoff
        /// No retry starts after this much time has passed since the first try.
        public var budget: Duration
        /// The dummy authorization code.
        public var dummyCode: String

        public init(
            tokenURL: String = "https://oauth2.googleapis.com/token",
            requestTimeout: Duration = .seconds(5),
            // Four tries that each time out (4 x 5 s) and three waits of at most 2 s fit in the
            // budget, so the default 3 retries always happen, within about 30 s.
            retries: Int = 3,
            backoff: Backoff = Backoff(base: .milliseconds(500), cap: .seconds(2)),
            budget: Duration = .seconds(30),
            dummyCode: String = "provisioner-live-check-dummy-code"
        ) {
            self.tokenURL = tokenURL
            self.requestTimeout = requestTimeout
            self.retries = max(retries, 0)
            self.backoff = backoff
            self.budget = budget
            self.dummyCode = dummyCode
        }
    }

    let configuration: Configuration
    let httpClient: HTTPClient
    let logger: Logger
    let tracer: (any Tracer)?

    /// `httpClient` defaults to `noRedirects`, a process-wide client that never follows a
    /// redirect (and needs no shutdown); one given instead must not follow redirects either.
    /// With `tracer` (tracing on) each request is a client span and carries its `traceparent`.
    public init(
        configuration: Configuration, httpClient: HTTPClient = LiveGoogleCheck.noRedirects, logger: Logger,
        tracer: (any Tracer)? = nil
    ) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.logger = logger
        self.tracer = tracer
    }

    /// A client for the life of the process, on the shared event loops, that hands back a
    /// 3xx as it is instead of following it.
    public static let noRedirects = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: HTTPClient.Configuration(redirectConfiguration: .disallow).withoutLibraryTracing()
    )

    /// Why `url` is not a token endpoint the service may send secrets to, or nil when it is:
    /// an absolute `https` URL, or `http` to a loopback host only.
    public static func tokenURLProblem(_ url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty
        else { return "must be an absolute http(s) URL" }
        switch scheme {
        case "https":
            return nil
        case "http":
            return LoopbackHost.contains(host)
                ? nil
                : "must be https: http is allowed only for a loopback host (127.0.0.1, ::1, localhost), since the request carries the client secret"
        default:
            return "must be an http(s) URL"
        }
    }

    /// What one answer of the token endpoint means.
    enum Answer: Equatable {
        case outcome(LiveCheckOutcome)
        /// Worth another try (429, 5xx).
        case retry
    }

    public func check(_ credential: RuntimeCredential, redirectURI: String) async throws -> LiveCheckOutcome {
        if let problem = Self.tokenURLProblem(configuration.tokenURL) {
            // Checked at start-up already; never send a secret in clear because a caller forgot.
            throw LiveCheckError("the token URL \(problem)")
        }
        let clock = ContinuousClock()
        let start = clock.now
        var request = HTTPClientRequest(url: configuration.tokenURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        request.body = .bytes(ByteBuffer(string: Self.formBody([
            ("grant_type", "authorization_code"),
            ("code", configuration.dummyCode),
            ("client_id", credential.clientID),
            ("client_secret", credential.clientSecret),
            ("redirect_uri", redirectURI),
        ])))
        var logger = logger
        logger[metadataKey: "client_id"] = "\(credential.clientID)"

        var attempt = 0
        while true {
            attempt += 1
            let answer: Answer
            do {
                let response = try await ClientSpan.execute(request, name: "POST google token (live check)", tracer: tracer) {
                    try await httpClient.execute($0, timeout: Self.timeAmount(configuration.requestTimeout))
                }
                let body = try await response.body.collect(upTo: 64 * 1024)
                answer = Self.interpret(status: Int(response.status.code), body: body)
                if case .retry = answer {
                    logger.warning("live check: Google answered \(response.status.code)", metadata: ["attempt": "\(attempt)"])
                } else if (300...399).contains(response.status.code) {
                    logger.warning(
                        "live check: the token endpoint answered \(response.status.code), a redirect, which is not followed (it would send the secret elsewhere); check PROVISIONER_GOOGLE_TOKEN_URL",
                        metadata: ["attempt": "\(attempt)"]
                    )
                }
            } catch {
                if Task.isCancelled { throw CancellationError() }
                logger.warning(
                    "live check: no answer from Google",
                    metadata: ["attempt": "\(attempt)", "error": "\(String(reflecting: type(of: error)))"]
                )
                answer = .retry
            }
            if case .outcome(let outcome) = answer { return outcome }
            guard attempt <= configuration.retries else { return .unavailable }
            let wait = configuration.backoff.delay(attempt: attempt)
            guard start.duration(to: clock.now) + wait + configuration.requestTimeout <= configuration.budget else {
                return .unavailable
            }
            try await Task.sleep(for: wait)
        }
    }

    /// Maps a status and body to a meaning.
    static func interpret(status: Int, body: ByteBuffer) -> Answer {
        if status == 429 || (500...599).contains(status) { return .retry }
        // A redirect is not Google's answer about the client, and a retry would be redirected
        // again: no answer, at once.
        if (300...399).contains(status) { return .outcome(.unavailable) }
        let (error, description) = errorFields(body)
        switch (status, error) {
        case (400, "invalid_grant"?):
            return .outcome(.validPair)
        case (401, let error?):
            // Google says `invalid_client` ("The OAuth client was not found." or "Unauthorized"
            // for a wrong secret) and, for a client deleted in the console, `deleted_client`.
            let text = (error + " " + (description ?? "")).lowercased()
            if text.contains("not found") || text.contains("deleted") {
                return .outcome(.clientNotFound)
            }
            return .outcome(.clientSecretInvalid)
        default:
            return .outcome(.unavailable)
        }
    }

    /// `error` and `error_description` of an OAuth error answer, if it is one.
    static func errorFields(_ body: ByteBuffer) -> (error: String?, description: String?) {
        guard let bytes = body.getBytes(at: body.readerIndex, length: body.readableBytes),
              let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        else { return (nil, nil) }
        return (object["error"] as? String, object["error_description"] as? String)
    }

    /// `application/x-www-form-urlencoded`: every byte but the unreserved ones percent-encoded.
    static func formBody(_ fields: [(String, String)]) -> String {
        fields.map { "\(percentEncoded($0.0))=\(percentEncoded($0.1))" }.joined(separator: "&")
    }

    static func percentEncoded(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                bytes.append(byte)
            default:
                bytes.append(UInt8(ascii: "%"))
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
