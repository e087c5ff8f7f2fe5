#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What Google's authorization endpoint said about one (client id, redirect URI) pair.
public enum ProbeAnswer: Sendable, Hashable {
    /// A redirect onward to sign-in or consent: Google knows the client and the redirect URI.
    case registered
    /// `redirect_uri_mismatch`: the URI is not registered with the client (yet: Google takes
    /// from minutes to hours to apply a change made in the Cloud Console).
    case redirectURIMismatch
    /// `deleted_client` or `invalid_client` (the name Google gave).
    case clientGone(String)
    /// Nothing usable (5xx, 429, an unknown page, a network error): retried, health unchanged.
    case inconclusive(String)
}

/// The registration probe: a GET of Google's authorization endpoint as a browser would make it
/// (no cookies, redirects not followed), which tells whether a redirect URI is registered with a
/// client without any secret and without a user.
///
/// What the public material showed (searched in Q&A pages and GitHub issues, 2016-2026), and
/// where the rules below are inference:
/// - A mismatch is an error page, `400. That's an error. Error: redirect_uri_mismatch` (older
///   pages) or `Error 400: redirect_uri_mismatch` ("The redirect URI in the request ... does not
///   match the ones authorized for the OAuth client"), with "Request Details" listing the
///   parameters (Stack Overflow 11485271, GitHub issues such as bluevisiontec/GoogleShoppingApi#73,
///   GeraldBrooks/youtube#10).
/// - A deleted client: `401. That's an error. Error: deleted_client. The OAuth client was
///   deleted.` (karadaisy/silo.pub#33, prasmussen/gdrive#646 `Error 401: deleted_client`); an
///   unknown one: `Error: invalid_client. The OAuth client was not found.` (WWBN/AVideo#1571).
/// - Newer flows redirect the browser to `/signin/oauth/error?authError=<base64>` instead of
///   answering the page directly (seen as `error?authError=Cg5k...` in a public repository's notes).
///   `Cg5k` decodes to 0x0A 0x0E 'd': a protobuf string field of 14 bytes starting with "d",
///   which is the length of `deleted_client`. That the parameter is base64(url) of a message
///   containing the error name in clear is INFERENCE from that prefix, hence the bounded decode
///   and byte search rather than a parser.
/// - A registered pair with no Google session redirects onward to sign-in (`/ServiceLogin`,
///   `/v3/signin/identifier`, `/signin/oauth/...`): INFERENCE from the documented flow (consent
///   follows sign-in) and from the advice to test a redirect URI by opening the authorization
///   URL in a browser (Stack Overflow 11485271). Hence "any other 3xx is registered".
/// - 429, 5xx and anything else say nothing about the registration: inconclusive.
public enum RegistrationProbe {
    /// The body bytes looked at, at most.
    public static let maxBodyBytes = 256 * 1024
    /// The `authError` characters decoded, at most.
    static let maxAuthErrorCharacters = 8 * 1024

    public static let deletedClient = "deleted_client"
    public static let invalidClient = "invalid_client"
    public static let redirectURIMismatch = "redirect_uri_mismatch"

    /// The probe URL: the endpoint with `client_id`, `redirect_uri`, `response_type=code` and
    /// `scope=openid`, each percent-encoded per RFC 3986 (only unreserved characters left as they
    /// are), appended with `&` when the endpoint has a query already.
    public static func requestURL(authorizationEndpoint: String, clientID: String, redirectURI: String) -> String {
        let query = [
            ("client_id", clientID), ("redirect_uri", redirectURI), ("response_type", "code"), ("scope", "openid"),
        ].map { "\(percentEncode($0.0))=\(percentEncode($0.1))" }.joined(separator: "&")
        var base = authorizationEndpoint
        if let hash = base.firstIndex(of: "#") { base = String(base[..<hash]) }
        if !base.contains("?") { return base + "?" + query }
        if base.hasSuffix("?") || base.hasSuffix("&") { return base + query }
        return base + "&" + query
    }

    /// RFC 3986 section 2.3: ALPHA / DIGIT / "-" / "." / "_" / "~" stay, every other byte of
    /// the UTF-8 is %XX (upper case).
    public static func percentEncode(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0x0F)]))
            }
        }
        return out
    }

    public static func classify(status: Int, location: String?, body: [UInt8]) -> ProbeAnswer {
        switch status {
        case 300...399:
            guard let location, !location.isEmpty else { return .inconclusive("answered \(status) without a Location") }
            if let answer = errorPageAnswer(location) { return answer }
            return .registered
        case 429:
            return .inconclusive("answered 429 (rate limited)")
        case 500...599:
            return .inconclusive("answered \(status)")
        case 200, 400...499:
            let bounded = body.prefix(maxBodyBytes)
            if let name = firstErrorName(in: bounded, names: [deletedClient, invalidClient]) { return .clientGone(name) }
            if firstErrorName(in: bounded, names: [redirectURIMismatch]) != nil { return .redirectURIMismatch }
            return .inconclusive("answered \(status) naming no known error")
        default:
            return .inconclusive("answered \(status)")
        }
    }

    /// When `location` is Google's OAuth error page (an `authError` parameter, or a path ending
    /// in `/oauth/error`), what it names; nil when it is not an error page.
    static func errorPageAnswer(_ location: String) -> ProbeAnswer? {
        let (path, query) = splitLocation(location)
        let authError = queryValue(query, name: "authError")
        let isErrorPage = authError != nil || path.lowercased().hasSuffix("/oauth/error") || path.lowercased().hasSuffix("/oauth/error/")
        guard isErrorPage else { return nil }
        var haystack: [UInt8] = Array(percentDecode(query).utf8.prefix(maxAuthErrorCharacters))
        if let authError, let decoded = base64Decode(String(authError.prefix(maxAuthErrorCharacters))) {
            haystack += decoded
        }
        if let name = firstErrorName(in: haystack[...], names: [deletedClient, invalidClient]) { return .clientGone(name) }
        if firstErrorName(in: haystack[...], names: [redirectURIMismatch]) != nil { return .redirectURIMismatch }
        return .inconclusive("redirected to an OAuth error page naming no known error")
    }

    static func splitLocation(_ location: String) -> (path: String, query: String) {
        var rest = Substring(location)
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        guard let mark = rest.firstIndex(of: "?") else { return (String(rest), "") }
        return (String(rest[..<mark]), String(rest[rest.index(after: mark)...]))
    }

    static func queryValue(_ query: String, name: String) -> String? {
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts[0] == name { return parts.count > 1 ? percentDecode(String(parts[1])) : "" }
        }
        return nil
    }

    static func percentDecode(_ text: String) -> String {
        let plus = text.replacingOccurrences(of: "+", with: " ")
        return plus.removingPercentEncoding ?? plus
    }

    /// base64 or base64url, padded or not; nil when it is neither.
    static func base64Decode(_ text: String) -> [UInt8]? {
        var normalized = String(text.filter { !$0.isWhitespace }.map { $0 == "-" ? "+" : ($0 == "_" ? "/" : $0) })
        while normalized.hasSuffix("=") { normalized.removeLast() }
        let remainder = normalized.utf8.count % 4
        if remainder == 1 { normalized.removeLast() }
        else if remainder > 1 { normalized += String(repeating: "=", count: 4 - remainder) }
        guard let data = Data(base64Encoded: normalized) else { return nil }
        return Array(data)
    }

    /// The first of `names` found in `bytes`, ASCII case-insensitively.
    static func firstErrorName(in bytes: ArraySlice<UInt8>, names: [String]) -> String? {
        names.first { contains(bytes, Array($0.utf8)) }
    }

    static func contains(_ bytes: ArraySlice<UInt8>, _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, bytes.count >= needle.count else { return false }
        let lower = needle.map(lowercase)
        var index = bytes.startIndex
        let last = bytes.endIndex - needle.count
        while index <= last {
            if lowercase(bytes[index]) == lower[0] {
                var matched = true
                for offset in 1..<lower.count where lowercase(bytes[index + offset]) != lower[offset] {
                    matched = false
                    break
                }
                if matched { return true }
            }
            index += 1
        }
        return false
    }

    @inline(__always) static func lowercase(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }
}
