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

/// Uploads through the real application and PostgreSQL: what is accepted (JSON or a form, a
/// byte order mark, media type parameters) and what is refused, with which problem (openapi.yaml,
/// uploadCredential).
@Suite struct CredentialIntakeAPITests {
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
            #expect(CredentialsAPITests.credentialKeys.isSubset(of: Set(credential.keys)), "missing: \(CredentialsAPITests.credentialKeys.subtracting(credential.keys))")
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
            #expect(try await CredentialsAPITests.credentialRows(url) == 1)
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
            #expect(try await CredentialsAPITests.credentialRows(url) == 1)

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
            #expect(try await CredentialsAPITests.credentialRows(url) == 0)
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
            #expect(try await CredentialsAPITests.credentialRows(url) == 0)
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
            #expect(try await CredentialsAPITests.credentialRows(url) == 0)
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
            #expect(try await CredentialsAPITests.credentialRows(url) == 0)
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
            #expect(try await CredentialsAPITests.credentialRows(url) == 0)
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
            #expect(try await CredentialsAPITests.credentialRows(url) == 0)
            for (label, body) in [("arrays", arrays(32)), ("objects", objects(32)), ("inside a file", inFile(32))] {
                let reply = try await client.send(.post, "/v1/tenants/acme/credentials", token: setup.admin.token, body: body)
                #expect(reply.status == .accepted, "32 deep, \(label): \(reply.status.code) \(reply.text)")
            }
            #expect(try await CredentialsAPITests.credentialRows(url) == 3)
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
            #expect(try await CredentialsAPITests.credentialRows(url) == 1)
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
                #expect(try await CredentialsAPITests.credentialRows(url) == 1)
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
            #expect(try await CredentialsAPITests.credentialRows(url) == 0)
        }
    }
}
