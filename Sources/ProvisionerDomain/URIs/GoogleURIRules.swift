/// Checks a redirect URI or JavaScript origin against Google's published rules for
/// OAuth clients, so that the support desk never issues a value
/// Google's console would refuse, and uploads can be explained rule by rule.
///
/// Google's rules, as published ("Redirect URI validation rules"):
/// - scheme: https; only localhost (`localhost`, 127.0.0.0/8, `[::1]`) may use http;
/// - host: no raw IP address, except loopback;
/// - domain: the top-level domain must be on the Public Suffix List; not `googleusercontent.com`;
/// - no userinfo; no path traversal (`/..`, `\..`, or encoded); no fragment;
/// - characters: no `*`, no non-printable ASCII, no invalid percent-encoding, no encoded NUL.
/// Origins follow the same rules and have neither a path, nor a query, nor a trailing `/`.
///
/// Localhost is exactly `localhost` or a loopback IP: Google does not document
/// `*.localhost` names as localhost, so they get no exemption (and `.localhost` is not
/// on the Public Suffix List, so they are refused).
public enum GoogleURIRules {
    /// Every rule `uri` breaks, each once, in a stable order (characters, then structure,
    /// then host, then path). Empty when Google would accept the value. Never traps.
    public static func violations(of uri: String, kind: GoogleURIKind) -> [GoogleURIRuleViolation] {
        var found: [GoogleURIRuleViolation] = []
        func add(_ rule: GoogleURIRule, _ part: String? = nil) {
            guard !found.contains(where: { $0.rule == rule }) else { return }
            found.append(GoogleURIRuleViolation(rule: rule, value: uri, offendingPart: part))
        }

        // Characters first: they can hide inside any component.
        if let bad = uri.unicodeScalars.first(where: { !isPrintableASCII($0) }) {
            add(.nonPrintableCharacter, describe(bad))
        }
        let percent = checkPercentEncodings(Array(uri.utf8))
        if let invalid = percent.firstInvalid { add(.invalidPercentEncoding, invalid) }
        if let null = percent.firstNull { add(.nullCharacter, null) }
        if uri.contains("*") { add(.wildcardPresent, "*") }

        guard let parts = URIComponents.parse(uri) else {
            add(.notAbsoluteURI)
            return found
        }

        // Host.
        var isLocalhost = false
        if parts.authority == nil || parts.host.isEmpty {
            add(.hostMissing)
        } else {
            let host = asciiLowercased(percentDecodedIfValid(parts.host))
            if parts.host.hasPrefix("[") {
                switch IPAddressLiteral.classify(host) {
                case .loopback?: isLocalhost = true
                case .address?: add(.rawIPHost, parts.host)
                case .malformed?, nil: add(.hostInvalid, parts.host)
                }
                if let junk = parts.junkAfterHost { add(.hostInvalid, junk) }
            } else {
                if let bad = host.unicodeScalars.first(where: { isPrintableASCII($0) && !isRegNameScalar($0) }) {
                    add(.hostInvalid, String(bad))
                }
                let labels = host.split(separator: ".", omittingEmptySubsequences: false)
                if labels.contains(where: \.isEmpty) { add(.hostInvalid, parts.host) }
                switch IPAddressLiteral.classify(host) {
                case .loopback?:
                    isLocalhost = true
                case .address?, .malformed?:
                    add(.rawIPHost, parts.host)
                case nil:
                    if host == "localhost" {
                        isLocalhost = true
                    } else if let tld = labels.last(where: { !$0.isEmpty }),
                              PublicSuffixList.isKnownTopLevelDomain(String(tld)) {
                        // On the list.
                    } else {
                        add(.topLevelDomainUnknown, labels.last(where: { !$0.isEmpty }).map(String.init))
                    }
                }
                let bare = host.hasSuffix(".") ? String(host.dropLast()) : host
                if bare == "googleusercontent.com" || bare.hasSuffix(".googleusercontent.com") {
                    add(.googleusercontentHost, parts.host)
                }
            }
            if let userinfo = parts.userinfo { add(.userinfoPresent, userinfo + "@") }
            if let port = parts.port, !isValidPort(port) { add(.portInvalid, ":" + port) }
        }

        // Scheme: https, or http for localhost only.
        switch asciiLowercased(parts.scheme) {
        case "https": break
        case "http" where isLocalhost: break
        default: add(.schemeNotHTTPS, parts.scheme + ":")
        }

        // Path, query and fragment.
        let afterAuthority = parts.path + (parts.query.map { "?" + $0 } ?? "")
        if let traversal = pathTraversal(in: afterAuthority) { add(.pathTraversal, traversal) }
        if let fragment = parts.fragment { add(.fragmentPresent, "#" + fragment) }

        if kind == .javascriptOrigin {
            if parts.path == "/" {
                add(.originTrailingSlash, "/")
            } else if !parts.path.isEmpty {
                add(.originHasPath, parts.path)
            }
            if let query = parts.query { add(.originHasQuery, "?" + query) }
        }
        return found
    }

    /// Whether Google would accept `uri` as a value of this kind.
    public static func isAcceptable(_ uri: String, kind: GoogleURIKind) -> Bool {
        violations(of: uri, kind: kind).isEmpty
    }

    // MARK: - Helpers

    /// Printable ASCII without the space: U+0021 to U+007E.
    static func isPrintableASCII(_ scalar: Unicode.Scalar) -> Bool {
        (0x21...0x7E).contains(scalar.value)
    }

    /// RFC 3986 reg-name: unreserved, sub-delims and `%` (for pct-encoded).
    private static func isRegNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "-", ".", "_", "~",
             "!", "$", "&", "'", "(", ")", "*", "+", ",", ";", "=", "%": true
        default: false
        }
    }

    /// `U+0020` style, so that an invisible character can be shown in a message.
    private static func describe(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    private static func isValidPort(_ port: String) -> Bool {
        guard (1...5).contains(port.utf8.count),
              port.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let value = Int(port) else { return false }
        return value <= 65535
    }

    /// The first malformed `%` sequence and the first encoded NUL (`%00`, overlong `%C0%80`).
    private static func checkPercentEncodings(_ bytes: [UInt8]) -> (firstInvalid: String?, firstNull: String?) {
        var firstInvalid: String?
        var firstNull: String?
        var index = 0
        var previousDecoded: (value: UInt8, end: Int)?
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "%") else {
                index += 1
                continue
            }
            let end = min(index + 3, bytes.count)
            let sequence = bytes[index..<end]
            guard end - index == 3, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) else {
                if firstInvalid == nil { firstInvalid = String(decoding: sequence, as: UTF8.self) }
                index += 1
                continue
            }
            let value = high << 4 | low
            if firstNull == nil {
                if value == 0 {
                    firstNull = String(decoding: sequence, as: UTF8.self)
                } else if value == 0x80, let previous = previousDecoded, previous.value == 0xC0, previous.end == index {
                    firstNull = String(decoding: bytes[(index - 3)..<end], as: UTF8.self)
                }
            }
            previousDecoded = (value, end)
            index = end
        }
        return (firstInvalid, firstNull)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// `/..` or `\..` after decoding `%2E`, `%2F` and `%5C` (any case) once, as Google's
    /// rule covers "their URL encoding" too. Returns the text as written, for the message.
    private static func pathTraversal(in text: String) -> String? {
        let bytes = Array(text.utf8)
        // Decoded bytes, each with the offset where it starts in `bytes`.
        var decoded: [(byte: UInt8, start: Int, end: Int)] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
               let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) {
                let value = high << 4 | low
                if value == UInt8(ascii: ".") || value == UInt8(ascii: "/") || value == UInt8(ascii: "\\") {
                    decoded.append((value, index, index + 3))
                    index += 3
                    continue
                }
            }
            decoded.append((bytes[index], index, index + 1))
            index += 1
        }
        guard decoded.count >= 3 else { return nil }
        for i in 0...(decoded.count - 3) {
            let (a, b, c) = (decoded[i].byte, decoded[i + 1].byte, decoded[i + 2].byte)
            if (a == UInt8(ascii: "/") || a == UInt8(ascii: "\\")), b == UInt8(ascii: "."), c == UInt8(ascii: ".") {
                return String(decoding: bytes[decoded[i].start..<decoded[i + 2].end], as: UTF8.self)
            }
        }
        return nil
    }

    /// Decodes `%XX` in a host when every sequence is valid, so that an encoded host
    /// (`googleusercontent%2Ecom`) is judged by what it means; otherwise as written.
    private static func percentDecodedIfValid(_ text: String) -> String {
        guard text.contains("%") else { return text }
        let bytes = Array(text.utf8)
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%") {
                guard index + 2 < bytes.count, let high = hexValue(bytes[index + 1]),
                      let low = hexValue(bytes[index + 2]) else { return text }
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Lower-cases A-Z only: host names and schemes are case-insensitive in ASCII, and
    /// Unicode case mapping must not turn a refused character into an accepted one.
    static func asciiLowercased(_ text: String) -> String {
        String(decoding: text.utf8.map { ($0 >= 65 && $0 <= 90) ? $0 + 32 : $0 }, as: UTF8.self)
    }
}
