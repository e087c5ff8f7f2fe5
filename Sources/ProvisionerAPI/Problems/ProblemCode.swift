/// The stable codes of problem answers (openapi.yaml), each with the title its answers carry:
/// RFC 9457 wants the same title for every problem of one type, and a person reading a log
/// learns more from "Tenant suspended" than from "Conflict".
enum ProblemCode: String, Sendable, CaseIterable {
    case badRequest = "bad_request"
    case invalidRequest = "invalid_request"
    case invalidJSON = "invalid_json"
    case unauthenticated
    case forbidden
    case roleNotGrantable = "role_not_grantable"
    case notFound = "not_found"
    case tenantNotFound = "tenant_not_found"
    case credentialNotFound = "credential_not_found"
    case tokenNotFound = "token_not_found"
    case onboardingLinkNotFound = "onboarding_link_not_found"
    case uriSetNotIssued = "uri_set_not_issued"
    case noActiveCredential = "no_active_credential"
    case methodNotAllowed = "method_not_allowed"
    case tenantExists = "tenant_exists"
    case tenantSuspended = "tenant_suspended"
    case customDomainInUse = "custom_domain_in_use"
    case idempotencyKeyInUse = "idempotency_key_in_use"
    case idempotencyKeyReused = "idempotency_key_reused"
    case payloadTooLarge = "payload_too_large"
    case unsupportedMediaType = "unsupported_media_type"
    case slugReserved = "slug_reserved"
    case uriRuleViolation = "uri_rule_violation"
    case clientSecretConflict = "client_secret_conflict"
    case clientSecretInvalid = "client_secret_invalid"
    case internalError = "internal_error"
    case serviceUnavailable = "service_unavailable"

    /// A short, fixed summary of the problem type (the `title` member).
    var title: String {
        switch self {
        case .badRequest: "Bad request"
        case .invalidRequest: "Invalid request"
        case .invalidJSON: "Invalid JSON"
        case .unauthenticated: "Unauthenticated"
        case .forbidden: "Forbidden"
        case .roleNotGrantable: "Role not grantable"
        case .notFound: "Not found"
        case .tenantNotFound: "Tenant not found"
        case .credentialNotFound: "Credential not found"
        case .tokenNotFound: "Token not found"
        case .onboardingLinkNotFound: "Onboarding link not found"
        case .uriSetNotIssued: "URI set not issued"
        case .noActiveCredential: "No active credential"
        case .methodNotAllowed: "Method not allowed"
        case .tenantExists: "Tenant exists"
        case .tenantSuspended: "Tenant suspended"
        case .customDomainInUse: "Custom domain in use"
        case .idempotencyKeyInUse: "Idempotency key in use"
        case .idempotencyKeyReused: "Idempotency key reused"
        case .payloadTooLarge: "Payload too large"
        case .unsupportedMediaType: "Unsupported media type"
        case .slugReserved: "Slug reserved"
        case .uriRuleViolation: "URI rule violation"
        case .clientSecretConflict: "Client secret conflict"
        case .clientSecretInvalid: "Client secret invalid"
        case .internalError: "Internal error"
        case .serviceUnavailable: "Service unavailable"
        }
    }
}
