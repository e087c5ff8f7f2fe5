/// Why a custom domain (or the cloud domain) is not a usable host name. Raw values are
/// the stable snake_case names that a `uri_rule_violation` error reports.
public enum CustomDomainRule: String, Sendable, Hashable, CaseIterable, Codable {
    case empty
    case schemePresent = "scheme_present"
    case userinfoPresent = "userinfo_present"
    case pathPresent = "path_present"
    case queryPresent = "query_present"
    case fragmentPresent = "fragment_present"
    case portPresent = "port_present"
    case wildcardPresent = "wildcard_present"
    case ipAddress = "ip_address"
    case trailingDot = "trailing_dot"
    case emptyLabel = "empty_label"
    /// A character no host name can hold (space, `_`, symbols, control characters).
    case notAHostName = "not_a_host_name"
    case hyphenAtLabelEdge = "hyphen_at_label_edge"
    case hyphensAtPositions3And4 = "hyphens_at_positions_3_4"
    case invalidPunycode = "invalid_punycode"
    case labelTooLong = "label_too_long"
    case nameTooLong = "name_too_long"
    case singleLabel = "single_label"
    case topLevelDomainUnknown = "top_level_domain_unknown"
    /// The name is itself a public suffix (`co.jp`, `github.io`): nobody owns it as a host.
    case publicSuffix = "public_suffix"
    /// The name is the cloud domain or under it: those hosts belong to tenants by slug.
    case underCloudDomain = "under_cloud_domain"

    public var message: LocalizedText {
        switch self {
        case .empty:
            LocalizedText(ja: "ドメイン名を入力してください。", en: "Enter a domain name.")
        case .schemePresent:
            LocalizedText(
                ja: "ドメイン名には「https://」などを付けず、「crm.example.co.jp」の形式で入力してください。",
                en: "Enter the domain name without \"https://\", e.g. \"crm.example.co.jp\"."
            )
        case .userinfoPresent:
            LocalizedText(
                ja: "ドメイン名に「@」やユーザー名を含めることはできません。",
                en: "A domain name cannot contain \"@\" or a user name."
            )
        case .pathPresent:
            LocalizedText(
                ja: "ドメイン名に「/」以降のパスを含めることはできません。ドメイン名のみを入力してください。",
                en: "A domain name cannot contain a path (\"/...\"). Enter the domain name only."
            )
        case .queryPresent:
            LocalizedText(
                ja: "ドメイン名に「?」以降の部分を含めることはできません。",
                en: "A domain name cannot contain a query (\"?...\")."
            )
        case .fragmentPresent:
            LocalizedText(
                ja: "ドメイン名に「#」以降の部分を含めることはできません。",
                en: "A domain name cannot contain a fragment (\"#...\")."
            )
        case .portPresent:
            LocalizedText(
                ja: "ドメイン名にポート番号(「:443」など)を含めることはできません。",
                en: "A domain name cannot contain a port (such as \":443\")."
            )
        case .wildcardPresent:
            LocalizedText(
                ja: "ドメイン名にワイルドカード「*」は使用できません。",
                en: "A domain name cannot contain the wildcard \"*\"."
            )
        case .ipAddress:
            LocalizedText(
                ja: "IPアドレスは指定できません。Google の規則により、ドメイン名を指定する必要があります。",
                en: "An IP address cannot be used: Google requires a domain name."
            )
        case .trailingDot:
            LocalizedText(
                ja: "ドメイン名の末尾の「.」を削除してください。",
                en: "Remove the trailing \".\" from the domain name."
            )
        case .emptyLabel:
            LocalizedText(
                ja: "ドメイン名の形式が正しくありません(「..」や先頭の「.」は使用できません)。",
                en: "The domain name is malformed (it cannot contain \"..\" or start with \".\")."
            )
        case .notAHostName:
            LocalizedText(
                ja: "ドメイン名に使用できない文字が含まれています。使用できるのは英字、数字、ハイフン(-)、ピリオド(.)のみです(日本語ドメインは自動で変換されます)。",
                en: "The domain name contains characters that are not allowed. Use letters, digits, hyphens (-) and dots (.) only (internationalised names are converted automatically)."
            )
        case .hyphenAtLabelEdge:
            LocalizedText(
                ja: "ドメイン名の各部分(「.」で区切られた部分)の先頭と末尾にハイフン(-)は使用できません。",
                en: "No part of a domain name (between dots) can start or end with a hyphen (-)."
            )
        case .hyphensAtPositions3And4:
            LocalizedText(
                ja: "ドメイン名の各部分の3文字目と4文字目を続けてハイフン(--)にすることはできません(「xn--」で始まる国際化ドメイン名を除く)。",
                en: "No part of a domain name can have hyphens in its 3rd and 4th positions, except internationalised labels starting with \"xn--\"."
            )
        case .invalidPunycode:
            LocalizedText(
                ja: "「xn--」で始まる国際化ドメイン名の表記が正しくありません。",
                en: "A label starting with \"xn--\" is not valid Punycode."
            )
        case .labelTooLong:
            LocalizedText(
                ja: "ドメイン名の各部分(「.」で区切られた部分)は63文字以内である必要があります(日本語ドメインは変換後の長さ)。",
                en: "Each part of a domain name (between dots) must be at most 63 characters (after conversion, for internationalised names)."
            )
        case .nameTooLong:
            LocalizedText(
                ja: "ドメイン名が長すぎます。全体で253文字以内である必要があります。",
                en: "The domain name is too long: at most 253 characters in all."
            )
        case .singleLabel:
            LocalizedText(
                ja: "「crm.example.co.jp」のように、「.」を含む完全なドメイン名を入力してください。",
                en: "Enter a fully qualified domain name with at least one dot, e.g. \"crm.example.co.jp\"."
            )
        case .topLevelDomainUnknown:
            LocalizedText(
                ja: "トップレベルドメイン(「.jp」「.com」など)が Public Suffix List に登録されていないため、Google に登録できません。",
                en: "The top-level domain (such as \".jp\" or \".com\") is not on the Public Suffix List, so Google does not accept it."
            )
        case .publicSuffix:
            LocalizedText(
                ja: "「co.jp」のような公開サフィックスそのものは指定できません。お客様が所有するドメイン名を指定してください。",
                en: "A public suffix such as \"co.jp\" cannot be used. Use a domain name the customer owns."
            )
        case .underCloudDomain:
            LocalizedText(
                ja: "クラウド版の共通ドメイン配下のドメインはカスタムドメインとして指定できません。カスタムドメインを指定せずに発行してください。",
                en: "A domain under the cloud edition's shared domain cannot be a custom domain. Issue the URIs without a custom domain."
            )
        }
    }
}

/// A refused domain name: which rule, the value as given, and a message for people.
public struct CustomDomainError: Error, Sendable, Hashable {
    public let rule: CustomDomainRule
    public let value: String

    public init(rule: CustomDomainRule, value: String) {
        self.rule = rule
        self.value = value
    }

    public var message: LocalizedText { rule.message }

    public func message(in language: Language) -> String { rule.message.text(in: language) }
}
