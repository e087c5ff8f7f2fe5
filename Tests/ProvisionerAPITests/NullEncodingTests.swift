import Foundation
import Testing
@testable import ProvisionerAPI

/// `GeneratedSchemas+NullEncoding.swift`: a required nullable property is written as `null`,
/// never left out (the generator's synthesized `Encodable` would drop it).
@Suite struct NullEncodingTests {
    private static func jsonObject(_ value: some Encodable) throws -> [String: Any] {
        let encoder = JSONEncoder()
        let transcoder = LenientDateTranscoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(try transcoder.encode(date))
        }
        let data = try encoder.encode(value)
        return try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    private static let created = Date(timeIntervalSince1970: 1_764_069_243)

    private static let tenant = Components.Schemas.Tenant(
        id: "0b7c4d8e-4f1a-4c1e-9a57-2f7d7a0f3c11",
        slug: "acme",
        displayName: "Acme",
        suspended: false,
        state: .awaitingUris,
        currentUriSetVersion: nil,
        activeCredentialId: nil,
        calendarSettings: .init(syncEnabled: false, defaultEventColor: ._1),
        latestCredentialState: nil,
        latestCredentialUploadedAt: nil,
        createdAt: created,
        updatedAt: created
    )

    @Test func tenantWritesEveryRequiredKeyWithNullForNil() throws {
        let json = try Self.jsonObject(Self.tenant)
        #expect(
            Set(json.keys) == [
                "id", "slug", "display_name", "suspended", "state", "current_uri_set_version",
                "active_credential_id", "calendar_settings", "latest_credential_state",
                "latest_credential_uploaded_at", "created_at", "updated_at",
            ]
        )
        for key in ["current_uri_set_version", "active_credential_id", "latest_credential_state", "latest_credential_uploaded_at"] {
            #expect(json[key] is NSNull, "\(key) should be null, is \(String(describing: json[key]))")
        }
        #expect(json["id"] as? String == "0b7c4d8e-4f1a-4c1e-9a57-2f7d7a0f3c11")
        #expect(json["state"] as? String == "awaiting_uris")
        #expect(json["suspended"] as? Bool == false)
        #expect(json["created_at"] as? String == "2025-11-25T11:14:03Z")
        let settings = try #require(json["calendar_settings"] as? [String: Any])
        #expect(settings["sync_enabled"] as? Bool == false)
        #expect(settings["default_event_color"] as? String == "1")
    }

    @Test func tenantWritesValuesWhenPresent() throws {
        var tenant = Self.tenant
        tenant.currentUriSetVersion = 3
        tenant.activeCredentialId = "9f0e6a52-7d4b-4b8e-8f0c-5b0b8e7f2a10"
        tenant.latestCredentialState = "verified"
        tenant.latestCredentialUploadedAt = Self.created.addingTimeInterval(0.25)
        let json = try Self.jsonObject(tenant)
        #expect(json["current_uri_set_version"] as? Int == 3)
        #expect(json["active_credential_id"] as? String == "9f0e6a52-7d4b-4b8e-8f0c-5b0b8e7f2a10")
        #expect(json["latest_credential_state"] as? String == "verified")
        #expect(json["latest_credential_uploaded_at"] as? String == "2025-11-25T11:14:03.25Z")
    }

    /// What was written reads back the same through the generated decoder.
    @Test func tenantRoundTrips() throws {
        let encoder = JSONEncoder()
        let decoded = try JSONDecoder().decode(Components.Schemas.Tenant.self, from: encoder.encode(Self.tenant))
        #expect(decoded == Self.tenant)
    }

    /// Every other covered schema, all nullable values nil: each keeps its nullable keys, as null.
    @Test func otherSchemasWriteNullKeys() throws {
        let finding = Components.Schemas.Finding(code: .fieldMissing, severity: .error, message: "m")
        let actor = Components.Schemas.AuditActor()
        let cases: [(name: String, json: [String: Any], nullKeys: [String])] = [
            ("TenantList", try Self.jsonObject(Components.Schemas.TenantList(items: [])), ["next_cursor"]),
            (
                "URISet",
                try Self.jsonObject(
                    Components.Schemas.URISet(
                        version: 1, javascriptOrigins: [], redirectUris: [], issuedAt: Self.created, issuedBy: "t"
                    )
                ),
                ["custom_domain", "superseded_at"]
            ),
            ("URISetList", try Self.jsonObject(Components.Schemas.URISetList(items: [])), ["next_cursor"]),
            ("Finding", try Self.jsonObject(finding), ["field", "value", "expected", "hint"]),
            (
                "Credential",
                try Self.jsonObject(
                    Components.Schemas.Credential(
                        id: "i", tenant: "acme", state: .pending, uploadedAt: Self.created, uploadedBy: "t",
                        sha256: String(repeating: "0", count: 64), attempts: 0, findings: [finding],
                        health: .init(state: .unchecked, uris: [])
                    )
                ),
                ["client_type", "client_id", "project_id", "client_secret_hint", "uri_set_version", "verified_at"]
            ),
            ("CredentialList", try Self.jsonObject(Components.Schemas.CredentialList(items: [])), ["next_cursor"]),
            (
                "CredentialSecret",
                try Self.jsonObject(
                    Components.Schemas.CredentialSecret(
                        clientId: "c", clientSecret: "s", authUri: "a", tokenUri: "t", redirectUris: [], javascriptOrigins: [], uriSetVersion: 1
                    )
                ),
                ["project_id"]
            ),
            (
                "TokenCreated",
                try Self.jsonObject(
                    Components.Schemas.TokenCreated(id: "i", token: "t", role: .support, name: "n", createdAt: Self.created)
                ),
                ["tenant", "expires_at", "created_by"]
            ),
            (
                "TokenInfo",
                try Self.jsonObject(Components.Schemas.TokenInfo(id: "i", role: .support, name: "n", createdAt: Self.created)),
                ["tenant", "expires_at", "created_by", "last_used_at", "revoked_at"]
            ),
            ("TokenList", try Self.jsonObject(Components.Schemas.TokenList(items: [])), ["next_cursor"]),
            (
                "DashboardSummary",
                try Self.jsonObject(
                    Components.Schemas.DashboardSummary(
                        tenants: 0,
                        byState: .init(suspended: 0, awaitingUris: 0, awaitingUpload: 0, verifying: 0, verified: 0, rejected: 0),
                        credentialsPending: 0, verifiedLast24h: 0, rejectedLast24h: 0,
                        byHealth: .init(
                            unchecked: 0, ok: 0, propagating: 0, redirectUriNotRegistered: 0, clientDeleted: 0, clientSecretInvalid: 0
                        )
                    )
                ),
                ["oldest_pending_seconds"]
            ),
            ("AuditActor", try Self.jsonObject(actor), ["token_id", "role", "name"]),
            (
                "AuditEvent",
                try Self.jsonObject(
                    Components.Schemas.AuditEvent(id: "1", at: Self.created, actor: actor, action: "a", result: "success", count: 1)
                ),
                ["tenant", "target", "request_id"]
            ),
            ("AuditEventList", try Self.jsonObject(Components.Schemas.AuditEventList(items: [])), ["next_cursor"]),
        ]
        for (name, json, nullKeys) in cases {
            for key in nullKeys {
                #expect(json.keys.contains(key), "\(name).\(key) is missing")
                #expect(json[key] is NSNull, "\(name).\(key) should be null")
            }
        }
        // Nested values use their own encode(to:) too.
        let credential = try #require(cases.first { $0.name == "Credential" }?.json)
        let nestedFinding = try #require((credential["findings"] as? [[String: Any]])?.first)
        #expect(nestedFinding["hint"] is NSNull)
        let health = try #require(credential["health"] as? [String: Any])
        #expect(health["checked_at"] is NSNull, "Credential.health.checked_at should be null")
        #expect(health["state"] as? String == "unchecked")
        #expect((health["uris"] as? [Any])?.isEmpty == true)
        let event = try #require(cases.first { $0.name == "AuditEvent" }?.json)
        #expect((event["actor"] as? [String: Any])?["token_id"] is NSNull)
        #expect(event["count"] as? Int == 1, "AuditEvent.count is written")
    }
}
