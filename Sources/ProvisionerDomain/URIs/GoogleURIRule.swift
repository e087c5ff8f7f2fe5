/// One of Google's published rules for the redirect URIs and JavaScript origins of an
/// OAuth client ("Redirect URI validation rules" in Google's OAuth 2.0 web-server
/// guide). Raw values are the stable snake_case names that API
/// errors (`uri_rule_violation`) and findings report.
///
/// Messages are written for the tenant's admin and the support desk: what is wrong
/// and what to enter instead, in the tone of a Japanese SaaS help page.
public enum GoogleURIRule: String, Sendable, Hashable, CaseIterable, Codable {
    /// Not `scheme://...` at all (a bare host, a relative path, an empty string).
    case notAbsoluteURI = "not_absolute_uri"
    /// Not `https` (only localhost may use `http`).
    case schemeNotHTTPS = "scheme_not_https"
    /// No host after `//`.
    case hostMissing = "host_missing"
    /// The host contains characters a host name cannot have, or an empty label.
    case hostInvalid = "host_invalid"
    /// The port is not a number from 0 to 65535.
    case portInvalid = "port_invalid"
    /// The host is an IP address (only loopback addresses are allowed).
    case rawIPHost = "raw_ip_host"
    /// The host's top-level domain is not on the Public Suffix List.
    case topLevelDomainUnknown = "top_level_domain_unknown"
    /// The host is `googleusercontent.com` or one of its subdomains.
    case googleusercontentHost = "googleusercontent_host"
    /// `user:password@` before the host.
    case userinfoPresent = "userinfo_present"
    /// `/..` or `\..`, also percent-encoded.
    case pathTraversal = "path_traversal"
    /// A `#fragment`.
    case fragmentPresent = "fragment_present"
    /// A `*` anywhere.
    case wildcardPresent = "wildcard_present"
    /// Control characters, spaces, DEL or anything outside printable ASCII (full-width characters too).
    case nonPrintableCharacter = "non_printable_character"
    /// `%` not followed by two hexadecimal digits.
    case invalidPercentEncoding = "invalid_percent_encoding"
    /// An encoded NUL character: `%00`, or its overlong UTF-8 form `%C0%80`.
    case nullCharacter = "null_character"
    /// An origin with a path (`https://host/path`).
    case originHasPath = "origin_has_path"
    /// An origin with a query (`https://host?x`).
    case originHasQuery = "origin_has_query"
    /// An origin ending in `/`.
    case originTrailingSlash = "origin_trailing_slash"

    public var message: LocalizedText {
        switch self {
        case .notAbsoluteURI:
            LocalizedText(
                ja: "URIの形式が正しくありません。「https://」から始まる完全なURIを入力してください。",
                en: "This is not a complete URI. Enter a full URI starting with \"https://\"."
            )
        case .schemeNotHTTPS:
            LocalizedText(
                ja: "URIは「https://」で始まる必要があります。「http://」が使えるのは localhost の場合のみです。",
                en: "The URI must start with \"https://\". Only localhost may use \"http://\"."
            )
        case .hostMissing:
            LocalizedText(
                ja: "URIにホスト名(ドメイン名)がありません。「https://」の後にドメイン名を入力してください。",
                en: "The URI has no host name. Enter a domain name after \"https://\"."
            )
        case .hostInvalid:
            LocalizedText(
                ja: "ホスト名に使用できない文字が含まれているか、ドメイン名の形式が正しくありません(「..」や末尾の「.」など)。",
                en: "The host name contains characters that are not allowed, or is not a well-formed domain name (e.g. \"..\" or a trailing \".\")."
            )
        case .portInvalid:
            LocalizedText(
                ja: "ポート番号が正しくありません。ポート番号は0〜65535の数字で指定してください。",
                en: "The port is not valid. A port must be a number from 0 to 65535."
            )
        case .rawIPHost:
            LocalizedText(
                ja: "ホストにIPアドレスは使用できません(localhost のループバックアドレスを除く)。ドメイン名を使用してください。",
                en: "The host cannot be an IP address (except localhost loopback addresses). Use a domain name."
            )
        case .topLevelDomainUnknown:
            LocalizedText(
                ja: "ドメインのトップレベルドメイン(「.jp」「.com」など)が Public Suffix List に登録されていないため、Google に登録できません。",
                en: "The host's top-level domain (such as \".jp\" or \".com\") is not on the Public Suffix List, so Google does not accept it."
            )
        case .googleusercontentHost:
            LocalizedText(
                ja: "googleusercontent.com のドメインは Google の規則により使用できません。",
                en: "Google does not allow googleusercontent.com domains."
            )
        case .userinfoPresent:
            LocalizedText(
                ja: "URIにユーザー名やパスワード(「ユーザー名@」の部分)を含めることはできません。",
                en: "The URI cannot contain a user name or password (the \"user@\" part)."
            )
        case .pathTraversal:
            LocalizedText(
                ja: "URIに「/..」や「\\..」(またはそれらをエンコードした文字列)を含めることはできません。",
                en: "The URI cannot contain \"/..\" or \"\\..\", nor their percent-encoded forms."
            )
        case .fragmentPresent:
            LocalizedText(
                ja: "URIに「#」以降の部分(フラグメント)を含めることはできません。",
                en: "The URI cannot contain a fragment (the part from \"#\")."
            )
        case .wildcardPresent:
            LocalizedText(
                ja: "URIにワイルドカード「*」は使用できません。URIは1つずつ正確に入力してください。",
                en: "The URI cannot contain the wildcard \"*\". Enter each URI exactly."
            )
        case .nonPrintableCharacter:
            LocalizedText(
                ja: "URIに空白、改行、制御文字、全角文字などの使用できない文字が含まれています。前後の空白も含め、半角英数字と記号のみで入力してください。",
                en: "The URI contains characters that are not allowed, such as spaces, line breaks, control characters or non-ASCII (full-width) characters. Check for leading or trailing spaces too."
            )
        case .invalidPercentEncoding:
            LocalizedText(
                ja: "URIに不正なパーセントエンコーディングが含まれています。「%」の後には16進数2桁(例: %20)が必要です。",
                en: "The URI contains an invalid percent-encoding. \"%\" must be followed by two hexadecimal digits (e.g. %20)."
            )
        case .nullCharacter:
            LocalizedText(
                ja: "URIにNULL文字(%00 など)を含めることはできません。",
                en: "The URI cannot contain an encoded NUL character (such as %00)."
            )
        case .originHasPath:
            LocalizedText(
                ja: "JavaScript 生成元にはパスを含められません。「https://ドメイン名」の形式で入力してください。",
                en: "A JavaScript origin cannot contain a path. Enter it as \"https://domain\"."
            )
        case .originHasQuery:
            LocalizedText(
                ja: "JavaScript 生成元には「?」以降の部分(クエリ)を含められません。",
                en: "A JavaScript origin cannot contain a query (the part from \"?\")."
            )
        case .originTrailingSlash:
            LocalizedText(
                ja: "JavaScript 生成元の末尾に「/」を付けることはできません。末尾の「/」を削除してください。",
                en: "A JavaScript origin cannot end with \"/\". Remove the trailing slash."
            )
        }
    }
}

/// Which list of the OAuth client a value belongs to: the two follow slightly different rules.
public enum GoogleURIKind: String, Sendable, Hashable, CaseIterable, Codable {
    case redirectURI = "redirect_uri"
    case javascriptOrigin = "javascript_origin"
}

/// One broken rule: which rule, the value checked, and (where it helps) the part at fault.
public struct GoogleURIRuleViolation: Sendable, Hashable {
    public let rule: GoogleURIRule
    /// The whole value that was checked, as given.
    public let value: String
    /// The part of the value that breaks the rule (e.g. `user@`, `%zz`, `#top`), when one can be named.
    public let offendingPart: String?

    public init(rule: GoogleURIRule, value: String, offendingPart: String? = nil) {
        self.rule = rule
        self.value = value
        self.offendingPart = offendingPart
    }

    public func message(in language: Language) -> String {
        rule.message.text(in: language)
    }
}
