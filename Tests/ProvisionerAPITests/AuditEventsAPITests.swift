import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Testing
@testable import ProvisionerAPI

/// `GET /v1/audit-events` through the real application: every
/// mutation and every denied attempt is one event, newest first, with its actor and request id.
@Suite struct AuditEventsAPITests {
    static let eventKeys: Set<String> = ["id", "at", "actor", "tenant", "action", "target", "result", "request_id", "count"]

    /// Every event of the feed, following `next_cursor`.
    static func allEvents(_ client: any TestClientProtocol, token: String, query: String = "", limit: Int = 200) async throws -> [[String: Any]] {
        var events: [[String: Any]] = []
        var cursor: String?
        var pages = 0
        repeat {
            var parameters = ["limit=\(limit)"]
            if !query.isEmpty { parameters.append(query) }
            if let cursor { parameters.append("cursor=\(APIFixture.query(cursor))") }
            let reply = try await client.send(.get, "/v1/audit-events?" + parameters.joined(separator: "&"), token: token)
            try #require(reply.status == .ok, "\(reply.text)")
            events += reply.items
            cursor = try #require(reply.nextCursor, "next_cursor must be present: \(reply.text)")
            pages += 1
            try #require(pages < 500)
        } while cursor != nil
        return events
    }

    @Test func mutationsAndDenialsAreListedNewestFirstWithActorAndRequestID() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            let dashboard = try await APIFixture.token(url, role: .dashboard, name: "grafana")

            let create = try await client.send(.post, "/v1/tenants", token: support.token, body: #"{"slug":"acme","display_name":"Acme"}"#, requestID: "req-create-1")
            #expect(create.status == .created)
            #expect(create.headers[HTTPField.Name("X-Request-Id")!] == "req-create-1")
            let patch = try await client.send(.patch, "/v1/tenants/acme", token: support.token, body: #"{"suspended":true}"#, requestID: "req-patch-1")
            #expect(patch.status == .ok)
            let token = try await client.send(.post, "/v1/tokens", token: support.token, body: #"{"role":"tenant_admin","name":"acme-admin","tenant":"acme"}"#, requestID: "req-token-1")
            #expect(token.status == .created)
            let tokenID = try #require(token.object?["id"] as? String)
            let plaintext = try #require(token.object?["token"] as? String)
            let revoke = try await client.send(.delete, "/v1/tokens/\(tokenID)", token: support.token, requestID: "req-revoke-1")
            #expect(revoke.status == .noContent)
            let denied = try await client.send(.post, "/v1/tenants", token: dashboard.token, body: #"{"slug":"evil","display_name":"Evil"}"#, requestID: "req-denied-1")
            expectProblem(denied, .forbidden, "forbidden")

            let reply = try await client.send(.get, "/v1/audit-events", token: support.token)
            #expect(reply.status == .ok, "\(reply.text)")
            #expect(reply.nextCursor == .some(nil), "\(reply.text)")
            let events = reply.items
            for event in events {
                #expect(Self.eventKeys.isSubset(of: Set(event.keys)), "event lacks \(Self.eventKeys.subtracting(event.keys)): \(event)")
                let actor = event["actor"] as? [String: Any]
                #expect(actor.map { Set($0.keys).isSuperset(of: ["token_id", "role", "name"]) } == true, "actor: \(String(describing: actor))")
            }
            // Newest first.
            let ids = events.compactMap { ($0["id"] as? String).flatMap { Int64($0) } }
            #expect(ids.count == events.count, "ids must be numeric strings")
            #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 > $1 }, "\(ids)")
            let times = events.compactMap { rfc3339($0["at"]) }
            #expect(times.count == events.count)
            #expect(zip(times, times.dropFirst()).allSatisfy { $0 >= $1 })

            let ours = ["req-denied-1", "req-revoke-1", "req-token-1", "req-patch-1", "req-create-1"]
            let requestIDs = events.compactMap { $0["request_id"] as? String }
            #expect(requestIDs == ours, "one event per request, newest first: \(requestIDs)")

            func event(_ requestID: String) throws -> [String: Any] {
                try #require(events.first { $0["request_id"] as? String == requestID }, "no event for \(requestID)")
            }
            func expectActor(_ event: [String: Any], _ token: APIFixture.IssuedToken, sourceLocation: SourceLocation = #_sourceLocation) {
                let actor = event["actor"] as? [String: Any]
                #expect(actor?["token_id"] as? String == token.id.uuidString.lowercased(), sourceLocation: sourceLocation)
                #expect(actor?["role"] as? String == token.role.rawValue, sourceLocation: sourceLocation)
                #expect(actor?["name"] as? String == token.name, sourceLocation: sourceLocation)
            }

            let created = try event("req-create-1")
            #expect(created["action"] as? String == "tenant.create")
            #expect(created["tenant"] as? String == "acme")
            #expect(created["result"] as? String == "success")
            expectActor(created, support)

            let patched = try event("req-patch-1")
            #expect(patched["action"] as? String == "tenant.update")
            #expect(patched["tenant"] as? String == "acme")
            #expect(patched["result"] as? String == "success")
            expectActor(patched, support)

            let tokenCreated = try event("req-token-1")
            #expect(tokenCreated["action"] as? String == "token.create")
            #expect(tokenCreated["result"] as? String == "success")
            #expect((tokenCreated["target"] as? String)?.contains(tokenID) == true, "target: \(String(describing: tokenCreated["target"]))")
            expectActor(tokenCreated, support)

            let revoked = try event("req-revoke-1")
            #expect(revoked["action"] as? String == "token.revoke")
            #expect(revoked["result"] as? String == "success")
            #expect((revoked["target"] as? String)?.contains(tokenID) == true)
            expectActor(revoked, support)

            let refused = try event("req-denied-1")
            #expect(refused["action"] as? String == "tenant.create")
            #expect(refused["result"] as? String == "forbidden")
            #expect(refused["tenant"] is NSNull)
            expectActor(refused, dashboard)

            // Events written without a request (the fixture's store calls) say so with null.
            let fixtureEvents = events.filter { $0["request_id"] is NSNull }
            #expect(fixtureEvents.count == 2, "the fixture made two tokens: \(fixtureEvents)")

            // The feed never shows a token.
            for secret in [plaintext, support.token, dashboard.token] {
                #expect(!reply.text.contains(secret))
                #expect(!reply.text.contains(String(secret.dropFirst(BearerToken.prefix.count))))
            }

            // The dashboard reads the same feed; reading adds nothing.
            let asDashboard = try await client.send(.get, "/v1/audit-events", token: dashboard.token)
            #expect(asDashboard.status == .ok)
            #expect(asDashboard.items.count == events.count)
        }
    }

    @Test func otherRolesMayNotReadTheFeedAndTheirAttemptIsRecorded() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, [("acme", "Acme")])
            let runtime = try await APIFixture.token(url, role: .runtime, name: "crm")
            let admin = try await APIFixture.token(url, role: .tenantAdmin, name: "acme-admin", tenant: "acme")
            expectProblem(try await client.send(.get, "/v1/audit-events", token: runtime.token, requestID: "req-rt"), .forbidden, "forbidden")
            expectProblem(try await client.send(.get, "/v1/audit-events", token: admin.token, requestID: "req-ta"), .forbidden, "forbidden")
            expectProblem(try await client.send(.get, "/v1/audit-events", requestID: "req-anon"), .unauthorized, "unauthenticated")
            expectProblem(
                try await client.send(.get, "/v1/audit-events", token: "agcrm_" + String(repeating: "x", count: 43), requestID: "req-unknown"),
                .unauthorized, "unauthenticated"
            )

            // Known tokens: one row per attempt, under the operation's action.
            let events = try await Self.allEvents(client, token: support.token, query: "action=audit.list")
            #expect(events.map { $0["request_id"] as? String } == ["req-ta", "req-rt"], "\(events)")
            #expect(events.map { $0["result"] as? String } == ["forbidden", "forbidden"])
            #expect(events.allSatisfy { $0["count"] as? Int == 1 })
            #expect(((events[0]["actor"] as? [String: Any])?["role"] as? String) == "tenant_admin")
            // No token, or an unknown one: counted in the address's auth.failed row of the minute
            // (two rows if the minute turned between the two requests).
            // The second is added to the row within about a second (counted in memory first).
            try await waitUntil(timeout: .seconds(10), "both failures counted") {
                try await CredentialFixture.count(url, "SELECT coalesce(sum(count), 0)::int8 FROM audit_events WHERE action = 'auth.failed'") == 2
            }
            let failed = try await Self.allEvents(client, token: support.token, query: "action=auth.failed")
            #expect((1...2).contains(failed.count), "\(failed)")
            #expect(failed.compactMap { $0["count"] as? Int }.reduce(0, +) == 2, "\(failed)")
            #expect(failed.last?["request_id"] as? String == "req-anon")
            for anonymous in failed {
                // Without a known token there is no actor to name.
                let actor = try #require(anonymous["actor"] as? [String: Any])
                #expect(actor["token_id"] is NSNull && actor["role"] is NSNull && actor["name"] is NSNull, "\(actor)")
                #expect(anonymous["result"] as? String == "unauthenticated")
                #expect(anonymous["tenant"] is NSNull)
            }
        }
    }

    @Test func filtersByTenantAndAction() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            for slug in ["acme", "globex"] {
                let reply = try await client.send(.post, "/v1/tenants", token: support.token, body: #"{"slug":"\#(slug)","display_name":"\#(slug)"}"#)
                #expect(reply.status == .created)
            }
            for slug in ["acme", "acme", "globex"] {
                #expect(try await client.send(.patch, "/v1/tenants/\(slug)", token: support.token, body: #"{"suspended":true}"#).status == .ok)
            }

            let acme = try await Self.allEvents(client, token: support.token, query: "tenant=acme")
            #expect(acme.count == 3, "\(acme)")
            #expect(acme.allSatisfy { $0["tenant"] as? String == "acme" })
            #expect(acme.map { $0["action"] as? String } == ["tenant.update", "tenant.update", "tenant.create"])

            let updates = try await Self.allEvents(client, token: support.token, query: "action=tenant.update")
            #expect(updates.count == 3)
            #expect(updates.allSatisfy { $0["action"] as? String == "tenant.update" })

            let both = try await Self.allEvents(client, token: support.token, query: "tenant=globex&action=tenant.create")
            #expect(both.count == 1)
            #expect(both.first?["tenant"] as? String == "globex")

            #expect(try await Self.allEvents(client, token: support.token, query: "tenant=nosuch").isEmpty)
            #expect(try await Self.allEvents(client, token: support.token, query: "action=tenant.delete").isEmpty)
            expectProblem(try await client.send(.get, "/v1/audit-events?tenant=Not%20A%20Slug", token: support.token), .badRequest, "invalid_request", field: "tenant")
            expectProblem(try await client.send(.get, "/v1/audit-events?action=DROP%20TABLE", token: support.token), .badRequest, "invalid_request", field: "action")
        }
    }

    @Test func paginationVisitsEveryEventOnce() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, (0..<23).map { (String(format: "t-%02d", $0), "T\($0)") })
            let everything = try await Self.allEvents(client, token: support.token, limit: 200)
            #expect(everything.count == 24, "23 tenants and the fixture's token")
            for limit in [1, 5, 24] {
                let paged = try await Self.allEvents(client, token: support.token, limit: limit)
                let ids = paged.compactMap { $0["id"] as? String }
                #expect(ids.count == 24, "limit \(limit)")
                #expect(ids == everything.compactMap { $0["id"] as? String }, "limit \(limit): same order as one page")
            }
            let first = try await client.send(.get, "/v1/audit-events?limit=5", token: support.token)
            #expect(first.items.count == 5)
            #expect((first.nextCursor ?? nil) != nil)
            for bad in ["limit=0", "limit=201", "cursor=abc", "cursor=12"] {
                let field = String(bad.prefix { $0 != "=" })
                expectProblem(try await client.send(.get, "/v1/audit-events?\(bad)", token: support.token), .badRequest, "invalid_request", field: field, bad)
            }
        }
    }

    /// Requests with no token or an unknown one are audited at most once per
    /// client address per minute (`auth.failed`, `count` = how many), however many arrive, while a
    /// known token's denials stay one row each.
    @Test func failedSignInsAreOneRowPerAddressAndMinuteWithTheirCount() async throws {
        try await withTestApplication { client, url in
            let support = try await APIFixture.supportToken(url)
            try await APIFixture.tenants(url, [("acme", "Acme")])
            let dashboard = try await APIFixture.token(url, role: .dashboard, name: "grafana")
            let before = try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM audit_events")

            // A flood of 60, in parallel, at every kind of operation and tenant.
            let paths = ["/v1/tenants", "/v1/tenants/acme", "/v1/tenants/acme/credentials/active/secret", "/v1/audit-events", "/v1/tokens"]
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for index in 0..<60 {
                    group.addTask {
                        let token: String? = switch index % 3 {
                        case 0: nil
                        case 1: "agcrm_" + String(repeating: "x", count: 43)
                        default: BearerToken.generate()
                        }
                        return try await client.send(.get, paths[index % paths.count], token: token, requestID: "req-flood-\(index)").status
                    }
                }
                for try await status in group { #expect(status == .unauthorized) }
            }
            // The count reaches 60 once the in-memory tail is added (about a second).
            try await waitUntil(timeout: .seconds(10), "the flood counted") {
                try await CredentialFixture.count(url, "SELECT coalesce(sum(count), 0)::int8 FROM audit_events WHERE action = 'auth.failed'") == 60
            }
            let rows = try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM audit_events WHERE action = 'auth.failed'")
            #expect((1...2).contains(rows), "one row per address and minute, two if the minute turned: \(rows)")
            #expect(try await CredentialFixture.count(url, "SELECT count(*)::int8 FROM audit_events") == before + rows)

            // As the feed shows it.
            let failed = try await Self.allEvents(client, token: support.token, query: "action=auth.failed")
            #expect(failed.count == rows)
            #expect(failed.compactMap { $0["count"] as? Int }.reduce(0, +) == 60)
            #expect(failed.allSatisfy { ($0["request_id"] as? String)?.hasPrefix("req-flood-") == true }, "the first request of the minute names the row")

            // A known token's denials: one row each, count 1.
            for index in 0..<5 {
                expectProblem(
                    try await client.send(.post, "/v1/tenants", token: dashboard.token, body: #"{"slug":"x-\#(index)","display_name":"X"}"#, requestID: "req-denied-\(index)"),
                    .forbidden, "forbidden"
                )
            }
            let denied = try await Self.allEvents(client, token: support.token, query: "action=tenant.create")
            let ours = denied.filter { ($0["request_id"] as? String)?.hasPrefix("req-denied-") == true }
            #expect(ours.count == 5)
            #expect(ours.allSatisfy { $0["count"] as? Int == 1 && $0["result"] as? String == "forbidden" })
        }
    }
}
