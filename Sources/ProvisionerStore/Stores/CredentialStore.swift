import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain

/// A stored upload as listings show it: the non-secret summary and the verdict, never the file.
public struct CredentialRecord: Sendable, Equatable {
    public let id: UUID
    public let tenantID: UUID
    public let tenantSlug: String
    public let state: CredentialState
    public let uploadedAt: Date
    public let uploadedBy: String
    public let sha256: String
    public let clientType: ClientType?
    public let clientID: String?
    public let projectID: String?
    public let clientSecretHint: String?
    public let uriSetVersion: Int?
    public let verifiedAt: Date?
    public let attempts: Int
    public let findings: [Finding]
    /// How it fares at Google, as last checked (`CredentialHealth.unchecked` until then).
    public let health: CredentialHealth
    public let pageKey: PageKey
}

public struct NewCredential: Sendable {
    public let id: UUID
    public let tenantID: UUID
    public let summary: ClientSecretsSummary
    /// The whole uploaded file, sealed for this tenant and this credential id (with the secret
    /// given beside it or carried over put in, when it had none).
    public let sealedFile: SealedSecret
    public let uploadedBy: Actor
    /// The earlier upload of the tenant whose secret was carried over into this file.
    public let secretCarriedFrom: UUID?

    public init(
        id: UUID, tenantID: UUID, summary: ClientSecretsSummary, sealedFile: SealedSecret, uploadedBy: Actor,
        secretCarriedFrom: UUID? = nil
    ) {
        self.id = id
        self.tenantID = tenantID
        self.summary = summary
        self.sealedFile = sealedFile
        self.uploadedBy = uploadedBy
        self.secretCarriedFrom = secretCarriedFrom
    }
}

/// An earlier upload with its sealed file, offered to the carry-over rule (`ClientSecretCarryOver`).
public struct SealedUpload: Sendable {
    public let id: UUID
    public let tenantID: UUID
    public let uploadedAt: Date
    public let clientID: String?
    public let sealedFile: SealedSecret
}

public protocol CredentialStore: Sendable {
    /// Stores the upload and queues its verification in the same transaction (with a NOTIFY).
    func upload(_ credential: NewCredential, audit: AuditEntry) async throws -> CredentialRecord
    /// The tenant's newest `limit` uploads of `clientID` with their sealed files, newest first:
    /// where a secret may be carried over from.
    func uploads(tenantID: UUID, clientID: String, limit: Int) async throws -> [SealedUpload]
    /// Newest first.
    func list(tenantID: UUID, scope: AccessScope, limit: Int, after: PageKey?) async throws -> [CredentialRecord]
    func get(tenantID: UUID, id: UUID, scope: AccessScope) async throws -> CredentialRecord?
    /// The credential in use: the newest verified one, verified against the current URI set.
    func active(tenantID: UUID, scope: AccessScope) async throws -> CredentialRecord?
    /// Sends a credential back to verification; nil when there is no such credential.
    func reverify(tenantID: UUID, id: UUID, scope: AccessScope, audit: AuditEntry) async throws -> CredentialRecord?
    /// The active credential with its sealed file; the read is audited in the same transaction.
    func activeSealedFile(tenantID: UUID, audit: AuditEntry) async throws -> (record: CredentialRecord, sealedFile: SealedSecret)?
    /// Calendar settings; `syncEnabled` needs an active credential.
    func setCalendarSettings(tenantID: UUID, scope: AccessScope, syncEnabled: Bool, defaultEventColor: String, audit: AuditEntry) async throws -> CalendarSettingsResult
}

public enum CalendarSettingsResult: Sendable, Equatable {
    case updated(syncEnabled: Bool, defaultEventColor: String)
    case noActiveCredential
    case tenantNotFound
}

public struct PostgresCredentialStore: CredentialStore {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    static let columns = """
        c.id, c.tenant_id, t.slug, c.state, c.uploaded_at, c.uploaded_by, c.sha256, c.client_type, c.client_id, c.project_id,
        c.client_secret_hint, c.uri_set_version, c.verified_at, c.attempts, c.findings::text,
        (extract(epoch FROM c.uploaded_at) * 1000000)::bigint,
        c.health_state, c.health_checked_at, c.health_uris::text
        """

    /// One round trip: `upload_credential` (migration 0026) takes the role and the tenant's
    /// scope, stores the row, moves the tenant's latest pointer, wakes the workers at commit,
    /// appends the audit row and returns the record as stored. For an idempotency key whose
    /// upload is already there (its first request died before its answer was stored), that
    /// upload is returned and nothing is written.
    public func upload(_ credential: NewCredential, audit: AuditEntry) async throws -> CredentialRecord {
        let summary = credential.summary
        // The request's trace context when tracing is on (the verification span links to it).
        let trace = QueuedTraceContext.current
        let idempotencyRecord = IdempotentRequest.recordID
        var audit = audit
        audit.tenantID = credential.tenantID
        audit.target = "credential:\(credential.id.uuidString.lowercased())"
        let rows = try await database.call(.tenant(credential.tenantID)) {
            """
            SELECT * FROM upload_credential(
                \($0), \(credential.id), \(credential.tenantID), \(credential.uploadedBy.name ?? "unknown"), \(credential.uploadedBy.tokenID),
                \(summary.sha256), \(summary.clientType?.rawValue), \(summary.clientID), \(summary.projectID), \(summary.clientSecretHint),
                \(credential.sealedFile.keyID), \(ByteBuffer(bytes: credential.sealedFile.combined)), \(credential.secretCarriedFrom),
                \(trace?.traceParent), \(trace?.traceState), \(idempotencyRecord), \(audit))
            """
        }
        guard let record = try Self.decode(rows).first else { throw DatabaseUnavailable() }
        return record
    }

    public func uploads(tenantID: UUID, clientID: String, limit: Int) async throws -> [SealedUpload] {
        // Scoped to the tenant by row-level security as well as by the condition: another
        // tenant's file is never offered, even if the condition were wrong.
        try await database.transaction(.tenant(tenantID)) { connection in
            let rows = try await connection.query(
                """
                SELECT c.id, c.tenant_id, c.uploaded_at, c.client_id, c.sealed_key_id, c.sealed_file FROM credentials c
                WHERE c.tenant_id = \(tenantID) AND c.client_id = \(clientID)
                ORDER BY c.uploaded_at DESC, c.id DESC
                LIMIT \(limit)
                """,
                logger: database.logger
            )
            var uploads: [SealedUpload] = []
            for try await (id, tenant, uploadedAt, clientID, keyID, sealed) in rows.decode((UUID, UUID, Date, String?, String, ByteBuffer).self) {
                uploads.append(SealedUpload(
                    id: id, tenantID: tenant, uploadedAt: uploadedAt, clientID: clientID,
                    sealedFile: SealedSecret(keyID: keyID, combined: Array(buffer: sealed))
                ))
            }
            return uploads
        }
    }

    public func list(tenantID: UUID, scope: AccessScope, limit: Int, after: PageKey?) async throws -> [CredentialRecord] {
        try await database.transaction(scope) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.columns) FROM credentials c JOIN tenants t ON t.id = c.tenant_id
                WHERE c.tenant_id = \(tenantID)
                  AND (\(after?.micros)::bigint IS NULL
                       OR (c.uploaded_at, c.id) < ('epoch'::timestamptz + \(after?.micros) * interval '1 microsecond', \(after?.id)))
                ORDER BY c.uploaded_at DESC, c.id DESC
                LIMIT \(limit)
                """,
                logger: database.logger
            )
            return try await Self.decode(rows)
        }
    }

    /// What a client polls its upload's verdict with: one round trip, as `credential_record`
    /// takes the role and scope itself (migration 0025) and keeps its plan for the connection.
    public func get(tenantID: UUID, id: UUID, scope: AccessScope) async throws -> CredentialRecord? {
        try Self.decode(try await database.call(scope) { "SELECT * FROM credential_record(\($0), \(id), \(tenantID))" }).first
    }

    public func active(tenantID: UUID, scope: AccessScope) async throws -> CredentialRecord? {
        try await database.transaction(scope) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.columns) FROM tenants t JOIN credentials c ON c.id = t.active_credential_id
                WHERE t.id = \(tenantID)
                """,
                logger: database.logger
            )
            return try await Self.decode(rows).first
        }
    }

    public func reverify(tenantID: UUID, id: UUID, scope: AccessScope, audit: AuditEntry) async throws -> CredentialRecord? {
        try await database.transaction(scope) { connection in
            let logger = database.logger
            // The tenant row first, as every writer of a tenant's credentials does (see
            // complete_verifications in migration 0004).
            try await connection.query("SELECT 1 FROM tenants WHERE id = \(tenantID) FOR UPDATE", logger: logger)
            guard try await VerificationRequests.requeue(id, tenantID: tenantID, reason: .reverification, on: connection, logger: logger) else {
                return nil
            }
            // Until it passes again it is not verified, so not active.
            try await connection.query(
                """
                UPDATE tenants
                SET active_credential_id = CASE WHEN active_credential_id = \(id) THEN NULL ELSE active_credential_id END,
                    latest_credential_state = CASE WHEN latest_credential_id = \(id) THEN 'pending' ELSE latest_credential_state END,
                    updated_at = now()
                WHERE id = \(tenantID)
                """,
                logger: logger
            )
            var audit = audit
            audit.tenantID = tenantID
            audit.target = "credential:\(id.uuidString.lowercased())"
            try await PostgresAuditStore.append(audit, on: connection, logger: logger)
            return try await Self.fetch(id: id, tenantID: tenantID, on: connection, logger: logger)
        }
    }

    public func activeSealedFile(tenantID: UUID, audit: AuditEntry) async throws -> (record: CredentialRecord, sealedFile: SealedSecret)? {
        try await database.transaction(.allTenants) { connection in
            let logger = database.logger
            let rows = try await connection.query(
                """
                SELECT c.sealed_key_id, c.sealed_file FROM tenants t JOIN credentials c ON c.id = t.active_credential_id
                WHERE t.id = \(tenantID)
                """,
                logger: logger
            )
            guard let (keyID, sealed) = try await rows.decode((String, ByteBuffer).self).first(where: { _ in true }),
                  let record = try await Self.fetchActive(tenantID: tenantID, on: connection, logger: logger)
            else { return nil }
            var audit = audit
            audit.tenantID = tenantID
            audit.target = "credential:\(record.id.uuidString.lowercased())"
            try await PostgresAuditStore.append(audit, on: connection, logger: logger)
            return (record, SealedSecret(keyID: keyID, combined: Array(buffer: sealed)))
        }
    }

    public func setCalendarSettings(
        tenantID: UUID, scope: AccessScope, syncEnabled: Bool, defaultEventColor: String, audit: AuditEntry
    ) async throws -> CalendarSettingsResult {
        try await database.transaction(scope) { connection in
            let logger = database.logger
            let rows = try await connection.query(
                "SELECT active_credential_id IS NOT NULL FROM tenants WHERE id = \(tenantID) FOR UPDATE",
                logger: logger
            )
            guard let hasActive = try await rows.decode(Bool.self).first(where: { _ in true }) else { return .tenantNotFound }
            if syncEnabled && !hasActive { return .noActiveCredential }
            try await connection.query(
                """
                UPDATE tenants SET calendar_sync_enabled = \(syncEnabled), calendar_default_event_color = \(defaultEventColor), updated_at = now()
                WHERE id = \(tenantID)
                """,
                logger: logger
            )
            var audit = audit
            audit.tenantID = tenantID
            try await PostgresAuditStore.append(audit, on: connection, logger: logger)
            return .updated(syncEnabled: syncEnabled, defaultEventColor: defaultEventColor)
        }
    }

    static func fetch(id: UUID, tenantID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> CredentialRecord? {
        let rows = try await connection.query(
            "SELECT \(unescaped: columns) FROM credentials c JOIN tenants t ON t.id = c.tenant_id WHERE c.id = \(id) AND c.tenant_id = \(tenantID)",
            logger: logger
        )
        return try await decode(rows).first
    }

    static func fetchActive(tenantID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> CredentialRecord? {
        let rows = try await connection.query(
            "SELECT \(unescaped: columns) FROM tenants t JOIN credentials c ON c.id = t.active_credential_id WHERE t.id = \(tenantID)",
            logger: logger
        )
        return try await decode(rows).first
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [CredentialRecord] {
        try decode(try await rows.collect())
    }

    /// The rows of `columns` (or of `credential_record`, which returns them in that order).
    static func decode(_ rows: [PostgresRow]) throws -> [CredentialRecord] {
        let decoder = JSONDecoder()
        var records: [CredentialRecord] = []
        for (id, tenantID, slug, state, uploadedAt, uploadedBy, sha256, clientType, clientID, projectID, hint, uriVersion, verifiedAt, attempts, findings, micros, healthState, checkedAt, healthURIs)
            in try rows.decode((UUID, UUID, String, String, Date, String, String, String?, String?, String?, String?, Int?, Date?, Int, String, Int64, String, Date?, String).self)
        {
            records.append(CredentialRecord(
                id: id, tenantID: tenantID, tenantSlug: slug, state: CredentialState(rawValue: state) ?? .pending,
                uploadedAt: uploadedAt, uploadedBy: uploadedBy, sha256: sha256, clientType: clientType.flatMap(ClientType.init(rawValue:)),
                clientID: clientID, projectID: projectID, clientSecretHint: hint, uriSetVersion: uriVersion, verifiedAt: verifiedAt,
                attempts: attempts, findings: (try? decoder.decode([Finding].self, from: Data(findings.utf8))) ?? [],
                health: CredentialHealth(
                    state: HealthState(rawValue: healthState) ?? .unchecked, checkedAt: checkedAt, uris: healthURIList(healthURIs)
                ),
                pageKey: PageKey(micros: micros, id: id)
            ))
        }
        return records
    }

    /// `health_uris` (`[{"uri", "state"}]`) read defensively: an element that is not an object
    /// with a string `uri` is skipped, an unknown or missing `state` reads as `unchecked`, and
    /// anything that is not an array reads as `[]`. Never throws.
    static func healthURIList(_ text: String) -> [URIHealth] {
        guard let array = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Any] else { return [] }
        return array.compactMap { element in
            guard let object = element as? [String: Any], let uri = object["uri"] as? String else { return nil }
            return URIHealth(uri: uri, state: (object["state"] as? String).flatMap(HealthState.init(rawValue:)) ?? .unchecked)
        }
    }
}
