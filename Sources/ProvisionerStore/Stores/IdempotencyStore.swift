import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain

/// The first answer to a POST, as kept for replays.
public struct StoredAnswer: Sendable {
    public let status: Int
    public let contentType: String?
    public let location: String?
    public let sealedBody: SealedSecret?
    public let recordID: UUID
}

public enum IdempotencyBegin: Sendable {
    /// The first request with this key: run it, then `finish` or `abandon`.
    case started(recordID: UUID)
    /// Same key, same body: answer with what the first request answered.
    case replay(StoredAnswer)
    /// Same key, another body.
    case keyReused
    /// The first request with this key is still running.
    case inProgress
}

public protocol IdempotencyStore: Sendable {
    func begin(tokenID: UUID, key: String, operation: String, requestHash: [UInt8], tenantID: UUID?, scope: AccessScope) async throws -> IdempotencyBegin
    func finish(recordID: UUID, scope: AccessScope, status: Int, contentType: String?, location: String?, sealedBody: SealedSecret?) async throws
    /// The request failed: forget the key, so that a retry runs again.
    func abandon(recordID: UUID, scope: AccessScope) async throws
    /// Deletes keys older than the retention; returns how many.
    func deleteExpired() async throws -> Int
}

public struct PostgresIdempotencyStore: IdempotencyStore {
    /// How long a first answer is replayed.
    public static let retention = "24 hours"
    /// How long a running first request holds its key before a retry may take it over.
    public static let runningLock = "60 seconds"

    let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// The associated data a stored answer is sealed with: `agcrm-idempotent-answer-v1|<record
    /// uuid>` in lowercase, so an answer copied into another row does not open there. Defined
    /// here, beside the rows, since both the middleware that seals and `keys rewrap` use it.
    public static func associatedData(recordID: UUID) -> [UInt8] {
        Array("agcrm-idempotent-answer-v1|\(recordID.uuidString.lowercased())".utf8)
    }

    public func begin(
        tokenID: UUID, key: String, operation: String, requestHash: [UInt8], tenantID: UUID?, scope: AccessScope
    ) async throws -> IdempotencyBegin {
        try await database.transaction(scope) { connection in
            let logger = database.logger
            let hash = ByteBuffer(bytes: requestHash)
            // An expired key is as good as none.
            try await connection.query(
                """
                DELETE FROM idempotency_keys WHERE token_id = \(tokenID) AND key = \(key)
                  AND created_at < now() - interval '\(unescaped: Self.retention)'
                """,
                logger: logger
            )
            let inserted = try await connection.query(
                """
                INSERT INTO idempotency_keys (token_id, key, tenant_id, operation, request_hash, locked_until)
                VALUES (\(tokenID), \(key), \(tenantID), \(operation), \(hash), now() + interval '\(unescaped: Self.runningLock)')
                ON CONFLICT (token_id, key) DO NOTHING
                RETURNING id
                """,
                logger: logger
            )
            if let id = try await inserted.decode(UUID.self).first(where: { _ in true }) { return .started(recordID: id) }

            let existing = try await connection.query(
                """
                SELECT id, request_hash = \(hash) AND operation = \(operation), state, locked_until < now(), status, content_type, location,
                       sealed_key_id, sealed_body
                FROM idempotency_keys WHERE token_id = \(tokenID) AND key = \(key)
                """,
                logger: logger
            )
            guard let (id, sameRequest, state, lockExpired, status, contentType, location, keyID, body) = try await existing.decode(
                (UUID, Bool, String, Bool, Int?, String?, String?, String?, ByteBuffer?).self
            ).first(where: { _ in true }) else {
                // Deleted between the two statements by the cleaner: the key is free again.
                return .inProgress
            }
            guard sameRequest else { return .keyReused }
            if state == "running" {
                // Read without a row lock: twenty requests with one key answer 409 side by
                // side instead of queueing on the row behind each other.
                guard lockExpired else { return .inProgress }
                // The first request's process died: this one takes the key over, if no other
                // request did so first (the condition is checked again on the locked row).
                let takenOver = try await connection.query(
                    """
                    UPDATE idempotency_keys SET locked_until = now() + interval '\(unescaped: Self.runningLock)'
                    WHERE id = \(id) AND state = 'running' AND locked_until < now()
                    RETURNING id
                    """,
                    logger: logger
                ).collect()
                return takenOver.isEmpty ? .inProgress : .started(recordID: id)
            }
            let sealed = keyID.flatMap { keyID in body.map { SealedSecret(keyID: keyID, combined: Array(buffer: $0)) } }
            return .replay(StoredAnswer(status: status ?? 200, contentType: contentType, location: location, sealedBody: sealed, recordID: id))
        }
    }

    public func finish(recordID: UUID, scope: AccessScope, status: Int, contentType: String?, location: String?, sealedBody: SealedSecret?) async throws {
        try await database.transaction(scope) { connection in
            _ = try await connection.query(
                """
                UPDATE idempotency_keys SET state = 'done', status = \(status), content_type = \(contentType), location = \(location),
                       sealed_key_id = \(sealedBody?.keyID), sealed_body = \(sealedBody.map { ByteBuffer(bytes: $0.combined) })
                WHERE id = \(recordID)
                """,
                logger: database.logger
            )
        }
    }

    public func abandon(recordID: UUID, scope: AccessScope) async throws {
        try await database.transaction(scope) { connection in
            _ = try await connection.query("DELETE FROM idempotency_keys WHERE id = \(recordID) AND state = 'running'", logger: database.logger)
        }
    }

    public func deleteExpired() async throws -> Int {
        try await database.transaction(.allTenants) { connection in
            let rows = try await connection.query(
                "DELETE FROM idempotency_keys WHERE created_at < now() - interval '\(unescaped: Self.retention)' RETURNING id",
                logger: database.logger
            )
            var count = 0
            for try await _ in rows.decode(UUID.self) { count += 1 }
            return count
        }
    }
}
