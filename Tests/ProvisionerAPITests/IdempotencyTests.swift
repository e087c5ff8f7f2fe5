import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Testing
@testable import ProvisionerAPI

/// `Idempotency-Key` on POST, on uploads and on createTenant.
@Suite struct IdempotencyTests {
    static let keyHeader = HTTPField.Name("Idempotency-Key")!
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!

    static func key(_ value: String) -> HTTPFields { [keyHeader: value] }

    static func credentialRows(_ url: DatabaseURL) async throws -> Int {
        try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM credentials")
    }

    @Test func sameKeySameBodyReplaysTheFirstAnswer() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let file = CredentialFixture.file()
            let first = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: file, headers: Self.key("upload-1"))
            #expect(first.status == .accepted, "\(first.text)")
            #expect(first.headers[Self.replayedHeader] == nil, "the first answer is not a replay")
            let second = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: file, headers: Self.key("upload-1"))
            #expect(second.status == .accepted, "\(second.text)")
            #expect(second.headers[Self.replayedHeader] == "true")
            #expect(second.headers[.location] == first.headers[.location])
            #expect(second.headers[.contentType] == first.headers[.contentType])
            #expect(second.body == first.body, "byte for byte the first answer")
            #expect(second.object?["id"] as? String == first.object?["id"] as? String)
            #expect(try await Self.credentialRows(url) == 1)
            // A third time still.
            let third = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: file, headers: Self.key("upload-1"))
            #expect(third.body == first.body)
            #expect(try await Self.credentialRows(url) == 1)
            // Without a key, the same body is a new upload.
            _ = try await CredentialFixture.upload(client, token: setup.admin.token, file: file)
            #expect(try await Self.credentialRows(url) == 2)
        }
    }

    /// The first request's process died after its upload committed but before its answer was
    /// stored (the key stays `running`): once the key's lock has run out, the same request takes
    /// it over and finds that upload, rather than make a second.
    @Test func aTakeoverAfterTheFirstRequestDiedFindsItsUpload() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let file = CredentialFixture.file()
            let first = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: file, headers: Self.key("crash-1"))
            #expect(first.status == .accepted, "\(first.text)")
            // As the dead process left it: running, its lock run out, no answer stored.
            try await CredentialFixture.withOwner(url) { owner in
                try await owner.query(
                    """
                    UPDATE idempotency_keys SET state = 'running', locked_until = now() - interval '1 second', status = NULL,
                           content_type = NULL, location = NULL, sealed_key_id = NULL, sealed_body = NULL
                    WHERE key = 'crash-1'
                    """,
                    logger: TestDatabase.logger
                )
            }
            let again = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: file, headers: Self.key("crash-1"))
            #expect(again.status == .accepted, "\(again.text)")
            #expect(again.object?["id"] as? String == first.object?["id"] as? String, "the first request's upload")
            #expect(again.headers[.location] == first.headers[.location])
            #expect(try await Self.credentialRows(url) == 1)
            #expect(try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM audit_events WHERE action = 'credential.upload'") == 1)
            // That one row names the upload and its tenant (written by upload_credential).
            let uploadID = try #require(first.object?["id"] as? String)
            #expect(try await CredentialFixture.count(url, """
                SELECT count(*)::int8 FROM audit_events a JOIN tenants t ON t.id = a.tenant_id
                WHERE a.action = 'credential.upload' AND a.result = 'success' AND a.target = 'credential:\(uploadID)'
                  AND a.tenant_slug = 'acme' AND t.slug = 'acme'
                """) == 1)
            // Its answer is stored now: a third request is a replay.
            let third = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: file, headers: Self.key("crash-1"))
            #expect(third.headers[Self.replayedHeader] == "true")
            #expect(third.object?["id"] as? String == first.object?["id"] as? String)
        }
    }

    /// A form upload sent again draws a new boundary (curl, browsers): it is still the same
    /// body. Another file in the same framing is not.
    @Test func aFormUploadSentAgainWithAnotherBoundaryReplays() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            func form(_ boundary: String, _ file: String) async throws -> Reply {
                let body = CredentialFixture.multipart(boundary: boundary, [
                    (name: "file", filename: "client_secrets.json", contentType: "application/octet-stream", bytes: Array(file.utf8)),
                ])
                return try await client.sendBytes(
                    .post, "/v1/tenants/acme/credentials", token: setup.admin.token, bytes: body,
                    contentType: "multipart/form-data; boundary=\(boundary)", headers: Self.key("form-1")
                )
            }
            let first = try await form("------------------------a1b2c3d4e5f6", CredentialFixture.file())
            #expect(first.status == .accepted, "\(first.text)")
            let again = try await form("------------------------0f9e8d7c6b5a", CredentialFixture.file())
            #expect(again.status == .accepted, "\(again.text)")
            #expect(again.headers[Self.replayedHeader] == "true")
            #expect(again.object?["id"] as? String == first.object?["id"] as? String)
            #expect(try await Self.credentialRows(url) == 1)
            let other = try await form("------------------------77777777", CredentialFixture.file(secret: CredentialFixture.secret(3)))
            expectProblem(other, .unprocessableContent, "idempotency_key_reused")
            #expect(try await Self.credentialRows(url) == 1)
        }
    }

    @Test func sameKeyOtherBodyIs422() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let first = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: CredentialFixture.file(), headers: Self.key("k-1"))
            #expect(first.status == .accepted)
            let other = try await client.send(
                .post, "/v1/tenants/acme/credentials", token: setup.admin.token,
                body: CredentialFixture.file(secret: CredentialFixture.secret(7)), headers: Self.key("k-1")
            )
            expectProblem(other, .unprocessableContent, "idempotency_key_reused")
            #expect(!other.text.contains(CredentialFixture.secret(7)))
            // A body that differs only in whitespace is another body.
            let spaced = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: CredentialFixture.file() + " ", headers: Self.key("k-1"))
            expectProblem(spaced, .unprocessableContent, "idempotency_key_reused")
            // The same key on another path (the same token) is another request too.
            let verify = try await client.send(
                .post, "/v1/tenants/acme/credentials/\(first.object?["id"] as? String ?? "")/verify", token: setup.admin.token, headers: Self.key("k-1")
            )
            expectProblem(verify, .unprocessableContent, "idempotency_key_reused")
            #expect(try await Self.credentialRows(url) == 1)
        }
    }

    @Test func twentyConcurrentRequestsWithOneKeyMakeOneUpload() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let file = CredentialFixture.file()
            let token = setup.admin.token
            let replies = try await withThrowingTaskGroup(of: Reply.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await client.send(.post, "/v1/tenants/acme/credentials", token: token, body: file, headers: Self.key("concurrent-1"))
                    }
                }
                var replies: [Reply] = []
                for try await reply in group { replies.append(reply) }
                return replies
            }
            let accepted = replies.filter { $0.status == .accepted }
            let originals = accepted.filter { $0.headers[Self.replayedHeader] == nil }
            #expect(originals.count == 1, "exactly one request did the upload")
            let ids = Set(accepted.compactMap { $0.object?["id"] as? String })
            #expect(ids.count == 1, "every 202 names the same credential: \(ids)")
            for reply in replies where reply.status != .accepted {
                expectProblem(reply, .conflict, "idempotency_key_in_use")
            }
            #expect(try await Self.credentialRows(url) == 1)
            // Once the first has finished, the key replays.
            let later = try await client.send(.post, "/v1/tenants/acme/credentials", token: token, body: file, headers: Self.key("concurrent-1"))
            #expect(later.status == .accepted)
            #expect(later.headers[Self.replayedHeader] == "true")
            #expect(later.object?["id"] as? String == ids.first)
        }
    }

    @Test func malformedKeysAre400AndDoNothing() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let malformed = ["with space", String(repeating: "a", count: 256), "tab\there", "キー", ""]
            for key in malformed {
                let reply = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: CredentialFixture.file(), headers: Self.key(key))
                #expect(reply.status == .badRequest, "key '\(key.prefix(20))': \(reply.status.code) \(reply.text)")
                #expect(reply.headers[.contentType]?.hasPrefix("application/problem+json") == true)
            }
            #expect(try await Self.credentialRows(url) == 0)
            #expect(try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM idempotency_keys") == 0)
            // 255 visible ASCII characters are fine.
            let longest = String(repeating: "a", count: 254) + "~"
            let ok = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: CredentialFixture.file(), headers: Self.key(longest))
            #expect(ok.status == .accepted, "\(ok.text)")
        }
    }

    @Test func keysArePerToken() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let otherAdmin = try await APIFixture.token(url, role: .tenantAdmin, name: "admin-2", tenant: "acme")
            let file = CredentialFixture.file()
            let mine = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: file, headers: Self.key("shared"))
            let theirs = try await client.send(.post, "/v1/tenants/acme/credentials", token: otherAdmin.token, body: file, headers: Self.key("shared"))
            let support = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.support.token, body: file, headers: Self.key("shared"))
            for reply in [mine, theirs, support] {
                #expect(reply.status == .accepted, "\(reply.text)")
                #expect(reply.headers[Self.replayedHeader] == nil)
            }
            let ids = Set([mine, theirs, support].compactMap { $0.object?["id"] as? String })
            #expect(ids.count == 3)
            #expect(try await Self.credentialRows(url) == 3)
            // Each token replays its own.
            let again = try await client.send(.post, "/v1/tenants/acme/credentials", token: otherAdmin.token, body: file, headers: Self.key("shared"))
            #expect(again.headers[Self.replayedHeader] == "true")
            #expect(again.object?["id"] as? String == theirs.object?["id"] as? String)
        }
    }

    @Test func refusedRequestsAreNotKeptSoTheKeyMayBeRetried() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let broken = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: "{\"web\":", headers: Self.key("retry-1"))
            expectProblem(broken, .badRequest, "invalid_json")
            let brokenAgain = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: "{\"web\":", headers: Self.key("retry-1"))
            expectProblem(brokenAgain, .badRequest, "invalid_json")
            #expect(brokenAgain.headers[Self.replayedHeader] == nil)
            let fixed = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: CredentialFixture.file(), headers: Self.key("retry-1"))
            #expect(fixed.status == .accepted, "\(fixed.text)")
            #expect(try await Self.credentialRows(url) == 1)
        }
    }

    @Test func storedAnswersDoNotHoldTheSecretInClear() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let first = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: CredentialFixture.file(), headers: Self.key("sealed-1"))
            #expect(first.status == .accepted)
            let rows = try await CredentialFixture.rowsAsText(url, "idempotency_keys")
            #expect(rows.count == 1)
            for row in rows {
                #expect(!row.contains(CredentialFixture.secret))
                #expect(!row.contains(CredentialFixture.clientID), "the stored answer is sealed: \(row)")
            }
            let bodies = try await CredentialFixture.byteaValues(url, "idempotency_keys", columns: ["sealed_body", "request_hash"])
            for body in bodies {
                #expect(!body.contains(subsequence: Array(CredentialFixture.secret.utf8)))
                #expect(!body.contains(subsequence: Array(CredentialFixture.clientID.utf8)))
            }
        }
    }

    @Test func createTenantReplaysToo() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            let body = #"{"slug":"initech","display_name":"Initech 株式会社"}"#
            let first = try await client.send(.post, "/v1/tenants", token: support.token, body: body, headers: Self.key("tenant-1"))
            #expect(first.status == .created, "\(first.text)")
            let second = try await client.send(.post, "/v1/tenants", token: support.token, body: body, headers: Self.key("tenant-1"))
            #expect(second.status == .created, "a replay, not 409 tenant_exists: \(second.text)")
            #expect(second.headers[Self.replayedHeader] == "true")
            #expect(second.headers[.location] == "/v1/tenants/initech")
            #expect(second.body == first.body)
            let other = try await client.send(.post, "/v1/tenants", token: support.token, body: #"{"slug":"umbrella","display_name":"U"}"#, headers: Self.key("tenant-1"))
            expectProblem(other, .unprocessableContent, "idempotency_key_reused")
            // Without the key, it is a conflict as usual.
            let plain = try await client.send(.post, "/v1/tenants", token: support.token, body: body)
            expectProblem(plain, .conflict, "tenant_exists")
            #expect(try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM tenants") == 1)
        }
    }
}

extension Array where Element == UInt8 {
    /// Whether `needle` occurs in these bytes.
    func contains(subsequence needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return needle.isEmpty }
        for start in 0...(count - needle.count) where self[start] == needle[0] {
            if Array(self[start..<(start + needle.count)]) == needle { return true }
        }
        return false
    }
}
