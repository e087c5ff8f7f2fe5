import Foundation
import SeededRandom
import Testing
@testable import ProvisionerDomain

@Suite("Webhook secrets")
struct WebhookSecretTests {
    static func base64(_ count: Int, byte: UInt8 = 0xA5) -> String {
        Data(repeating: byte, count: count).base64EncodedString()
    }

    @Test("accepted encodings round-trip", arguments: [
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 24, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        ("whsec_" + base64(16), 16, "whsec_" + base64(16)),
        ("whsec_" + base64(32), 32, "whsec_" + base64(32)),
        ("whsec_" + base64(64), 64, "whsec_" + base64(64)),
        ("whsec_" + base64(17, byte: 0xFF), 17, "whsec_" + base64(17, byte: 0xFF)),
        // Padding is optional on input, always written on output.
        ("whsec_" + base64(17, byte: 0xFF).replacingOccurrences(of: "=", with: ""), 17, "whsec_" + base64(17, byte: 0xFF)),
    ])
    func accepted(text: String, count: Int, encoded: String) throws {
        let secret = try #require(WebhookSecret(encoded: text))
        #expect(secret.bytes.count == count)
        #expect(secret.encoded == encoded)
        #expect(WebhookSecret(encoded: secret.encoded) == secret)
    }

    @Test("refused encodings", arguments: [
        "",
        "whsec_",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whpk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec-MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        " whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ",
        "whsec_ MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_MfKQ9r8GKYqrTwjUPD8IL\nPZIo2LaLaSw",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw=",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa==",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La-aSw",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La_aSw",
        "whsec_!!!!MfKQ9r8GKYqrTwjUPD8ILPZIo2La",
        "whsec_ＭfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_" + base64(15),
        "whsec_" + base64(65),
        "whsec_" + base64(1),
        "whsec_" + String(repeating: "A", count: 100_000),
    ])
    func refused(text: String) {
        #expect(WebhookSecret(encoded: text) == nil)
    }

    @Test("generate: 32 bytes, fresh each time, encodes to whsec_ and back")
    func generate() throws {
        let secrets = (0..<20).map { _ in WebhookSecret.generate() }
        #expect(secrets.allSatisfy { $0.bytes.count == 32 })
        #expect(Set(secrets).count == 20)
        for secret in secrets {
            #expect(secret.encoded.hasPrefix("whsec_"))
            #expect(secret.encoded.utf8.count == 6 + 44)
            #expect(WebhookSecret(encoded: secret.encoded) == secret)
        }
        var a = SeededRandom(seed: 42), b = SeededRandom(seed: 42), c = SeededRandom(seed: 43)
        #expect(WebhookSecret.generate(using: &a) == WebhookSecret.generate(using: &b))
        #expect(WebhookSecret.generate(using: &a) != WebhookSecret.generate(using: &c))
    }

    @Test("never printed: description, debugDescription, interpolation and dump are redacted")
    func redacted() throws {
        let secret = try #require(WebhookSecret(encoded: StandardWebhooksVector.secretText))
        var dumped = ""
        dump(secret, to: &dumped)
        let renderings = [
            secret.description, secret.debugDescription, "\(secret)", String(describing: secret),
            String(reflecting: secret), "\([secret])", "\(Optional(secret) as Any)", dumped,
        ]
        for text in renderings {
            #expect(!text.contains("MfKQ9r8G"), "\(text)")
            #expect(!text.contains("49, 242"), "\(text)") // the first bytes as an array
        }
        #expect(secret.description == "WebhookSecret(redacted)")
        #expect(secret.debugDescription == "WebhookSecret(redacted)")
    }
}
