import Testing
import Crypto
@testable import ProvisionerDomain

enum KeyFixtures {
    /// 32 bytes 0x00...0x1F.
    static let keyA = Base64.encode(Array(0..<32))
    /// 32 bytes 0xA0...0xBF.
    static let keyB = Base64.encode(Array(0xA0..<0xC0))
    static let short = Base64.encode(Array(0..<16))
}

@Suite("EncryptionKeyring")
struct EncryptionKeyringTests {
    @Test("parses one key or several; the first is primary")
    func parses() throws {
        let one = try EncryptionKeyring(parsing: "k1:\(KeyFixtures.keyA)")
        #expect(one.primaryKeyID == "k1")
        #expect(one.keyIDs == ["k1"])
        #expect(one.key(withID: "k1") == SymmetricKey(data: Array(0..<32)))
        let two = try EncryptionKeyring(parsing: " 2025-b : \(KeyFixtures.keyB) ,\n k_1:\(KeyFixtures.keyA)\n")
        #expect(two.primaryKeyID == "2025-b")
        #expect(two.keyIDs == ["2025-b", "k_1"])
        #expect(two.primaryKey == SymmetricKey(data: Array(0xA0..<0xC0)))
        #expect(two.key(withID: "nope") == nil)
    }

    @Test("accepts URL-safe base64 and missing padding")
    func base64Variants() throws {
        let bytes: [UInt8] = Array(repeating: 0xFB, count: 32)
        let standard = Base64.encode(bytes)
        #expect(standard.contains("+") || standard.contains("/"))
        let urlSafe = String(standard.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 }).replacingOccurrences("=", with: "")
        #expect(try EncryptionKeyring(parsing: "a:\(standard)").primaryKey == SymmetricKey(data: bytes))
        #expect(try EncryptionKeyring(parsing: "a:\(urlSafe)").primaryKey == SymmetricKey(data: bytes))
    }

    static let errorCases: [(String, KeyringError)] = [
        ("", .empty),
        ("  \n", .empty),
        ("k1", .missingSeparator(entry: 1)),
        ("k1:\(KeyFixtures.keyA),", .emptyEntry(entry: 2)),
        (",k1:\(KeyFixtures.keyA)", .emptyEntry(entry: 1)),
        ("k1:\(KeyFixtures.keyA),,k2:\(KeyFixtures.keyB)", .emptyEntry(entry: 2)),
        (":\(KeyFixtures.keyA)", .invalidKeyID(entry: 1)),
        ("k 1:\(KeyFixtures.keyA)", .invalidKeyID(entry: 1)),
        ("k.1:\(KeyFixtures.keyA)", .invalidKeyID(entry: 1)),
        ("\(String(repeating: "k", count: 33)):\(KeyFixtures.keyA)", .invalidKeyID(entry: 1)),
        ("鍵:\(KeyFixtures.keyA)", .invalidKeyID(entry: 1)),
        ("k1:\(KeyFixtures.keyA),\(KeyFixtures.keyB)", .missingSeparator(entry: 2)),
        ("k1:", .missingKey(entry: 1, keyID: "k1")),
        ("k1: ,k2:\(KeyFixtures.keyB)", .missingKey(entry: 1, keyID: "k1")),
        ("k1:!!!!", .invalidBase64(entry: 1, keyID: "k1")),
        ("k1:\(KeyFixtures.keyA)x", .invalidBase64(entry: 1, keyID: "k1")),
        ("k1:\(KeyFixtures.keyA)==", .invalidBase64(entry: 1, keyID: "k1")),
        ("k1:\(KeyFixtures.keyA.dropLast())A=", .invalidBase64(entry: 1, keyID: "k1")),
        ("k1:\(KeyFixtures.short)", .wrongKeyLength(entry: 1, keyID: "k1", byteCount: 16)),
        ("k1:\(Base64.encode(Array(repeating: 1, count: 64)))", .wrongKeyLength(entry: 1, keyID: "k1", byteCount: 64)),
        ("k1:\(KeyFixtures.keyA),k1:\(KeyFixtures.keyB)", .duplicateKeyID(entry: 2, keyID: "k1")),
    ]

    @Test("refuses bad configuration with a clear reason", arguments: errorCases)
    func errors(_ testCase: (String, KeyringError)) {
        #expect(throws: testCase.1) { try EncryptionKeyring(parsing: testCase.0) }
    }

    @Test("error messages never echo key material", arguments: errorCases)
    func noKeyMaterial(_ testCase: (String, KeyringError)) {
        let message = testCase.1.description
        #expect(message.contains("PROVISIONER_ENCRYPTION_KEYS"))
        for secret in [KeyFixtures.keyA, KeyFixtures.keyB, KeyFixtures.short, String(KeyFixtures.keyA.prefix(8))] {
            #expect(!message.contains(secret))
        }
    }

    @Test("a key pasted where the id belongs is not echoed")
    func keyAsID() {
        do throws(KeyringError) {
            _ = try EncryptionKeyring(parsing: "\(KeyFixtures.keyA):k1")
            Issue.record("parsed")
        } catch {
            #expect(!error.description.contains(KeyFixtures.keyA))
            #expect(!error.description.contains(String(KeyFixtures.keyA.prefix(20))))
        }
    }

    @Test("descriptions list ids only")
    func descriptions() throws {
        let keyring = try EncryptionKeyring(parsing: "k1:\(KeyFixtures.keyA),k2:\(KeyFixtures.keyB)")
        var dumped = ""
        dump(keyring, to: &dumped)
        for text in [keyring.description, String(reflecting: keyring), dumped] {
            #expect(text.contains("k1") && text.contains("k2"))
            #expect(!text.contains(KeyFixtures.keyA) && !text.contains(KeyFixtures.keyB))
        }
    }

    @Test("a generated entry parses back as a 32-byte key")
    func generated() throws {
        let entry = EncryptionKeyring.generateEntry(id: "dev")
        let keyring = try EncryptionKeyring(parsing: entry)
        #expect(keyring.primaryKeyID == "dev")
        #expect(keyring.primaryKey.bitCount == 256)
        #expect(EncryptionKeyring.generateEntry(id: "dev") != entry)
    }

    @Test("base64 round trips at every length", arguments: 0..<40)
    func base64(_ length: Int) {
        let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        #expect(Base64.decode(Substring(Base64.encode(bytes))) == bytes)
    }
}
