import Logging

/// What a handler of the generated API needs to know about the request it serves.
///
/// The generated `APIProtocol` methods see only their typed input, so the request id, the
/// request's logger and (once authenticated) the caller travel in a task-local value set by
/// the middlewares around them.
struct RequestScope: Sendable {
    let requestID: String
    let logger: Logger
    let remoteAddress: String?

    @TaskLocal static var current: RequestScope?

    /// The scope of the current request, or a detached one for code run outside a request.
    static var now: RequestScope {
        current ?? RequestScope(requestID: "none", logger: Logger(label: "provisioner.api"), remoteAddress: nil)
    }
}
