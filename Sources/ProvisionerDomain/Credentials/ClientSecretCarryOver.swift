#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An earlier upload of the same tenant, opened, as the carry-over rule sees it.
///
/// Its descriptions and mirror redact the secret, like `RuntimeCredential`'s.
public struct EarlierUpload: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let credentialID: UUID
    public let tenantID: UUID
    public let uploadedAt: Date
    public let clientID: String?
    /// The `client_secret` of the stored (sealed) file; nil or empty when it had none.
    public let clientSecret: String?

    public init(credentialID: UUID, tenantID: UUID, uploadedAt: Date, clientID: String?, clientSecret: String?) {
        self.credentialID = credentialID
        self.tenantID = tenantID
        self.uploadedAt = uploadedAt
        self.clientID = clientID
        self.clientSecret = clientSecret
    }

    public var description: String {
        "EarlierUpload(credential: \(credentialID), tenant: \(tenantID), uploaded_at: \(uploadedAt), client_id: \(clientID ?? "nil"), "
            + "client_secret: \(clientSecret?.isEmpty == false ? "<redacted>" : "none"))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: [
            "credentialID": credentialID,
            "tenantID": tenantID,
            "uploadedAt": uploadedAt,
            "clientID": clientID as Any,
            "clientSecret": "<redacted>",
        ])
    }
}

/// Which earlier upload's secret an upload without one takes over.
///
/// The newest upload of the same tenant with the same `client_id` (byte for byte) whose
/// stored file had a non-empty secret; "newest" in the order of every list, (uploaded_at, id).
/// An upload that took a secret over has it in its stored file, so the next one carries from
/// it: the chain always ends at the secret the admin last gave.
///
/// Another tenant's upload is never a source, whatever the caller passes: a client id is no
/// proof of owning its secret.
public enum ClientSecretCarryOver {
    /// How many of the tenant's newest uploads with the client id the store offers. Every
    /// upload after one with a secret carries it, so the newest with a secret is among the
    /// first unless this many in a row could not take one (files without a `web` object).
    public static let candidateLimit = 20

    /// The upload to take the secret from; nil when there is none.
    public static func source(tenantID: UUID, clientID: String, among candidates: [EarlierUpload]) -> EarlierUpload? {
        var best: EarlierUpload?
        for candidate in candidates {
            guard candidate.tenantID == tenantID,
                  let candidateClientID = candidate.clientID, sameBytes(candidateClientID, clientID),
                  let secret = candidate.clientSecret, !secret.isEmpty
            else { continue }
            if let current = best,
               (current.uploadedAt, current.credentialID.uuidString.lowercased()) >= (candidate.uploadedAt, candidate.credentialID.uuidString.lowercased()) {
                continue
            }
            best = candidate
        }
        return best
    }
}
