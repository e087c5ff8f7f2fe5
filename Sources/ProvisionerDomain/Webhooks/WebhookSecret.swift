/// A webhook endpoint's signing secret: `whsec_` + standard base64 of the key bytes, the
/// serialisation the Standard Webhooks libraries read, so a receiver can paste it as is.
///
/// `description`, `debugDescription` and the mirror are redacted, so that interpolating a
/// secret into a log line or dumping a value that holds one never prints it.
public struct WebhookSecret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    public static let prefix = "whsec_"
    /// The length `generate()` uses: 256 bits, the HMAC-SHA256 block-size sweet spot.
    public static let generatedByteCount = 32
    /// The Standard Webhooks specification asks for 24 to 64 bytes; 16 (128 bits) is still
    /// beyond guessing, and accepting it lets a receiver keep a secret made by an older tool.
    public static let acceptedByteCounts = 16...64

    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// 32 bytes from the system's cryptographically secure generator.
    public static func generate() -> WebhookSecret {
        var generator = SystemRandomNumberGenerator()
        return generate(using: &generator)
    }

    /// Tests pass a seeded generator; production uses `generate()`.
    public static func generate(using generator: inout some RandomNumberGenerator) -> WebhookSecret {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(generatedByteCount)
        for _ in 0..<generatedByteCount { bytes.append(UInt8.random(in: .min ... .max, using: &generator)) }
        return WebhookSecret(bytes: bytes)
    }

    /// Parses `whsec_<standard base64>` (padding optional) holding 16 to 64 bytes.
    /// Nil for another prefix, the URL-safe alphabet, stray characters (spaces included)
    /// or a length outside that range. Bounded work: over-long text is refused unread.
    public init?(encoded: String) {
        let utf8 = encoded.utf8
        let prefixBytes = Self.prefix.utf8
        // 64 bytes are 88 base64 characters with padding.
        guard utf8.count <= prefixBytes.count + 88, utf8.starts(with: prefixBytes) else { return nil }
        let payload = utf8.dropFirst(prefixBytes.count)
        // The shared decoder also reads base64url; a secret is standard base64 only.
        guard !payload.contains(UInt8(ascii: "-")), !payload.contains(UInt8(ascii: "_")),
              let bytes = Base64.decode(Substring(payload)),
              Self.acceptedByteCounts.contains(bytes.count) else { return nil }
        self.bytes = bytes
    }

    /// `whsec_` + standard base64 with padding.
    public var encoded: String { Self.prefix + Base64.encode(bytes) }

    public var description: String { "WebhookSecret(redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
