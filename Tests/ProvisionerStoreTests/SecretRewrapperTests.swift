import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Synchronization
import Testing

/// `provisioner keys rewrap`: every stored secret ends under the primary
/// key, the uploaded files and the sealed idempotent answers alike, whatever interrupts it,
/// whichever key was rotated in between, and whatever is written behind its cursor meanwhile.
@Suite(.timeLimit(.minutes(3))) struct SecretRewrapperTests {
    static let logger = TestDatabase.logger

    static let entryA = EncryptionKeyring.generateEntry(id: "keyA")
    static let entryB = EncryptionKeyring.generateEntry(id: "keyB")
    static let entryC = EncryptionKeyring.generateEntry(id: "keyC")
    static func keyring(_ entries: String...) throws -> EncryptionKeyring { try EncryptionKeyring(parsing: entries.joined(separator: ",")) }

    struct Interrupted: Error {}

    /// A value the test's closures share (they escape, which a Mutex alone cannot).
    final class Shared<Value: Sendable>: Sendable {
        let mutex: Mutex<Value>
        init(_ value: Value) { mutex = Mutex(value) }
        func withLock<T>(_ body: (inout Value) -> T) -> T { mutex.withLock { body(&$0) } }
    }

    /// The first column of every row, decoded as `T`.
    static func column<T: PostgresDecodable & Sendable>(_ type: T.Type, _ query: PostgresQuery, on connection: PostgresConnection) async throws -> [T] {
        var values: [T] = []
        for try await value in try await connection.query(query, logger: logger).decode(T.self) { values.append(value) }
        return values
    }

    /// What every stored row must open to, by id.
    struct Expected: Sendable {
        var files: [UUID: String] = [:]
        var answers: [UUID: String] = [:]
    }

    /// On an owner's connection that sees every tenant.
    static func asOwner<T: Sendable>(_ url: DatabaseURL, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await TestDatabase.withClient(url, purpose: .owner) { client in
            try await client.withConnection { connection in
                try await connection.query("SELECT set_config('provisioner.all_tenants', 'on', false)", logger: logger)
                return try await body(connection)
            }
        }
    }

    static func insertFiles(
        _ count: Int, tenantID: UUID, sealer: SecretSealer, ids: [UUID]? = nil, on connection: PostgresConnection
    ) async throws -> [UUID: String] {
        var expected: [UUID: String] = [:]
        var keyIDs: [String] = []
        var files: [ByteBuffer] = []
        let ids = ids ?? (0..<count).map { _ in UUID() }
        for (index, id) in ids.enumerated() {
            let file = #"{"web":{"client_id":"c\#(index)","client_secret":"GOCSPX-secret-\#(index)-\#(id)"}}"#
            let sealed = try sealer.seal(file, tenantID: tenantID, credentialID: id)
            expected[id] = file
            keyIDs.append(sealed.keyID)
            files.append(ByteBuffer(bytes: sealed.combined))
        }
        try await connection.query(
            """
            INSERT INTO credentials (id, tenant_id, uploaded_by, sha256, sealed_key_id, sealed_file)
            SELECT r.id, \(tenantID), 'rewrap-test', repeat('0', 64), r.key_id, r.file
            FROM unnest(\(ids)::uuid[], \(keyIDs)::text[], \(files)::bytea[]) AS r(id, key_id, file)
            """,
            logger: logger
        )
        return expected
    }

    static func insertAnswers(
        _ count: Int, tenantID: UUID?, sealer: SecretSealer, ids: [UUID]? = nil, on connection: PostgresConnection
    ) async throws -> [UUID: String] {
        var expected: [UUID: String] = [:]
        for (index, id) in (ids ?? (0..<count).map { _ in UUID() }).enumerated() {
            let answer = #"{"token":"agcrm_answer-\#(index)-\#(id)"}"#
            let sealed = try sealer.seal(Array(answer.utf8), associatedData: PostgresIdempotencyStore.associatedData(recordID: id))
            expected[id] = answer
            try await connection.query(
                """
                INSERT INTO idempotency_keys (id, token_id, key, tenant_id, operation, request_hash, state, locked_until, status,
                                              content_type, sealed_key_id, sealed_body)
                VALUES (\(id), \(UUID()), \("key-\(index)"), \(tenantID), 'createToken', \(ByteBuffer(bytes: [UInt8](repeating: 7, count: 32))),
                        'done', now(), 201, 'application/json', \(sealed.keyID), \(ByteBuffer(bytes: sealed.combined)))
                """,
                logger: logger
            )
        }
        return expected
    }

    /// Every sealed row: its key id, and what it opens to with `sealer` (nil when it does not).
    static func opened(_ url: DatabaseURL, with sealer: SecretSealer) async throws -> (files: [UUID: (String, String?)], answers: [UUID: (String, String?)]) {
        try await asOwner(url) { connection in
            var files: [UUID: (String, String?)] = [:]
            let fileRows = try await connection.query("SELECT id, tenant_id, sealed_key_id, sealed_file FROM credentials", logger: logger)
            for try await (id, tenantID, keyID, sealed) in fileRows.decode((UUID, UUID, String, ByteBuffer).self) {
                let text = try? sealer.openString(SealedSecret(keyID: keyID, combined: Array(buffer: sealed)), tenantID: tenantID, credentialID: id)
                files[id] = (keyID, text)
            }
            var answers: [UUID: (String, String?)] = [:]
            let answerRows = try await connection.query(
                "SELECT id, sealed_key_id, sealed_body FROM idempotency_keys WHERE sealed_body IS NOT NULL", logger: logger
            )
            for try await (id, keyID, sealed) in answerRows.decode((UUID, String, ByteBuffer).self) {
                let bytes = try? sealer.open(
                    SealedSecret(keyID: keyID, combined: Array(buffer: sealed)), associatedData: PostgresIdempotencyStore.associatedData(recordID: id)
                )
                answers[id] = (keyID, bytes.map { String(decoding: $0, as: UTF8.self) })
            }
            return (files, answers)
        }
    }

    static func rewrap(
        _ url: DatabaseURL, keyring: EncryptionKeyring, batchSize: Int,
        onBatch: @escaping @Sendable (SecretRewrapper.Progress) async throws -> Void = { _ in }
    ) async throws -> SecretRewrapper.Progress {
        try await TestDatabase.withClient(url, purpose: .application(maximumConnections: 2)) { client in
            try await SecretRewrapper(database: TestDatabase.database(client, logger: logger), sealer: SecretSealer(keyring: keyring))
                .rewrapAll(batchSize: batchSize, onBatch: onBatch)
        }
    }

    @Test func everyRowEndsUnderThePrimaryKeyThroughAnInterruptionAndARotation() async throws {
        try await TestDatabase.withFreshDatabase { url in
            let onlyA = SecretSealer(keyring: try Self.keyring(Self.entryA))
            let bThenA = try Self.keyring(Self.entryB, Self.entryA)
            let cThenBThenA = try Self.keyring(Self.entryC, Self.entryB, Self.entryA)

            // 1,200 uploads over two tenants and 150 stored answers (some of a tenant_admin,
            // some of a global role), all under A; plus a request still running (nothing sealed).
            let tenants = try await Self.asOwner(url) { connection in
                try await connection.query("INSERT INTO tenants (slug, display_name) VALUES ('acme', 'Acme'), ('globex', 'Globex')", logger: Self.logger)
                return try await Self.column(UUID.self, "SELECT id FROM tenants ORDER BY slug", on: connection)
            }
            var expected = Expected()
            expected.files = try await Self.asOwner(url) { [tenants] connection in
                let acme = try await Self.insertFiles(700, tenantID: tenants[0], sealer: onlyA, on: connection)
                let globex = try await Self.insertFiles(500, tenantID: tenants[1], sealer: onlyA, on: connection)
                return acme.merging(globex) { first, _ in first }
            }
            expected.answers = try await Self.asOwner(url) { [tenants] connection in
                let admin = try await Self.insertAnswers(100, tenantID: tenants[0], sealer: onlyA, on: connection)
                let global = try await Self.insertAnswers(50, tenantID: nil, sealer: onlyA, on: connection)
                try await connection.query(
                    """
                    INSERT INTO idempotency_keys (token_id, key, operation, request_hash, locked_until)
                    VALUES (\(UUID()), 'still-running', 'createToken', \(ByteBuffer(bytes: [UInt8](repeating: 1, count: 32))), now() + interval '1 minute')
                    """,
                    logger: Self.logger
                )
                return admin.merging(global) { first, _ in first }
            }
            #expect(expected.files.count == 1_200 && expected.answers.count == 150)

            // B is rotated in; the rewrap is stopped after four batches of 100 (what it committed stays).
            let batches = Shared(0)
            await #expect(throws: Interrupted.self) {
                _ = try await Self.rewrap(url, keyring: bThenA, batchSize: 100) { _ in
                    if batches.withLock({ $0 += 1; return $0 }) == 4 { throw Interrupted() }
                }
            }
            let halfway = try await Self.opened(url, with: SecretSealer(keyring: bThenA))
            #expect(halfway.files.values.filter { $0.0 == "keyB" }.count == 400)
            #expect(halfway.files.values.filter { $0.0 == "keyA" }.count == 800)

            // C is rotated in before the rewrap runs again. Meanwhile a process not restarted yet
            // (still with B first) writes an upload and an answer behind the cursor: the lowest
            // ids there are.
            let lowFile = UUID(uuidString: "00000000-0000-4000-8000-000000000001")!
            let lowAnswer = UUID(uuidString: "00000000-0000-4000-8000-000000000002")!
            let late = Shared<Expected?>(nil)
            let progress = try await Self.rewrap(url, keyring: cThenBThenA, batchSize: 100) { progress in
                guard progress.rewrapped == 300, late.withLock({ $0 == nil }) else { return }
                let stale = SecretSealer(keyring: bThenA)
                var written = Expected()
                written.files = try await Self.asOwner(url) { connection in
                    try await Self.insertFiles(1, tenantID: tenants[1], sealer: stale, ids: [lowFile], on: connection)
                }
                written.answers = try await Self.asOwner(url) { connection in
                    try await Self.insertAnswers(1, tenantID: nil, sealer: stale, ids: [lowAnswer], on: connection)
                }
                late.withLock { $0 = written }
            }
            let written = try #require(late.withLock { $0 })
            expected.files.merge(written.files) { first, _ in first }
            expected.answers.merge(written.answers) { first, _ in first }
            // The 800 left under A, the 400 under B, and the late one: none twice.
            #expect(progress.rewrapped == 1_201)
            #expect(progress.answersRewrapped == 151)
            #expect(progress.failed.isEmpty && progress.answersFailed.isEmpty)

            // C alone opens every row, and each holds what was sealed into it.
            let onlyC = SecretSealer(keyring: try Self.keyring(Self.entryC))
            let final = try await Self.opened(url, with: onlyC)
            #expect(final.files.count == 1_201)
            #expect(final.answers.count == 151)
            #expect(final.files.values.allSatisfy { $0.0 == "keyC" })
            #expect(final.answers.values.allSatisfy { $0.0 == "keyC" })
            for (id, text) in expected.files where final.files[id]?.1 != text {
                Issue.record("upload \(id) does not open to what was sealed")
            }
            for (id, text) in expected.answers where final.answers[id]?.1 != text {
                Issue.record("answer \(id) does not open to what was sealed")
            }
            // The running request still has nothing sealed.
            let running = try await Self.asOwner(url) { connection in
                try await Self.column(
                    Int64.self,
                    "SELECT count(*)::int8 FROM idempotency_keys WHERE key = 'still-running' AND sealed_body IS NULL AND sealed_key_id IS NULL",
                    on: connection
                )
            }
            #expect(running == [1])

            // Once more: nothing to do.
            let again = try await Self.rewrap(url, keyring: cThenBThenA, batchSize: 100)
            #expect(again == SecretRewrapper.Progress())
        }
    }

    /// A row whose key is gone is left as it is and reported once, and does not stop the rest.
    @Test func rowsThatDoNotOpenAreLeftAndReportedOnce() async throws {
        try await TestDatabase.withFreshDatabase { url in
            let onlyA = SecretSealer(keyring: try Self.keyring(Self.entryA))
            let onlyB = SecretSealer(keyring: try Self.keyring(Self.entryB))
            let tenant = try await Self.asOwner(url) { connection in
                try await Self.column(UUID.self, "INSERT INTO tenants (slug, display_name) VALUES ('acme', 'Acme') RETURNING id", on: connection)[0]
            }
            let (lost, kept) = try await Self.asOwner(url) { connection in
                let lost = try await Self.insertFiles(3, tenantID: tenant, sealer: onlyA, on: connection)
                let kept = try await Self.insertFiles(5, tenantID: tenant, sealer: onlyB, on: connection)
                _ = try await Self.insertAnswers(2, tenantID: tenant, sealer: onlyA, on: connection)
                return (lost, kept)
            }
            // C first, B kept, A forgotten; batches of 2 so that the lost rows span several.
            let progress = try await Self.rewrap(url, keyring: try Self.keyring(Self.entryC, Self.entryB), batchSize: 2)
            #expect(progress.rewrapped == 5)
            #expect(Set(progress.failed) == Set(lost.keys))
            #expect(progress.failed.count == 3)
            #expect(progress.answersFailed.count == 2)
            let final = try await Self.opened(url, with: SecretSealer(keyring: try Self.keyring(Self.entryC, Self.entryA)))
            for (id, text) in kept { #expect(final.files[id]?.0 == "keyC" && final.files[id]?.1 == text) }
            for (id, text) in lost { #expect(final.files[id]?.0 == "keyA" && final.files[id]?.1 == text) }
        }
    }

    /// Webhook signing secrets, current and previous (during a rotation), end under the primary
    /// key bound to their endpoint; an endpoint outside a rotation has no previous one to touch.
    @Test func webhookSecretsCurrentAndPreviousAreRewrapped() async throws {
        try await TestDatabase.withFreshDatabase { url in
            let onlyA = SecretSealer(keyring: try Self.keyring(Self.entryA))
            let bThenA = try Self.keyring(Self.entryB, Self.entryA)
            // 7 endpoints, 3 of them in a rotation; one more whose secret was sealed under a lost key.
            var expected: [UUID: (WebhookSecret, WebhookSecret?)] = [:]
            for index in 0..<7 {
                expected[UUID()] = (WebhookSecret.generate(), index < 3 ? WebhookSecret.generate() : nil)
            }
            let lostID = UUID()
            let lost = SecretSealer(keyring: try Self.keyring(Self.entryC))
            let rows = expected
            try await Self.asOwner(url) { connection in
                for (id, (current, previous)) in rows {
                    let sealed = try onlyA.sealWebhookSecret(current, endpointID: id)
                    let sealedPrevious = try previous.map { try onlyA.sealWebhookSecret($0, endpointID: id) }
                    try await connection.query(
                        """
                        INSERT INTO webhook_endpoints (id, url, events, secret_key_id, secret_sealed,
                                                       previous_secret_key_id, previous_secret_sealed, previous_secret_expires_at)
                        VALUES (\(id), 'https://hooks.example.com/', ARRAY['uri_set.issued'], \(sealed.keyID), \(ByteBuffer(bytes: sealed.combined)),
                                \(sealedPrevious?.keyID), \(sealedPrevious.map { ByteBuffer(bytes: $0.combined) }),
                                CASE WHEN \(sealedPrevious?.keyID)::text IS NULL THEN NULL ELSE now() + interval '1 day' END)
                        """,
                        logger: Self.logger
                    )
                }
                let sealed = try lost.sealWebhookSecret(WebhookSecret.generate(), endpointID: lostID)
                try await connection.query(
                    """
                    INSERT INTO webhook_endpoints (id, url, events, secret_key_id, secret_sealed)
                    VALUES (\(lostID), 'https://hooks.example.com/', ARRAY['uri_set.issued'], \(sealed.keyID), \(ByteBuffer(bytes: sealed.combined)))
                    """,
                    logger: Self.logger
                )
            }

            let progress = try await Self.rewrap(url, keyring: bThenA, batchSize: 2)
            #expect(progress.webhookSecretsRewrapped == 10)
            #expect(progress.webhookSecretsFailed == [lostID])
            #expect(progress.rewrapped == 0 && progress.answersRewrapped == 0)

            // B alone opens every secret, each bound to its endpoint and holding what was sealed.
            let onlyB = SecretSealer(keyring: try Self.keyring(Self.entryB))
            let stored = try await Self.asOwner(url) { connection in
                let rows = try await connection.query(
                    """
                    SELECT id, secret_key_id, secret_sealed, previous_secret_key_id, previous_secret_sealed
                    FROM webhook_endpoints WHERE id <> \(lostID)
                    """,
                    logger: Self.logger
                )
                var found: [UUID: (String, WebhookSecret?, String?, WebhookSecret?)] = [:]
                for try await (id, keyID, sealed, previousKeyID, previousSealed) in rows.decode((UUID, String, ByteBuffer, String?, ByteBuffer?).self) {
                    let current = try? onlyB.openWebhookSecret(SealedSecret(keyID: keyID, combined: Array(buffer: sealed)), endpointID: id)
                    let previous = previousSealed.flatMap { bytes in
                        previousKeyID.flatMap { try? onlyB.openWebhookSecret(SealedSecret(keyID: $0, combined: Array(buffer: bytes)), endpointID: id) }
                    }
                    found[id] = (keyID, current, previousKeyID, previous)
                }
                return found
            }
            #expect(stored.count == 7)
            for (id, (current, previous)) in expected {
                let row = try #require(stored[id])
                #expect(row.0 == "keyB" && row.1 == current)
                #expect(row.2 == (previous == nil ? nil : "keyB"))
                #expect(row.3 == previous)
            }
            // Once more: nothing to do but report the lost one again.
            let again = try await Self.rewrap(url, keyring: bThenA, batchSize: 2)
            #expect(again.webhookSecretsRewrapped == 0)
        }
    }
}
