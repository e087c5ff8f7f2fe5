import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain

/// `provisioner keys rewrap`: re-seals everything stored sealed under the primary key: the
/// uploaded files (`credentials.sealed_file`), the stored idempotent answers
/// (`idempotency_keys.sealed_body`, which can hold a new token or webhook secret) and the
/// webhook signing secrets (`webhook_endpoints.secret_sealed` and, during a rotation,
/// `previous_secret_sealed`).
///
/// Each table is walked by a stable keyset, `sealed_key_id <> primary AND id > last ORDER BY
/// id`, in batches of its own transaction (rows locked, opened, sealed again, written back), so
/// the command can be stopped and run again at any time, and never holds more than a batch in
/// memory. Ids are random UUIDs: a process still sealing under an older key (one not restarted
/// yet) can write a row behind the cursor, so a walk that re-sealed anything is followed by
/// another, until one finds nothing left to do. A row that does not open (its key is no longer
/// configured, or it was altered) is left as it is and reported once.
public struct SecretRewrapper: Sendable {
    let database: Database
    let sealer: SecretSealer

    public init(database: Database, sealer: SecretSealer) {
        self.database = database
        self.sealer = sealer
    }

    public struct Progress: Sendable, Equatable {
        /// Uploaded files re-sealed under the primary key.
        public var rewrapped = 0
        /// Uploads whose file does not open with the configured keys: left as they are.
        public var failed: [UUID] = []
        /// Stored idempotent answers re-sealed under the primary key.
        public var answersRewrapped = 0
        /// Idempotency records whose answer does not open: left as they are (they expire
        /// within 24 hours in any case).
        public var answersFailed: [UUID] = []
        /// Webhook signing secrets (current and previous) re-sealed under the primary key.
        public var webhookSecretsRewrapped = 0
        /// Webhook endpoints with a secret that does not open: left as they are.
        public var webhookSecretsFailed: [UUID] = []

        public init() {}
    }

    /// A table with a sealed column, and what its ciphertexts are bound to.
    enum SealedTable: CaseIterable {
        case credentials
        case idempotentAnswers
        case webhookSecrets
        /// The secret a rotation moved aside, which still signs for 24 hours.
        case previousWebhookSecrets

        var name: String {
            switch self {
            case .credentials: "credentials"
            case .idempotentAnswers: "idempotency_keys"
            case .webhookSecrets, .previousWebhookSecrets: "webhook_endpoints"
            }
        }

        var sealedColumn: String {
            switch self {
            case .credentials: "sealed_file"
            case .idempotentAnswers: "sealed_body"
            case .webhookSecrets: "secret_sealed"
            case .previousWebhookSecrets: "previous_secret_sealed"
            }
        }

        var keyIDColumn: String {
            switch self {
            case .credentials, .idempotentAnswers: "sealed_key_id"
            case .webhookSecrets: "secret_key_id"
            case .previousWebhookSecrets: "previous_secret_key_id"
            }
        }

        /// Endpoints belong to no tenant.
        var tenantColumn: String {
            switch self {
            case .credentials, .idempotentAnswers: "tenant_id"
            case .webhookSecrets, .previousWebhookSecrets: "NULL::uuid"
            }
        }

        func associatedData(id: UUID, tenantID: UUID?) -> [UInt8]? {
            switch self {
            case .credentials:
                tenantID.map { SecretSealer.associatedData(tenantID: $0, credentialID: id) }
            case .idempotentAnswers:
                PostgresIdempotencyStore.associatedData(recordID: id)
            case .webhookSecrets, .previousWebhookSecrets:
                SecretSealer.webhookAssociatedData(endpointID: id)
            }
        }
    }

    /// One batch: the last id looked at (nil when there was nothing left past the cursor),
    /// how many were re-sealed, and which did not open.
    struct Batch {
        var lastID: UUID?
        var rewrapped = 0
        var failed: [UUID] = []
    }

    static let startOfKeyset = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))

    /// Re-seals every row of both tables; `onBatch` hears of each committed batch (and can
    /// stop the walk by throwing: what was committed stays).
    public func rewrapAll(batchSize: Int = 500, onBatch: @Sendable (Progress) async throws -> Void = { _ in }) async throws -> Progress {
        var progress = Progress()
        for table in SealedTable.allCases {
            var reported = Set<UUID>()
            var resealedInWalk: Int
            repeat {
                resealedInWalk = 0
                var after = Self.startOfKeyset
                while true {
                    let batch = try await rewrapBatch(table, after: after, limit: batchSize)
                    resealedInWalk += batch.rewrapped
                    let newlyFailed = batch.failed.filter { reported.insert($0).inserted }
                    switch table {
                    case .credentials:
                        progress.rewrapped += batch.rewrapped
                        progress.failed += newlyFailed
                    case .idempotentAnswers:
                        progress.answersRewrapped += batch.rewrapped
                        progress.answersFailed += newlyFailed
                    case .webhookSecrets, .previousWebhookSecrets:
                        progress.webhookSecretsRewrapped += batch.rewrapped
                        progress.webhookSecretsFailed += newlyFailed.filter { !progress.webhookSecretsFailed.contains($0) }
                    }
                    guard let lastID = batch.lastID else { break }
                    try await onBatch(progress)
                    after = lastID
                }
            } while resealedInWalk > 0
        }
        return progress
    }

    /// The next `limit` rows past `after` not under the primary key, in one transaction.
    func rewrapBatch(_ table: SealedTable, after: UUID, limit: Int) async throws -> Batch {
        let primary = sealer.keyring.primaryKeyID
        return try await database.transaction(.allTenants) { [sealer, database] connection -> Batch in
            // The sealed column of a running idempotency record, and an endpoint's previous
            // secret outside a rotation, are null: `<>` leaves them out.
            let rows = try await connection.query(
                """
                SELECT id, \(unescaped: table.tenantColumn), \(unescaped: table.keyIDColumn), \(unescaped: table.sealedColumn)
                FROM \(unescaped: table.name)
                WHERE \(unescaped: table.keyIDColumn) <> \(primary) AND \(unescaped: table.sealedColumn) IS NOT NULL AND id > \(after)
                ORDER BY id LIMIT \(limit)
                FOR UPDATE
                """,
                logger: database.logger
            )
            var batch = Batch()
            var ids: [UUID] = []
            var keyIDs: [String] = []
            var bodies: [ByteBuffer] = []
            for try await (id, tenantID, keyID, sealed) in rows.decode((UUID, UUID?, String, ByteBuffer).self) {
                batch.lastID = id
                do {
                    guard let associatedData = table.associatedData(id: id, tenantID: tenantID) else { throw SealingError.malformed }
                    let plaintext = try sealer.open(SealedSecret(keyID: keyID, combined: Array(buffer: sealed)), associatedData: associatedData)
                    let resealed = try sealer.seal(plaintext, associatedData: associatedData)
                    ids.append(id)
                    keyIDs.append(resealed.keyID)
                    bodies.append(ByteBuffer(bytes: resealed.combined))
                } catch {
                    database.logger.warning(
                        "keys rewrap: a sealed row does not open; left as it is",
                        metadata: ["table": "\(table.name)", "id": "\(id)", "key_id": "\(keyID)", "reason": "\(error)"]
                    )
                    batch.failed.append(id)
                }
            }
            if !ids.isEmpty {
                try await connection.query(
                    """
                    UPDATE \(unescaped: table.name) t SET \(unescaped: table.keyIDColumn) = r.key_id, \(unescaped: table.sealedColumn) = r.body
                    FROM unnest(\(ids)::uuid[], \(keyIDs)::text[], \(bodies)::bytea[]) AS r(id, key_id, body)
                    WHERE t.id = r.id
                    """,
                    logger: database.logger
                )
            }
            batch.rewrapped = ids.count
            return batch
        }
    }
}
