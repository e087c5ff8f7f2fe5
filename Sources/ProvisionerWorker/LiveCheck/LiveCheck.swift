import ProvisionerDomain

/// Asks Google whether a client id and secret go together.
///
/// An implementation answers `.unavailable` when Google gave no usable answer after its own
/// retries: that is a verdict (a warning), not a failure. It throws only when it could not
/// ask at all (its own infrastructure is broken), which the worker treats as a failure of the
/// job: retried with backoff, and `verification_failed` after the last attempt.
public protocol LiveCheck: Sendable {
    func check(_ credential: RuntimeCredential, redirectURI: String) async throws -> LiveCheckOutcome
}

/// Why a live check could not be made. Never carries the secret or the request body.
public struct LiveCheckError: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
