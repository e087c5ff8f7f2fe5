/// Recognises IP address literals in host names, the way browsers do.
///
/// Google refuses raw IP hosts (except loopback) in redirect URIs and origins, and a
/// custom domain must be a name, not an address. Browsers follow the WHATWG URL
/// standard, which also reads `127.1`, `0x7f.0.0.1` and `2130706433` as IPv4, so a
/// plain dotted-quad test would let those through: we use the WHATWG rules here.
enum IPAddressLiteral {
    /// What a host turned out to be.
    enum Kind: Equatable {
        /// An IPv4 or IPv6 address in the loopback range (127.0.0.0/8, ::1).
        case loopback
        /// Any other IP address.
        case address
        /// Looks like an address (ends in a number, or is bracketed) but is not a valid one.
        case malformed
    }

    /// Classifies a host (already percent-decoded, any case); nil when it is a name.
    static func classify(_ host: String) -> Kind? {
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), host.count >= 2 else { return .malformed }
            guard let groups = parseIPv6(host.dropFirst().dropLast()) else { return .malformed }
            // Likewise `[::1]` exactly, not `[0:0:0:0:0:0:0:1]` or `[::0001]`.
            return groups == [0, 0, 0, 0, 0, 0, 0, 1] && host == "[::1]" ? .loopback : .address
        }
        if host.contains(":"), parseIPv6(Substring(host)) != nil { return .address }
        guard endsInANumber(host) else { return nil }
        guard let value = parseIPv4(host) else { return .malformed }
        // Only the plain dotted-decimal spelling counts as loopback: `127.1`,
        // `0x7f.0.0.1` or `2130706433` are loopback to a browser, but Google documents
        // the exemption for "localhost IP addresses", and an odd spelling is refused
        // rather than guessed at.
        return value >> 24 == 127 && isCanonicalDottedDecimal(host) ? .loopback : .address
    }

    /// `a.b.c.d`, four decimal parts 0-255 without leading zeros.
    static func isCanonicalDottedDecimal(_ host: String) -> Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { part in
            guard (1...3).contains(part.count),
                  part.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                  let value = Int(part), value <= 255 else { return false }
            return part.count == 1 || !part.hasPrefix("0")
        }
    }

    /// WHATWG "ends in a number checker": the last label (ignoring one trailing dot)
    /// is all digits, or `0x` followed by hex digits.
    static func endsInANumber(_ host: String) -> Bool {
        var labels = host.split(separator: ".", omittingEmptySubsequences: false)
        if labels.last?.isEmpty == true, labels.count > 1 { labels.removeLast() }
        guard let last = labels.last, !last.isEmpty else { return false }
        if last.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) { return true }
        return parseIPv4Number(last) != nil
    }

    /// WHATWG IPv4 parser: up to four parts, each decimal, octal (leading 0) or hex (0x).
    static func parseIPv4(_ host: String) -> UInt32? {
        var parts = host.split(separator: ".", omittingEmptySubsequences: false)
        if parts.last?.isEmpty == true, parts.count > 1 { parts.removeLast() }
        guard (1...4).contains(parts.count) else { return nil }
        var numbers: [UInt64] = []
        for part in parts {
            guard let number = parseIPv4Number(part) else { return nil }
            numbers.append(number)
        }
        for number in numbers.dropLast() where number > 255 { return nil }
        let last = numbers[numbers.count - 1]
        let lastLimit: UInt64 = 1 << (8 * UInt64(5 - numbers.count))
        guard last < lastLimit else { return nil }
        var value = last
        for (index, number) in numbers.dropLast().enumerated() {
            value += number << (8 * UInt64(3 - index))
        }
        return value <= UInt64(UInt32.max) ? UInt32(value) : nil
    }

    private static func parseIPv4Number(_ part: Substring) -> UInt64? {
        guard !part.isEmpty else { return nil }
        var digits = part
        var radix = 10
        if digits.count >= 2, digits.hasPrefix("0x") || digits.hasPrefix("0X") {
            digits = digits.dropFirst(2)
            radix = 16
        } else if digits.count >= 2, digits.hasPrefix("0") {
            digits = digits.dropFirst()
            radix = 8
        }
        if digits.isEmpty { return 0 }
        // Bounded so that absurdly long inputs cannot overflow.
        guard digits.count <= 32 else { return nil }
        let valid = digits.utf8.allSatisfy { byte in
            switch radix {
            case 16: isHexDigit(byte)
            case 8: byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "7")
            default: byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            }
        }
        guard valid else { return nil }
        return UInt64(digits, radix: radix)
    }

    /// RFC 4291 text form: eight groups, `::` once, optional trailing dotted IPv4.
    static func parseIPv6(_ text: Substring) -> [UInt16]? {
        guard !text.isEmpty, text.count <= 64 else { return nil }
        let halves = text.components(separatedByDoubleColon: ())
        guard halves.count <= 2 else { return nil }
        func groups(_ part: Substring, allowIPv4Tail: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, allowIPv4Tail, piece.contains(".") {
                    let octets = piece.split(separator: ".", omittingEmptySubsequences: false)
                    guard octets.count == 4 else { return nil }
                    var bytes: [UInt16] = []
                    for octet in octets {
                        guard (1...3).contains(octet.count),
                              octet.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                              let value = UInt16(octet), value <= 255 else { return nil }
                        bytes.append(value)
                    }
                    result.append(bytes[0] << 8 | bytes[1])
                    result.append(bytes[2] << 8 | bytes[3])
                    continue
                }
                guard (1...4).contains(piece.count), let value = UInt16(piece, radix: 16),
                      piece.utf8.allSatisfy({ isHexDigit($0) }) else { return nil }
                result.append(value)
            }
            return result
        }
        if halves.count == 1 {
            guard let all = groups(halves[0], allowIPv4Tail: true), all.count == 8 else { return nil }
            return all
        }
        guard let head = groups(halves[0], allowIPv4Tail: false),
              let tail = groups(halves[1], allowIPv4Tail: true),
              head.count + tail.count <= 7 else { return nil }
        return head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
    }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
             UInt8(ascii: "A")...UInt8(ascii: "F"): true
        default: false
        }
    }
}

extension Substring {
    /// Splits around every `::` (an IPv6 text has at most one).
    fileprivate func components(separatedByDoubleColon _: Void) -> [Substring] {
        var result: [Substring] = []
        var start = startIndex
        var index = startIndex
        while index < endIndex {
            let next = self.index(after: index)
            if self[index] == ":", next < endIndex, self[next] == ":" {
                result.append(self[start..<index])
                index = self.index(after: next)
                start = index
                continue
            }
            index = next
        }
        result.append(self[start..<endIndex])
        return result
    }
}
