/// How much a finding weighs: any `error` rejects the upload.
public enum Severity: String, Sendable, Hashable, Codable, CaseIterable {
    case error
    case warning
}

/// The stable codes of verification findings.
/// Raw values are what the API, the store and the dashboard see.
public enum FindingCode: String, Sendable, Hashable, Codable, CaseIterable {
    case jsonNotObject = "json_not_object"
    case clientTypeInstalled = "client_type_installed"
    case clientTypeUnknown = "client_type_unknown"
    case fieldMissing = "field_missing"
    case clientIDMalformed = "client_id_malformed"
    case clientSecretMissing = "client_secret_missing"
    case clientSecretUnusual = "client_secret_unusual"
    case authURIUnexpected = "auth_uri_unexpected"
    case tokenURIUnexpected = "token_uri_unexpected"
    case redirectURIMissing = "redirect_uri_missing"
    case redirectURIUnexpected = "redirect_uri_unexpected"
    case javascriptOriginMissing = "javascript_origin_missing"
    case javascriptOriginUnexpected = "javascript_origin_unexpected"
    case uriSetNotIssued = "uri_set_not_issued"
    case clientIDInUse = "client_id_in_use"
    case liveClientNotFound = "live_client_not_found"
    case liveClientSecretInvalid = "live_client_secret_invalid"
    case liveCheckUnavailable = "live_check_unavailable"
    /// Not a property of the file: the worker gave up running the verification
    /// after its last attempt, so the upload cannot be trusted and is rejected.
    case verificationFailed = "verification_failed"
    /// A URI list of more than `URIListCheck.maxComparedEntries` entries: only the first
    /// ones are compared, so that no upload costs more than a bounded amount of work.
    case tooManyURIs = "too_many_uris"
    /// More findings than a credential keeps (`CredentialVerifier.maxFindings`): the rest are
    /// left out, and this warning says how many.
    case findingsTruncated = "findings_truncated"
    /// The file had no secret and none was given beside it: the secret of the tenant's newest
    /// earlier upload of the same client id was put into it (`value` names that upload).
    case clientSecretCarriedOver = "client_secret_carried_over"

    /// The severity of each code, as openapi.yaml documents it.
    public var severity: Severity {
        switch self {
        case .clientSecretUnusual, .redirectURIUnexpected, .javascriptOriginUnexpected,
             .clientIDInUse, .liveCheckUnavailable, .findingsTruncated, .clientSecretCarriedOver:
            .warning
        case .jsonNotObject, .clientTypeInstalled, .clientTypeUnknown, .fieldMissing,
             .clientIDMalformed, .clientSecretMissing, .authURIUnexpected, .tokenURIUnexpected,
             .redirectURIMissing, .javascriptOriginMissing, .uriSetNotIssued,
             .liveClientNotFound, .liveClientSecretInvalid, .verificationFailed, .tooManyURIs:
            .error
        }
    }
}

/// What an uploaded URI looks like when it is almost the issued one:
/// naming the difference tells the admin exactly what to fix in the console.
public enum NearMiss: String, Sendable, Hashable, Codable, CaseIterable {
    /// A `/` added to or missing from the end.
    case trailingSlash = "trailing_slash"
    /// `http://` where `https://` was issued.
    case schemeHTTP = "scheme_http"
    /// Upper and lower case differ.
    case letterCase = "letter_case"
    /// Spaces or tabs before or after the value.
    case surroundingSpaces = "surrounding_spaces"
    /// An explicit port such as `:443`.
    case port
    /// The issued callback URI was entered under "Authorized JavaScript origins".
    case callbackInOrigins = "callback_in_origins"
    /// The issued origin was entered under "Authorized redirect URIs".
    case originInRedirects = "origin_in_redirects"
}
