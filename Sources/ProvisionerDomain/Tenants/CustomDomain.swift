import Foundation

/// A host name the support desk passes when a tenant runs the CRM under its own
/// domain (`crm.acme.co.jp`), validated and normalised to the form Google and DNS use.
/// The same validation guards `PROVISIONER_CLOUD_DOMAIN` at start-up.
///
/// Normalisation (decided so that the desk can paste what the customer wrote):
/// - surrounding white space is dropped (a paste accident, never part of a name);
/// - the text is NFKC-normalised, so full-width letters, digits and dots typed with a
///   Japanese IME (`ｃｒｍ．ａｃｍｅ．ｊｐ`, `。`) become their ASCII forms;
/// - upper-case letters are lower-cased: DNS names are case-insensitive, and the issued
///   value must have one spelling because Google compares redirect URIs exactly;
/// - each Unicode label becomes `xn--` + RFC 3492 Punycode.
/// This is the practical subset of UTS 46 that matters for Japanese names; the
/// normalised name is returned so the desk sees exactly what will be issued.
///
/// Refused: scheme, userinfo, port, path, query, fragment, `*`, IP addresses, a
/// trailing dot, empty labels, characters outside letters/digits/hyphen, hyphens at
/// a label's edge or at positions 3-4 (except valid `xn--` labels), labels over 63 or
/// names over 253 octets, single-label names, a top-level domain not on the Public
/// Suffix List, and names that are themselves public suffixes (`co.jp`).
public struct CustomDomain: Sendable, Hashable, CustomStringConvertible {
    /// Lower-case ASCII, labels in `xn--` form where they were Unicode, no trailing dot.
    public let name: String

    /// Inputs longer than this are refused before any work, so that a huge value
    /// cannot make normalisation or Punycode slow.
    static let maximumInputLength = 1024

    public init(validating input: String) throws(CustomDomainError) {
        name = try Self.normalize(input)
    }

    public var description: String { name }

    /// The labels, top-level domain last.
    public var labels: [String] { name.split(separator: ".").map(String.init) }

    /// Whether this name equals `other` or is a subdomain of it.
    public func isSameOrSubdomain(of other: CustomDomain) -> Bool {
        name == other.name || name.hasSuffix("." + other.name)
    }

    static func normalize(_ input: String) throws(CustomDomainError) -> String {
        func refuse(_ rule: CustomDomainRule) -> CustomDomainError { CustomDomainError(rule: rule, value: input) }

        guard input.utf8.count <= maximumInputLength else { throw refuse(.nameTooLong) }
        var text = input.precomposedStringWithCompatibilityMapping
            .replacingOccurrences(of: "\u{3002}", with: ".") // ideographic full stop
        text = String(text.unicodeScalars.drop(while: isTrimmable).reversed().drop(while: isTrimmable).reversed()
            .map(Character.init))
        text = text.lowercased()

        guard !text.isEmpty else { throw refuse(.empty) }
        if text.contains("://") || text.hasPrefix("http:") || text.hasPrefix("https:") { throw refuse(.schemePresent) }
        if text.contains("@") { throw refuse(.userinfoPresent) }
        if text.contains("/") || text.contains("\\") { throw refuse(.pathPresent) }
        if text.contains("?") { throw refuse(.queryPresent) }
        if text.contains("#") { throw refuse(.fragmentPresent) }
        if text.contains("*") { throw refuse(.wildcardPresent) }
        if text.hasPrefix("[") { throw refuse(.ipAddress) }
        if text.contains(":") {
            throw refuse(IPAddressLiteral.parseIPv6(Substring(text)) != nil ? .ipAddress : .portPresent)
        }
        if text.hasSuffix(".") { throw refuse(.trailingDot) }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        if labels.contains(where: \.isEmpty) { throw refuse(.emptyLabel) }
        if IPAddressLiteral.classify(text) != nil { throw refuse(.ipAddress) }

        var asciiLabels: [String] = []
        for label in labels {
            asciiLabels.append(try asciiLabel(label, refuse: refuse))
        }
        let name = asciiLabels.joined(separator: ".")
        guard name.utf8.count <= 253 else { throw refuse(.nameTooLong) }
        guard asciiLabels.count >= 2 else { throw refuse(.singleLabel) }
        guard PublicSuffixList.isKnownTopLevelDomain(asciiLabels[asciiLabels.count - 1]) else {
            throw refuse(.topLevelDomainUnknown)
        }
        guard !PublicSuffixList.isPublicSuffix(name) else { throw refuse(.publicSuffix) }
        return name
    }

    /// One label in its ASCII form, or the rule it breaks.
    private static func asciiLabel(
        _ label: Substring,
        refuse: (CustomDomainRule) -> CustomDomainError
    ) throws(CustomDomainError) -> String {
        let scalars = label.unicodeScalars
        guard scalars.allSatisfy({ isLDH($0) || (!$0.isASCII && $0.properties.isXIDContinue) }) else {
            throw refuse(.notAHostName)
        }
        if label.hasPrefix("-") || label.hasSuffix("-") { throw refuse(.hyphenAtLabelEdge) }
        let ascii: String
        if scalars.allSatisfy(\.isASCII) {
            ascii = String(label)
            let bytes = Array(ascii.utf8)
            if bytes.count >= 4, bytes[2] == UInt8(ascii: "-"), bytes[3] == UInt8(ascii: "-") {
                guard ascii.hasPrefix(Punycode.acePrefix) else { throw refuse(.hyphensAtPositions3And4) }
                // A valid A-label decodes to something non-ASCII that encodes back to itself.
                let payload = String(ascii.dropFirst(Punycode.acePrefix.count))
                guard let decoded = Punycode.decode(payload),
                      !decoded.unicodeScalars.allSatisfy(\.isASCII),
                      Punycode.encode(decoded) == payload,
                      decoded.unicodeScalars.allSatisfy({ isLDH($0) || (!$0.isASCII && $0.properties.isXIDContinue) })
                else { throw refuse(.invalidPunycode) }
            }
        } else {
            guard label.utf8.count <= 1024, let encoded = Punycode.asciiLabel(String(label)) else {
                throw refuse(.labelTooLong)
            }
            ascii = encoded
        }
        guard ascii.utf8.count <= 63 else { throw refuse(.labelTooLong) }
        return ascii
    }

    /// Letters, digits, hyphen: the only ASCII a host-name label may hold.
    private static func isLDH(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "0"..."9", "-": true
        default: false
        }
    }

    private static func isTrimmable(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace
    }
}
