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
                migrations: try TestDatabase.migrations(),
                metrics: PrometheusCollectorRegistry(),
                keyring: keyring
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

/// `/v1/tenants/{slug}/credentials` through the real application and PostgreSQL (openapi.yaml, credentials).
@Suite struct CredentialsAPITests {
    static let credentialKeys: Set<String> = [
        "id", "tenant", "state", "uploaded_at", "uploaded_by", "sha256", "client_type", "client_id", "project_id",
        "client_secret_hint", "uri_set_version", "verified_at", "attempts", "findings",
    ]

    static func credentialRows(_ url: DatabaseURL) async throws -> Int {
        try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM credentials")
    }

    // MARK: accepted uploads

    @Test func jsonUploadIs202WithLocationAndTheSummaryNeverTheSecret() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let file = CredentialFixture.file()
            let reply = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: file)
            #expect(reply.status == .accepted, "\(reply.text)")
            #expect(reply.headers[.contentType]?.hasPrefix("application/json") == true)
            let credential = try #require(reply.object)
            let id = try #require(credential["id"] as? String)
            #expect(UUID(uuidString: id) != nil && id == id.lowercased(), "id \(id)")
            #expect(reply.headers[.location] == "/v1/tenants/acme/credentials/\(id)")
            #expect(Self.credentialKeys.isSubset(of: Set(credential.keys)), "missing: \(Self.credentialKeys.subtracting(credential.keys))")
            #expect(credential["state"] as? String == "pending")
            #expect(credential["tenant"] as? String == "acme")
            #expect(credential["uploaded_by"] as? String == setup.admin.name)
            #expect(credential["sha256"] as? String == CredentialFixture.sha256Hex(Array(file.utf8)))
            #expect(credential["client_type"] as? String == "web")
            #expect(credential["client_id"] as? String == CredentialFixture.clientID)
            #expect(credential["project_id"] as? String == CredentialFixture.projectID)
            #expect(credential["client_secret_hint"] as? String == String(CredentialFixture.secret.suffix(4)))
            #expect(credential["attempts"] as? Int == 0)
            #expect(credential["findings"] as? [Any] != nil)
            #expect(credential["verified_at"] is NSNull)
            #expect(abs((rfc3339(credential["uploaded_at"]) ?? .distantPast).timeIntervalSinceNow) < 60)
            #expect(!credential.keys.contains("client_secret"))
            #expect(!reply.text.contains(CredentialFixture.secret), "the secret is in the answer")

            // GET answers the same, and never the secret either.
            let read = try await client.send(.get, "/v1/tenants/acme/credentials/\(id)", token: setup.support.token)
            #expect(read.status == .ok)
            #expect(read.object?["sha256"] as? String == credential["sha256"] as? String)
            #expect(!read.text.contains(CredentialFixture.secret))
            #expect(try await Self.credentialRows(url) == 1)
        }
    }

    @Test func supportMayUploadOnBehalfOfTheTenant() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let reply = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.support.token, body: CredentialFixture.file())
            #expect(reply.status == .accepted, "\(reply.text)")
            #expect(reply.object?["uploaded_by"] as? String == setup.support.name)
        }
    }

    @Test func aLeadingByteOrderMarkIsAcceptedAndHashedAsSent() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array(CredentialFixture.file().utf8)
            let reply = try await client.sendBytes(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, bytes: bytes)
            #expect(reply.status == .accepted, "\(reply.text)")
            #expect(reply.object?["sha256"] as? String == CredentialFixture.sha256Hex(bytes))
            #expect(reply.object?["client_id"] as? String == CredentialFixture.clientID)
            #expect(reply.object?["client_type"] as? String == "web")
        }
    }

    @Test func contentTypeParametersAreAllowed() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let reply = try await client.send(
                .post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: CredentialFixture.file(),
                contentType: "Application/JSON; charset=utf-8"
            )
            #expect(reply.status == .accepted, "\(reply.text)")
        }
    }

    @Test func multipartUploadInFieldFile() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let file = Array(CredentialFixture.file().utf8)
            let boundary = "----agcrm-test-7MA4YWxkTrZu0gW"
            let body = CredentialFixture.multipart(boundary: boundary, [
                (name: "file", filename: "client_secrets.json", contentType: "application/octet-stream", bytes: file),
            ])
            let reply = try await client.sendBytes(
                .post, "/v1/tenants/acme/credentials", token: setup.admin.token, bytes: body,
                contentType: "multipart/form-data; boundary=\(boundary)"
            )
            #expect(reply.status == .accepted, "\(reply.text)")
            let id = try #require(reply.object?["id"] as? String)
            #expect(reply.headers[.location] == "/v1/tenants/acme/credentials/\(id)")
            #expect(reply.object?["state"] as? String == "pending")
            #expect(reply.object?["sha256"] as? String == CredentialFixture.sha256Hex(file), "the hash is of the file, not of the envelope")
            #expect(reply.object?["client_id"] as? String == CredentialFixture.clientID)
            #expect(reply.object?["client_secret_hint"] as? String == String(CredentialFixture.secret.suffix(4)))
            #expect(!reply.text.contains(CredentialFixture.secret))
            #expect(try await Self.credentialRows(url) == 1)

            // What was stored is the file, byte for byte: the verdict is the clean one.
            let states = try await CredentialFixture.verifyPending(url)
            #expect(states[id] == .verified)
        }
    }

    @Test func multipartWithoutAFilePartIs400AndStoresNothing() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let boundary = "agcrm-boundary-1"
            let file = Array(CredentialFixture.file().utf8)
            let cases: [(String, [UInt8])] = [
                ("other part name", CredentialFixture.multipart(boundary: boundary, [(name: "upload", filename: "client_secrets.json", contentType: "application/json", bytes: file)])),
                ("no parts", Array("--\(boundary)--\r\n".utf8)),
                ("two file parts", CredentialFixture.multipart(boundary: boundary, [
                    (name: "file", filename: "client_secrets.json", contentType: "application/json", bytes: file),
                    (name: "file", filename: "other.json", contentType: "application/json", bytes: file),
                ])),
                ("a file and another part", CredentialFixture.multipart(boundary: boundary, [
                    (name: "file", filename: "client_secrets.json", contentType: "application/json", bytes: file),
                    (name: "note", filename: nil, contentType: nil, bytes: Array("hello".utf8)),
                ])),
                ("not multipart at all", file),
            ]
            for (label, body) in cases {
                let reply = try await client.sendBytes(
                    .post, "/v1/tenants/acme/credentials", token: setup.admin.token, bytes: body,
                    contentType: "multipart/form-data; boundary=\(boundary)"
                )
                #expect(reply.status == .badRequest, "\(label): \(reply.status.code) \(reply.text)")
                #expect(reply.headers[.contentType]?.hasPrefix("application/problem+json") == true, "\(label)")
                #expect(!reply.text.contains(CredentialFixture.secret), "\(label): the secret is echoed")
            }
            #expect(try await Self.credentialRows(url) == 0)
        }
    }

    @Test func multipartFileThatIsNotJSONIs400InvalidJSON() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let boundary = "agcrm-boundary-2"
            let body = CredentialFixture.multipart(boundary: boundary, [
                (name: "file", filename: "client_secrets.json", contentType: "application/json", bytes: Array("{\"web\": {".utf8)),
            ])
            let reply = try await client.sendBytes(
                .post, "/v1/tenants/acme/credentials", token: setup.admin.token, bytes: body,
                contentType: "multipart/form-data; boundary=\(boundary)"
            )
            expectProblem(reply, .badRequest, "invalid_json")
            #expect(try await Self.credentialRows(url) == 0)
        }
    }

    @Test func multipartFileOver64KiBIs413() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let boundary = "agcrm-boundary-3"
            let file = Array(CredentialFixture.file().utf8) + [UInt8](repeating: 0x20, count: 64 * 1024)
            let body = CredentialFixture.multipart(boundary: boundary, [
                (name: "file", filename: "client_secrets.json", contentType: "application/json", bytes: file),
            ])
            let reply = try await client.sendBytes(
                .post, "/v1/tenants/acme/credentials", token: setup.admin.token, bytes: body,
                contentType: "multipart/form-data; boundary=\(boundary)"
            )
            expectProblem(reply, .contentTooLarge, "payload_too_large")
            #expect(try await Self.credentialRows(url) == 0)
        }
    }

    // MARK: transport-level refusals

    @Test func otherMediaTypesAre415() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let file = Array(CredentialFixture.file().utf8)
            for contentType in ["text/plain", "application/xml", "application/octet-stream", "application/x-www-form-urlencoded", "text/json"] {
                let reply = try await client.sendBytes(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, bytes: file, contentType: contentType)
                expectProblem(reply, .unsupportedMediaType, "unsupported_media_type", contentType)
                #expect(!reply.text.contains(CredentialFixture.secret))
            }
            // A body without any Content-Type.
            let bare = try await client.sendBytes(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, bytes: file, contentType: nil)
            expectProblem(bare, .unsupportedMediaType, "unsupported_media_type", "no content type")
            #expect(try await Self.credentialRows(url) == 0)
        }
    }

    @Test func bytesThatAreNotUTF8JSONAre400InvalidJSONSayingWhere() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let file = Array(CredentialFixture.file().utf8)
            let cases: [(label: String, bytes: [UInt8], detailMentions: [String])] = [
                ("Latin-1 byte", Array("{\"web\": {\"project_id\": \"caf".utf8) + [0xE9] + Array("\"}}".utf8), ["UTF-8", "byte"]),
                ("UTF-16 with BOM", [0xFF, 0xFE] + Array("{}".utf8.flatMap { [$0, 0] }), ["UTF-8"]),
                ("plain text", Array("this is not json".utf8), ["line 1", "column 1"]),
                ("trailing garbage", file + Array("\n}garbage".utf8), ["line 13, column 1"]),
                ("error on line 3", Array("{\n  \"web\": {\n    \"client_id\": tru\n  }\n}".utf8), ["line 3", "column"]),
                ("truncated", Array(file.prefix(file.count / 2)), ["line", "column"]),
                ("empty", [], []),
                ("only a byte order mark", [0xEF, 0xBB, 0xBF], []),
                ("two values", Array("{} {}".utf8), ["line 1", "column 4"]),
            ]
            for (label, bytes, mentions) in cases {
                let reply = try await client.sendBytes(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, bytes: bytes)
                expectProblem(reply, .badRequest, "invalid_json", label)
                let detail = reply.object?["detail"] as? String ?? ""
                for mention in mentions {
                    #expect(detail.contains(mention), "\(label): detail should mention '\(mention)': \(detail)")
                }
            }
            #expect(try await Self.credentialRows(url) == 0)
        }
    }

    @Test func nestingIsLimitedTo32Levels() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            func arrays(_ depth: Int) -> String { String(repeating: "[", count: depth) + String(repeating: "]", count: depth) }
            func objects(_ depth: Int) -> String { String(repeating: "{\"a\":", count: depth - 1) + "{}" + String(repeating: "}", count: depth - 1) }
            func inFile(_ depth: Int) -> String {
                // `web` (2 levels with the top) holding a member nested to `depth` in total.
                "{\"web\":{\"client_id\":\"\(CredentialFixture.clientID)\",\"x\":\(arrays(depth - 2))}}"
            }
            for (label, body) in [("arrays", arrays(33)), ("objects", objects(33)), ("inside a file", inFile(33))] {
                let reply = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: body)
                expectProblem(reply, .badRequest, "invalid_json", "33 deep, \(label)")
                let detail = reply.object?["detail"] as? String ?? ""
                #expect(detail.contains("32"), "\(label): the detail names the limit: \(detail)")
            }
            #expect(try await Self.credentialRows(url) == 0)
            for (label, body) in [("arrays", arrays(32)), ("objects", objects(32)), ("inside a file", inFile(32))] {
                let reply = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: body)
                #expect(reply.status == .accepted, "32 deep, \(label): \(reply.status.code) \(reply.text)")
            }
            #expect(try await Self.credentialRows(url) == 3)
        }
    }

    @Test func exactly64KiBIsAcceptedOneByteMoreIs413() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let file = Array(CredentialFixture.file().utf8)
            let limit = 64 * 1024
            let atLimit = file + [UInt8](repeating: 0x20, count: limit - file.count)
            #expect(atLimit.count == limit)
            let accepted = try await client.sendBytes(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, bytes: atLimit)
            #expect(accepted.status == .accepted, "\(accepted.text)")
            #expect(accepted.object?["sha256"] as? String == CredentialFixture.sha256Hex(atLimit))

            let over = try await client.sendBytes(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, bytes: atLimit + [0x20])
            expectProblem(over, .contentTooLarge, "payload_too_large")
            let huge = try await client.sendBytes(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, bytes: file + [UInt8](repeating: 0x20, count: 1024 * 1024))
            expectProblem(huge, .contentTooLarge, "payload_too_large")
            #expect(try await Self.credentialRows(url) == 1)
        }
    }

    /// A body over 64 KiB sent in chunks without Content-Length, over a real socket.
    @Test func chunkedBodyOver64KiBWithoutContentLengthIs413() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await CredentialFixture.withApplication(url, live: true) { client in
                let setup = try await CredentialFixture.setUp(client, url)
                let port = try #require(client.port)
                let file = Array(CredentialFixture.file().utf8)
                let padding = [UInt8](repeating: 0x20, count: 8 * 1024)
                let head = """
                    POST /v1/tenants/acme/credentials HTTP/1.1\r
                    Host: 127.0.0.1:\(port)\r
                    Authorization: Bearer \(setup.admin.token)\r
                    Content-Type: application/json\r
                    Transfer-Encoding: chunked\r
                    Connection: close\r
                    \r

                    """
                let over = try await CredentialFixture.sendChunked(port: port, head: head, chunks: [file] + Array(repeating: padding, count: 9))
                #expect(over.status == 413, "\(over.status) \(over.body)")
                #expect(over.body.contains("payload_too_large"), "\(over.body)")

                // The same way, under the limit, is an ordinary upload.
                let under = try await CredentialFixture.sendChunked(port: port, head: head, chunks: [file, padding, padding])
                #expect(under.status == 202, "\(under.status) \(under.body)")
                #expect(try await Self.credentialRows(url) == 1)
            }
        }
    }

    @Test func aDeclaredContentLengthOver64KiBIsRefusedFirst() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            // Router tests always send Content-Length: it is over the limit here.
            let bytes = [UInt8](repeating: 0x5B, count: 70 * 1024) // '[' x 70 KiB: too deep too, but too large first
            let reply = try await client.sendBytes(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, bytes: bytes)
            expectProblem(reply, .contentTooLarge, "payload_too_large")
            #expect(try await Self.credentialRows(url) == 0)
        }
    }

    // MARK: reads

    @Test func listIsNewestFirstWithPagination() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            var ids: [String] = []
            for n in 1...5 {
                ids.append(try await CredentialFixture.upload(client, token: setup.admin.token, file: CredentialFixture.file(secret: CredentialFixture.secret(n))))
            }
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let query = cursor.map { "&cursor=\(APIFixture.query($0))" } ?? ""
                let page = try await client.send(.get, "/v1/tenants/acme/credentials?limit=2\(query)", token: setup.dashboard.token)
                #expect(page.status == .ok, "\(page.text)")
                #expect(page.items.count <= 2)
                for item in page.items {
                    #expect(item["client_secret"] == nil)
                    #expect(item["tenant"] as? String == "acme")
                }
                seen += page.items.compactMap { $0["id"] as? String }
                cursor = page.nextCursor ?? nil
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(seen == ids.reversed(), "newest first")
            // Default limit: everything at once, next_cursor null.
            let all = try await client.send(.get, "/v1/tenants/acme/credentials", token: setup.admin.token)
            #expect(all.items.count == 5)
            #expect(all.nextCursor == .some(nil))
            #expect(!all.text.contains(CredentialFixture.secret(1)))
        }
    }

    @Test func credentialsOfAnotherTenantAndUnknownIdsAre404() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url, slugs: ["acme", "globex"])
            let id = try await CredentialFixture.upload(client, token: setup.admin.token, file: CredentialFixture.file())
            // Through another tenant's path (support sees both tenants).
            let wrongTenant = try await client.send(.get, "/v1/tenants/globex/credentials/\(id)", token: setup.support.token)
            expectProblem(wrongTenant, .notFound, "credential_not_found")
            let reverifyWrongTenant = try await client.send(.post, "/v1/tenants/globex/credentials/\(id)/verify", token: setup.support.token)
            expectProblem(reverifyWrongTenant, .notFound, "credential_not_found")
            for unknown in [UUID().uuidString.lowercased(), "not-a-uuid", "00000000-0000-0000-0000-000000000000", "123"] {
                let reply = try await client.send(.get, "/v1/tenants/acme/credentials/\(unknown)", token: setup.support.token)
                #expect(reply.status == .notFound, "\(unknown): \(reply.text)")
                #expect(reply.headers[.contentType]?.hasPrefix("application/problem+json") == true)
            }
            // The globex list stays empty.
            let list = try await client.send(.get, "/v1/tenants/globex/credentials", token: setup.support.token)
            #expect(list.items.isEmpty)
            // A globex admin cannot reach acme at all.
            let globexAdmin = try await APIFixture.token(url, role: .tenantAdmin, name: "globex-admin", tenant: "globex")
            let foreign = try await client.send(.get, "/v1/tenants/acme/credentials/\(id)", token: globexAdmin.token)
            #expect(foreign.status == .notFound)
            // The same id read through acme works, uppercase too.
            let own = try await client.send(.get, "/v1/tenants/acme/credentials/\(id.uppercased())", token: setup.admin.token)
            #expect(own.status == .ok, "\(own.text)")
        }
    }

    @Test func activeIs404BeforeAnyVerdictThenTheVerifiedCredential() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let none = try await client.send(.get, "/v1/tenants/acme/credentials/active", token: setup.admin.token)
            expectProblem(none, .notFound, "no_active_credential")
            let id = try await CredentialFixture.upload(client, token: setup.admin.token, file: CredentialFixture.file())
            let pending = try await client.send(.get, "/v1/tenants/acme/credentials/active", token: setup.admin.token)
            expectProblem(pending, .notFound, "no_active_credential", "pending upload")

            #expect(try await CredentialFixture.verifyPending(url)[id] == .verified)
            let active = try await client.send(.get, "/v1/tenants/acme/credentials/active", token: setup.dashboard.token)
            #expect(active.status == .ok, "\(active.text)")
            #expect(active.object?["id"] as? String == id)
            #expect(active.object?["state"] as? String == "verified")
            #expect(active.object?["uri_set_version"] as? Int == 1)
            #expect(rfc3339(active.object?["verified_at"]) != nil)
            #expect(active.object?["attempts"] as? Int == 1)
            #expect(!active.text.contains(CredentialFixture.secret))
            let tenant = try await client.send(.get, "/v1/tenants/acme", token: setup.support.token)
            #expect(tenant.object?["active_credential_id"] as? String == id)
        }
    }

    @Test func reverifyIs202PendingWithAttemptsZero() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let id = try await CredentialFixture.upload(client, token: setup.admin.token, file: CredentialFixture.file())
            try await CredentialFixture.verifyPending(url)
            let reply = try await client.send(.post, "/v1/tenants/acme/credentials/\(id)/verify", token: setup.admin.token)
            #expect(reply.status == .accepted, "\(reply.text)")
            #expect(reply.headers[.location] == "/v1/tenants/acme/credentials/\(id)")
            #expect(reply.object?["id"] as? String == id)
            #expect(reply.object?["state"] as? String == "pending")
            #expect(reply.object?["attempts"] as? Int == 0)
            #expect(!reply.text.contains(CredentialFixture.secret))
            // Not active until it passes again.
            let active = try await client.send(.get, "/v1/tenants/acme/credentials/active", token: setup.admin.token)
            expectProblem(active, .notFound, "no_active_credential")
            #expect(try await CredentialFixture.verifyPending(url)[id] == .verified)
            let again = try await client.send(.get, "/v1/tenants/acme/credentials/active", token: setup.admin.token)
            #expect(again.object?["id"] as? String == id)
            #expect(again.object?["attempts"] as? Int == 1)
        }
    }

    // MARK: runtime secret

    @Test func runtimeReadsTheActiveSecretAndTheReadIsAudited() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let none = try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: setup.runtime.token)
            expectProblem(none, .notFound, "no_active_credential")

            let id = try await CredentialFixture.upload(client, token: setup.admin.token, file: CredentialFixture.file())
            try await CredentialFixture.verifyPending(url)
            let reply = try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: setup.runtime.token, requestID: "runtime-read-1")
            #expect(reply.status == .ok, "\(reply.text)")
            let secret = try #require(reply.object)
            #expect(Set(secret.keys) == [
                "client_id", "client_secret", "project_id", "auth_uri", "token_uri", "redirect_uris", "javascript_origins", "uri_set_version",
            ])
            #expect(secret["client_id"] as? String == CredentialFixture.clientID)
            #expect(secret["auth_uri"] as? String == "https://accounts.google.com/o/oauth2/auth")
            #expect(secret["token_uri"] as? String == "https://oauth2.googleapis.com/token")
            #expect(secret["client_secret"] as? String == CredentialFixture.secret)
            #expect(secret["project_id"] as? String == CredentialFixture.projectID)
            #expect(secret["redirect_uris"] as? [String] == [CredentialFixture.callback("acme"), CredentialFixture.myAccount])
            #expect(secret["javascript_origins"] as? [String] == [CredentialFixture.origin("acme")])
            #expect(secret["uri_set_version"] as? Int == 1)

            let audit = try await CredentialFixture.rowsAsText(url, "audit_events")
            let reads = audit.filter { $0.contains("\"credential.secret_read\"") }
            // The refused read before the upload has its row too.
            #expect(reads.count == 2, "\(reads)")
            #expect(reads.filter { $0.contains("\"result\":\"no_active_credential\"") }.count == 1, "\(reads)")
            let read = try #require(reads.first { $0.contains("\"result\":\"success\"") }, "\(reads)")
            #expect(read.contains("\"target\":\"credential:\(id)\""), "\(read)")
            #expect(read.contains("\"tenant_slug\":\"acme\""), "\(read)")
            #expect(read.contains("\"actor_name\":\"crm-runtime\""), "\(read)")
            #expect(read.contains("runtime-read-1"), "request id: \(read)")
            for row in audit {
                #expect(!row.contains(CredentialFixture.secret), "secret in audit row \(row)")
            }
            // Every read writes its own row.
            _ = try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: setup.runtime.token)
            let after = try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM audit_events WHERE action = 'credential.secret_read' AND result = 'success'")
            #expect(after == 2)
        }
    }

    @Test func onlyTheRuntimeReadsSecrets() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            _ = try await CredentialFixture.upload(client, token: setup.admin.token, file: CredentialFixture.file())
            try await CredentialFixture.verifyPending(url)
            for (label, token) in [("support", setup.support.token), ("dashboard", setup.dashboard.token), ("tenant_admin", setup.admin.token)] {
                let reply = try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: token)
                expectProblem(reply, .forbidden, "forbidden", label)
                #expect(!reply.text.contains(CredentialFixture.secret), "\(label)")
            }
            // The runtime reads nothing else.
            for path in ["/v1/tenants/acme/credentials", "/v1/tenants/acme/credentials/active", "/v1/tenants/acme"] {
                let reply = try await client.send(.get, path, token: setup.runtime.token)
                #expect(reply.status == .forbidden, "\(path): \(reply.status.code)")
            }
            let runtimeUpload = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.runtime.token, body: CredentialFixture.file())
            #expect(runtimeUpload.status == .forbidden)
            // Denied secret reads are audited, without the secret.
            let denied = try await CredentialFixture.count(
                url, "SELECT count(*)::int8 FROM audit_events WHERE action = 'credential.secret_read' AND result <> 'success'"
            )
            #expect(denied == 3)
        }
    }

    // MARK: findings language

    @Test func findingMessagesAreJapaneseByDefaultAndEnglishOnRequest() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let file = CredentialFixture.file(secret: nil)
            let id = try await CredentialFixture.upload(client, token: setup.admin.token, file: file)
            #expect(try await CredentialFixture.verifyPending(url)[id] == .rejected)

            let expected = try #require(
                CredentialVerifier().verify(fileBytes: Array(file.utf8), against: nil).findings.first { $0.code == .clientSecretMissing }
            )
            func finding(_ reply: Reply) -> [String: Any]? {
                (reply.object?["findings"] as? [[String: Any]])?.first { $0["code"] as? String == "client_secret_missing" }
            }
            let japanese = try await client.send(.get, "/v1/tenants/acme/credentials/\(id)", token: setup.admin.token)
            #expect(japanese.object?["state"] as? String == "rejected")
            let ja = try #require(finding(japanese), "\(japanese.text)")
            #expect(ja["severity"] as? String == "error")
            #expect(ja["message"] as? String == expected.message(in: .ja))
            #expect((ja["message"] as? String)?.unicodeScalars.contains { (0x3040...0x30FF).contains($0.value) } == true, "Japanese: \(ja)")
            for key in ["field", "value", "expected", "hint"] { #expect(ja.keys.contains(key), "finding has \(key)") }

            for header in ["en", "en-US,en;q=0.9", "ja;q=0.5, en;q=0.8"] {
                let english = try await client.send(.get, "/v1/tenants/acme/credentials/\(id)", token: setup.admin.token, headers: [.acceptLanguage: header])
                let en = try #require(finding(english), "\(english.text)")
                #expect(en["message"] as? String == expected.message(in: .en), "\(header)")
                #expect((en["message"] as? String)?.unicodeScalars.allSatisfy { $0.isASCII } == true, "\(header): \(en)")
            }
            // A list answers in the same language.
            let list = try await client.send(.get, "/v1/tenants/acme/credentials", token: setup.admin.token, headers: [.acceptLanguage: "en"])
            let listed = (list.items.first?["findings"] as? [[String: Any]])?.first { $0["code"] as? String == "client_secret_missing" }
            #expect(listed?["message"] as? String == expected.message(in: .en))
            // A language we do not write falls back to Japanese.
            let french = try await client.send(.get, "/v1/tenants/acme/credentials/\(id)", token: setup.admin.token, headers: [.acceptLanguage: "fr"])
            #expect(finding(french)?["message"] as? String == expected.message(in: .ja))
        }
    }
}
