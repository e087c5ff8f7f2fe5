import Foundation
import Testing
@testable import ProvisionerDomain

@Suite("SecretSealer")
struct SecretSealerTests {
    let tenant = UUID(uuidString: "6F9619FF-8B86-D011-B42D-00C04FC964FF")!
    let credential = UUID(uuidString: "11111111-2222-3333-4444-555555555555")!
    let otherTenant = UUID(uuidString: "AAAAAAAA-2222-3333-4444-555555555555")!
    let otherCredential = UUID(uuidString: "BBBBBBBB-2222-3333-4444-555555555555")!

    func sealer(_ configuration: String = "k2:\(KeyFixtures.keyB),k1:\(KeyFixtures.keyA)") throws -> SecretSealer {
        SecretSealer(keyring: try EncryptionKeyring(parsing: configuration))
    }

    @Test("round trip", arguments: ["", "GOCSPX-AbCdEfGhIjKlMnOpQrStUvWx_-12", "ひみつ", String(repeating: "x", count: 10_000)])
    func roundTrip(_ secret: String) throws {
        let sealer = try sealer()
        let sealed = try sealer.seal(secret, tenantID: tenant, credentialID: credential)
        #expect(sealed.keyID == "k2")
        #expect(sealed.combined.count == 12 + secret.utf8.count + 16)
        #expect(try sealer.openString(sealed, tenantID: tenant, credentialID: credential) == secret)
        #expect(try sealer.open(sealed, tenantID: tenant, credentialID: credential) == Array(secret.utf8))
    }

    @Test("a fresh nonce every time")
    func freshNonce() throws {
        let sealer = try sealer()
        let first = try sealer.seal("same", tenantID: tenant, credentialID: credential)
        let second = try sealer.seal("same", tenantID: tenant, credentialID: credential)
        #expect(first.combined != second.combined)
        #expect(first.combined.prefix(12) != second.combined.prefix(12))
    }

    @Test("the ciphertext does not contain the plaintext")
    func opaque() throws {
        let secret = "GOCSPX-AbCdEfGhIjKlMnOpQrStUvWx_-12"
        let sealed = try sealer().seal(secret, tenantID: tenant, credentialID: credential)
        #expect(!String(decoding: sealed.combined, as: UTF8.self).contains("GOCSPX"))
        #expect(!sealed.description.contains(secret))
    }

    @Test("moved to another row, it does not open")
    func movedRow() throws {
        let sealer = try sealer()
        let sealed = try sealer.seal("secret", tenantID: tenant, credentialID: credential)
        for (tenantID, credentialID) in [(otherTenant, credential), (tenant, otherCredential), (credential, tenant), (otherTenant, otherCredential)] {
            #expect(throws: SealingError.authenticationFailed(keyID: "k2")) {
                try sealer.open(sealed, tenantID: tenantID, credentialID: credentialID)
            }
        }
    }

    @Test("the associated data is fixed and lowercase")
    func associatedData() {
        #expect(String(decoding: SecretSealer.associatedData(tenantID: tenant, credentialID: credential), as: UTF8.self)
            == "agcrm-credential-v1|6f9619ff-8b86-d011-b42d-00c04fc964ff|11111111-2222-3333-4444-555555555555")
    }

    @Test("an unknown key id does not open")
    func unknownKey() throws {
        let sealed = try sealer("old:\(KeyFixtures.keyA)").seal("secret", tenantID: tenant, credentialID: credential)
        #expect(throws: SealingError.unknownKeyID("old")) {
            try sealer("new:\(KeyFixtures.keyB)").open(sealed, tenantID: tenant, credentialID: credential)
        }
    }

    @Test("the same id with another key does not open")
    func replacedKey() throws {
        let sealed = try sealer("k:\(KeyFixtures.keyA)").seal("secret", tenantID: tenant, credentialID: credential)
        #expect(throws: SealingError.authenticationFailed(keyID: "k")) {
            try sealer("k:\(KeyFixtures.keyB)").open(sealed, tenantID: tenant, credentialID: credential)
        }
    }

    @Test("any flipped bit is detected", arguments: [0, 5, 11, 12, 15, 20, 21, 27])
    func tampering(_ index: Int) throws {
        let sealer = try sealer()
        let sealed = try sealer.seal("secret", tenantID: tenant, credentialID: credential)
        #expect(sealed.combined.count == 12 + 6 + 16)
        var bytes = sealed.combined
        bytes[index % bytes.count] ^= 0x01
        #expect(throws: SealingError.authenticationFailed(keyID: "k2")) {
            try sealer.open(SealedSecret(keyID: "k2", combined: bytes), tenantID: tenant, credentialID: credential)
        }
    }

    @Test("truncated or padded ciphertexts are refused", arguments: [0, 1, 27, 28, 33, 35])
    func truncated(_ length: Int) throws {
        let sealer = try sealer()
        let sealed = try sealer.seal("secret", tenantID: tenant, credentialID: credential)
        var bytes = Array(sealed.combined.prefix(length))
        if length == 35 { bytes = sealed.combined + [0] }
        #expect(throws: SealingError.self) {
            try sealer.open(SealedSecret(keyID: "k2", combined: bytes), tenantID: tenant, credentialID: credential)
        }
    }

    @Test("rewrap moves secrets to the primary key")
    func rewrap() throws {
        let old = try sealer("k1:\(KeyFixtures.keyA)")
        let sealed = try old.seal("secret", tenantID: tenant, credentialID: credential)
        let rotated = try sealer("k2:\(KeyFixtures.keyB),k1:\(KeyFixtures.keyA)")
        #expect(!old.needsRewrap(sealed))
        #expect(rotated.needsRewrap(sealed))
        #expect(try rotated.openString(sealed, tenantID: tenant, credentialID: credential) == "secret")
        let rewrapped = try rotated.rewrap(sealed, tenantID: tenant, credentialID: credential)
        #expect(rewrapped.keyID == "k2")
        #expect(!rotated.needsRewrap(rewrapped))
        #expect(try rotated.openString(rewrapped, tenantID: tenant, credentialID: credential) == "secret")
        // Once k1 is dropped, only the rewrapped copy still opens.
        let retired = try sealer("k2:\(KeyFixtures.keyB)")
        #expect(try retired.openString(rewrapped, tenantID: tenant, credentialID: credential) == "secret")
        #expect(throws: SealingError.unknownKeyID("k1")) { try retired.open(sealed, tenantID: tenant, credentialID: credential) }
    }

    @Test("errors name no plaintext and no key")
    func errorTexts() {
        for error in [SealingError.unknownKeyID("k1"), .malformed, .authenticationFailed(keyID: "k1"), .sealingFailed] {
            #expect(!error.description.isEmpty)
            #expect(!error.description.contains(KeyFixtures.keyA))
        }
    }
}
