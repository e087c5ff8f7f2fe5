import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Testing
@testable import ProvisionerAPI

/// The secret beside the file in the
/// multipart field `client_secret`, and the secret carried over from the tenant's newest upload
/// of the same client id (warning `client_secret_carried_over`); section 12, the runtime's read
/// as a drop-in client config for Google's libraries.
@Suite struct ClientSecretIntakeAPITests {
    static let given = "GOCSPX-" + "GivenBesideTheFile0123456789"
    static let boundary = "agcrm-secret-beside"
    static let otherClientID = "223456789012-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com"

    /// Uploads `file` as multipart with `client_secret` (omitted when nil).
    static func uploadForm(
        _ client: any TestClientProtocol, token: String, slug: String = "acme", file: String, clientSecret: [UInt8]?
    ) async throws -> Reply {
        var parts: [(name: String, filename: String?, contentType: String?, bytes: [UInt8])] = [
            (name: "file", filename: "client_secrets.json", contentType: "application/json", bytes: Array(file.utf8)),
        ]
        if let clientSecret { parts.append((name: "client_secret", filename: nil, contentType: nil, bytes: clientSecret)) }
        return try await client.sendBytes(
            .post, "/v1/tenants/\(slug)/credentials", token: token, bytes: CredentialFixture.multipart(boundary: boundary, parts),
            contentType: "multipart/form-data; boundary=\(boundary)"
        )
    }

    static func credential(_ client: any TestClientProtocol, token: String, id: String, slug: String = "acme") async throws -> [String: Any] {
        let reply = try await client.send(
            .get, "/v1/tenants/\(slug)/credentials/\(id)", token: token, headers: [.acceptLanguage: "en"]
        )
        return try #require(reply.object, "\(reply.status.code) \(reply.text)")
    }

    static func codes(_ credential: [String: Any]) -> [String] {
        ((credential["findings"] as? [[String: Any]]) ?? []).compactMap { $0["code"] as? String }
    }

    static func credentialCount(_ url: DatabaseURL) async throws -> Int {
        try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM credentials")
    }

    /// No table holds `secret` (or most of it) in clear.
    static func expectNowhereInClear(_ url: DatabaseURL, _ secret: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for table in ["credentials", "audit_events", "idempotency_keys", "tenants"] {
            for row in try await CredentialFixture.rowsAsText(url, table) {
                #expect(!row.contains(String(secret.dropLast(4))), "\(table) holds the secret: \(row)", sourceLocation: sourceLocation)
            }
        }
    }

    // MARK: the secret beside the file

    @Test(arguments: [("no client_secret", nil as String?), ("an empty client_secret", "")])
    func aSecretBesideAFileWithoutOneIsStoredInTheFile(_ testCase: (String, String?)) async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let file = CredentialFixture.file(secret: testCase.1)
            let reply = try await Self.uploadForm(client, token: setup.admin.token, file: file, clientSecret: Array(Self.given.utf8))
            #expect(reply.status == .accepted, "\(testCase.0): \(reply.text)")
            let id = try #require(reply.object?["id"] as? String)
            // The hint is of the secret stored; the digest is of the bytes uploaded.
            #expect(reply.object?["client_secret_hint"] as? String == String(Self.given.suffix(4)))
            #expect(reply.object?["sha256"] as? String == CredentialFixture.sha256Hex(Array(file.utf8)))
            #expect(!reply.text.contains(Self.given))

            let states = try await CredentialFixture.verifyPending(url)
            #expect(states[id] == .verified)
            let stored = try await Self.credential(client, token: setup.admin.token, id: id)
            #expect(Self.codes(stored) == [], "\(stored)")

            let secret = try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: setup.runtime.token)
            #expect(secret.object?["client_secret"] as? String == Self.given)
            #expect(secret.object?["client_id"] as? String == CredentialFixture.clientID)
            try await Self.expectNowhereInClear(url, Self.given)
        }
    }

    @Test func anEmptyFieldCountsAsAbsent() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let withSecret = try await Self.uploadForm(client, token: setup.admin.token, file: CredentialFixture.file(), clientSecret: [])
            #expect(withSecret.status == .accepted, "\(withSecret.text)")
            #expect(withSecret.object?["client_secret_hint"] as? String == String(CredentialFixture.secret.suffix(4)))
            let without = try await Self.uploadForm(
                client, token: setup.admin.token, file: CredentialFixture.file(clientID: Self.otherClientID, secret: nil), clientSecret: []
            )
            #expect(without.status == .accepted, "\(without.text)")
            let id = try #require(without.object?["id"] as? String)
            #expect(without.object?["client_secret_hint"] is NSNull)
            try await CredentialFixture.verifyPending(url)
            #expect(Self.codes(try await Self.credential(client, token: setup.admin.token, id: id)) == ["client_secret_missing"])
        }
    }

    @Test func theSameSecretBesideTheFileIsFine() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let file = CredentialFixture.file()
            let reply = try await Self.uploadForm(client, token: setup.admin.token, file: file, clientSecret: Array(CredentialFixture.secret.utf8))
            #expect(reply.status == .accepted, "\(reply.text)")
            let id = try #require(reply.object?["id"] as? String)
            #expect(try await CredentialFixture.verifyPending(url)[id] == .verified)
            // Stored as uploaded: the sealed file is the file, nonce and tag around it.
            let sealed = try await CredentialFixture.byteaValues(url, "credentials", columns: ["sealed_file"])
            #expect(sealed.map(\.count) == [file.utf8.count + 28])
        }
    }

    @Test func aDifferentSecretBesideAFileThatHasOneIs422AndStoresNothing() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let reply = try await Self.uploadForm(client, token: setup.admin.token, file: CredentialFixture.file(), clientSecret: Array(Self.given.utf8))
            expectProblem(reply, .unprocessableContent, "client_secret_conflict", field: "client_secret")
            for secret in [Self.given, CredentialFixture.secret] {
                #expect(!reply.text.contains(String(secret.dropFirst(7).prefix(8))), "the problem names a secret: \(reply.text)")
            }
            #expect(try await Self.credentialCount(url) == 0)
            try await Self.expectNowhereInClear(url, Self.given)
            try await Self.expectNowhereInClear(url, CredentialFixture.secret)
        }
    }

    @Test(arguments: [
        ("257 characters", Array(String(repeating: "a", count: 257).utf8)),
        ("far too long", Array(String(repeating: "a", count: 40_000).utf8)),
        ("a trailing newline", Array("GOCSPX-abcdefghijklmnopqrstuvwxyz12\n".utf8)),
        ("a space", Array("GOCSPX-abc def".utf8)),
        ("not ASCII", Array("ひみつ".utf8)),
        ("not UTF-8", [0x47, 0xFF, 0xFE]),
    ])
    func aClientSecretFieldOutOfBoundsIs422(_ testCase: (String, [UInt8])) async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let reply = try await Self.uploadForm(
                client, token: setup.admin.token, file: CredentialFixture.file(secret: nil), clientSecret: testCase.1
            )
            expectProblem(reply, .unprocessableContent, "client_secret_invalid", field: "client_secret", testCase.0)
            #expect(!reply.text.contains("GOCSPX-abc"), "\(testCase.0): the value is echoed: \(reply.text)")
            #expect(try await Self.credentialCount(url) == 0)
        }
    }

    @Test func twoClientSecretPartsAre400() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let body = CredentialFixture.multipart(boundary: Self.boundary, [
                (name: "file", filename: "client_secrets.json", contentType: "application/json", bytes: Array(CredentialFixture.file(secret: nil).utf8)),
                (name: "client_secret", filename: nil, contentType: nil, bytes: Array(Self.given.utf8)),
                (name: "client_secret", filename: nil, contentType: nil, bytes: Array(Self.given.utf8)),
            ])
            let reply = try await client.sendBytes(
                .post, "/v1/tenants/acme/credentials", token: setup.admin.token, bytes: body,
                contentType: "multipart/form-data; boundary=\(Self.boundary)"
            )
            expectProblem(reply, .badRequest, "invalid_request")
            #expect(!reply.text.contains(Self.given))
            #expect(try await Self.credentialCount(url) == 0)
        }
    }

    // MARK: carry-over

    @Test func anUploadWithoutASecretCarriesTheNewestOneOfItsClientIDOver() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let older = CredentialFixture.secret(1)
            let newer = CredentialFixture.secret(2)
            _ = try await CredentialFixture.upload(client, token: setup.admin.token, file: CredentialFixture.file(secret: older))
            let source = try await CredentialFixture.upload(client, token: setup.admin.token, file: CredentialFixture.file(secret: newer))
            try await CredentialFixture.verifyPending(url)

            let file = CredentialFixture.file(secret: nil)
            let reply = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: file)
            #expect(reply.status == .accepted, "\(reply.text)")
            let id = try #require(reply.object?["id"] as? String)
            #expect(reply.object?["client_secret_hint"] as? String == String(newer.suffix(4)))
            #expect(reply.object?["sha256"] as? String == CredentialFixture.sha256Hex(Array(file.utf8)), "the digest of the bytes uploaded")
            #expect(try await CredentialFixture.verifyPending(url)[id] == .verified)

            let stored = try await Self.credential(client, token: setup.admin.token, id: id)
            #expect(stored["state"] as? String == "verified")
            #expect(Self.codes(stored) == ["client_secret_carried_over"], "\(stored)")
            let finding = try #require((stored["findings"] as? [[String: Any]])?.first)
            #expect(finding["severity"] as? String == "warning")
            #expect(finding["field"] as? String == "web.client_secret")
            #expect(finding["value"] as? String == source, "the upload the secret came from")
            #expect((finding["message"] as? String)?.contains(source) == true)
            #expect((finding["message"] as? String)?.contains("carried over") == true)
            #expect(try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM credentials WHERE id = '\(id)' AND secret_carried_from = '\(source)'") == 1)

            // The runtime reads the carried secret, with the file's endpoints: a drop-in client config.
            let read = try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: setup.runtime.token)
            let body = try #require(read.object, "\(read.text)")
            #expect(body["client_secret"] as? String == newer)
            Self.expectGoogleClientConfig(["web": body])

            // The next upload without a secret carries from this one, the newest that has it.
            let next = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: file)
            let nextID = try #require(next.object?["id"] as? String)
            try await CredentialFixture.verifyPending(url)
            let chained = try await Self.credential(client, token: setup.admin.token, id: nextID)
            #expect((chained["findings"] as? [[String: Any]])?.first?["value"] as? String == id)

            // Verified again (the URI set or the admin asks), it still says where its secret came from.
            let again = try await client.send(.post, "/v1/tenants/acme/credentials/\(id)/verify", token: setup.admin.token)
            #expect(again.status == .accepted, "\(again.text)")
            try await CredentialFixture.verifyPending(url)
            #expect(Self.codes(try await Self.credential(client, token: setup.admin.token, id: id)) == ["client_secret_carried_over"])

            for secret in [older, newer] { try await Self.expectNowhereInClear(url, secret) }
        }
    }

    @Test func anotherClientIDCarriesNothing() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            _ = try await CredentialFixture.upload(client, token: setup.admin.token, file: CredentialFixture.file())
            let id = try await CredentialFixture.upload(
                client, token: setup.admin.token, file: CredentialFixture.file(clientID: Self.otherClientID, secret: nil)
            )
            #expect(try await CredentialFixture.verifyPending(url)[id] == .rejected)
            let stored = try await Self.credential(client, token: setup.admin.token, id: id)
            #expect(Self.codes(stored) == ["client_secret_missing"], "\(stored)")
            #expect(stored["client_secret_hint"] is NSNull)
        }
    }

    @Test func anotherTenantsUploadIsNeverCarriedOver() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url, slugs: ["acme", "globex"])
            // globex's upload of the very same client id, with a secret, newest of all.
            let globex = try await CredentialFixture.upload(
                client, token: setup.support.token, slug: "globex", file: CredentialFixture.file(slug: "globex", secret: CredentialFixture.secret(3))
            )
            try await CredentialFixture.verifyPending(url)
            let reply = try await Self.uploadForm(client, token: setup.admin.token, file: CredentialFixture.file(secret: nil), clientSecret: nil)
            #expect(reply.status == .accepted, "\(reply.text)")
            let id = try #require(reply.object?["id"] as? String)
            #expect(try await CredentialFixture.verifyPending(url)[id] == .rejected)
            let stored = try await Self.credential(client, token: setup.admin.token, id: id)
            #expect(Self.codes(stored) == ["client_secret_missing"], "\(stored)")
            #expect(!"\(stored)".contains(globex))
        }
    }

    @Test func aSecretGivenBesideIsCarriedOverLater() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let first = try await Self.uploadForm(client, token: setup.admin.token, file: CredentialFixture.file(secret: nil), clientSecret: Array(Self.given.utf8))
            let firstID = try #require(first.object?["id"] as? String)
            let second = try await Self.uploadForm(client, token: setup.admin.token, file: CredentialFixture.file(secret: nil), clientSecret: nil)
            let secondID = try #require(second.object?["id"] as? String)
            #expect(try await CredentialFixture.verifyPending(url)[secondID] == .verified)
            let stored = try await Self.credential(client, token: setup.admin.token, id: secondID)
            #expect((stored["findings"] as? [[String: Any]])?.first?["value"] as? String == firstID)
            let read = try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: setup.runtime.token)
            #expect(read.object?["client_secret"] as? String == Self.given)
        }
    }

    // MARK: drop-in

    /// What google-auth-oauthlib's `Flow.from_client_config` checks (helpers.session_from_client_config):
    /// a `web` (or `installed`) object holding at least `client_id`, `auth_uri` and `token_uri`;
    /// `client_secret` is what the token exchange sends.
    static func expectGoogleClientConfig(_ config: [String: Any], sourceLocation: SourceLocation = #_sourceLocation) {
        guard let web = config["web"] as? [String: Any] else {
            Issue.record("no web object", sourceLocation: sourceLocation)
            return
        }
        for key in ["client_id", "auth_uri", "token_uri", "client_secret"] {
            #expect((web[key] as? String)?.isEmpty == false, "\(key) missing: \(web)", sourceLocation: sourceLocation)
        }
        #expect(CredentialVerifier.authorizationEndpoints.contains(web["auth_uri"] as? String ?? ""), sourceLocation: sourceLocation)
        #expect(CredentialVerifier.tokenEndpoints.contains(web["token_uri"] as? String ?? ""), sourceLocation: sourceLocation)
        #expect(web["redirect_uris"] is [String], sourceLocation: sourceLocation)
        // And it is JSON as a library would load it.
        #expect(JSONSerialization.isValidJSONObject(config), sourceLocation: sourceLocation)
    }

    @Test func theRuntimeReadReturnsTheEndpointsExactlyAsUploaded() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let file = CredentialFixture.file()
                .replacingOccurrences(of: "https://accounts.google.com/o/oauth2/auth", with: "https://accounts.google.com/o/oauth2/v2/auth")
                .replacingOccurrences(of: "https://oauth2.googleapis.com/token", with: "https://www.googleapis.com/oauth2/v4/token")
            _ = try await CredentialFixture.upload(client, token: setup.admin.token, file: file)
            try await CredentialFixture.verifyPending(url)
            let read = try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: setup.runtime.token)
            let body = try #require(read.object, "\(read.text)")
            #expect(body["auth_uri"] as? String == "https://accounts.google.com/o/oauth2/v2/auth")
            #expect(body["token_uri"] as? String == "https://www.googleapis.com/oauth2/v4/token")
            Self.expectGoogleClientConfig(["web": body])
        }
    }
}
