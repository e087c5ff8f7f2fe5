import Foundation
import SeededRandom
import Testing
@testable import ProvisionerDomain

/// The Standard Webhooks reference vector, as in the specification repository's libraries
/// (libraries/go/webhook_test.go TestWebhookSign, libraries/javascript/src/webhook.test.ts,
/// libraries/java/.../TestScenario.java, libraries/csharp/.../WebhookTest.cs): secret, message
/// id, timestamp and payload, and the signature every implementation must produce.
enum StandardWebhooksVector {
    static let secretText = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    static let id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    static let timestamp: Int64 = 1_614_265_330
    static let payload = Array(#"{"test": 2432232314}"#.utf8)
    static let signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    static var secret: WebhookSecret {
        guard let secret = WebhookSecret(encoded: secretText) else { preconditionFailure("reference secret must parse") }
        return secret
    }
}

@Suite("Webhook signatures (Standard Webhooks)")
struct WebhookSignatureTests {
    typealias V = StandardWebhooksVector

    @Test("the reference vector signs to the published signature")
    func referenceVector() {
        #expect(V.secret.bytes.count == 24)
        #expect(WebhookSignature.sign(id: V.id, timestamp: V.timestamp, body: V.payload, secret: V.secret) == V.signature)
        #expect(WebhookSignature.header(id: V.id, timestamp: V.timestamp, body: V.payload, secrets: [V.secret]) == V.signature)
        #expect(WebhookSignature.verify(header: V.signature, id: V.id, timestamp: V.timestamp, body: V.payload, secret: V.secret, now: V.timestamp))
    }

    /// Headers checked against the reference vector at `now == timestamp`.
    static let headerCases: [(String, Bool)] = [
        (V.signature, true),
        (V.signature + " ", true),
        ("  " + V.signature + "  ", true),
        // libraries/go/webhook_test.go "valid multi sig is valid"
        ("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "
            + V.signature + " v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", true),
        // libraries/go/webhook_test.go "invalid signature is invalid"
        ("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", false),
        // libraries/python/tests/test_webhooks.py: the last character changed
        ("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=", false),
        // "partial signature is invalid"
        ("v1,", false),
        ("", false),
        (" ", false),
        ("v1", false),
        ("v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", false),
        ("v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", false),
        ("g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", false),
        ("v1, g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", false),
        ("V1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", false),
        ("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE", false),
        ("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE==", false),
        ("v1,g0hm9sse+otpjtgt/tmiktsyzle3ufjelvlnioljaoe=", false),
        (V.signature + "x", false),
        (V.signature + ",", false),
        (V.signature.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_"), false),
        ("v1,\u{0}\u{FFFF}é日本", false),
        (String(repeating: "v1,", count: 10_000), false),
        (String(repeating: " ", count: 10_000) + V.signature, true),
    ]

    @Test("headers", arguments: headerCases)
    func headers(header: String, valid: Bool) {
        #expect(WebhookSignature.verify(header: header, id: V.id, timestamp: V.timestamp, body: V.payload, secret: V.secret, now: V.timestamp) == valid)
    }

    static let tamperedCases: [(String, String, Int64, [UInt8])] = [
        ("id", V.id + "x", V.timestamp, V.payload),
        ("id", "msg_p5jXN8AQM9LWM0D4loKWxJeK", V.timestamp, V.payload),
        ("timestamp", V.id, V.timestamp + 1, V.payload),
        ("timestamp", V.id, V.timestamp - 1, V.payload),
        ("body", V.id, V.timestamp, Array(#"{"test": 2432232315}"#.utf8)),
        ("body", V.id, V.timestamp, Array(#"{"test":2432232314}"#.utf8)),
        ("body", V.id, V.timestamp, V.payload + [0x0A]),
        ("body", V.id, V.timestamp, []),
    ]

    @Test("tampered id, timestamp or body fail", arguments: tamperedCases)
    func tampered(part: String, id: String, timestamp: Int64, body: [UInt8]) {
        #expect(!WebhookSignature.verify(header: V.signature, id: id, timestamp: timestamp, body: body, secret: V.secret, now: timestamp), "\(part)")
    }

    /// Offsets of `now` from the timestamp against the default five-minute tolerance.
    @Test("tolerance", arguments: [
        (0, true), (1, true), (-1, true), (300, true), (-300, true), (301, false), (-301, false),
        (3600, false), (-86400, false),
    ] as [(Int64, Bool)])
    func tolerance(offset: Int64, valid: Bool) {
        #expect(WebhookSignature.verify(header: V.signature, id: V.id, timestamp: V.timestamp, body: V.payload, secret: V.secret, now: V.timestamp + offset) == valid)
    }

    @Test("a custom tolerance, and extreme clocks that must not overflow")
    func extremes() {
        let verify = { (timestamp: Int64, now: Int64, tolerance: Int64) in
            WebhookSignature.verify(header: V.signature, id: V.id, timestamp: timestamp, body: V.payload, secret: V.secret, now: now, tolerance: tolerance)
        }
        #expect(verify(V.timestamp, V.timestamp + 3600, 3600))
        #expect(!verify(V.timestamp, V.timestamp + 3601, 3600))
        #expect(verify(V.timestamp, V.timestamp, 0))
        #expect(!verify(V.timestamp, V.timestamp + 1, 0))
        #expect(!verify(V.timestamp, V.timestamp, -1))
        // The difference overflows: refused, not trapped.
        #expect(!verify(V.timestamp, .min, .max))
        // The difference fits, and an unlimited tolerance accepts it.
        #expect(verify(V.timestamp, .max, .max))
        #expect(!verify(V.timestamp, .max, Int64.max - V.timestamp - 1))
        let signedAtMin = WebhookSignature.sign(id: V.id, timestamp: .min, body: V.payload, secret: V.secret)
        #expect(!WebhookSignature.verify(header: signedAtMin, id: V.id, timestamp: .min, body: V.payload, secret: V.secret, now: .max, tolerance: .max))
        #expect(WebhookSignature.verify(header: signedAtMin, id: V.id, timestamp: .min, body: V.payload, secret: V.secret, now: .min))
    }

    @Test("rotation: both signatures are sent, current first, and either secret verifies")
    func rotation() throws {
        var random = SeededRandom(seed: 7)
        let current = WebhookSecret.generate(using: &random)
        let previous = V.secret
        let header = WebhookSignature.header(id: V.id, timestamp: V.timestamp, body: V.payload, secrets: [current, previous])
        let parts = header.split(separator: " ").map(String.init)
        #expect(parts.count == 2)
        #expect(parts[0] == WebhookSignature.sign(id: V.id, timestamp: V.timestamp, body: V.payload, secret: current))
        #expect(parts[1] == V.signature)
        for secret in [current, previous] {
            #expect(WebhookSignature.verify(header: header, id: V.id, timestamp: V.timestamp, body: V.payload, secret: secret, now: V.timestamp + 10))
        }
        let stranger = WebhookSecret.generate(using: &random)
        #expect(!WebhookSignature.verify(header: header, id: V.id, timestamp: V.timestamp, body: V.payload, secret: stranger, now: V.timestamp))
        #expect(WebhookSignature.header(id: V.id, timestamp: V.timestamp, body: V.payload, secrets: []) == "")
    }

    @Test("an event body signs and verifies end to end")
    func eventBody() throws {
        let event = WebhookEvent(
            id: try #require(UUID(uuidString: "0B5C6E1A-86F3-4B7C-9E65-1F8D1C2E3A4B")), type: .uriSetIssued,
            occurredAt: Date(timeIntervalSince1970: 1_796_551_200.5), tenant: "acme", credentialID: nil, uriSetVersion: 2
        )
        let signature = WebhookSignature.sign(id: event.webhookID, timestamp: 1_796_551_201, body: event.body(), secret: V.secret)
        #expect(signature.hasPrefix("v1,") && signature.utf8.count == 47)
        #expect(WebhookSignature.verify(header: signature, id: event.webhookID, timestamp: 1_796_551_201, body: event.body(), secret: V.secret, now: 1_796_551_230))
    }
}
