/// What kind of network an IP address belongs to, so that webhooks (requests the service
/// makes to a URL a customer chose) cannot be aimed at the service's own host, its private
/// network or the cloud metadata endpoint (server-side request forgery).
///
/// Ranges follow the IANA IPv4 and IPv6 Special-Purpose Address Registries. IPv6 forms that
/// carry an IPv4 address a host or gateway would reach instead (IPv4-mapped, IPv4-compatible,
/// SIIT-translated, NAT64 64:ff9b::/96 and 6to4 2002::/16) are classified by that IPv4
/// address: `[::ffff:127.0.0.1]` is loopback, not a public IPv6 address.
public enum WebhookAddressKind: String, Sendable, Hashable, CaseIterable {
    case `public`
    /// 127.0.0.0/8, ::1.
    case loopback
    /// 10/8, 172.16/12, 192.168/16, fc00::/7 (unique local), fec0::/10 (old site-local),
    /// 64:ff9b:1::/48 (local-use NAT64).
    case `private`
    /// 169.254/16 (including the cloud metadata service 169.254.169.254), fe80::/10.
    case linkLocal = "link_local"
    /// 0.0.0.0/8 ("this network": Linux connects 0.0.0.0 to the local host), ::.
    case unspecified
    /// 224/4, ff00::/8.
    case multicast
    /// 100.64/10, carrier-grade NAT (RFC 6598): inside the provider, not the internet.
    case sharedAddressSpace = "shared_address_space"
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20.
    case documentation
    /// 198.18/15 (RFC 2544 network benchmarking).
    case benchmarking
    /// 255.255.255.255.
    case broadcast
    /// Everything else that is not globally reachable: 240/4, 192.0.0/24, 192.88.99/24,
    /// 100::/64, 2001::/23 (protocol assignments, Teredo), IPv6 outside 2000::/3, and any
    /// byte count other than 4 or 16.
    case reserved

    /// Classifies an address given as 4 (IPv4) or 16 (IPv6) bytes in network order.
    public static func classify(_ bytes: [UInt8]) -> WebhookAddressKind {
        switch bytes.count {
        case 4: classifyIPv4(bytes[0], bytes[1], bytes[2], bytes[3])
        case 16: classifyIPv6(bytes)
        default: .reserved
        }
    }

    /// Only public addresses may be reached unless the operator opts in (`allowPrivate`).
    public var isAllowedWithoutOptIn: Bool { self == .public }

    /// The phrase a refusal uses ("… is a loopback address").
    var phrase: String {
        switch self {
        case .public: "a public address"
        case .loopback: "a loopback address (this machine)"
        case .private: "a private network address"
        case .linkLocal: "a link-local address (the range of the cloud metadata service)"
        case .unspecified: "the unspecified address (this machine)"
        case .multicast: "a multicast address"
        case .sharedAddressSpace: "a carrier-grade NAT address (100.64.0.0/10)"
        case .documentation: "an address reserved for documentation"
        case .benchmarking: "an address reserved for network benchmarking"
        case .broadcast: "the broadcast address"
        case .reserved: "a reserved address that is not reachable on the internet"
        }
    }

    private static func classifyIPv4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> WebhookAddressKind {
        switch (a, b, c) {
        case (0, _, _): return .unspecified
        case (10, _, _): return .private
        case (100, 64...127, _): return .sharedAddressSpace
        case (127, _, _): return .loopback
        case (169, 254, _): return .linkLocal
        case (172, 16...31, _): return .private
        case (192, 0, 0): return .reserved
        case (192, 0, 2): return .documentation
        case (192, 88, 99): return .reserved
        case (192, 168, _): return .private
        case (198, 18...19, _): return .benchmarking
        case (198, 51, 100): return .documentation
        case (203, 0, 113): return .documentation
        case (224...239, _, _): return .multicast
        case (255, 255, 255) where d == 255: return .broadcast
        case (240...255, _, _): return .reserved
        default: return .public
        }
    }

    private static func classifyIPv6(_ bytes: [UInt8]) -> WebhookAddressKind {
        let embedded = { (offset: Int) in classifyIPv4(bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3]) }
        let group = { (index: Int) in UInt16(bytes[2 * index]) << 8 | UInt16(bytes[2 * index + 1]) }
        let first96Zero = bytes[0..<12].allSatisfy { $0 == 0 }
        if first96Zero {
            if bytes[12..<15].allSatisfy({ $0 == 0 }) {
                switch bytes[15] {
                case 0: return .unspecified
                case 1: return .loopback
                default: break
                }
            }
            return embedded(12) // ::a.b.c.d, IPv4-compatible (deprecated, still routed by some stacks)
        }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return embedded(12) // ::ffff:a.b.c.d, IPv4-mapped
        }
        if bytes[0..<8].allSatisfy({ $0 == 0 }), bytes[8] == 0xFF, bytes[9] == 0xFF, bytes[10] == 0, bytes[11] == 0 {
            return embedded(12) // ::ffff:0:a.b.c.d, SIIT IPv4-translated (RFC 2765)
        }
        let g0 = group(0), g1 = group(1), g2 = group(2)
        if g0 == 0x0064, g1 == 0xFF9B {
            if g2 == 0x0001 { return .private } // 64:ff9b:1::/48, local-use NAT64 (RFC 8215)
            if bytes[4..<12].allSatisfy({ $0 == 0 }) { return embedded(12) } // 64:ff9b::/96, NAT64
            return .reserved
        }
        if g0 == 0x2002 { return embedded(2) } // 6to4: the IPv4 gateway is in bits 16-47
        if g0 == 0x2001, g1 == 0x0DB8 { return .documentation }
        if g0 == 0x3FFF, g1 & 0xF000 == 0 { return .documentation } // 3fff::/20 (RFC 9637)
        if g0 == 0x2001, g1 < 0x0200 { return .reserved } // 2001::/23, incl. Teredo 2001::/32
        if g0 == 0x0100, g1 == 0, g2 == 0, group(3) == 0 { return .reserved } // 100::/64 discard-only
        if g0 & 0xFE00 == 0xFC00 { return .private } // fc00::/7, unique local
        if g0 & 0xFFC0 == 0xFE80 { return .linkLocal }
        if g0 & 0xFFC0 == 0xFEC0 { return .private } // fec0::/10, deprecated site-local
        if g0 & 0xFF00 == 0xFF00 { return .multicast }
        if g0 & 0xE000 == 0x2000 { return .public } // 2000::/3, global unicast
        return .reserved
    }
}

/// Text forms of addresses for messages and normalised URLs.
enum WebhookAddressText {
    /// Dotted decimal for 4 bytes; RFC 5952 for 16 bytes (lower case, longest run of two or
    /// more zero groups as `::`, IPv4-mapped written `::ffff:a.b.c.d`).
    static func format(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map { String($0) }.joined(separator: ".") }
        guard bytes.count == 16 else { return bytes.map { String($0) }.joined(separator: ".") }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return "::ffff:" + format(Array(bytes[12..<16]))
        }
        let groups = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
        var bestStart = -1, bestLength = 0, runStart = -1
        for index in 0...8 {
            if index < 8, groups[index] == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                if index - runStart > bestLength { bestStart = runStart; bestLength = index - runStart }
                runStart = -1
            }
        }
        let hex = { (range: Range<Int>) in groups[range].map { String($0, radix: 16) }.joined(separator: ":") }
        guard bestLength >= 2 else { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }

    /// The 16 bytes of parsed IPv6 groups.
    static func bytes(ofGroups groups: [UInt16]) -> [UInt8] {
        groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }

    /// The 4 bytes of an IPv4 address held in a UInt32.
    static func bytes(ofIPv4 value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
}
