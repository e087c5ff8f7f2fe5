#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto

/// A client secret as stored: the id of the key that sealed it, and
/// AES-256-GCM nonce (12 bytes) + ciphertext + tag (16 bytes).
public struct SealedSecret: Sendable, Hashable, CustomStringConvertible {
    public let keyID: String
    public let combined: [UInt8]

    public init(keyID: String, combined: [UInt8]) {
        self.keyID = keyID
        self.combined = combined
    }

    public var description: String { "SealedSecret(keyID: \(keyID), \(combined.count) bytes)" }
}

/// Why a secret could not be sealed or opened. Never carries key material or plaintext.
public enum SealingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The row was sealed with a key that is no longer configured.
    case unknownKeyID(String)
    /// Shorter than a nonce and a tag: not something we wrote.
    case malformed
    /// Tampered with, or moved to another tenant or credential row (the associated data differs).
    case authenticationFailed(keyID: String)
    case sealingFailed

    public var description: String {
        switch self {
        case .unknownKeyID(let id):
            "the secret was sealed with key '\(id)', which is not in PROVISIONER_ENCRYPTION_KEYS"
        case .malformed:
            "the sealed secret is too short to be AES-GCM output"
        case .authenticationFailed(let id):
            "the sealed secret failed authentication with key '\(id)': it was altered or belongs to another tenant or credential"
        case .sealingFailed:
            "the secret could not be encrypted"
        }
    }
}

/// Encrypts client secrets at rest.
///
/// The associated data binds each ciphertext to its tenant and credential, so a
/// ciphertext copied into another row (by a bug or by someone with database access)
/// does not open there.
public struct SecretSealer: Sendable {
    public let keyring: EncryptionKeyring

    public init(keyring: EncryptionKeyring) {
        self.keyring = keyring
    }

    /// `agcrm-credential-v1|<tenant uuid>|<credential uuid>`, UUIDs in lowercase
    /// (as PostgreSQL prints them) so every component derives the same bytes.
    public static func associatedData(tenantID: UUID, credentialID: UUID) -> [UInt8] {
        Array("agcrm-credential-v1|\(tenantID.uuidString.lowercased())|\(credentialID.uuidString.lowercased())".utf8)
    }

    /// Seals with the primary key and a fresh random nonce.
    public func seal(_ plaintext: [UInt8], tenantID: UUID, credentialID: UUID) throws(SealingError) -> SealedSecret {
        try seal(plaintext, associatedData: Self.associatedData(tenantID: tenantID, credentialID: credentialID))
    }

    public func seal(_ plaintext: String, tenantID: UUID, credentialID: UUID) throws(SealingError) -> SealedSecret {
        try seal(Array(plaintext.utf8), tenantID: tenantID, credentialID: credentialID)
    }

    public func open(_ sealed: SealedSecret, tenantID: UUID, credentialID: UUID) throws(SealingError) -> [UInt8] {
        try open(sealed, associatedData: Self.associatedData(tenantID: tenantID, credentialID: credentialID))
    }

    /// Seals other stored data that must not be readable at rest (a stored idempotent answer
    /// can hold a new token), bound to `associatedData` that names where it belongs.
    public func seal(_ plaintext: [UInt8], associatedData: [UInt8]) throws(SealingError) -> SealedSecret {
        try seal(plaintext, keyID: keyring.primaryKeyID, key: keyring.primaryKey, associatedData: associatedData)
    }

    public func open(_ sealed: SealedSecret, associatedData: [UInt8]) throws(SealingError) -> [UInt8] {
        guard let key = keyring.key(withID: sealed.keyID) else { throw .unknownKeyID(sealed.keyID) }
        // 12-byte nonce + 16-byte tag; anything shorter cannot be ours.
        guard sealed.combined.count >= 28 else { throw .malformed }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed.combined)
            let plaintext = try AES.GCM.open(box, using: key, authenticating: associatedData)
            return Array(plaintext)
        } catch {
            throw .authenticationFailed(keyID: sealed.keyID)
        }
    }

    /// Opens a secret sealed from a UTF-8 string.
    public func openString(_ sealed: SealedSecret, tenantID: UUID, credentialID: UUID) throws(SealingError) -> String {
        let bytes = try open(sealed, tenantID: tenantID, credentialID: credentialID)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// True when the secret is not under the primary key, so `keys rewrap` should reseal it.
    public func needsRewrap(_ sealed: SealedSecret) -> Bool {
        sealed.keyID != keyring.primaryKeyID
    }

    /// Opens with the old key and seals again with the primary key.
    public func rewrap(_ sealed: SealedSecret, tenantID: UUID, credentialID: UUID) throws(SealingError) -> SealedSecret {
        let plaintext = try open(sealed, tenantID: tenantID, credentialID: credentialID)
        return try seal(plaintext, tenantID: tenantID, credentialID: credentialID)
    }

    private func seal(_ plaintext: [UInt8], keyID: String, key: SymmetricKey, associatedData: [UInt8]) throws(SealingError) -> SealedSecret {
        do {
            let box = try AES.GCM.seal(plaintext, using: key, nonce: AES.GCM.Nonce(), authenticating: associatedData)
            guard let combined = box.combined else { throw SealingError.sealingFailed }
            return SealedSecret(keyID: keyID, combined: Array(combined))
        } catch {
            throw .sealingFailed
        }
    }
}
