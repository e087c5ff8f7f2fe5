#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How a verified credential fares at Google, as last checked. Health never changes the
/// verdict: a `verified` upload stays verified; health says whether it still works.
///
/// Raw values are public names (credential JSON, `by_health`, the database's CHECK), so they
/// never change once shipped.
public enum HealthState: String, CaseIterable, Sendable, Codable, Hashable {
    /// Not checked yet (or the probe is off).
    case unchecked
    /// Every issued redirect URI is registered with the client, and (with the live check) the
    /// client and its secret still work.
    case ok
    /// Google does not know a redirect URI yet, within the registration window: Google takes
    /// from minutes to hours to apply a change, so this is retried before it is final.
    case propagating
    /// Still not registered after the window: the admin must add it at Google.
    case redirectURINotRegistered = "redirect_uri_not_registered"
    /// Google says the client does not exist (`deleted_client`, `invalid_client`).
    case clientDeleted = "client_deleted"
    /// The token endpoint refuses the stored secret: it was reset at Google.
    case clientSecretInvalid = "client_secret_invalid"
}

/// One issued redirect URI and what the probe found for it (`unchecked`, `ok`,
/// `propagating` or `redirect_uri_not_registered`). Stored as `{"uri", "state"}`.
public struct URIHealth: Sendable, Hashable, Codable {
    public var uri: String
    public var state: HealthState

    public init(uri: String, state: HealthState) {
        self.uri = uri
        self.state = state
    }
}

/// The `health` of credential JSON: `{"state", "checked_at", "uris": [{"uri", "state"}]}`.
public struct CredentialHealth: Sendable, Hashable {
    public var state: HealthState
    public var checkedAt: Date?
    public var uris: [URIHealth]

    public init(state: HealthState, checkedAt: Date?, uris: [URIHealth]) {
        self.state = state
        self.checkedAt = checkedAt
        self.uris = uris
    }

    public static let unchecked = CredentialHealth(state: .unchecked, checkedAt: nil, uris: [])
}
