import SeededRandom
import Testing
@testable import ProvisionerDomain

@Suite("Bearer tokens")
struct BearerTokenTests {
    @Test("generated tokens have the documented shape and are distinct")
    func generate() {
        var seen = Set<String>()
        for _ in 0..<200 {
            let token = BearerToken.generate()
            #expect(token.hasPrefix("agcrm_"))
            #expect(token.utf8.count == 49)
            #expect(!token.contains("="))
            #expect(BearerToken.looksValid(token), "\(token)")
            seen.insert(token)
        }
        #expect(seen.count == 200)
    }

    @Test("a seeded generator gives a repeatable token")
    func seeded() {
        var first = SeededRandom(seed: 1)
        var second = SeededRandom(seed: 1)
        #expect(BearerToken.generate(using: &first) == BearerToken.generate(using: &second))
    }

    @Test("base64url without padding", arguments: [
        ([UInt8](), ""),
        ([0x66], "Zg"),
        ([0x66, 0x6F], "Zm8"),
        ([0x66, 0x6F, 0x6F], "Zm9v"),
        ([0xFB, 0xFF], "-_8"),
        ([0xFF, 0xFF, 0xFE], "___-"),
    ] as [([UInt8], String)])
    func base64URL(bytes: [UInt8], encoded: String) {
        #expect(BearerToken.base64URLEncoded(bytes) == encoded)
    }

    @Test("32 zero bytes and 32 0xFF bytes")
    func extremes() {
        #expect(BearerToken.base64URLEncoded(Array(repeating: 0, count: 32)) == String(repeating: "A", count: 43))
        let ones = BearerToken.base64URLEncoded(Array(repeating: 0xFF, count: 32))
        #expect(ones == String(repeating: "_", count: 42) + "8")
        #expect(BearerToken.looksValid("agcrm_" + ones))
    }

    @Test("garbage is rejected before any lookup", arguments: [
        "",
        "agcrm_",
        "Bearer agcrm_" + String(repeating: "A", count: 43),
        "agcrm_" + String(repeating: "A", count: 42),
        "agcrm_" + String(repeating: "A", count: 44),
        "AGCRM_" + String(repeating: "A", count: 43),
        "xxxxx_" + String(repeating: "A", count: 43),
        "agcrm_" + String(repeating: "A", count: 42) + "=",
        "agcrm_" + String(repeating: "A", count: 42) + "+",
        "agcrm_" + String(repeating: "A", count: 42) + "/",
        "agcrm_" + String(repeating: "A", count: 42) + "B",
        "agcrm_" + String(repeating: "A", count: 41) + " A",
        "agcrm_" + String(repeating: "Ａ", count: 43),
        "agcrm_" + String(repeating: "A", count: 42) + "\u{0}",
    ])
    func garbage(_ token: String) {
        #expect(!BearerToken.looksValid(token))
    }

    @Test("hash is SHA-256 of the token's UTF-8")
    func hash() {
        let hex = BearerToken.hash("abc").map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        #expect(hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(BearerToken.hash("agcrm_x").count == 32)
        #expect(BearerToken.hash("a") != BearerToken.hash("b"))
    }
}
