import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Testing
@testable import ProvisionerAPI

/// `/v1/tokens` through the real application and PostgreSQL.
@Suite struct TokensAPITests {
    static let createdKeys: Set<String> = ["id", "token", "role", "name", "tenant", "expires_at", "created_at", "created_by"]
    static let infoKeys: Set<String> = ["id", "role", "name", "tenant", "expires_at", "created_at", "created_by", "last_used_at", "revoked_at"]

    /// An RFC 3339 time `seconds` from now.
    static func time(_ seconds: TimeInterval) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date().addingTimeInterval(seconds))
    }

    @Test func createsEveryGrantableRoleShownOnceAndUsable() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, [("acme", "Acme"), ("globex", "Globex")])
            var made: [String: (id: String, token: String)] = [:]
            // The runtime's token comes from the operator (the CLI's store call), not the API.
            let runtime = try await APIFixture.token(url, role: .runtime, name: "crm-runtime")
            made["runtime"] = (runtime.id.uuidString.lowercased(), runtime.token)
            for (role, body) in [
                ("support", #"{"role":"support","name":"desk-sato"}"#),
                ("dashboard", #"{"role":"dashboard","name":"grafana"}"#),
                ("tenant_admin", #"{"role":"tenant_admin","name":"acme-admin","tenant":"acme"}"#),
            ] {
                let reply = try await client.send(.post, "/v1/tokens", token: support.token, body: body)
                try #require(reply.status == .created, "\(role): \(reply.text)")
                let object = try #require(reply.object)
                #expect(Self.createdKeys.isSubset(of: Set(object.keys)), "\(role) lacks \(Self.createdKeys.subtracting(object.keys))")
                let id = try #require(object["id"] as? String)
                let token = try #require(object["token"] as? String)
                #expect(UUID(uuidString: id) != nil)
                #expect(BearerToken.looksValid(token), "\(token)")
                #expect(object["role"] as? String == role)
                #expect(object["expires_at"] is NSNull)
                #expect(rfc3339(object["created_at"]) != nil)
                #expect(object["created_by"] as? String == support.id.uuidString.lowercased(), "\(role): \(reply.text)")
                if role == "tenant_admin" {
                    #expect(object["tenant"] as? String == "acme")
                } else {
                    #expect(object["tenant"] is NSNull, "\(role): tenant should be present and null: \(reply.text)")
                }
                made[role] = (id, token)
            }
            let tokens = made

            // Each is usable at once, within its role.
            #expect(try await client.send(.get, "/v1/tokens", token: tokens["support"]!.token).status == .ok)
            #expect(try await client.send(.get, "/v1/tenants", token: tokens["dashboard"]!.token).status == .ok)
            #expect(try await client.send(.post, "/v1/tenants", token: tokens["dashboard"]!.token, body: #"{"slug":"x-dash","display_name":"X"}"#).status == .forbidden)
            #expect(try await client.send(.get, "/v1/tenants", token: tokens["runtime"]!.token).status == .forbidden)
            #expect(try await client.send(.get, "/v1/tenants/acme", token: tokens["tenant_admin"]!.token).status == .ok)
            expectProblem(try await client.send(.get, "/v1/tenants/globex", token: tokens["tenant_admin"]!.token), .notFound, "tenant_not_found")
            #expect(try await client.send(.get, "/v1/tenants", token: tokens["tenant_admin"]!.token).status == .forbidden)

            // The list has them all, with their fields, and never a token.
            let list = try await client.send(.get, "/v1/tokens", token: support.token)
            #expect(list.status == .ok)
            #expect(list.nextCursor == .some(nil), "\(list.text)")
            for (role, value) in tokens {
                let item = try #require(list.items.first { $0["id"] as? String == value.id }, "\(role) not listed")
                #expect(Self.infoKeys.isSubset(of: Set(item.keys)), "\(role) lacks \(Self.infoKeys.subtracting(item.keys))")
                #expect(item["token"] == nil)
                #expect(item["token_hash"] == nil)
                #expect(item["role"] as? String == role)
                if role == "runtime" {
                    #expect(item["created_by"] is NSNull, "made by the CLI: \(item)")
                } else {
                    #expect(item["created_by"] as? String == support.id.uuidString.lowercased(), "\(item)")
                }
                #expect(item["revoked_at"] is NSNull)
                #expect(item["expires_at"] is NSNull)
                // Each was used above.
                #expect(rfc3339(item["last_used_at"]) != nil, "\(role): last_used_at \(String(describing: item["last_used_at"]))")
                #expect(!list.text.contains(value.token))
                #expect(!list.text.contains(String(value.token.dropFirst(BearerToken.prefix.count))))
            }
            #expect(!list.text.contains(support.token))
            #expect(list.items.first(where: { $0["id"] as? String == support.id.uuidString.lowercased() })?["created_by"] is NSNull)
            #expect(list.items.first(where: { $0["id"] as? String == tokens["tenant_admin"]!.id })?["tenant"] as? String == "acme")
            #expect(list.items.first(where: { $0["id"] as? String == tokens["support"]!.id })?["name"] as? String == "desk-sato")
        }
    }

    @Test func roleAndTenantMustMatch() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, [("acme", "Acme")])
            let bad = [
                #"{"role":"tenant_admin","name":"no-tenant"}"#,
                #"{"role":"support","name":"with-tenant","tenant":"acme"}"#,
                #"{"role":"dashboard","name":"with-tenant","tenant":"acme"}"#,
                #"{"role":"runtime","name":"with-tenant","tenant":"acme"}"#,
                #"{"role":"superuser","name":"x"}"#,
                #"{"name":"no-role"}"#,
                #"{"role":"support"}"#,
                #"{"role":"support","name":""}"#,
                #"{"role":"support","name":" lead"}"#,
                #"{"role":"support","name":"a\u0000b"}"#,
                "{\"role\":\"support\",\"name\":\"\(String(repeating: "n", count: 101))\"}",
                #"{"role":"support","name":"x","extra":1}"#,
                #"{"role":"support","name":"x","expires_at":"tomorrow"}"#,
                #"{"role":"support","name":"x""#,
            ]
            for body in bad {
                let reply = try await client.send(.post, "/v1/tokens", token: support.token, body: body)
                expectProblem(reply, .badRequest, "invalid_request", body)
            }
            for body in [#"{"role":"support","name":""}"#, "{\"role\":\"support\",\"name\":\"\(String(repeating: "n", count: 101))\"}"] {
                expectProblem(try await client.send(.post, "/v1/tokens", token: support.token, body: body), .badRequest, "invalid_request", field: "name", body)
            }
            // A tenant_admin of a tenant that does not exist is refused and nothing is made.
            let unknown = try await client.send(.post, "/v1/tokens", token: support.token, body: #"{"role":"tenant_admin","name":"x","tenant":"nosuch"}"#)
            #expect([.notFound, .unprocessableContent, .badRequest].contains(unknown.status), "\(unknown.text)")
            #expect(unknown.headers[.contentType]?.hasPrefix("application/problem+json") == true)
            // 100 characters is the longest name.
            let longest = try await client.send(.post, "/v1/tokens", token: support.token, body: "{\"role\":\"support\",\"name\":\"\(String(repeating: "n", count: 100))\"}")
            #expect(longest.status == .created, "\(longest.text)")

            // Only the fixture's token and the longest one exist.
            let list = try await client.send(.get, "/v1/tokens", token: support.token)
            #expect(list.items.count == 2, "\(list.text)")
        }
    }

    @Test func revokeIs204AndTheTokenStopsWorkingAtOnce() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            let created = try await client.send(.post, "/v1/tokens", token: support.token, body: #"{"role":"dashboard","name":"to-revoke"}"#)
            let id = try #require(created.object?["id"] as? String)
            let token = try #require(created.object?["token"] as? String)
            // Authenticated from memory from the second request on (the caches are listening).
            try await APIFixture.waitForCacheListener(url)
            for _ in 0..<2 { #expect(try await client.send(.get, "/v1/tenants", token: token).status == .ok) }

            let revoked = try await client.send(.delete, "/v1/tokens/\(id)", token: support.token)
            #expect(revoked.status == .noContent, "\(revoked.text)")
            #expect(revoked.body.isEmpty)

            let after = try await client.send(.get, "/v1/tenants", token: token)
            expectProblem(after, .unauthorized, "unauthenticated")
            #expect(after.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)

            let list = try await client.send(.get, "/v1/tokens", token: support.token)
            let item = try #require(list.items.first { $0["id"] as? String == id })
            #expect(rfc3339(item["revoked_at"]) != nil, "\(item)")
            // The others still work.
            #expect(try await client.send(.get, "/v1/tokens", token: support.token).status == .ok)
        }
    }

    @Test func revokeUnknownIs404TokenNotFound() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            expectProblem(
                try await client.send(.delete, "/v1/tokens/\(UUID().uuidString.lowercased())", token: support.token),
                .notFound, "token_not_found"
            )
        }
    }

    @Test func expiredTokensAre401() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            // Expired before it was first used (made directly in the store).
            let stale = try await APIFixture.token(url, role: .support, expiresAt: Date().addingTimeInterval(-60))
            let staleReply = try await client.send(.get, "/v1/tokens", token: stale.token)
            expectProblem(staleReply, .unauthorized, "unauthenticated")
            #expect(staleReply.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)

            // Made through the API, works until it expires, then answers 401.
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            // Long enough to be used before it expires even in a full parallel run on two cores.
            let expiry = Date().addingTimeInterval(8)
            let created = try await client.send(
                .post, "/v1/tokens", token: support.token,
                body: #"{"role":"dashboard","name":"short-lived","expires_at":"\#(formatter.string(from: expiry))"}"#
            )
            try #require(created.status == .created, "\(created.text)")
            let expiresAt = try #require(rfc3339(created.object?["expires_at"]), "\(created.text)")
            #expect(abs(expiresAt.timeIntervalSince(expiry)) < 0.01)
            let token = try #require(created.object?["token"] as? String)
            #expect(try await client.send(.get, "/v1/tenants", token: token).status == .ok)
            try await Task.sleep(for: .milliseconds(Int(max(0, expiry.timeIntervalSinceNow) * 1000) + 300))
            expectProblem(try await client.send(.get, "/v1/tenants", token: token), .unauthorized, "unauthenticated")
        }
    }

    @Test func missingAndGarbageTokensAre401() async throws {
        try await withTestApplication { client, url in
            _ = try await APIFixture.supportToken(url)
            for header in [nil, "Bearer", "Bearer nope", "Basic dXNlcjpwYXNz", "Bearer " + BearerToken.generate()] as [String?] {
                var headers: HTTPFields = [:]
                if let header { headers[.authorization] = header }
                let reply = try await client.send(.get, "/v1/tokens", headers: headers)
                expectProblem(reply, .unauthorized, "unauthenticated", header ?? "no header")
                #expect(reply.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            }
        }
    }

    @Test func listPaginatesEachTokenOnce() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            var ids: Set<String> = [support.id.uuidString.lowercased()]
            for index in 0..<14 {
                let reply = try await client.send(.post, "/v1/tokens", token: support.token, body: #"{"role":"dashboard","name":"d\#(index)"}"#)
                ids.insert(try #require(reply.object?["id"] as? String))
            }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let reply = try await client.send(.get, "/v1/tokens?limit=4" + (cursor.map { "&cursor=\($0)" } ?? ""), token: support.token)
                try #require(reply.status == .ok, "\(reply.text)")
                seen += reply.items.compactMap { $0["id"] as? String }
                cursor = try #require(reply.nextCursor, "next_cursor must be present")
                try #require(seen.count <= 40)
            } while cursor != nil
            #expect(seen.count == 15)
            #expect(Set(seen) == ids)
            expectProblem(try await client.send(.get, "/v1/tokens?limit=0", token: support.token), .badRequest, "invalid_request", field: "limit")
            expectProblem(try await client.send(.get, "/v1/tokens?cursor=zzz", token: support.token), .badRequest, "invalid_request", field: "cursor")
        }
    }

    @Test func runtimeIsNotGrantableThroughTheAPIAndTheAttemptIsAudited() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            for (index, body) in [
                #"{"role":"runtime","name":"crm-runtime"}"#,
                #"{"role":"runtime","name":"crm-runtime","expires_at":"\#(Self.time(3600))"}"#,
            ].enumerated() {
                let reply = try await client.send(.post, "/v1/tokens", token: support.token, body: body, requestID: "req-runtime-\(index)")
                expectProblem(reply, .forbidden, "role_not_grantable", field: "role", body)
            }
            // Nothing was made: the fixture's token is the only one.
            let list = try await client.send(.get, "/v1/tokens", token: support.token)
            #expect(list.items.count == 1, "\(list.text)")
            // One audit row per attempt, with the support token as actor.
            let rows = try await CredentialFixture.count(
                url, "SELECT count(*)::int8 FROM audit_events WHERE action = 'token.create' AND result = 'role_not_grantable' AND token_id = '\(support.id.uuidString.lowercased())' AND count = 1"
            )
            #expect(rows == 2)
            #expect(try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM audit_events WHERE request_id LIKE 'req-runtime-%'") == 2)
            // The operator's way still makes one, and it reads secrets as before.
            let runtime = try await APIFixture.token(url, role: .runtime, name: "crm-runtime")
            #expect(runtime.role == .runtime)
            #expect(try await client.send(.get, "/v1/tenants", token: runtime.token).status == .forbidden)
        }
    }

    @Test func expiresAtMustBeAheadAndWithin366Days() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, [("acme", "Acme")])
            for (label, seconds) in [("past", -60.0), ("long past", -86_400.0 * 400), ("367 days", 86_400.0 * 367), ("366 days and a minute", 86_400.0 * 366 + 60)] {
                for body in [
                    #"{"role":"dashboard","name":"x","expires_at":"\#(Self.time(seconds))"}"#,
                    #"{"role":"tenant_admin","name":"x","tenant":"acme","expires_at":"\#(Self.time(seconds))"}"#,
                ] {
                    let reply = try await client.send(.post, "/v1/tokens", token: support.token, body: body)
                    expectProblem(reply, .unprocessableContent, "invalid_request", field: "expires_at", label)
                    #expect((reply.object?["detail"] as? String)?.contains("expires_at") == true, "\(reply.text)")
                }
            }
            #expect(try await client.send(.get, "/v1/tokens", token: support.token).items.count == 1, "nothing made")
            // A day ahead, and 365 days ahead, are fine.
            for seconds in [86_400.0, 86_400.0 * 365] {
                let reply = try await client.send(.post, "/v1/tokens", token: support.token, body: #"{"role":"support","name":"ok","expires_at":"\#(Self.time(seconds))"}"#)
                #expect(reply.status == .created, "\(reply.text)")
                #expect(rfc3339(reply.object?["expires_at"]) != nil)
            }
        }
    }

    @Test func cascadeRevokesEveryTokenItMadeTransitivelyAndNothingElse() async throws {
        try await withTestApplication { client, url in
            let root = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, [("acme", "Acme")])
            func make(_ body: String, by token: String) async throws -> (id: String, token: String) {
                let reply = try await client.send(.post, "/v1/tokens", token: token, body: body)
                try #require(reply.status == .created, "\(reply.text)")
                return (try #require(reply.object?["id"] as? String), try #require(reply.object?["token"] as? String))
            }
            // root -> leaked -> deputy -> grafana; leaked -> admin; deputy -> revokedEarlier -> late;
            // root -> bystander -> bystanderChild.
            let leaked = try await make(#"{"role":"support","name":"leaked"}"#, by: root.token)
            let deputy = try await make(#"{"role":"support","name":"deputy"}"#, by: leaked.token)
            let grafana = try await make(#"{"role":"dashboard","name":"grafana"}"#, by: deputy.token)
            let admin = try await make(#"{"role":"tenant_admin","name":"acme-admin","tenant":"acme"}"#, by: leaked.token)
            let revokedEarlier = try await make(#"{"role":"support","name":"revoked-earlier"}"#, by: deputy.token)
            let late = try await make(#"{"role":"dashboard","name":"late"}"#, by: revokedEarlier.token)
            let bystander = try await make(#"{"role":"support","name":"bystander"}"#, by: root.token)
            let bystanderChild = try await make(#"{"role":"dashboard","name":"bystander-child"}"#, by: bystander.token)

            // Without cascade, as before: the one token only.
            #expect(try await client.send(.delete, "/v1/tokens/\(revokedEarlier.id)", token: root.token).status == .noContent)
            #expect(try await client.send(.delete, "/v1/tokens/\(bystander.id)?cascade=false", token: root.token).status == .noContent)
            #expect(try await client.send(.get, "/v1/tenants", token: late.token).status == .ok)
            #expect(try await client.send(.get, "/v1/tenants", token: bystanderChild.token).status == .ok)

            // Every token is served from memory when the cascade comes.
            try await APIFixture.waitForCacheListener(url)
            let doomed = [leaked, deputy, grafana, admin, late]
            for token in doomed + [bystanderChild] {
                for _ in 0..<2 { #expect(try await client.send(.get, "/v1/tenants/acme", token: token.token).status == .ok) }
            }
            let revoked = try await client.send(.delete, "/v1/tokens/\(leaked.id)?cascade=true", token: root.token, requestID: "req-cascade")
            #expect(revoked.status == .noContent, "\(revoked.text)")
            for token in doomed {
                expectProblem(try await client.send(.get, "/v1/tenants/acme", token: token.token), .unauthorized, "unauthenticated", "after the cascade")
            }
            #expect(try await client.send(.get, "/v1/tenants", token: bystanderChild.token).status == .ok)
            #expect(try await client.send(.get, "/v1/tokens", token: root.token).status == .ok)

            // One audit row per token revoked by the cascade (not the one revoked earlier).
            let events = try await AuditEventsAPITests.allEvents(client, token: root.token, query: "action=token.revoke")
            let cascade = events.filter { $0["request_id"] as? String == "req-cascade" }
            #expect(Set(cascade.compactMap { $0["target"] as? String }) == Set(doomed.map { "token:\($0.id)" }), "\(cascade)")
            #expect(cascade.allSatisfy { $0["result"] as? String == "success" && $0["count"] as? Int == 1 })

            let list = try await client.send(.get, "/v1/tokens", token: root.token)
            for token in doomed + [revokedEarlier, bystander] {
                #expect(rfc3339(list.items.first { $0["id"] as? String == token.id }?["revoked_at"]) != nil)
            }
            #expect(list.items.first { $0["id"] as? String == bystanderChild.id }?["revoked_at"] is NSNull)
            #expect(list.items.first { $0["id"] as? String == grafana.id }?["created_by"] as? String == deputy.id)

            // Again: 204, nothing more revoked, a row for the token asked for.
            #expect(try await client.send(.delete, "/v1/tokens/\(leaked.id)?cascade=true", token: root.token).status == .noContent)
            expectProblem(try await client.send(.delete, "/v1/tokens/\(UUID().uuidString.lowercased())?cascade=true", token: root.token), .notFound, "token_not_found")
            expectProblem(try await client.send(.delete, "/v1/tokens/\(leaked.id)?cascade=maybe", token: root.token), .badRequest, "invalid_request")
        }
    }

    /// A tenant_admin token bound to no tenant (a row the table's CHECK forbids; here the
    /// constraint is dropped to make one) is refused by the application with 401, and audited:
    /// it never falls back to the all-tenants scope.
    @Test func aTenantAdminTokenWithoutATenantIsRefused() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, [("acme", "Acme")])
            let token = BearerToken.generate()
            let hex = BearerToken.hash(token).map { String(format: "%02x", $0) }.joined()
            try await CredentialFixture.execute(url, """
                DO $$
                DECLARE c name;
                BEGIN
                    FOR c IN SELECT conname FROM pg_constraint WHERE conrelid = 'tokens'::regclass AND contype = 'c'
                             AND pg_get_constraintdef(oid) LIKE '%tenant_admin%' LOOP
                        EXECUTE format('ALTER TABLE tokens DROP CONSTRAINT %I', c);
                    END LOOP;
                END $$;
                """)
            try await CredentialFixture.execute(url, "INSERT INTO tokens (role, name, token_hash) VALUES ('tenant_admin', 'corrupted', '\\x\(hex)'::bytea)")
            for (path, requestID) in [("/v1/audit-events", "req-unbound-audit"), ("/v1/tenants", "req-unbound-list"), ("/v1/tenants/acme", "req-unbound-get"), ("/v1/dashboard/summary", "req-unbound-summary")] {
                let reply = try await client.send(.get, path, token: token, requestID: requestID)
                expectProblem(reply, .unauthorized, "unauthenticated", path)
                #expect(reply.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                #expect(!reply.text.contains("acme\",\"display_name"), "\(reply.text)")
            }
            let rows = try await CredentialFixture.count(
                url, "SELECT count(*)::int8 FROM audit_events WHERE result = 'token_unbound' AND actor_name = 'corrupted' AND request_id LIKE 'req-unbound-%'"
            )
            #expect(rows == 4)
            #expect(try await client.send(.get, "/v1/tenants", token: support.token).status == .ok)
        }
    }
}
