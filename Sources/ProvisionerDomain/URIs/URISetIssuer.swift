/// Works out the authorized JavaScript origins and redirect URIs the support desk
/// issues to a tenant.
///
/// Host H is the tenant's custom domain when one is given, else `{slug}.{cloudDomain}`:
/// - JavaScript origins: `https://H`
/// - redirect URIs: `https://H/agcrm_google/AuthCallback/IndexAsync` (the CRM's OAuth
///   callback, as in the vendor's admin guide) and `https://myaccount.google.com/`
///   (where the guide sends users to manage the link).
/// Every value is then checked against Google's rules, so a value Google's console
/// would refuse is never issued: the check is the guarantee, not the construction.
public struct URISetIssuer: Sendable {
    /// The CRM's OAuth callback path, from the vendor's admin guide.
    public static let callbackPath = "/agcrm_google/AuthCallback/IndexAsync"
    /// Google's account page, the second redirect URI of the vendor's admin guide.
    public static let googleAccountRedirectURI = "https://myaccount.google.com/"

    /// The validated cloud domain (`PROVISIONER_CLOUD_DOMAIN`), normalised.
    public let cloudDomain: CustomDomain

    /// Validates the cloud domain like a custom domain, so a bad
    /// `PROVISIONER_CLOUD_DOMAIN` stops the service at start-up rather than at the
    /// first issuance.
    public init(cloudDomain: String) throws(URIIssuanceError) {
        do {
            self.cloudDomain = try CustomDomain(validating: cloudDomain)
        } catch {
            throw URIIssuanceError(domainError: error)
        }
    }

    public func issue(slug: TenantSlug, customDomain: String?) throws(URIIssuanceError) -> IssuedURIs {
        let host: String
        var normalizedCustomDomain: String?
        if let customDomain {
            let domain: CustomDomain
            do {
                domain = try CustomDomain(validating: customDomain)
            } catch {
                throw URIIssuanceError(domainError: error)
            }
            // `{slug}.{cloudDomain}` hosts belong to tenants by slug: a custom domain there
            // could hand one tenant another tenant's callback.
            if domain.isSameOrSubdomain(of: cloudDomain) {
                throw URIIssuanceError(domainError: CustomDomainError(rule: .underCloudDomain, value: customDomain))
            }
            host = domain.name
            normalizedCustomDomain = domain.name
        } else {
            host = slug.rawValue + "." + cloudDomain.name
            guard host.utf8.count <= 253 else {
                throw URIIssuanceError(domainError: CustomDomainError(rule: .nameTooLong, value: host))
            }
        }

        let origins = ["https://" + host]
        let redirects = ["https://" + host + Self.callbackPath, Self.googleAccountRedirectURI]
        for (values, kind) in [(origins, GoogleURIKind.javascriptOrigin), (redirects, .redirectURI)] {
            for value in values {
                if let violation = GoogleURIRules.violations(of: value, kind: kind).first {
                    throw URIIssuanceError(violation: violation)
                }
            }
        }
        return IssuedURIs(
            host: host,
            customDomain: normalizedCustomDomain,
            javascriptOrigins: origins,
            redirectURIs: redirects
        )
    }
}

/// What `URISetIssuer` works out for one tenant; the store adds the version.
public struct IssuedURIs: Sendable, Hashable {
    public let host: String
    /// The normalised custom domain (lower case, `xn--` form), or nil for the cloud host.
    public let customDomain: String?
    public let javascriptOrigins: [String]
    public let redirectURIs: [String]

    public init(host: String, customDomain: String?, javascriptOrigins: [String], redirectURIs: [String]) {
        self.host = host
        self.customDomain = customDomain
        self.javascriptOrigins = javascriptOrigins
        self.redirectURIs = redirectURIs
    }

    /// The set as stored under `version`.
    public func uriSet(version: Int) -> IssuedURISet {
        IssuedURISet(version: version, host: host, javascriptOrigins: javascriptOrigins, redirectURIs: redirectURIs)
    }
}

/// Why URIs could not be issued: the API answers 422 `uri_rule_violation` naming `rule`.
public struct URIIssuanceError: Error, Sendable, Hashable {
    /// The snake_case name of the broken rule: a `CustomDomainRule` or a `GoogleURIRule`.
    public let rule: String
    /// The value that broke it: the custom domain as given, or the URI that would have been issued.
    public let value: String
    public let message: LocalizedText

    public init(rule: String, value: String, message: LocalizedText) {
        self.rule = rule
        self.value = value
        self.message = message
    }

    init(domainError: CustomDomainError) {
        self.init(rule: domainError.rule.rawValue, value: domainError.value, message: domainError.message)
    }

    init(violation: GoogleURIRuleViolation) {
        self.init(rule: violation.rule.rawValue, value: violation.value, message: violation.rule.message)
    }

    public func message(in language: Language) -> String { message.text(in: language) }
}
