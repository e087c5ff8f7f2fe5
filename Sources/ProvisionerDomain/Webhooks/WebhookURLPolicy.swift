/// Why a webhook URL is refused. `code` is a stable problem code (snake_case) for the API,
/// `detail` an English sentence that names the reason, for the person who typed the URL.
public enum WebhookURLRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    /// Not an absolute `scheme://host/...` URL we can parse, or with characters that are not
    /// allowed where they stand (spaces, control characters, `\`, bad `%` escapes, bad port).
    case malformed
    /// Over 2048 bytes.
    case tooLong
    /// Not https (or http when the policy allows it); the scheme as written, lower-cased.
    case schemeNotAllowed(String)
    /// `user:password@` in the URL: it would be sent along and logged.
    case userInfo
    /// `#...`: never sent to the server, so it can only mislead.
    case fragment
    case hostMissing
    /// The host is, or resolves to, an address that is not public.
    case privateAddress(host: String, address: String, kind: WebhookAddressKind)
    case unresolvable(host: String)

    public var code: String {
        switch self {
        case .malformed, .tooLong, .userInfo, .fragment, .hostMissing: "webhook_url_invalid"
        case .schemeNotAllowed: "webhook_url_scheme"
        case .privateAddress: "webhook_url_private"
        case .unresolvable: "webhook_url_unresolvable"
        }
    }

    public var detail: String {
        switch self {
        case .malformed:
            "The webhook URL is not a valid absolute URL such as https://hooks.example.com/provisioner."
        case .tooLong:
            "The webhook URL is longer than \(WebhookURLPolicy.maximumLength) bytes."
        case .schemeNotAllowed(let scheme):
            "The webhook URL uses the scheme \"\(scheme)\"; webhooks are only sent to https URLs."
        case .userInfo:
            "The webhook URL must not contain a user name or password before the host (user:password@)."
        case .fragment:
            "The webhook URL must not contain a fragment (#...), which is never sent to the server."
        case .hostMissing:
            "The webhook URL has no host."
        case .privateAddress(let host, let address, let kind):
            host == address
                ? "The webhook URL's host \(address) is \(kind.phrase); webhooks are only sent to public internet addresses."
                : "The webhook URL's host \(host) resolves to \(address), \(kind.phrase); webhooks are only sent to public internet addresses."
        case .unresolvable(let host):
            "The webhook URL's host \(host) does not resolve to any address."
        }
    }

    public var description: String { "\(code): \(detail)" }
}

/// A webhook URL as accepted: what the worker sends to, in one normalised spelling.
public struct WebhookURL: Sendable, Hashable {
    /// The URL as accepted: scheme and host lower-cased, an IDN host in its `xn--` form, an
    /// IP literal in canonical form (`0x7f.1` -> `127.0.0.1`, IPv6 per RFC 5952), a port
    /// without leading zeros; path and query exactly as written.
    public let text: String
    /// "https" or "http".
    public let scheme: String
    /// Lower case; IDN labels as A-labels; IPv6 without brackets.
    public let host: String
    /// Explicit or the scheme's default.
    public let port: Int
    /// When the host is an IP literal: its 4 or 16 bytes.
    public let hostAddress: [UInt8]?
}

/// Which webhook URLs the service will send to.
///
/// `parse` checks what the text alone can tell (run when an endpoint is saved, and again by
/// the worker before each delivery); `check` decides on the addresses DNS gave, right before
/// connecting, so that a name re-pointed at 127.0.0.1 after it was saved is still refused.
/// The worker must connect to one of the addresses it checked, not resolve again.
public struct WebhookURLPolicy: Sendable, Hashable {
    public static let maximumLength = 2048

    /// Plain http, for development receivers.
    public var allowHTTP: Bool
    /// Loopback, private and every other non-public address, for development and for
    /// receivers on the operator's own network.
    public var allowPrivate: Bool

    public init(allowHTTP: Bool = false, allowPrivate: Bool = false) {
        self.allowHTTP = allowHTTP
        self.allowPrivate = allowPrivate
    }

    /// Syntax and scheme; an IP literal host is classified here too (no DNS needed).
    /// A name (`localhost` included) is left to `check`, which sees what it resolves to.
    public func parse(_ text: String) throws(WebhookURLRefusal) -> WebhookURL {
        guard text.utf8.count <= Self.maximumLength else { throw .tooLong }
        // Spaces, control characters and `\` are never part of a URL we send: a browser
        // would strip or reinterpret them, and the host would no longer be the one checked.
        guard !text.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\\") }),
              let components = URIComponents.parse(text)
        else { throw .malformed }
        // The scheme first, so that `mailto:` or `javascript:` is told what is wrong with it.
        let scheme = components.scheme.lowercased()
        guard scheme == "https" || (scheme == "http" && allowHTTP) else { throw .schemeNotAllowed(scheme) }
        guard components.authority != nil else { throw .malformed }
        guard components.userinfo == nil else { throw .userInfo }
        guard components.fragment == nil else { throw .fragment }
        guard components.junkAfterHost == nil else { throw .malformed }
        guard !components.host.isEmpty else { throw .hostMissing }
        guard Self.isValidPathOrQuery(components.path.utf8, allowingQuestionMark: false),
              Self.isValidPathOrQuery((components.query ?? "").utf8, allowingQuestionMark: true)
        else { throw .malformed }

        var explicitPort: Int?
        if let portText = components.port, !portText.isEmpty {
            guard portText.utf8.count <= 5, portText.utf8.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }),
                  let value = Int(portText), (1...65535).contains(value) else { throw .malformed }
            explicitPort = value
        }
        let (host, address) = try Self.normalizedHost(components.host)
        var normalized = scheme + "://" + (address?.count == 16 ? "[" + host + "]" : host)
        if let explicitPort { normalized += ":" + String(explicitPort) }
        normalized += components.path
        if let query = components.query { normalized += "?" + query }

        let url = WebhookURL(
            text: normalized, scheme: scheme, host: host,
            port: explicitPort ?? (scheme == "https" ? 443 : 80), hostAddress: address
        )
        if let address { try checkAddress(address, host: host) }
        return url
    }

    /// After DNS: every address must be allowed, so a name that resolves to both public and
    /// private addresses is refused (the connection could land on either). An empty list is
    /// `unresolvable`, except for an IP-literal URL, whose own address is always checked.
    public func check(_ url: WebhookURL, resolved addresses: [[UInt8]]) throws(WebhookURLRefusal) {
        if let own = url.hostAddress { try checkAddress(own, host: url.host) }
        guard !addresses.isEmpty || url.hostAddress != nil else { throw .unresolvable(host: url.host) }
        for address in addresses { try checkAddress(address, host: url.host) }
    }

    private func checkAddress(_ address: [UInt8], host: String) throws(WebhookURLRefusal) {
        guard !allowPrivate else { return }
        let kind = WebhookAddressKind.classify(address)
        guard kind.isAllowedWithoutOptIn else {
            throw .privateAddress(host: host, address: WebhookAddressText.format(address), kind: kind)
        }
    }

    /// RFC 3986 `pchar`s and `/` (and `?` in a query), with well-formed `%XX` escapes: the
    /// path is sent as written, so it must already be something every HTTP client accepts.
    static func isValidPathOrQuery(_ bytes: String.UTF8View, allowingQuestionMark: Bool) -> Bool {
        var pendingHexDigits = 0
        for byte in bytes {
            if pendingHexDigits > 0 {
                guard IPAddressLiteral.isHexDigit(byte) else { return false }
                pendingHexDigits -= 1
                continue
            }
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"):
                continue
            case UInt8(ascii: "%"):
                pendingHexDigits = 2
            default:
                // unreserved marks, sub-delims, ":", "@", "/"
                guard "-._~!$&'()*+,;=:@/".utf8.contains(byte)
                    || (allowingQuestionMark && byte == UInt8(ascii: "?")) else { return false }
            }
        }
        return pendingHexDigits == 0
    }

    /// The host in its one spelling, and its bytes when it is an IP literal.
    static func normalizedHost(_ written: String) throws(WebhookURLRefusal) -> (String, [UInt8]?) {
        if written.hasPrefix("[") {
            // IPv6 only: a zone (`%25eth0`) names an interface of this machine, and IPvFuture
            // has no meaning to any HTTP client.
            guard written.hasSuffix("]"), written.utf8.count >= 2,
                  let groups = IPAddressLiteral.parseIPv6(written.dropFirst().dropLast())
            else { throw .malformed }
            let bytes = WebhookAddressText.bytes(ofGroups: groups)
            return (WebhookAddressText.format(bytes), bytes)
        }
        guard !written.utf8.contains(UInt8(ascii: "%")) else { throw .malformed }
        var host = written.lowercased()
        // `example.com.` and `example.com` are the same name; keep one spelling.
        if host.utf8.count > 1, host.hasSuffix(".") { host.removeLast() }
        // WHATWG reads `127.1`, `0x7f.0.0.1` and `2130706433` as IPv4, and so does the C
        // resolver (inet_aton): classify them as the address they are, and write it plainly.
        if IPAddressLiteral.endsInANumber(host) {
            guard let value = IPAddressLiteral.parseIPv4(host) else { throw .malformed }
            let bytes = WebhookAddressText.bytes(ofIPv4: value)
            return (WebhookAddressText.format(bytes), bytes)
        }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        var ascii: [String] = []
        ascii.reserveCapacity(labels.count)
        for label in labels { ascii.append(try asciiLabel(label)) }
        let name = ascii.joined(separator: ".")
        guard name.utf8.count <= 253 else { throw .malformed }
        return (name, nil)
    }

    /// One label as DNS sees it: letters, digits, `-` and `_` (some service names use it),
    /// 1 to 63 bytes; a Unicode label becomes `xn--` Punycode. Characters that a full UTS 46
    /// mapping would change (full-width letters, `ß`, compatibility forms) are refused rather
    /// than guessed at, since Foundation offers no IDNA mapping on Linux.
    private static func asciiLabel(_ label: Substring) throws(WebhookURLRefusal) -> String {
        guard !label.isEmpty, label.utf8.count <= 252 else { throw .malformed }
        let ascii: String
        if label.utf8.allSatisfy({ $0 < 0x80 }) {
            guard label.utf8.allSatisfy(isNameByte) else { throw .malformed }
            ascii = String(label)
            if ascii.hasPrefix(Punycode.acePrefix) {
                let payload = String(ascii.dropFirst(Punycode.acePrefix.count))
                // A real A-label decodes to something non-ASCII that encodes back to itself.
                guard let decoded = Punycode.decode(payload), !decoded.unicodeScalars.allSatisfy(\.isASCII),
                      Punycode.encode(decoded) == payload else { throw .malformed }
            }
        } else {
            let valid = label.unicodeScalars.allSatisfy { scalar in
                scalar.isASCII
                    ? isNameByte(UInt8(scalar.value))
                    : scalar.properties.isXIDContinue && !scalar.properties.changesWhenNFKCCaseFolded
            }
            guard valid, let encoded = Punycode.asciiLabel(String(label)) else { throw .malformed }
            ascii = encoded
        }
        guard ascii.utf8.count <= 63 else { throw .malformed }
        return ascii
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "a") < 26 || byte &- UInt8(ascii: "0") < 10
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
    }
}
