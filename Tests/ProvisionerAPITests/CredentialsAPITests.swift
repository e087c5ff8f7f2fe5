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

/// `/v1/tenants/{slug}/credentials` through the real application and PostgreSQL (openapi.yaml, credentials).
@Suite struct CredentialsAPITests {
    static let credentialKeys: Set<String> = [
        "id", "tenant", "state", "uploaded_at", "uploaded_by", "sha256", "client_type", "client_id", "project_id",
        "client_secret_hint", "uri_set_version", "verified_at", "attempts", "findings", "health",
    ]

    static func credentialRows(_ url: DatabaseURL) async throws -> Int {
        try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM credentials")
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
            expectProblem(foreign, .notFound, "tenant_not_found")
            // A tenant that is not there is named as such, whatever the id.
            for unknown in [id, "not-a-uuid"] {
                expectProblem(
                    try await client.send(.get, "/v1/tenants/nobody-here/credentials/\(unknown)", token: setup.support.token),
                    .notFound, "tenant_not_found"
                )
            }
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
