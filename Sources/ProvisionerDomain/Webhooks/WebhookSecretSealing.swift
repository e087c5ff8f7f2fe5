#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Webhook signing secrets are sealed at rest like client secrets, with the same keys (so
/// `keys rewrap` re-seals them too), bound to their endpoint: a sealed secret copied to
/// another endpoint's row does not open there.
extension SecretSealer {
    /// `agcrm-webhook-secret-v1|<endpoint uuid>`, lowercase as PostgreSQL prints it.
    public static func webhookAssociatedData(endpointID: UUID) -> [UInt8] {
        Array("agcrm-webhook-secret-v1|\(endpointID.uuidString.lowercased())".utf8)
    }

    public func sealWebhookSecret(_ secret: WebhookSecret, endpointID: UUID) throws(SealingError) -> SealedSecret {
        try seal(secret.bytes, associatedData: Self.webhookAssociatedData(endpointID: endpointID))
    }

    public func openWebhookSecret(_ sealed: SealedSecret, endpointID: UUID) throws(SealingError) -> WebhookSecret {
        WebhookSecret(bytes: try open(sealed, associatedData: Self.webhookAssociatedData(endpointID: endpointID)))
    }
}
