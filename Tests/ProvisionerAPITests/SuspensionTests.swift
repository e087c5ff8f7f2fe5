import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Testing
@testable import ProvisionerAPI

/// A suspended tenant: its tenant_admin may read but not change, the
/// runtime gets no secret (409 `tenant_suspended`, audited), support keeps every right, and
/// resuming restores everything.
@Suite struct SuspensionTests {
    static let settings = "/v1/tenants/acme/calendar-settings"

    static func suspend(_ client: any TestClientProtocol, _ support: String, _ suspended: Bool) async throws {
        let reply = try await client.send(.patch, "/v1/tenants/acme", token: support, body: #"{"suspended":\#(suspended)}"#)
        try #require(reply.status == .ok, "\(reply.text)")
        #expect(reply.object?["suspended"] as? Bool == suspended)
    }

    @Test func aSuspendedTenantIsReadOnlyForItsAdminAndTheRuntimeGetsNoSecret() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url, slugs: ["acme", "globex"])
            let admin = setup.admin.token
            let first = try await CredentialFixture.upload(client, token: admin, file: CredentialFixture.file())
            try await CredentialFixture.verifyPending(url)
            #expect(try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: setup.runtime.token).status == .ok)

            try await Self.suspend(client, setup.support.token, true)
            let credentialsBefore = try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM credentials")

            // Reads still work for its admin.
            for path in [
                "/v1/tenants/acme", "/v1/tenants/acme/credentials", "/v1/tenants/acme/credentials/\(first)",
                "/v1/tenants/acme/credentials/active", "/v1/tenants/acme/uri-sets/current", "/v1/tenants/acme/uri-sets",
                "/v1/tenants/acme/setup-sheet",
            ] {
                let reply = try await client.send(.get, path, token: admin)
                #expect(reply.status == .ok, "\(path): \(reply.text)")
            }
            // Changes do not, whatever the body.
            expectProblem(
                try await client.send(.post, "/v1/tenants/acme/credentials", token: admin, body: CredentialFixture.file(), requestID: "req-s-upload"),
                .conflict, "tenant_suspended", "upload"
            )
            let boundary = "suspended-boundary"
            let form = CredentialFixture.multipart(boundary: boundary, [("file", "client_secrets.json", "application/json", Array(CredentialFixture.file().utf8))])
            expectProblem(
                try await client.send(.post, "/v1/tenants/acme/credentials", token: admin, body: String(decoding: form, as: UTF8.self), contentType: "multipart/form-data; boundary=\(boundary)"),
                .conflict, "tenant_suspended", "multipart upload"
            )
            expectProblem(
                try await client.send(.post, "/v1/tenants/acme/credentials/\(first)/verify", token: admin, requestID: "req-s-verify"),
                .conflict, "tenant_suspended", "re-verification"
            )
            for body in [#"{"sync_enabled":false,"default_event_color":"3"}"#, #"{"sync_enabled":true,"default_event_color":"3"}"#] {
                expectProblem(try await client.send(.put, Self.settings, token: admin, body: body, requestID: "req-s-settings"), .conflict, "tenant_suspended", body)
            }
            // The runtime's secret read is refused, and audited as a denied attempt.
            let secret = try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: setup.runtime.token, requestID: "req-s-secret")
            expectProblem(secret, .conflict, "tenant_suspended", "secret")
            #expect(!secret.text.contains(CredentialFixture.secret))
            // Another tenant is not affected.
            #expect(try await client.send(.get, "/v1/tenants/globex/credentials/active/secret", token: setup.runtime.token).status == .notFound)

            #expect(try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM credentials") == credentialsBefore, "nothing uploaded")
            #expect(try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM credentials WHERE state = 'verified'") == 1, "nothing re-queued")
            #expect(try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM tenants WHERE slug = 'acme' AND calendar_default_event_color = '1'") == 1)
            let refused = try await CredentialFixture.count(url, """
                SELECT count(*)::int8 FROM audit_events
                WHERE result = 'tenant_suspended' AND tenant_slug = 'acme' AND count = 1
                  AND action IN ('credential.upload', 'credential.reverify', 'calendar_settings.update', 'credential.secret_read')
                """)
            #expect(refused == 6, "2 uploads, 1 re-verification, 2 settings, 1 secret read")
            #expect(try await CredentialFixture.count(
                url, "SELECT count(*)::int8 FROM audit_events WHERE request_id = 'req-s-secret' AND action = 'credential.secret_read' AND result = 'tenant_suspended'"
            ) == 1)

            // Support keeps every right.
            let bySupport = try await CredentialFixture.upload(client, token: setup.support.token, file: CredentialFixture.file())
            #expect(try await client.send(.post, "/v1/tenants/acme/credentials/\(first)/verify", token: setup.support.token).status == .accepted)
            #expect(try await client.send(.put, Self.settings, token: setup.support.token, body: #"{"sync_enabled":false,"default_event_color":"5"}"#).status == .ok)
            try await CredentialFixture.verifyPending(url)
            #expect(try await client.send(.get, "/v1/tenants/acme", token: setup.support.token).object?["state"] as? String == "suspended")

            // Resuming restores all of it.
            try await Self.suspend(client, setup.support.token, false)
            #expect(try await client.send(.post, "/v1/tenants/acme/credentials/\(bySupport)/verify", token: admin).status == .accepted)
            _ = try await CredentialFixture.upload(client, token: admin, file: CredentialFixture.file())
            try await CredentialFixture.verifyPending(url)
            #expect(try await client.send(.put, Self.settings, token: admin, body: #"{"sync_enabled":true,"default_event_color":"7"}"#).status == .ok)
            let reply = try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: setup.runtime.token)
            #expect(reply.status == .ok, "\(reply.text)")
            #expect(reply.object?["client_secret"] as? String == CredentialFixture.secret)
            #expect(try await client.send(.get, "/v1/tenants/acme", token: admin).object?["state"] as? String == "verified")
        }
    }

    /// Suspension is not a role check: a suspended tenant's admin still gets the 404 of another
    /// tenant's path and the 403 of an operation it may never call, before any 409.
    @Test func suspensionDoesNotRevealOtherTenantsOrWidenRights() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url, slugs: ["acme", "globex"])
            try await Self.suspend(client, setup.support.token, true)
            let globexAdmin = try await APIFixture.token(url, role: .tenantAdmin, name: "admin-globex", tenant: "globex")
            expectProblem(try await client.send(.post, "/v1/tenants/acme/credentials", token: globexAdmin.token, body: CredentialFixture.file()), .notFound, "tenant_not_found")
            expectProblem(try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: setup.admin.token), .forbidden, "forbidden")
            expectProblem(try await client.send(.put, Self.settings, token: setup.dashboard.token, body: #"{"sync_enabled":false,"default_event_color":"3"}"#), .forbidden, "forbidden")
            // Without a credential the runtime learns of the suspension, not of a missing credential.
            expectProblem(try await client.send(.get, "/v1/tenants/acme/credentials/active/secret", token: setup.runtime.token), .conflict, "tenant_suspended")
        }
    }
}
