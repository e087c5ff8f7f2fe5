import Foundation
import ProvisionerDomain
import ProvisionerStore

/// The file an upload stores, when Google's JSON came without a secret:
/// the secret given beside it in the `client_secret` form field, or the one of the tenant's
/// newest earlier upload of the same client id, is put into it before it is sealed, so that
/// the worker verifies, and the runtime reads, a file that has its secret.
struct StoredUpload {
    /// What is sealed: the uploaded bytes, with `web.client_secret` set when one was put in.
    let bytes: [UInt8]
    /// Listings' summary of the stored file; `sha256` stays that of the bytes the admin uploaded.
    let summary: ClientSecretsSummary
    let secretCarriedFrom: UUID?
}

extension ServiceAPI {
    /// Decides what `upload` stores for `tenantID`. Throws 422 `client_secret_conflict` when the
    /// file has a different secret than the one beside it.
    func storedUpload(_ upload: UploadedFile.JSONUpload, supplied: SuppliedClientSecret?, tenantID: UUID) async throws -> StoredUpload {
        let asUploaded = StoredUpload(bytes: upload.bytes, summary: upload.summary, secretCarriedFrom: nil)
        let intake: ClientSecretIntake
        do {
            intake = try ClientSecretIntake.decide(file: upload.file, supplied: supplied)
        } catch {
            throw Problem.clientSecretConflict()
        }
        switch intake {
        case .asUploaded:
            return asUploaded
        case .insertSupplied(let supplied):
            return Self.merging(supplied.value, into: upload, carriedFrom: nil) ?? asUploaded
        case .lookForCarryOver(let clientID):
            guard let source = try await carryOverSource(tenantID: tenantID, clientID: clientID),
                  let secret = source.clientSecret
            else { return asUploaded }
            return Self.merging(secret, into: upload, carriedFrom: source.credentialID) ?? asUploaded
        }
    }

    /// The earlier upload whose secret this one takes over, by `ClientSecretCarryOver`'s rule,
    /// among the tenant's newest uploads of `clientID` (opened here: the store never sees a secret).
    private func carryOverSource(tenantID: UUID, clientID: String) async throws -> EarlierUpload? {
        let stored = try await credentials.uploads(tenantID: tenantID, clientID: clientID, limit: ClientSecretCarryOver.candidateLimit)
        var candidates: [EarlierUpload] = []
        candidates.reserveCapacity(stored.count)
        for upload in stored {
            let bytes: [UInt8]
            do {
                bytes = try sealer.open(upload.sealedFile, tenantID: upload.tenantID, credentialID: upload.id)
            } catch {
                // A key removed before `keys rewrap` finished: that upload cannot be a source,
                // and the new one is still taken (with client_secret_missing if nothing else has one).
                RequestScope.now.logger.warning("cannot open an earlier upload to carry its secret over", metadata: [
                    "credential": "\(upload.id)", "key_id": "\(upload.sealedFile.keyID)",
                    "reason": "\((error as? SealingError)?.description ?? "unknown")",
                ])
                continue
            }
            candidates.append(EarlierUpload(
                credentialID: upload.id, tenantID: upload.tenantID, uploadedAt: upload.uploadedAt, clientID: upload.clientID,
                clientSecret: ClientSecretsFile(fileBytes: bytes)?.section?.clientSecret
            ))
        }
        return ClientSecretCarryOver.source(tenantID: tenantID, clientID: clientID, among: candidates)
    }

    /// `upload` with `secret` put in; nil when the file has no `web` object to take it.
    private static func merging(_ secret: String, into upload: UploadedFile.JSONUpload, carriedFrom: UUID?) -> StoredUpload? {
        guard let merged = ClientSecretMerge.setting(secret: secret, in: upload.bytes),
              let file = ClientSecretsFile(fileBytes: merged)
        else { return nil }
        return StoredUpload(
            bytes: merged,
            summary: ClientSecretsSummary(file: file, sha256: upload.summary.sha256),
            secretCarriedFrom: carriedFrom
        )
    }
}

extension Problem {
    static func clientSecretConflict() -> Problem {
        // Neither secret is named, not even in part: problems are logged and shown.
        Problem(
            .unprocessableContent, code: .clientSecretConflict,
            detail: "The file already has a client_secret, and the client_secret field beside it differs. Send the file alone, or a file without a secret with the field.",
            errors: [.init(field: "client_secret", message: "differs from the client_secret in the file")]
        )
    }

    static func clientSecretInvalid(_ reason: SuppliedClientSecret.Invalid) -> Problem {
        let detail = switch reason {
        case .tooLong:
            "The client_secret field is longer than \(ClientSecretIntake.maxSuppliedLength) characters."
        case .notPrintableASCII:
            "The client_secret field may hold only printable ASCII characters, without spaces or line breaks."
        }
        return Problem(.unprocessableContent, code: .clientSecretInvalid, detail: detail, errors: [.init(field: "client_secret", message: detail)])
    }
}
