/// A tenant's state as the dashboard shows it, derived in this order:
/// suspended, then awaiting URIs, then awaiting an upload, then from the newest credential.
/// The database derives it on every write of a tenant row (trigger `tenants_derive_state`).
public enum TenantState: String, Sendable, Hashable, CaseIterable, Codable {
    case suspended
    case awaitingURIs = "awaiting_uris"
    case awaitingUpload = "awaiting_upload"
    case verifying
    case verified
    case rejected
}

/// The life of one uploaded client_secrets.json.
public enum CredentialState: String, Sendable, Hashable, CaseIterable, Codable {
    case pending
    case verifying
    case verified
    case rejected
    case superseded
}
