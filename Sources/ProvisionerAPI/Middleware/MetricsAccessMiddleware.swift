import HTTPTypes
import Hummingbird
import ProvisionerDomain

/// Who may read `GET /metrics`, and on which listener.
///
/// Metrics tell an outsider how busy the service is and which routes fail; by default they
/// are open, as before, for a scraper on a private network. `PROVISIONER_METRICS_TOKEN` asks
/// for `Authorization: Bearer <token>` (anything else: 401), and `PROVISIONER_METRICS_PORT`
/// moves them to a listener of their own, so the API's port (the one behind an ingress)
/// answers 404 for them.
public struct MetricsAccess: Sendable, Equatable {
    /// SHA-256 of the token, compared in constant time (see `allows`).
    let tokenDigest: [UInt8]?
    /// Whether this listener serves `/metrics` at all.
    var served: Bool

    public init(token: String? = nil, served: Bool = true) {
        self.tokenDigest = token.map(BearerToken.hash)
        self.served = served
    }

    /// Open: no token, served here.
    public static let open = MetricsAccess()

    var requiresToken: Bool { tokenDigest != nil }

    /// Whether `header` (the request's `Authorization`) carries the token. The digests are
    /// compared byte by byte without an early exit, and hashing first means the time spent
    /// says nothing about the token's length either.
    func allows(authorization header: String?) -> Bool {
        guard let tokenDigest else { return true }
        guard let presented = AuthorizationMiddleware.bearerToken(in: header) else { return false }
        let digest = BearerToken.hash(presented)
        var difference: UInt8 = 0
        for (a, b) in zip(digest, tokenDigest) { difference |= a ^ b }
        return difference == 0 && digest.count == tokenDigest.count
    }
}

/// Applies `MetricsAccess` to `GET /metrics` (and HEAD) before the handler runs; every other
/// path passes through. Inside `HTTPProblemMiddleware`, so refusals are problems.
struct MetricsAccessMiddleware<Context: RequestContext>: RouterMiddleware {
    let access: MetricsAccess

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path == "/metrics" else { return try await next(request, context) }
        guard access.served else {
            throw Problem.notFound("There is no resource at /metrics on this port; metrics are served on PROVISIONER_METRICS_PORT.")
        }
        guard access.allows(authorization: request.headers[.authorization]) else {
            throw Problem(
                .unauthorized,
                code: .unauthenticated,
                detail: "GET /metrics needs Authorization: Bearer with the metrics token (PROVISIONER_METRICS_TOKEN).",
                headers: [.wwwAuthenticate: #"Bearer realm="provisioner-metrics""#]
            )
        }
        return try await next(request, context)
    }
}
