import Hummingbird
import ProvisionerStore

/// Turns what Hummingbird itself throws (no route, wrong method, anything uncaught) into a
/// problem answer. A path that exists with other methods answers 405 with `Allow`.
struct HTTPProblemMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let problem: Problem
            if let httpError = error as? HTTPError, httpError.status == .notFound {
                // HEAD goes wherever GET does (`HeadRequestMiddleware`).
                let allowed = routes.methods(forPath: request.uri.path).flatMap { $0 == .get ? [.get, .head] : [$0] }
                if allowed.isEmpty {
                    problem = .notFound("There is no resource at \(request.uri.path).")
                } else {
                    let allow = allowed.map(\.rawValue).joined(separator: ", ")
                    problem = Problem(
                        .methodNotAllowed,
                        code: .methodNotAllowed,
                        detail: "\(request.method.rawValue) is not allowed here; allowed: \(allow).",
                        headers: [.allow: allow]
                    )
                }
            } else if let httpError = error as? HTTPError, httpError.status.code < 500 {
                problem = Problem(httpError.status, code: .badRequest, detail: httpError.body ?? httpError.status.reasonPhrase)
            } else {
                problem = Problem.from(error)
                if problem.status == .internalServerError {
                    context.logger.error("request failed", metadata: ["error": "\(Problem.safeDescription(of: error))"])
                }
            }
            return problem.response(requestID: RequestScope.current?.requestID)
        }
    }
}
