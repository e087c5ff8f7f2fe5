import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain

/// A webhook endpoint as the API shows it: never its secret (the sealed bytes stay in the
/// database; only the worker opens them).
public struct WebhookEndpointRecord: Sendable, Equatable {
    public let id: UUID
    public let url: String
    public let description: String
    public let events: [String]
    public let enabled: Bool
    /// `gone` once the receiver answered 410; nil while enabled.
    public let disabledReason: String?
    public let createdAt: Date
    public let createdBy: UUID?
    /// Until when the secret before the last rotation still signs; nil when there is none.
    public let previousSecretExpiresAt: Date?
}

/// One delivery of one event to one endpoint, as the API shows it.
public struct WebhookDeliveryRecord: Sendable, Equatable {
    public let id: UUID
    /// The order events happened in; the keyset of the newest-first list.
    public let seq: Int64
    public let endpointID: UUID
    /// The `webhook-id` every attempt of this event carries.
    public let eventID: UUID
    public let eventType: String
    public let tenantSlug: String
    public let attempt: Int
    /// `pending`, `succeeded` or `failed`.
    public let status: String
    public let responseStatus: Int?
    public let attemptedAt: Date?
    public let nextAttemptAt: Date
    public let lastError: String?
}

public enum WebhookEndpointCreation: Sendable, Equatable {
    case created(WebhookEndpointRecord)
    /// `WebhookEndpointStore.maximumEndpoints` exist already; nothing was written.
    case limitReached
}

public enum WebhookDeliveryRetry: Sendable, Equatable {
    case retried(WebhookDeliveryRecord)
    case endpointNotFound
    /// No such delivery, or one of another endpoint.
    case deliveryNotFound
    case endpointDisabled
    /// A worker holds the delivery right now (its lease has not expired).
    case inFlight
}

/// Webhook endpoints and their deliveries, for the support desk. Endpoints belong to no
/// tenant, so every method runs in the all-tenants scope (the tables' row security admits
/// nothing else). Every change writes its audit row in its own transaction.
public protocol WebhookEndpointStore: Sendable {
    /// Stores an endpoint whose secret was sealed for `id`; `.limitReached` when there are
    /// `maximumEndpoints` already.
    func create(
        id: UUID, url: String, description: String, events: [String], secret: SealedSecret, createdBy: UUID?, audit: AuditEntry
    ) async throws -> WebhookEndpointCreation
    /// Every endpoint, newest first (there are at most `maximumEndpoints`).
    func list() async throws -> [WebhookEndpointRecord]
    func get(id: UUID) async throws -> WebhookEndpointRecord?
    /// Deletes the endpoint and, by the foreign key's cascade, its deliveries; nil when none.
    func delete(id: UUID, audit: @escaping @Sendable (WebhookEndpointRecord) -> AuditEntry) async throws -> WebhookEndpointRecord?
    /// Makes `secret` (sealed for `id`) the current secret; the current one keeps signing
    /// for `previousSecretLifetime` as the previous one, replacing any older previous one.
    func rotate(id: UUID, secret: SealedSecret, audit: @escaping @Sendable (WebhookEndpointRecord) -> AuditEntry) async throws -> WebhookEndpointRecord?
    /// An endpoint's deliveries, newest first, before `beforeSeq`; nil when there is no such endpoint.
    func deliveries(endpointID: UUID, limit: Int, beforeSeq: Int64?) async throws -> [WebhookDeliveryRecord]?
    /// Sends a delivery again: pending now, one attempt more than made so far allowed.
    func retry(endpointID: UUID, deliveryID: UUID, audit: AuditEntry) async throws -> WebhookDeliveryRetry
}

extension WebhookEndpointStore {
    /// Endpoints at most: each event is written once per subscribed endpoint, in the
    /// transaction of the change, so their number bounds what a verdict costs.
    public static var maximumEndpoints: Int { 50 }
    /// How long a rotated-out secret keeps signing.
    public static var previousSecretLifetime: Duration { .seconds(24 * 3600) }
}

public struct PostgresWebhookEndpointStore: WebhookEndpointStore {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Arbitrary, fixed: the advisory lock that serialises creations, so that two at once
    /// cannot both see 49 endpoints and make 51.
    static let creationLockKey: Int64 = 0x7768_6B5F_6372_6561

    static let endpointColumns = """
        id, url, description, events, enabled, disabled_reason, created_at, created_by, previous_secret_expires_at
        """

    static let deliveryColumns = """
        d.id, d.seq, d.endpoint_id, d.event_id, d.event_type, d.tenant_slug, d.attempt, d.status, d.response_status,
        d.attempted_at, d.next_attempt_at, d.last_error
        """

    public func create(
        id: UUID, url: String, description: String, events: [String], secret: SealedSecret, createdBy: UUID?, audit: AuditEntry
    ) async throws -> WebhookEndpointCreation {
        try await database.transaction(.allTenants) { connection in
            let logger = database.logger
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.creationLockKey))", logger: logger)
            let countRows = try await connection.query("SELECT count(*)::int8 FROM webhook_endpoints", logger: logger)
            var count = 0
            for try await value in countRows.decode(Int64.self) { count = Int(value) }
            guard count < Self.maximumEndpoints else { return .limitReached }
            let rows = try await connection.query(
                """
                INSERT INTO webhook_endpoints (id, url, description, events, secret_key_id, secret_sealed, created_by)
                VALUES (\(id), \(url), \(description), \(events)::text[], \(secret.keyID), \(ByteBuffer(bytes: secret.combined)), \(createdBy))
                RETURNING \(unescaped: Self.endpointColumns)
                """,
                logger: logger
            )
            guard let record = try await Self.decodeEndpoints(rows).first else { throw DatabaseUnavailable() }
            try await PostgresAuditStore.append(audit, on: connection, logger: logger)
            return .created(record)
        }
    }

    public func list() async throws -> [WebhookEndpointRecord] {
        try await database.transaction(.allTenants) { connection in
            let rows = try await connection.query(
                "SELECT \(unescaped: Self.endpointColumns) FROM webhook_endpoints ORDER BY created_at DESC, id DESC",
                logger: database.logger
            )
            return try await Self.decodeEndpoints(rows)
        }
    }

    public func get(id: UUID) async throws -> WebhookEndpointRecord? {
        try await database.transaction(.allTenants) { connection in
            let rows = try await connection.query(
                "SELECT \(unescaped: Self.endpointColumns) FROM webhook_endpoints WHERE id = \(id)", logger: database.logger
            )
            return try await Self.decodeEndpoints(rows).first
        }
    }

    public func delete(id: UUID, audit: @escaping @Sendable (WebhookEndpointRecord) -> AuditEntry) async throws -> WebhookEndpointRecord? {
        return try await database.transaction(.allTenants) { connection in
            let rows = try await connection.query(
                "DELETE FROM webhook_endpoints WHERE id = \(id) RETURNING \(unescaped: Self.endpointColumns)", logger: database.logger
            )
            guard let record = try await Self.decodeEndpoints(rows).first else { return nil }
            try await PostgresAuditStore.append(audit(record), on: connection, logger: database.logger)
            return record
        }
    }

    public func rotate(id: UUID, secret: SealedSecret, audit: @escaping @Sendable (WebhookEndpointRecord) -> AuditEntry) async throws -> WebhookEndpointRecord? {
        let lifetime = Double(Self.previousSecretLifetime.components.seconds)
        return try await database.transaction(.allTenants) { connection in
            // SET reads the row as it was: the current secret moves to previous_*, and a
            // previous one still in its 24 hours is dropped (two secrets at most sign).
            let rows = try await connection.query(
                """
                UPDATE webhook_endpoints
                SET previous_secret_key_id = secret_key_id, previous_secret_sealed = secret_sealed,
                    previous_secret_expires_at = now() + \(lifetime) * interval '1 second',
                    secret_key_id = \(secret.keyID), secret_sealed = \(ByteBuffer(bytes: secret.combined))
                WHERE id = \(id)
                RETURNING \(unescaped: Self.endpointColumns)
                """,
                logger: database.logger
            )
            guard let record = try await Self.decodeEndpoints(rows).first else { return nil }
            try await PostgresAuditStore.append(audit(record), on: connection, logger: database.logger)
            return record
        }
    }

    public func deliveries(endpointID: UUID, limit: Int, beforeSeq: Int64?) async throws -> [WebhookDeliveryRecord]? {
        try await database.transaction(.allTenants) { connection in
            let exists = try await connection.query("SELECT 1 FROM webhook_endpoints WHERE id = \(endpointID)", logger: database.logger)
            var found = false
            for try await _ in exists.decode(Int32.self) { found = true }
            guard found else { return nil }
            // webhook_deliveries_endpoint_newest (endpoint_id, seq DESC) serves this as a range.
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.deliveryColumns) FROM webhook_deliveries d
                WHERE d.endpoint_id = \(endpointID) AND (\(beforeSeq)::bigint IS NULL OR d.seq < \(beforeSeq))
                ORDER BY d.seq DESC
                LIMIT \(limit)
                """,
                logger: database.logger
            )
            return try await Self.decodeDeliveries(rows)
        }
    }

    public func retry(endpointID: UUID, deliveryID: UUID, audit: AuditEntry) async throws -> WebhookDeliveryRetry {
        try await database.transaction(.allTenants) { connection in
            let logger = database.logger
            let endpointRows = try await connection.query(
                "SELECT enabled FROM webhook_endpoints WHERE id = \(endpointID)", logger: logger
            )
            var enabled: Bool?
            for try await value in endpointRows.decode(Bool.self) { enabled = value }
            guard let enabled else { return .endpointNotFound }
            // Locked: a worker claiming it meanwhile either comes first (and its lease shows
            // here) or claims the retried row after this commits.
            let deliveryRows = try await connection.query(
                """
                SELECT coalesce(lease_expires_at > now(), false) FROM webhook_deliveries
                WHERE id = \(deliveryID) AND endpoint_id = \(endpointID)
                FOR UPDATE
                """,
                logger: logger
            )
            var held: Bool?
            for try await value in deliveryRows.decode(Bool.self) { held = value }
            guard let held else { return .deliveryNotFound }
            guard enabled else { return .endpointDisabled }
            guard !held else { return .inFlight }
            let rows = try await connection.query(
                """
                UPDATE webhook_deliveries d
                SET status = 'pending', next_attempt_at = now(), attempt_limit = d.attempt + 1,
                    lease_expires_at = NULL, claimed_by = NULL
                WHERE d.id = \(deliveryID)
                RETURNING \(unescaped: Self.deliveryColumns)
                """,
                logger: logger
            )
            guard let record = try await Self.decodeDeliveries(rows).first else { throw DatabaseUnavailable() }
            // Delivered at commit: the workers wake up to a row they can see.
            try await connection.query("SELECT pg_notify('webhook_deliveries', '')", logger: logger)
            try await PostgresAuditStore.append(audit, on: connection, logger: logger)
            return .retried(record)
        }
    }

    static func decodeEndpoints(_ rows: PostgresRowSequence) async throws -> [WebhookEndpointRecord] {
        var records: [WebhookEndpointRecord] = []
        for try await (id, url, description, events, enabled, disabledReason, createdAt, createdBy, previousExpiry) in rows.decode(
            (UUID, String, String, [String], Bool, String?, Date, UUID?, Date?).self
        ) {
            records.append(WebhookEndpointRecord(
                id: id, url: url, description: description, events: events, enabled: enabled, disabledReason: disabledReason,
                createdAt: createdAt, createdBy: createdBy, previousSecretExpiresAt: previousExpiry
            ))
        }
        return records
    }

    static func decodeDeliveries(_ rows: PostgresRowSequence) async throws -> [WebhookDeliveryRecord] {
        var records: [WebhookDeliveryRecord] = []
        for try await (id, seq, endpointID, eventID, eventType, slug, attempt, status, responseStatus, attemptedAt, nextAttemptAt, lastError) in rows.decode(
            (UUID, Int64, UUID, UUID, String, String, Int32, String, Int32?, Date?, Date, String?).self
        ) {
            records.append(WebhookDeliveryRecord(
                id: id, seq: seq, endpointID: endpointID, eventID: eventID, eventType: eventType, tenantSlug: slug,
                attempt: Int(attempt), status: status, responseStatus: responseStatus.map(Int.init), attemptedAt: attemptedAt,
                nextAttemptAt: nextAttemptAt, lastError: lastError
            ))
        }
        return records
    }
}
