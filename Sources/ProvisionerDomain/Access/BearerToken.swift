import Crypto

/// The API's bearer tokens: `agcrm_` followed by 32 random bytes in base64url without
/// padding (43 characters), 49 characters in all.
///
/// Only the SHA-256 of a token is stored, so a database leak gives no usable token; a
/// fast hash is enough because the token has 256 bits of entropy (no guessing to slow
/// down). The prefix makes leaked tokens easy to spot by secret scanners, and
/// `looksValid` rejects garbage before any database lookup.
public enum BearerToken {
    public static let prefix = "agcrm_"
    /// 32 random bytes -> 43 base64url characters.
    public static let randomByteCount = 32
    public static let encodedLength = 43
    public static var length: Int { prefix.utf8.count + encodedLength }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// A new token from the system's cryptographically secure generator.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return generate(using: &generator)
    }

    /// A new token from `generator`; tests pass a seeded one, production uses `generate()`.
    public static func generate(using generator: inout some RandomNumberGenerator) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(randomByteCount)
        for _ in 0..<randomByteCount { bytes.append(UInt8.random(in: .min ... .max, using: &generator)) }
        return prefix + base64URLEncoded(bytes)
    }

    /// SHA-256 of the token's UTF-8 bytes: what the database stores and looks up.
    public static func hash(_ token: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(token.utf8)))
    }

    /// Whether `token` has the shape of a token this service issues: prefix, length,
    /// base64url alphabet, and a last character whose unused low bits are zero (as
    /// encoding exactly 32 bytes produces).
    public static func looksValid(_ token: String) -> Bool {
        let bytes = Array(token.utf8)
        let prefixBytes = Array(prefix.utf8)
        guard bytes.count == prefixBytes.count + encodedLength,
              bytes.starts(with: prefixBytes) else { return false }
        let body = bytes[prefixBytes.count...]
        guard body.allSatisfy({ alphabet.contains($0) }),
              let last = body.last, let lastValue = alphabet.firstIndex(of: last) else { return false }
        // 32 bytes = 256 bits = 42 characters of 6 bits and 4 bits in the last one.
        return lastValue & 0b11 == 0
    }

    static func base64URLEncoded(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index + 3 <= bytes.count {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            output.append(alphabet[Int(value >> 18 & 63)])
            output.append(alphabet[Int(value >> 12 & 63)])
            output.append(alphabet[Int(value >> 6 & 63)])
            output.append(alphabet[Int(value & 63)])
            index += 3
        }
        let remaining = bytes.count - index
        if remaining == 1 {
            let value = UInt32(bytes[index]) << 16
            output.append(alphabet[Int(value >> 18 & 63)])
            output.append(alphabet[Int(value >> 12 & 63)])
        } else if remaining == 2 {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            output.append(alphabet[Int(value >> 18 & 63)])
            output.append(alphabet[Int(value >> 12 & 63)])
            output.append(alphabet[Int(value >> 6 & 63)])
        }
        return String(decoding: output, as: UTF8.self)
    }
}
