/// The parts of a URI string as RFC 3986 splits them, without any normalisation.
///
/// Foundation's URL is not used on purpose: it percent-encodes, lower-cases, resolves
/// dots and accepts things Google refuses, so it would hide exactly what the rules
/// must see. This parser only cuts the string; it never fails on any input (a value
/// that is not `scheme:...` gives nil) and never traps, whatever the bytes.
struct URIComponents: Equatable {
    /// As written (not lower-cased).
    var scheme: String
    /// Everything between `//` and the path; nil when there is no `//`.
    var authority: String?
    /// Before the last `@` of the authority; nil when there is no `@`.
    var userinfo: String?
    /// The host as written, brackets included for IP literals; empty when missing.
    var host: String
    /// After the `:` that follows the host; nil when there is no `:`.
    var port: String?
    /// Trailing bytes after a bracketed host that are neither empty nor `:port`.
    var junkAfterHost: String?
    var path: String
    /// After `?`, nil when there is no `?`.
    var query: String?
    /// After `#`, nil when there is no `#`.
    var fragment: String?

    static func parse(_ text: String) -> URIComponents? {
        let bytes = Array(text.utf8)
        // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"
        guard let first = bytes.first, isAlpha(first) else { return nil }
        var index = 1
        while index < bytes.count, isSchemeByte(bytes[index]) { index += 1 }
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
        let scheme = string(bytes[0..<index])
        index += 1

        var components = URIComponents(scheme: scheme, host: "", path: "")
        let slash = UInt8(ascii: "/"), backslash = UInt8(ascii: "\\")
        let question = UInt8(ascii: "?"), hash = UInt8(ascii: "#")
        if index + 1 < bytes.count, bytes[index] == slash, bytes[index + 1] == slash {
            index += 2
            let start = index
            // Browsers end the authority at a backslash too (WHATWG): so do we, so that
            // `https://evil.example\@good.example` is read with the host a browser would use.
            while index < bytes.count, ![slash, backslash, question, hash].contains(bytes[index]) { index += 1 }
            let authority = Array(bytes[start..<index])
            components.authority = string(authority[...])
            components.splitAuthority(authority)
        }
        let pathStart = index
        while index < bytes.count, bytes[index] != question, bytes[index] != hash { index += 1 }
        components.path = string(bytes[pathStart..<index])
        if index < bytes.count, bytes[index] == question {
            index += 1
            let queryStart = index
            while index < bytes.count, bytes[index] != hash { index += 1 }
            components.query = string(bytes[queryStart..<index])
        }
        if index < bytes.count, bytes[index] == hash {
            components.fragment = string(bytes[(index + 1)...])
        }
        return components
    }

    private mutating func splitAuthority(_ authority: [UInt8]) {
        var hostPort = authority[...]
        if let at = authority.lastIndex(of: UInt8(ascii: "@")) {
            userinfo = Self.string(authority[..<at])
            hostPort = authority[(at + 1)...]
        }
        let colon = UInt8(ascii: ":")
        if hostPort.first == UInt8(ascii: "[") {
            guard let close = hostPort.firstIndex(of: UInt8(ascii: "]")) else {
                host = Self.string(hostPort)
                return
            }
            host = Self.string(hostPort[...close])
            let rest = hostPort[(close + 1)...]
            if rest.first == colon {
                port = Self.string(rest.dropFirst())
            } else if !rest.isEmpty {
                junkAfterHost = Self.string(rest)
            }
            return
        }
        if let colonIndex = hostPort.firstIndex(of: colon) {
            host = Self.string(hostPort[..<colonIndex])
            port = Self.string(hostPort[(colonIndex + 1)...])
        } else {
            host = Self.string(hostPort)
        }
    }

    private static func isAlpha(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func isSchemeByte(_ byte: UInt8) -> Bool {
        isAlpha(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }

    /// Slices of valid UTF-8 may be cut inside a multi-byte character only at ASCII
    /// delimiters, which never occur inside one, so decoding loses nothing; invalid
    /// input is repaired with U+FFFD rather than trapping.
    private static func string(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}
