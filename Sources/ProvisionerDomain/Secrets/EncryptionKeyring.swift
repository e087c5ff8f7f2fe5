import Crypto

/// Why `PROVISIONER_ENCRYPTION_KEYS` was refused. Messages name the entry (1-based)
/// and, once it is known to be well formed, the key id; never any key material.
public enum KeyringError: Error, Sendable, Hashable, CustomStringConvertible {
    case empty
    case emptyEntry(entry: Int)
    case missingSeparator(entry: Int)
    case invalidKeyID(entry: Int)
    case missingKey(entry: Int, keyID: String)
    case invalidBase64(entry: Int, keyID: String)
    case wrongKeyLength(entry: Int, keyID: String, byteCount: Int)
    case duplicateKeyID(entry: Int, keyID: String)

    public var description: String {
        let format = "expected id:base64(32 bytes)[,id:base64(32 bytes)...]"
        switch self {
        case .empty:
            return "PROVISIONER_ENCRYPTION_KEYS is empty: \(format)"
        case .emptyEntry(let entry):
            return "PROVISIONER_ENCRYPTION_KEYS entry \(entry) is empty (a stray ','?): \(format)"
        case .missingSeparator(let entry):
            return "PROVISIONER_ENCRYPTION_KEYS entry \(entry) has no ':' between key id and key: \(format)"
        case .invalidKeyID(let entry):
            return "PROVISIONER_ENCRYPTION_KEYS entry \(entry) has an invalid key id: it must be 1 to 32 characters of A-Z, a-z, 0-9, '_' or '-'"
        case .missingKey(let entry, let keyID):
            return "PROVISIONER_ENCRYPTION_KEYS key '\(keyID)' (entry \(entry)) has no key after the ':'"
        case .invalidBase64(let entry, let keyID):
            return "PROVISIONER_ENCRYPTION_KEYS key '\(keyID)' (entry \(entry)) is not valid base64"
        case .wrongKeyLength(let entry, let keyID, let byteCount):
            return "PROVISIONER_ENCRYPTION_KEYS key '\(keyID)' (entry \(entry)) decodes to \(byteCount) bytes; AES-256 needs exactly 32"
        case .duplicateKeyID(let entry, let keyID):
            return "PROVISIONER_ENCRYPTION_KEYS key id '\(keyID)' is given twice (again in entry \(entry)); key ids must be unique"
        }
    }
}

/// The AES-256 keys secrets are sealed with. The first is primary: new secrets are
/// sealed with it, and the others only stay so that older rows can still be opened
/// until `provisioner keys rewrap` has moved them to the primary key.
public struct EncryptionKeyring: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let primaryKeyID: String
    /// In the order given, primary first.
    public let keyIDs: [String]
    private let keys: [String: SymmetricKey]

    /// Parses `id:base64(32 bytes)[,id:base64...]`. Spaces around entries are ignored,
    /// so a value pasted with a trailing newline still works.
    public init(parsing text: String) throws(KeyringError) {
        var entries: [(id: String, key: SymmetricKey)] = []
        let trimmedText = Self.trimmed(Substring(text))
        guard !trimmedText.isEmpty else { throw .empty }
        for (offset, rawEntry) in trimmedText.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            let entry = offset + 1
            let text = Self.trimmed(rawEntry)
            guard !text.isEmpty else { throw .emptyEntry(entry: entry) }
            guard let colon = text.firstIndex(of: ":") else { throw .missingSeparator(entry: entry) }
            let id = String(Self.trimmed(text[..<colon]))
            guard Self.isValidKeyID(id) else { throw .invalidKeyID(entry: entry) }
            let encoded = Self.trimmed(text[text.index(after: colon)...])
            guard !encoded.isEmpty else { throw .missingKey(entry: entry, keyID: id) }
            guard let bytes = Base64.decode(encoded) else {
                throw .invalidBase64(entry: entry, keyID: id)
            }
            guard bytes.count == 32 else {
                throw .wrongKeyLength(entry: entry, keyID: id, byteCount: bytes.count)
            }
            entries.append((id, SymmetricKey(data: bytes)))
        }
        try self.init(keys: entries)
    }

    /// Builds a keyring from keys already at hand (tests, key generation).
    public init(keys entries: [(id: String, key: SymmetricKey)]) throws(KeyringError) {
        guard let first = entries.first else { throw .empty }
        var keys: [String: SymmetricKey] = [:]
        var ids: [String] = []
        for (offset, entry) in entries.enumerated() {
            guard Self.isValidKeyID(entry.id) else { throw .invalidKeyID(entry: offset + 1) }
            guard entry.key.bitCount == 256 else {
                throw .wrongKeyLength(entry: offset + 1, keyID: entry.id, byteCount: entry.key.bitCount / 8)
            }
            guard keys.updateValue(entry.key, forKey: entry.id) == nil else {
                throw .duplicateKeyID(entry: offset + 1, keyID: entry.id)
            }
            ids.append(entry.id)
        }
        self.primaryKeyID = first.id
        self.keyIDs = ids
        self.keys = keys
    }

    public var primaryKey: SymmetricKey { keys[primaryKeyID]! }

    public func key(withID id: String) -> SymmetricKey? { keys[id] }

    /// A fresh random key in the configuration format, e.g. for `make run`.
    public static func generateEntry(id: String) -> String {
        let key = SymmetricKey(size: .bits256)
        let bytes = key.withUnsafeBytes { Array($0) }
        return "\(id):\(Base64.encode(bytes))"
    }

    /// `[A-Za-z0-9_-]{1,32}`
    public static func isValidKeyID(_ id: String) -> Bool {
        let utf8 = id.utf8
        return (1...32).contains(utf8.count) && utf8.allSatisfy { byte in
            (byte | 0x20) &- UInt8(ascii: "a") < 26 || byte &- UInt8(ascii: "0") < 10
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    public var description: String { "EncryptionKeyring(primary: \(primaryKeyID), keys: \(keyIDs))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["primaryKeyID": primaryKeyID, "keyIDs": keyIDs])
    }

    private static func trimmed(_ text: Substring) -> Substring {
        var text = text
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return text
    }
}

/// RFC 4648 base64, standard or URL-safe alphabet, padding optional.
/// Our own so that key parsing needs no Foundation and rejects any stray character.
enum Base64 {
    static func decode(_ text: Substring) -> [UInt8]? {
        var utf8 = Array(text.utf8)
        while utf8.last == UInt8(ascii: "=") { utf8.removeLast() }
        // Two '=' at most, and only where padding can be.
        guard text.utf8.count - utf8.count <= 2, utf8.count % 4 != 1 else { return nil }
        if text.utf8.count != utf8.count, text.utf8.count % 4 != 0 { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(utf8.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in utf8 {
            let value: UInt8
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = byte - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = byte - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"), UInt8(ascii: "-"): value = 62
            case UInt8(ascii: "/"), UInt8(ascii: "_"): value = 63
            default: return nil
            }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        // Leftover bits must be zero, or the text is not the canonical encoding of any bytes.
        guard accumulator & ((1 << UInt32(bits)) - 1) == 0 else { return nil }
        return output
    }

    static func encode(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var value: UInt32 = 0
            for byte in chunk { value = value << 8 | UInt32(byte) }
            value <<= UInt32(8 * (3 - chunk.count))
            for position in 0..<4 {
                if position <= chunk.count {
                    output.append(alphabet[Int((value >> UInt32(18 - 6 * position)) & 0x3F)])
                } else {
                    output.append(UInt8(ascii: "="))
                }
            }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }
}
