import Hummingbird

/// HEAD is GET without the content (RFC 9110 section 9.3.2). The router answers HEAD on every
/// GET route (`autoGenerateHeadEndpoints`); this middleware drops the body of whatever else a
/// HEAD request is answered with (a 404 or 405 problem from `HTTPProblemMiddleware`, which it
/// sits outside of), since a client never reads a body after HEAD.
struct HeadRequestMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        return request.method == .head ? response.createHeadResponse() : response
    }
}
