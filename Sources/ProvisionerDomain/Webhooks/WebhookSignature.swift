import Crypto

/// Standard Webhooks symmetric signatures: `v1,` + base64(HMAC-SHA256(secret, "id.timestamp.body")).
///
/// `verify` is what a receiver does; the service uses it in tests and to let an operator
/// check a captured delivery, so it follows the reference libraries exactly: any matching
/// `v1,` entry of the space-separated header wins, compared in constant time so that the
/// comparison leaks nothing an attacker could use to forge a signature byte by byte.
public enum WebhookSignature {
    public static let version = "v1"

    /// `v1,` + base64(HMAC-SHA256(secret.bytes, "\(id).\(timestamp).\(body)")).
    public static func sign(id: String, timestamp: Int64, body: [UInt8], secret: WebhookSecret) -> String {
        version + "," + Base64.encode(mac(id: id, timestamp: timestamp, body: body, secret: secret))
    }

    /// Every secret's signature, space-separated, in the order given (current first, then
    /// the previous one during a rotation), so receivers on either secret keep verifying.
    public static func header(id: String, timestamp: Int64, body: [UInt8], secrets: [WebhookSecret]) -> String {
        secrets.map { sign(id: id, timestamp: timestamp, body: body, secret: $0) }.joined(separator: " ")
    }

    /// True when any `v1,` signature in `header` matches, and |now - timestamp| <= tolerance
    /// (seconds; default 300, the specification's five minutes against replays). Any
    /// malformed header is simply false; the work is linear in the header's length.
    public static func verify(
        header: String, id: String, timestamp: Int64, body: [UInt8], secret: WebhookSecret, now: Int64, tolerance: Int64 = 300
    ) -> Bool {
        guard tolerance >= 0 else { return false }
        let (difference, overflow) = now.subtractingReportingOverflow(timestamp)
        guard !overflow, difference.magnitude <= UInt64(tolerance) else { return false }
        let expected = Array(sign(id: id, timestamp: timestamp, body: body, secret: secret).utf8)
        var matched = false
        // Compare against every entry (no early exit), so timing does not reveal which matched.
        for entry in header.utf8.split(separator: UInt8(ascii: " ")) where constantTimeEquals(entry, expected) {
            matched = true
        }
        return matched
    }

    static func mac(id: String, timestamp: Int64, body: [UInt8], secret: WebhookSecret) -> [UInt8] {
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: secret.bytes))
        hmac.update(data: Array(id.utf8))
        hmac.update(data: [UInt8(ascii: ".")])
        hmac.update(data: Array(String(timestamp).utf8))
        hmac.update(data: [UInt8(ascii: ".")])
        hmac.update(data: body)
        return Array(hmac.finalize())
    }

    /// Equal lengths are compared byte for byte without branching on the content; a length
    /// difference is public (every valid signature has the same length) and returns at once.
    static func constantTimeEquals(_ candidate: some Collection<UInt8>, _ expected: [UInt8]) -> Bool {
        guard candidate.count == expected.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(candidate, expected) { difference |= a ^ b }
        return difference == 0
    }
}
