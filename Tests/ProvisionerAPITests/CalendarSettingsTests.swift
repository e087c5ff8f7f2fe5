import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Testing
@testable import ProvisionerAPI

/// `PUT /v1/tenants/{slug}/calendar-settings`.
@Suite struct CalendarSettingsTests {
    static let path = "/v1/tenants/acme/calendar-settings"

    static func settings(_ client: any TestClientProtocol, _ token: String) async throws -> [String: Any]? {
        let tenant = try await client.send(.get, "/v1/tenants/acme", token: token)
        return tenant.object?["calendar_settings"] as? [String: Any]
    }

    @Test func syncOffWorksWithoutAnActiveCredential() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url, issue: false)
            let reply = try await client.send(.put, Self.path, token: setup.admin.token, body: #"{"sync_enabled":false,"default_event_color":"5"}"#)
            #expect(reply.status == .ok, "\(reply.text)")
            #expect(reply.object?["sync_enabled"] as? Bool == false)
            #expect(reply.object?["default_event_color"] as? String == "5")
            let stored = try #require(try await Self.settings(client, setup.admin.token))
            #expect(stored["sync_enabled"] as? Bool == false)
            #expect(stored["default_event_color"] as? String == "5")
            // Support may set them too; every colour id from 1 to 11 is taken.
            for color in 1...11 {
                let put = try await client.send(.put, Self.path, token: setup.support.token, body: #"{"sync_enabled":false,"default_event_color":"\#(color)"}"#)
                #expect(put.status == .ok, "colour \(color): \(put.text)")
            }
            #expect(try await Self.settings(client, setup.support.token)?["default_event_color"] as? String == "11")
            let audited = try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM audit_events WHERE action = 'calendar_settings.update' AND result = 'success'")
            #expect(audited == 12)
        }
    }

    @Test func syncOnWithoutAnActiveCredentialIs409AndChangesNothing() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let off = try await client.send(.put, Self.path, token: setup.admin.token, body: #"{"sync_enabled":false,"default_event_color":"4"}"#)
            #expect(off.status == .ok)
            let on = try await client.send(.put, Self.path, token: setup.admin.token, body: #"{"sync_enabled":true,"default_event_color":"9"}"#)
            expectProblem(on, .conflict, "no_active_credential")
            // A pending upload is not active either.
            _ = try await CredentialFixture.upload(client, token: setup.admin.token, file: CredentialFixture.file())
            let pending = try await client.send(.put, Self.path, token: setup.admin.token, body: #"{"sync_enabled":true,"default_event_color":"9"}"#)
            expectProblem(pending, .conflict, "no_active_credential")
            // Nor a rejected one.
            try await CredentialFixture.verifyPending(url)
            _ = try await CredentialFixture.upload(client, token: setup.admin.token, file: CredentialFixture.file(secret: nil))
            try await CredentialFixture.verifyPending(url)
            let stored = try #require(try await Self.settings(client, setup.admin.token))
            #expect(stored["sync_enabled"] as? Bool == false)
            #expect(stored["default_event_color"] as? String == "4")
        }
    }

    @Test func syncOnWithAnActiveCredentialIs200() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url)
            let id = try await CredentialFixture.upload(client, token: setup.admin.token, file: CredentialFixture.file())
            #expect(try await CredentialFixture.verifyPending(url)[id] == .verified)
            let on = try await client.send(.put, Self.path, token: setup.admin.token, body: #"{"sync_enabled":true,"default_event_color":"11"}"#)
            #expect(on.status == .ok, "\(on.text)")
            #expect(on.object?["sync_enabled"] as? Bool == true)
            #expect(on.object?["default_event_color"] as? String == "11")
            let stored = try #require(try await Self.settings(client, setup.support.token))
            #expect(stored["sync_enabled"] as? Bool == true)
            #expect(stored["default_event_color"] as? String == "11")
            // Turning it off again always works.
            let off = try await client.send(.put, Self.path, token: setup.admin.token, body: #"{"sync_enabled":false,"default_event_color":"11"}"#)
            #expect(off.status == .ok)
        }
    }

    @Test func invalidBodiesAre400AndChangeNothing() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url, issue: false)
            let bodies = [
                #"{"sync_enabled":false,"default_event_color":"0"}"#,
                #"{"sync_enabled":false,"default_event_color":"12"}"#,
                #"{"sync_enabled":false,"default_event_color":3}"#,
                #"{"sync_enabled":false,"default_event_color":""}"#,
                #"{"sync_enabled":false,"default_event_color":"01"}"#,
                #"{"sync_enabled":false,"default_event_color":" 3"}"#,
                #"{"sync_enabled":false,"default_event_color":null}"#,
                #"{"sync_enabled":false}"#,
                #"{"default_event_color":"3"}"#,
                #"{"sync_enabled":"false","default_event_color":"3"}"#,
                #"{"sync_enabled":0,"default_event_color":"3"}"#,
                #"{"sync_enabled":false,"default_event_color":"3","extra":1}"#,
                #"[]"#,
                #"{"sync_enabled":false,"default_event_color":"3""#,
            ]
            for body in bodies {
                let reply = try await client.send(.put, Self.path, token: setup.admin.token, body: body)
                #expect(reply.status == .badRequest, "\(body): \(reply.status.code) \(reply.text)")
                #expect(reply.headers[.contentType]?.hasPrefix("application/problem+json") == true, "\(body)")
            }
            let stored = try #require(try await Self.settings(client, setup.admin.token))
            #expect(stored["sync_enabled"] as? Bool == false)
            #expect(stored["default_event_color"] as? String == "1")
            let wrongType = try await client.send(.put, Self.path, token: setup.admin.token, body: #"{"sync_enabled":false,"default_event_color":"3"}"#, contentType: "text/plain")
            #expect(wrongType.status == .unsupportedMediaType, "\(wrongType.text)")
        }
    }

    @Test func otherTenantsAndRolesCannotChangeThem() async throws {
        try await withTestApplication { client, url in
            let setup = try await CredentialFixture.setUp(client, url, slugs: ["acme", "globex"], issue: false)
            let body = #"{"sync_enabled":false,"default_event_color":"7"}"#
            let foreign = try await client.send(.put, "/v1/tenants/globex/calendar-settings", token: setup.admin.token, body: body)
            #expect(foreign.status == .notFound)
            for token in [setup.dashboard.token, setup.runtime.token] {
                let reply = try await client.send(.put, Self.path, token: token, body: body)
                expectProblem(reply, .forbidden, "forbidden")
            }
            let unknown = try await client.send(.put, "/v1/tenants/nosuch/calendar-settings", token: setup.support.token, body: body)
            expectProblem(unknown, .notFound, "tenant_not_found")
            let globex = try await client.send(.get, "/v1/tenants/globex", token: setup.support.token)
            #expect((globex.object?["calendar_settings"] as? [String: Any])?["default_event_color"] as? String == "1")
        }
    }
}
