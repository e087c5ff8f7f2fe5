import Foundation

/// Whether a host is this machine's loopback interface, where nobody else is on the path:
/// the one place the service talks without TLS by default (a `DATABASE_URL` without
/// `sslmode`, an `http` `PROVISIONER_GOOGLE_TOKEN_URL` of a test's fake Google).
public enum LoopbackHost {
    /// `localhost`, 127.0.0.0/8, `::1` (and `::ffff:127.x.y.z`), as written; an IPv6 literal
    /// may keep the brackets of a URL. A name other than localhost could resolve anywhere.
    public static func contains(_ host: String) -> Bool {
        var host = host
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let lowered = host.lowercased()
        if lowered == "localhost" || lowered == "localhost." { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { $0[0] == 127 }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { bytes in
                let isOne = bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1
                let isMappedV4Loopback = bytes.prefix(10).allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127
                return isOne || isMappedV4Loopback
            }
        }
        return false
    }
}
