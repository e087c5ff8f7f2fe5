import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Synchronization
import Testing
@testable import ProvisionerAPI

/// The client secret is sealed at rest (bound to its tenant and credential,
/// under a key id), appears nowhere but in the runtime endpoint's answer, not in the database
/// in clear, not in audit rows, not in logs; keys can be rotated.
@Suite struct SecretHandlingTests {
    // MARK: at rest

    @Test func theDatabaseNeverHoldsTheSecretOrTheFileInClear() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let file = CredentialFixture.file()
            let id = try await CredentialFixture.upload(client, token: setup.admin.token, file: file)
            // Through multipart too, and a replayed upload, a verdict and a runtime read.
            let boundary = "agcrm-secret-test"
            let multipart = try await client.sendBytes(
                .post, "/v1/tenants/acme/credentials", token: setup.admin.token,
                bytes: CredentialFixture.multipart(boundary: boundary, [(name: "file", filename: "client_secrets.json", contentType: "application/json", bytes: Array(file.utf8))]),
                contentType: "multipart/form-data; boundary=\(boundary)", headers: [HTTPField.Name("Idempotency-Key")!: "secret-test"]
            )
            #expect(multipart.status == .accepted)
            try await CredentialFixture.verifyPending(url)
            let read = try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: setup.runtime.token)
            #expect(read.object?["client_secret"] as? String == CredentialFixture.secret)

            let secret = Array(CredentialFixture.secret.utf8)
            let fileBytes = Array(file.utf8)
            let secretHex = CredentialFixture.secret.utf8.map { String(format: "%02x", $0) }.joined()
            for table in ["credentials", "audit_events", "idempotency_keys", "tenants", "tokens", "uri_sets"] {
                let rows = try await CredentialFixture.rowsAsText(url, table)
                for row in rows {
                    #expect(!row.contains(CredentialFixture.secret), "\(table) holds the secret: \(row)")
                    #expect(!row.contains(secretHex), "\(table) holds the secret as hex: \(row)")
                    #expect(!row.contains(String(CredentialFixture.secret.dropLast(4))), "\(table) holds most of the secret")
                }
            }
            let sealed = try await CredentialFixture.byteaValues(url, "credentials", columns: ["sealed_file"])
            #expect(sealed.count == 2)
            for value in sealed {
                #expect(!value.contains(subsequence: secret), "sealed_file holds the secret")
                #expect(!value.contains(subsequence: fileBytes), "sealed_file holds the file")
                #expect(!value.contains(subsequence: Array("client_secret".utf8)), "sealed_file holds JSON text")
                // Nonce (12) + ciphertext (the file) + tag (16).
                #expect(value.count == fileBytes.count + 28)
            }
            #expect(sealed[0] != sealed[1], "a fresh nonce per upload")
            // The key id is stored beside each.
            let keyIDs = try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM credentials WHERE sealed_key_id = 'test1'")
            #expect(keyIDs == 2)
            // And the summary columns are what the answers show.
            let hints = try await CredentialFixture.count(
                url, "SELECT count(*)::int8 FROM credentials WHERE client_secret_hint = '\(CredentialFixture.secret.suffix(4))' AND id = '\(id)'"
            )
            #expect(hints == 1)
        }
    }

    /// The associated data binds a sealed file to its row: copied elsewhere, it does not open.
    @Test func aSealedFileCopiedOntoAnotherRowDoesNotOpen() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url, slugs: ["acme", "globex"])
            let acmeSecret = CredentialFixture.secret
            let globexSecret = CredentialFixture.secret(2)
            let acmeID = try await CredentialFixture.upload(client, token: setup.admin.token, file: CredentialFixture.file())
            let globexID = try await CredentialFixture.upload(
                client, token: setup.support.token, slug: "globex",
                file: CredentialFixture.file(slug: "globex", clientID: "223456789012-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com", secret: globexSecret)
            )
            let states = try await CredentialFixture.verifyPending(url)
            #expect(states[acmeID] == .verified && states[globexID] == .verified, "\(states)")
            let before = try await client.send(.get, "/v1/tenants/globex/credentials/active/secret", token: setup.runtime.token)
            #expect(before.object?["client_secret"] as? String == globexSecret)

            // Someone with database access moves acme's sealed file onto globex's row.
            try await CredentialFixture.execute(
                url, "UPDATE credentials SET sealed_file = (SELECT sealed_file FROM credentials WHERE id = '\(acmeID)') WHERE id = '\(globexID)'"
            )
            let moved = try await client.send(.get, "/v1/tenants/globex/credentials/active/secret", token: setup.runtime.token)
            expectProblem(moved, .internalServerError, "internal_error")
            #expect(!moved.text.contains(acmeSecret) && !moved.text.contains(globexSecret), "\(moved.text)")
            #expect(!moved.text.contains(CredentialFixture.clientID))

            // The store hands it over as stored, and the sealer refuses it for that row.
            let sealer = SecretSealer(keyring: testKeyring)
            let rows = try await CredentialFixture.withOwner(url) { client in
                let rows = try await client.query(
                    "SELECT tenant_id, sealed_key_id, sealed_file FROM credentials WHERE id = \(UUID(uuidString: globexID)!)",
                    logger: TestDatabase.logger
                )
                var found: [(UUID, String, [UInt8])] = []
                for try await (tenant, keyID, bytes) in rows.decode((UUID, String, ByteBuffer).self) { found.append((tenant, keyID, Array(buffer: bytes))) }
                return found.map { Moved(tenantID: $0.0, keyID: $0.1, bytes: $0.2) }
            }
            let row = try #require(rows.first)
            #expect(throws: SealingError.self) {
                try sealer.open(SealedSecret(keyID: row.keyID, combined: row.bytes), tenantID: row.tenantID, credentialID: UUID(uuidString: globexID)!)
            }
            // Acme is untouched.
            let acme = try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: setup.runtime.token)
            #expect(acme.object?["client_secret"] as? String == acmeSecret)

            // Within one tenant too: an older upload's file copied onto the newer active row.
            let newerID = try await CredentialFixture.upload(client, token: setup.admin.token, file: CredentialFixture.file(secret: CredentialFixture.secret(3)))
            #expect(try await CredentialFixture.verifyPending(url)[newerID] == .verified)
            try await CredentialFixture.execute(
                url, "UPDATE credentials SET sealed_file = (SELECT sealed_file FROM credentials WHERE id = '\(acmeID)') WHERE id = '\(newerID)'"
            )
            let swapped = try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: setup.runtime.token)
            expectProblem(swapped, .internalServerError, "internal_error")
            #expect(!swapped.text.contains(acmeSecret))

            // A flipped bit in place does not open either.
            try await CredentialFixture.execute(
                url, "UPDATE credentials SET sealed_file = set_byte(sealed_file, 20, get_byte(sealed_file, 20) # 1) WHERE id = '\(acmeID)'"
            )
            try await CredentialFixture.execute(url, "UPDATE tenants SET active_credential_id = '\(acmeID)' WHERE slug = 'acme'")
            try await CredentialFixture.execute(url, "UPDATE credentials SET state = 'verified' WHERE id = '\(acmeID)'")
            let flipped = try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: setup.runtime.token)
            expectProblem(flipped, .internalServerError, "internal_error")
        }
    }

    struct Moved: Sendable {
        let tenantID: UUID
        let keyID: String
        let bytes: [UInt8]
    }

    // MARK: key rotation

    /// Upload under A; restart with `B,A`: old uploads still open, new ones go under B; with B
    /// only, A's rows fail safely; `keys rewrap` moves every row to B; then B alone suffices.
    @Test func keyRotationWithRewrap() async throws {
        let entryA = EncryptionKeyring.generateEntry(id: "keyA")
        let entryB = EncryptionKeyring.generateEntry(id: "keyB")
        let onlyA = try EncryptionKeyring(parsing: entryA)
        let bThenA = try EncryptionKeyring(parsing: "\(entryB),\(entryA)")
        let onlyB = try EncryptionKeyring(parsing: entryB)
        let acmeSecret = CredentialFixture.secret
        let globexSecret = CredentialFixture.secret(9)
        let globexClient = "323456789012-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com"

        try await TestDatabase.withFreshDatabase { url in
            // Under key A.
            let setup = try await CredentialFixture.withApplication(url, keyring: onlyA) { client in
                let setup = try await CredentialFixture.setUp(client, url, slugs: ["acme", "globex"])
                _ = try await CredentialFixture.upload(client, token: setup.admin.token, file: CredentialFixture.file())
                try await CredentialFixture.verifyPending(url, keyring: onlyA)
                let read = try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: setup.runtime.token)
                #expect(read.object?["client_secret"] as? String == acmeSecret)
                return setup
            }
            #expect(try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM credentials WHERE sealed_key_id = 'keyA'") == 1)

            // Restarted with B primary, A still there.
            try await CredentialFixture.withApplication(url, keyring: bThenA) { client in
                let old = try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: setup.runtime.token)
                #expect(old.object?["client_secret"] as? String == acmeSecret, "\(old.text)")
                _ = try await CredentialFixture.upload(
                    client, token: setup.support.token, slug: "globex",
                    file: CredentialFixture.file(slug: "globex", clientID: globexClient, secret: globexSecret)
                )
                try await CredentialFixture.verifyPending(url, keyring: bThenA)
                let new = try await client.send(.get, "/v1/tenants/globex/credentials/active/secret", token: setup.runtime.token)
                #expect(new.object?["client_secret"] as? String == globexSecret, "\(new.text)")
            }
            #expect(try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM credentials WHERE sealed_key_id = 'keyB'") == 1)

            // A removed before the rewrap: A's row fails safely, B's opens.
            try await CredentialFixture.withApplication(url, keyring: onlyB) { client in
                let old = try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: setup.runtime.token)
                expectProblem(old, .internalServerError, "internal_error")
                #expect(!old.text.contains(acmeSecret))
                let new = try await client.send(.get, "/v1/tenants/globex/credentials/active/secret", token: setup.runtime.token)
                #expect(new.object?["client_secret"] as? String == globexSecret)
            }

            // `provisioner keys rewrap` with B,A, as provisioner_app.
            let progress = try await TestDatabase.withClient(url, purpose: .application(maximumConnections: 2)) { client in
                try await SecretRewrapper(database: TestDatabase.database(client), sealer: SecretSealer(keyring: bThenA))
                    .rewrapAll(batchSize: 1)
            }
            #expect(progress.rewrapped == 1)
            #expect(progress.failed.isEmpty)
            #expect(try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM credentials WHERE sealed_key_id <> 'keyB'") == 0)
            // Running it again has nothing to do.
            let again = try await TestDatabase.withClient(url, purpose: .application(maximumConnections: 2)) { client in
                try await SecretRewrapper(database: TestDatabase.database(client), sealer: SecretSealer(keyring: bThenA)).rewrapAll()
            }
            #expect(again.rewrapped == 0 && again.failed.isEmpty)

            // B alone now opens everything, and the files are still the files.
            try await CredentialFixture.withApplication(url, keyring: onlyB) { client in
                let acme = try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: setup.runtime.token)
                #expect(acme.status == .ok, "\(acme.text)")
                #expect(acme.object?["client_secret"] as? String == acmeSecret)
                #expect(acme.object?["client_id"] as? String == CredentialFixture.clientID)
                let globex = try await client.send(.get, "/v1/tenants/globex/credentials/active/secret", token: setup.runtime.token)
                #expect(globex.object?["client_secret"] as? String == globexSecret)
                // Re-verification under B alone works on the rewrapped row.
                let list = try await client.send(.get, "/v1/tenants/acme/credentials", token: setup.support.token)
                let id = try #require(list.items.first?["id"] as? String)
                let reverify = try await client.send(.post, "/v1/tenants/acme/credentials/\(id)/verify", token: setup.support.token)
                #expect(reverify.status == .accepted)
                #expect(try await CredentialFixture.verifyPending(url, keyring: onlyB)[id] == .verified)
            }
        }
    }

    @Test func rewrapLeavesRowsItCannotOpenAndReportsThem() async throws {
        let entryA = EncryptionKeyring.generateEntry(id: "keyA")
        let entryB = EncryptionKeyring.generateEntry(id: "keyB")
        try await TestDatabase.withFreshDatabase { url in
            try await CredentialFixture.withApplication(url, keyring: try EncryptionKeyring(parsing: entryA)) { client in
                let setup = try await CredentialFixture.setUp(client, url, issue: false)
                _ = try await CredentialFixture.upload(client, token: setup.admin.token, file: CredentialFixture.file())
            }
            // The operator forgot to keep A in the keyring.
            let progress = try await TestDatabase.withClient(url, purpose: .application(maximumConnections: 2)) { client in
                try await SecretRewrapper(
                    database: TestDatabase.database(client), sealer: SecretSealer(keyring: try EncryptionKeyring(parsing: entryB))
                ).rewrapAll()
            }
            #expect(progress.rewrapped == 0)
            #expect(progress.failed.count == 1)
            #expect(try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM credentials WHERE sealed_key_id = 'keyA'") == 1)
        }
    }

    // MARK: logs

    /// Everything the application (and its PostgreSQL client) logs at trace level while
    /// secrets pass through it: no message and no metadata holds the secret or the file.
    @Test func noSecretReachesTheLogs() async throws {
        let capture = LogCapture()
        let logger: Logger = {
            var logger = Logger(label: "secret-log-test") { label in CapturingLogHandler(label: label, capture: capture) }
            logger.logLevel = .trace
            return logger
        }()
        let secret = CredentialFixture.secret
        let file = CredentialFixture.file()
        let brokenWithSecret = "{\"web\":{\"client_secret\":\"\(secret)\",\"client_id\": tru"

        try await TestDatabase.withFreshDatabase { url in
            try await CredentialFixture.withApplication(url, logger: logger) { client in
                let setup = try await CredentialFixture.setUp(client, url)
                let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "log-test-1"]
                let first = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: file, headers: key)
                #expect(first.status == .accepted)
                let replay = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: file, headers: key)
                #expect(replay.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
                let reused = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: brokenWithSecret, headers: key)
                #expect(reused.status == .unprocessableContent)
                let broken = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: brokenWithSecret)
                #expect(broken.status == .badRequest)
                let deep = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: "{\"s\":\"\(secret)\",\"x\":" + String(repeating: "[", count: 40))
                #expect(deep.status == .badRequest)
                let wrongType = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: file, contentType: "text/plain")
                #expect(wrongType.status == .unsupportedMediaType)
                let tooLarge = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: file + String(repeating: " ", count: 70_000))
                #expect(tooLarge.status == .contentTooLarge)
                let boundary = "log-test-boundary"
                let multipart = try await client.sendBytes(
                    .post, "/v1/tenants/acme/credentials", token: setup.admin.token,
                    bytes: CredentialFixture.multipart(boundary: boundary, [(name: "file", filename: "client_secrets.json", contentType: "application/json", bytes: Array(file.utf8))]),
                    contentType: "multipart/form-data; boundary=\(boundary)"
                )
                #expect(multipart.status == .accepted)
                let noFilePart = try await client.sendBytes(
                    .post, "/v1/tenants/acme/credentials", token: setup.admin.token,
                    bytes: CredentialFixture.multipart(boundary: boundary, [(name: "other", filename: nil, contentType: nil, bytes: Array(file.utf8))]),
                    contentType: "multipart/form-data; boundary=\(boundary)"
                )
                #expect(noFilePart.status == .badRequest)
                // The secret beside a file without one; beside a file with another; out of bounds.
                let withoutSecret = CredentialFixture.file(secret: nil)
                for (field, status) in [
                    (secret, HTTPResponse.Status.accepted), ("GOCSPX-" + "SomethingElseEntirely_-0123", .unprocessableContent),
                    (secret + "\n", .unprocessableContent), (String(repeating: secret, count: 10), .unprocessableContent),
                ] {
                    let reply = try await client.sendBytes(
                        .post, "/v1/tenants/acme/credentials", token: setup.admin.token,
                        bytes: CredentialFixture.multipart(boundary: boundary, [
                            (name: "file", filename: "client_secrets.json", contentType: "application/json",
                             bytes: Array((status == .accepted || field.hasSuffix("\n") ? withoutSecret : file).utf8)),
                            (name: "client_secret", filename: nil, contentType: nil, bytes: Array(field.utf8)),
                        ]),
                        contentType: "multipart/form-data; boundary=\(boundary)"
                    )
                    #expect(reply.status == status, "\(reply.text)")
                }
                // Carried over from the newest upload of the client id.
                let carried = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: withoutSecret)
                #expect(carried.status == .accepted)
                let forbidden = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.runtime.token, body: file)
                #expect(forbidden.status == .forbidden)
                let unauthenticated = try await client.send(.post, "/v1/tenants/acme/credentials", token: "agp_invalid", body: file)
                #expect(unauthenticated.status == .unauthorized)

                try await CredentialFixture.verifyPending(url, logger: logger)
                let id = try #require(first.object?["id"] as? String)
                #expect(try await client.send(.get, "/v1/tenants/acme/credentials/\(id)", token: setup.admin.token).status == .ok)
                #expect(try await client.send(.get, "/v1/tenants/acme/credentials", token: setup.admin.token).status == .ok)
                let read = try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: setup.runtime.token)
                #expect(read.object?["client_secret"] as? String == secret)
                let denied = try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: setup.support.token)
                #expect(denied.status == .forbidden)
                // A read that fails to open.
                try await CredentialFixture.execute(url, "UPDATE credentials SET sealed_file = set_byte(sealed_file, 20, get_byte(sealed_file, 20) # 1)")
                let failing = try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: setup.runtime.token)
                #expect(failing.status == .internalServerError)
                // An upload to carry over to, when no earlier file opens: taken, nothing carried.
                let unopenable = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: withoutSecret)
                #expect(unopenable.status == .accepted)
                #expect(unopenable.object?["client_secret_hint"] is NSNull)
            }
        }

        let entries = capture.entries
        #expect(entries.count > 20, "the handler captured the application's logs (\(entries.count) entries)")
        let fileText = file
        let secretPrefix = String(secret.dropLast(4))
        for entry in entries {
            #expect(!entry.contains(secret), "the secret is in a log entry: \(entry)")
            #expect(!entry.contains(secretPrefix), "most of the secret is in a log entry: \(entry)")
            #expect(!entry.contains(fileText), "the file is in a log entry: \(entry)")
            #expect(!entry.contains("\"client_secret\""), "file content is in a log entry: \(entry)")
        }
    }
}

/// Log entries kept in memory, flattened to text (level, label, message, metadata, source).
final class LogCapture: Sendable {
    private let storage = Mutex<[String]>([])

    func append(_ entry: String) { storage.withLock { $0.append(entry) } }
    var entries: [String] { storage.withLock { $0 } }
}

struct CapturingLogHandler: LogHandler {
    let label: String
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .trace

    init(label: String, capture: LogCapture) {
        self.label = label
        self.capture = capture
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { $1 } }
        if let explicit = event.metadata { all.merge(explicit) { $1 } }
        let flattened = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let level = event.level, message = event.message, source = event.source
        let error = event.error.map { " error=\(String(reflecting: $0))" } ?? ""
        capture.append("\(level) [\(label)] \(message) {\(flattened)} (\(source))\(error)")
    }
}
