import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Prometheus
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Testing
@testable import ProvisionerAPI

/// Shared set-up of the credential suites (uploads, secrets, idempotency, calendar settings):
/// realistic files for tenant `acme`, an application built with a chosen keyring and logger,
/// verification driven through the queue (the worker does not run inside the API tests), and
/// reads as the database owner.
enum CredentialFixture {
    static let clientID = "123456789012-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com"
    static let secret = "GOCSPX-" + "AbCdEfGhIjKlMnOpQrStUvWx_-12"
    static let projectID = "all-gather-crm-google-calendar"

    static func origin(_ slug: String) -> String { "https://\(slug).crm.example.com" }
    static func callback(_ slug: String) -> String { "https://\(slug).crm.example.com/agcrm_google/AuthCallback/IndexAsync" }
    static let myAccount = "https://myaccount.google.com/"

    /// A clean Web client file for the first URI set of `slug` (pretty-printed like Google's,
    /// so that line numbers mean something).
    static func file(
        slug: String = "acme", clientID: String = clientID, secret: String? = secret, projectID: String = projectID
    ) -> String {
        let secretMember = secret.map { "\n    \"client_secret\": \"\($0)\"," } ?? ""
        return """
        {
          "web": {
            "client_id": "\(clientID)",
            "project_id": "\(projectID)",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": "https://oauth2.googleapis.com/token",
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",\(secretMember)
            "redirect_uris": ["\(callback(slug))", "\(myAccount)"],
            "javascript_origins": ["\(origin(slug))"]
          }
        }
        """
    }

    /// A secret of Google's shape that differs per `n` (so files and hints differ).
    static func secret(_ n: Int) -> String {
        let tail = String(format: "%04d", n)
        return "GOCSPX-" + "ZyXwVuTsRqPoNmLkJiHgFeDcBa" + "-" + String(tail.suffix(1))
    }

    static func sha256Hex(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    // MARK: application

    /// Builds the real application on an existing (migrated) database with `keyring` and
    /// `logger`, and runs `body` with a test client (`.live` for a real socket).
    static func withApplication<T: Sendable>(
        _ url: DatabaseURL,
        keyring: EncryptionKeyring = testKeyring,
        logger: Logger = TestDatabase.logger,
        live: Bool = false,
        _ body: @Sendable @escaping (any TestClientProtocol) async throws -> T
    ) async throws -> T {
        let app = try buildApplication(
            configuration: APIConfiguration(host: "127.0.0.1", port: 0, uriIssuer: try URISetIssuer(cloudDomain: "crm.example.com")),
            dependencies: APIDependencies(
                postgres: DatabaseClientFactory.makeClient(url: url, purpose: .application(maximumConnections: 8), logger: logger),
                listenURL: url,
                migrations: try TestDatabase.migrations(),
                metrics: PrometheusCollectorRegistry(),
                keyring: keyring,
                databaseDeadline: TestDatabase.deadline
            ),
            logger: logger
        )
        return try await app.test(live ? .live : .router) { client in
            try await body(client)
        }
    }

    struct Setup: Sendable {
        let support: APIFixture.IssuedToken
        let admin: APIFixture.IssuedToken
        let runtime: APIFixture.IssuedToken
        let dashboard: APIFixture.IssuedToken
    }

    /// Tenants `slugs` (the first owned by `admin`), their first URI sets issued through the API
    /// unless `issue` is false, and one token per role.
    @discardableResult
    static func setUp(
        _ client: any TestClientProtocol, _ url: DatabaseURL, slugs: [String] = ["acme"], issue: Bool = true
    ) async throws -> Setup {
        try await APIFixture.tenants(url, slugs.map { ($0, $0.capitalized + " 株式会社") })
        let support = try await APIFixture.supportToken(url)
        let setup = Setup(
            support: support,
            admin: try await APIFixture.token(url, role: .tenantAdmin, name: "admin-\(slugs[0])", tenant: slugs[0]),
            runtime: try await APIFixture.token(url, role: .runtime, name: "crm-runtime"),
            dashboard: try await APIFixture.token(url, role: .dashboard, name: "dashboard")
        )
        if issue {
            for slug in slugs {
                let reply = try await client.send(.post, "/v1/tenants/\(slug)/uri-sets", token: support.token)
                #expect(reply.status == .created, "issue URI set for \(slug): \(reply.text)")
            }
        }
        return setup
    }

    /// Uploads `file` as application/json; expects 202 and returns the credential id.
    static func upload(
        _ client: any TestClientProtocol, token: String, slug: String = "acme", file: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> String {
        let reply = try await client.send(.post, "/v1/tenants/\(slug)/credentials", token: token, body: file)
        #expect(reply.status == .accepted, "upload: \(reply.text)", sourceLocation: sourceLocation)
        return try #require(reply.object?["id"] as? String, "upload: \(reply.text)", sourceLocation: sourceLocation)
    }

    // MARK: verification without the worker

    /// Claims every due verification and records the verifier's verdict, as the worker would
    /// (without the live check, with the carried-over secret's origin); returns the states
    /// recorded, by credential id.
    @discardableResult
    static func verifyPending(
        _ url: DatabaseURL, keyring: EncryptionKeyring = testKeyring, logger: Logger = TestDatabase.logger
    ) async throws -> [String: CredentialState] {
        try await TestDatabase.withClient(url, purpose: .worker(maximumConnections: 2)) { client in
            let queue = VerificationQueue(client: client, logger: logger)
            let sealer = SecretSealer(keyring: keyring)
            let claimed = try await queue.claim(limit: 500, lease: .seconds(30), workerID: "api-test")
            var outcomes: [VerificationOutcome] = []
            var states: [String: CredentialState] = [:]
            for claim in claimed {
                let bytes = try sealer.open(claim.sealedFile, tenantID: claim.tenantID, credentialID: claim.credentialID)
                let verdict = CredentialVerifier().verify(
                    fileBytes: bytes, against: claim.uriSet, context: VerificationContext(secretCarriedFrom: claim.secretCarriedFrom)
                )
                outcomes.append(VerificationOutcome(
                    credentialID: claim.credentialID, version: claim.version, state: verdict.state,
                    findings: verdict.findings, uriSetVersion: claim.uriSet?.version
                ))
                states[claim.credentialID.uuidString.lowercased()] = verdict.state
            }
            try await queue.complete(outcomes)
            return states
        }
    }

    // MARK: the database as its owner

    static func withOwner<T: Sendable>(_ url: DatabaseURL, _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        try await TestDatabase.withClient(url, purpose: .owner, body)
    }

    /// The single integer `sql` answers, read as the owner (row-level security does not hide anything).
    static func count(_ url: DatabaseURL, _ sql: String) async throws -> Int {
        try await withOwner(url) { client in
            let rows = try await client.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger)
            for try await value in rows.decode(Int.self) { return value }
            return 0
        }
    }

    /// Every row of `table` as JSON text (bytea columns hex-encoded), read as the owner.
    static func rowsAsText(_ url: DatabaseURL, _ table: String) async throws -> [String] {
        try await withOwner(url) { client in
            let rows = try await client.query(
                PostgresQuery(unsafeSQL: "SELECT row_to_json(x)::text FROM \(table) x"), logger: TestDatabase.logger
            )
            var texts: [String] = []
            for try await text in rows.decode(String.self) { texts.append(text) }
            return texts
        }
    }

    /// Every value of every `bytea` column of `table`, raw, read as the owner.
    static func byteaValues(_ url: DatabaseURL, _ table: String, columns: [String]) async throws -> [[UInt8]] {
        try await withOwner(url) { client in
            var values: [[UInt8]] = []
            for column in columns {
                let rows = try await client.query(
                    PostgresQuery(unsafeSQL: "SELECT \(column) FROM \(table) WHERE \(column) IS NOT NULL"), logger: TestDatabase.logger
                )
                for try await buffer in rows.decode(ByteBuffer.self) { values.append(Array(buffer: buffer)) }
            }
            return values
        }
    }

    static func execute(_ url: DatabaseURL, _ sql: String) async throws {
        try await withOwner(url) { client in
            try await client.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger)
        }
    }

    // MARK: bodies

    /// A multipart/form-data body by hand: `parts` are (name, filename, content type, bytes).
    static func multipart(
        boundary: String, _ parts: [(name: String, filename: String?, contentType: String?, bytes: [UInt8])]
    ) -> [UInt8] {
        var body: [UInt8] = []
        for part in parts {
            var head = "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(part.name)\""
            if let filename = part.filename { head += "; filename=\"\(filename)\"" }
            head += "\r\n"
            if let contentType = part.contentType { head += "Content-Type: \(contentType)\r\n" }
            head += "\r\n"
            body += Array(head.utf8) + part.bytes + Array("\r\n".utf8)
        }
        body += Array("--\(boundary)--\r\n".utf8)
        return body
    }

    /// Sends one HTTP/1.1 request over a plain socket (`.live` applications only): `head` as
    /// given, then `chunks` with chunked transfer encoding. Returns the status and body of the
    /// answer.
    static func sendChunked(port: Int, head: String, chunks: [[UInt8]]) async throws -> (status: Int, body: String) {
        var frames = [ByteBuffer(string: head)]
        for chunk in chunks {
            var buffer = ByteBuffer(string: String(chunk.count, radix: 16) + "\r\n")
            buffer.writeBytes(chunk)
            buffer.writeString("\r\n")
            frames.append(buffer)
        }
        frames.append(ByteBuffer(string: "0\r\n\r\n"))
        return try await sendRaw(port: port, frames)
    }

    /// Writes `frames` as they are to a plain socket (`.live` applications only) and returns the
    /// status and body of the answer (status 0 when none came).
    static func sendRaw(port: Int, _ frames: [ByteBuffer]) async throws -> (status: Int, body: String) {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let raw: String = try await channel.executeThenClose { inbound, outbound in
            do {
                for frame in frames { try await outbound.write(frame) }
            } catch {
                // The server may answer and close before it has read everything.
            }
            var received = ByteBuffer()
            do {
                for try await var buffer in inbound {
                    received.writeBuffer(&buffer)
                    if Self.isComplete(String(buffer: received)) { break }
                }
            } catch {
                // A reset after the answer: keep what arrived.
            }
            return String(buffer: received)
        }
        guard let statusLine = raw.split(separator: "\r\n", maxSplits: 1).first,
              let code = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { return (0, raw) }
        let body = raw.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        return (code, body)
    }

    /// A response with Content-Length that has arrived whole.
    private static func isComplete(_ raw: String) -> Bool {
        guard let end = raw.range(of: "\r\n\r\n") else { return false }
        let head = raw[..<end.lowerBound].lowercased()
        guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
              let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
        else { return false }
        return raw[end.upperBound...].utf8.count >= length
    }
}

extension TestClientProtocol {
    /// Sends raw bytes; `contentType` nil sends no Content-Type at all.
    func sendBytes(
        _ method: HTTPRequest.Method, _ path: String, token: String?, bytes: [UInt8], contentType: String? = "application/json",
        headers extra: HTTPFields = [:]
    ) async throws -> Reply {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        if let contentType { headers[.contentType] = contentType }
        let response = try await executeRequest(uri: path, method: method, headers: headers, body: ByteBuffer(bytes: bytes))
        return Reply(status: response.status, headers: response.headers, body: Data(buffer: response.body))
    }
}
