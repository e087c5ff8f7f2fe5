import HTTPTypes
import Hummingbird

/// Headers every response carries, errors included: `X-Content-Type-Options: nosniff`, so a
/// browser never guesses a type other than the one declared (a Markdown setup sheet or a
/// problem body that quotes what a caller sent must not be run as HTML or script).
///
/// Outermost of the router's middlewares, so that nothing answered inside it goes without.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            // What Hummingbird would answer for the error itself, with the headers.
            response = try error.response(from: request, context: context)
        }
        response.headers[.xContentTypeOptions] = "nosniff"
        return response
    }
}
