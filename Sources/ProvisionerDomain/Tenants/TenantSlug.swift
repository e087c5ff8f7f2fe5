/// A tenant's slug: the DNS label under which the tenant lives in the cloud edition
/// (`{slug}.{PROVISIONER_CLOUD_DOMAIN}`), so it must be a valid host-name label that
/// cannot collide with the service's own host names.
///
/// Rules: `^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$` (3 to 63 characters,
/// lower case only: the slug is also an identifier in URLs and must have one spelling),
/// not a reserved name, and no `--` at positions 3-4, which DNS reserves for encoded
/// labels such as `xn--` (RFC 5891 section 4.2.3.1).
public struct TenantSlug: Sendable, Hashable, Comparable, CustomStringConvertible, RawRepresentable {
    public let rawValue: String

    public init(validating text: String) throws(TenantSlugError) {
        try Self.validate(text)
        rawValue = text
    }

    /// Validating, for `RawRepresentable`: nil when `init(validating:)` would throw.
    public init?(rawValue: String) {
        guard (try? Self.validate(rawValue)) != nil else { return nil }
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    public static func < (lhs: TenantSlug, rhs: TenantSlug) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Names a tenant cannot take: host names the service, the vendor or mail and DNS
    /// conventionally use, and words that would mislead a customer if they were a
    /// tenant's address (`admin.crm.example.com`). Names shorter than three characters
    /// cannot be slugs anyway and are listed only so the list reads as the policy.
    public static let reservedNames: Set<String> = [
        // The service and its operators.
        "www", "www1", "www2", "api", "admin", "administrator", "support", "help", "helpdesk",
        "docs", "doc", "status", "dashboard", "console", "portal", "app", "apps", "auth", "oauth",
        "oauth2", "sso", "login", "logout", "signin", "signup", "register", "account", "accounts",
        "billing", "payment", "payments", "invoice", "blog", "news", "about", "contact", "legal",
        "privacy", "terms", "security", "secure", "static", "assets", "cdn", "media", "img",
        "images", "files", "upload", "uploads", "download", "downloads", "provisioner", "tenant",
        "tenants", "setup", "config", "settings", "metrics", "health", "healthz", "readyz",
        "monitoring", "grafana", "prometheus", "logs", "webhook", "webhooks", "callback",
        "agcrm", "allgather", "all-gather", "crm", "calendar", "google", "gcal",
        // Mail and DNS conventions.
        "mail", "email", "webmail", "smtp", "imap", "pop", "pop3", "mx", "ns", "ns1", "ns2",
        "ns3", "ns4", "dns", "autodiscover", "autoconfig", "postmaster", "hostmaster",
        "webmaster", "abuse", "noc", "ftp", "sftp", "ssh", "vpn", "wpad", "isatap", "ldap",
        // Environments and infrastructure.
        "localhost", "local", "test", "testing", "dev", "develop", "development", "stage",
        "staging", "prod", "production", "demo", "sandbox", "preview", "beta", "alpha",
        "internal", "intranet", "private", "public", "root", "system", "sys", "server", "host",
        "gateway", "proxy", "edge", "origin", "cache", "db", "database", "git", "ci",
        "registry", "mirror", "backup", "example", "invalid", "null", "undefined", "default",
    ]

    static func validate(_ text: String) throws(TenantSlugError) {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { throw TenantSlugError(rule: .empty, value: text) }
        if bytes.contains(where: { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }),
           bytes.allSatisfy({ isSlugByte($0) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) {
            throw TenantSlugError(rule: .uppercase, value: text)
        }
        guard bytes.allSatisfy(isSlugByte) else { throw TenantSlugError(rule: .invalidCharacter, value: text) }
        guard bytes.count >= 3 else { throw TenantSlugError(rule: .tooShort, value: text) }
        guard bytes.count <= 63 else { throw TenantSlugError(rule: .tooLong, value: text) }
        guard bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-") else {
            throw TenantSlugError(rule: .hyphenAtEdge, value: text)
        }
        if bytes.count >= 4, bytes[2] == UInt8(ascii: "-"), bytes[3] == UInt8(ascii: "-") {
            throw TenantSlugError(rule: .hyphensAtPositions3And4, value: text)
        }
        guard !reservedNames.contains(text) else { throw TenantSlugError(rule: .reservedName, value: text) }
    }

    private static func isSlugByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || byte == UInt8(ascii: "-")
    }
}

/// Which slug rule was broken; raw values are the stable names API errors report.
public enum TenantSlugRule: String, Sendable, Hashable, CaseIterable, Codable {
    case empty
    case uppercase
    case invalidCharacter = "invalid_character"
    case tooShort = "too_short"
    case tooLong = "too_long"
    case hyphenAtEdge = "hyphen_at_edge"
    case hyphensAtPositions3And4 = "hyphens_at_positions_3_4"
    case reservedName = "reserved_name"

    public var message: LocalizedText {
        switch self {
        case .empty:
            LocalizedText(ja: "スラッグを入力してください。", en: "Enter a slug.")
        case .uppercase:
            LocalizedText(
                ja: "スラッグに大文字は使用できません。半角英小文字で入力してください。",
                en: "A slug cannot contain upper-case letters. Use lower-case letters."
            )
        case .invalidCharacter:
            LocalizedText(
                ja: "スラッグに使用できるのは半角英小文字(a-z)、数字(0-9)、ハイフン(-)のみです。",
                en: "A slug may contain only lower-case letters (a-z), digits (0-9) and hyphens (-)."
            )
        case .tooShort:
            LocalizedText(ja: "スラッグは3文字以上で入力してください。", en: "A slug must be at least 3 characters long.")
        case .tooLong:
            LocalizedText(ja: "スラッグは63文字以内で入力してください。", en: "A slug must be at most 63 characters long.")
        case .hyphenAtEdge:
            LocalizedText(
                ja: "スラッグの先頭と末尾にハイフン(-)は使用できません。",
                en: "A slug cannot start or end with a hyphen (-)."
            )
        case .hyphensAtPositions3And4:
            LocalizedText(
                ja: "スラッグの3文字目と4文字目を続けてハイフン(--)にすることはできません(「xn--」などの予約された形式のため)。",
                en: "A slug cannot have hyphens in both the 3rd and 4th positions (\"--\"), a form DNS reserves for names such as \"xn--\"."
            )
        case .reservedName:
            LocalizedText(
                ja: "このスラッグはシステムで予約されているため使用できません。別の名前を指定してください。",
                en: "This slug is reserved by the system. Choose another name."
            )
        }
    }
}

/// A refused slug: which rule, the value, and a message for people.
public struct TenantSlugError: Error, Sendable, Hashable {
    public let rule: TenantSlugRule
    public let value: String

    public init(rule: TenantSlugRule, value: String) {
        self.rule = rule
        self.value = value
    }

    /// The stable snake_case name of the rule.
    public var ruleName: String { rule.rawValue }

    public var message: LocalizedText { rule.message }

    public func message(in language: Language) -> String { rule.message.text(in: language) }
}
