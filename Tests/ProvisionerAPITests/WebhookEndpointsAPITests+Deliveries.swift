import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Testing
@testable import ProvisionerAPI

/// Deliveries written by the real triggers (issuing URI sets through the API), their pages and
/// retries, and where the secrets must never appear.
extension WebhookEndpointsAPITests {
    @Test func listsAndPagesDeliveriesWrittenByTheTriggers() async throws {
        try await withTestApplication(hostResolver: Self.resolver) { client, url in
            let support = try await APIFixture.supportToken(url)
            let made = try await client.send(.post, "/v1/webhook-endpoints", token: support.token, body: Self.body(events: ["uri_set.issued"]))
            let id = try #require(made.object?["id"] as? String)
            let deaf = try await client.send(.post, "/v1/webhook-endpoints", token: support.token, body: Self.body(events: ["credential.rejected"]))
            let deafID = try #require(deaf.object?["id"] as? String)
            #expect(try await client.send(.post, "/v1/tenants", token: support.token, body: #"{"slug":"acme","display_name":"Acme"}"#).status == .created)
            for _ in 0..<3 {
                #expect(try await client.send(.post, "/v1/tenants/acme/uri-sets", token: support.token).status == .created)
            }

            let all = try await client.send(.get, "/v1/webhook-endpoints/\(id)/deliveries", token: support.token)
            #expect(all.status == .ok, "\(all.text)")
            #expect(all.items.count == 3)
            #expect(all.nextCursor == .some(nil))
            let newest = try #require(all.items.first)
            #expect(Set(newest.keys) == Self.deliveryKeys, "\(newest)")
            #expect(newest["event_type"] as? String == "uri_set.issued")
            #expect(newest["tenant"] as? String == "acme")
            #expect(newest["endpoint_id"] as? String == id)
            #expect(newest["status"] as? String == "pending")
            #expect(newest["attempt"] as? Int == 0)
            #expect(newest["response_status"] is NSNull && newest["attempted_at"] is NSNull && newest["last_error"] is NSNull)
            #expect(rfc3339(newest["next_attempt_at"]) != nil)
            let webhookID = try #require(newest["webhook_id"] as? String)
            #expect(webhookID == webhookID.lowercased() && UUID(uuidString: webhookID) != nil)
            // Newest first: the version of the last issuance.
            let versions = try await Self.asOwner(url) { connection in
                let rows = try await connection.query("SELECT id, uri_set_version FROM webhook_deliveries ORDER BY seq DESC", logger: TestDatabase.logger)
                var list: [(UUID, Int32)] = []
                for try await row in rows.decode((UUID, Int32).self) { list.append(row) }
                return list.map { "\($0.0.uuidString.lowercased()):\($0.1)" }
            }
            #expect(versions == all.items.compactMap { $0["id"] as? String }.enumerated().map { "\($0.element):\(3 - $0.offset)" })
            #expect(try await client.send(.get, "/v1/webhook-endpoints/\(deafID)/deliveries", token: support.token).items.isEmpty)

            let page1 = try await client.send(.get, "/v1/webhook-endpoints/\(id)/deliveries?limit=2", token: support.token)
            #expect(page1.items.count == 2)
            let cursor = try #require(page1.nextCursor ?? nil)
            let page2 = try await client.send(.get, "/v1/webhook-endpoints/\(id)/deliveries?limit=2&cursor=\(cursor)", token: support.token)
            #expect(page2.items.count == 1)
            #expect(page2.nextCursor == .some(nil))
            #expect((page1.items + page2.items).compactMap { $0["id"] as? String } == all.items.compactMap { $0["id"] as? String })

            for bad in ["limit=0", "limit=101", "cursor=nope"] {
                expectProblem(try await client.send(.get, "/v1/webhook-endpoints/\(id)/deliveries?\(bad)", token: support.token), .badRequest, "invalid_request", bad)
            }
            #expect(try await client.send(.get, "/v1/webhook-endpoints/\(id)/deliveries?limit=100", token: support.token).status == .ok)
            expectProblem(
                try await client.send(.get, "/v1/webhook-endpoints/00000000-0000-4000-8000-000000000009/deliveries", token: support.token),
                .notFound, "webhook_endpoint_not_found"
            )
            // Deleting the endpoint takes its deliveries.
            #expect(try await client.send(.delete, "/v1/webhook-endpoints/\(id)", token: support.token).status == .noContent)
            #expect(try await Self.count(url, "webhook_deliveries") == 0)
        }
    }

    @Test func retriesADelivery() async throws {
        try await withTestApplication(hostResolver: Self.resolver) { client, url in
            let support = try await APIFixture.supportToken(url)
            let first = try #require(try await client.send(.post, "/v1/webhook-endpoints", token: support.token, body: Self.body()).object?["id"] as? String)
            let second = try #require(try await client.send(.post, "/v1/webhook-endpoints", token: support.token, body: Self.body()).object?["id"] as? String)
            #expect(try await client.send(.post, "/v1/tenants", token: support.token, body: #"{"slug":"acme","display_name":"Acme"}"#).status == .created)
            #expect(try await client.send(.post, "/v1/tenants/acme/uri-sets", token: support.token).status == .created)
            let delivery = try #require(try await client.send(.get, "/v1/webhook-endpoints/\(first)/deliveries", token: support.token).items.first?["id"] as? String)
            let otherDelivery = try #require(try await client.send(.get, "/v1/webhook-endpoints/\(second)/deliveries", token: support.token).items.first?["id"] as? String)
            // As the worker leaves it after giving up.
            try await Self.asOwner(url) { connection in
                try await connection.query(
                    """
                    UPDATE webhook_deliveries SET status = 'failed', attempt = 8, attempted_at = now(), response_status = 500,
                        last_error = 'the receiver answered 500', next_attempt_at = now() + interval '1 day'
                    WHERE id = \(UUID(uuidString: delivery)!)
                    """,
                    logger: TestDatabase.logger
                )
            }
            let path = "/v1/webhook-endpoints/\(first)/deliveries/\(delivery)/retry"
            let retried = try await client.send(.post, path, token: support.token)
            try #require(retried.status == .accepted, "\(retried.text)")
            #expect(Set(retried.object?.keys.map { $0 } ?? []) == Self.deliveryKeys)
            #expect(retried.object?["status"] as? String == "pending")
            #expect(retried.object?["last_error"] as? String == "the receiver answered 500")
            #expect(retried.object?["attempt"] as? Int == 8)
            let due = try #require(rfc3339(retried.object?["next_attempt_at"]))
            #expect(abs(due.timeIntervalSinceNow) < 60)
            let limit = try await Self.asOwner(url) { connection in
                let rows = try await connection.query("SELECT attempt_limit FROM webhook_deliveries WHERE id = \(UUID(uuidString: delivery)!)", logger: TestDatabase.logger)
                for try await value in rows.decode(Int32?.self) { return value }
                return nil
            }
            #expect(limit == 9)

            expectProblem(try await client.send(.post, "/v1/webhook-endpoints/\(first)/deliveries/\(otherDelivery)/retry", token: support.token), .notFound, "webhook_delivery_not_found")
            expectProblem(try await client.send(.post, "/v1/webhook-endpoints/\(first)/deliveries/00000000-0000-4000-8000-000000000009/retry", token: support.token), .notFound, "webhook_delivery_not_found")
            expectProblem(try await client.send(.post, "/v1/webhook-endpoints/00000000-0000-4000-8000-000000000009/deliveries/\(delivery)/retry", token: support.token), .notFound, "webhook_endpoint_not_found")

            // A worker holds it.
            try await Self.asOwner(url) { connection in
                try await connection.query(
                    "UPDATE webhook_deliveries SET lease_expires_at = now() + interval '1 minute', claimed_by = 'w1' WHERE id = \(UUID(uuidString: delivery)!)",
                    logger: TestDatabase.logger
                )
            }
            expectProblem(try await client.send(.post, path, token: support.token), .conflict, "webhook_delivery_in_flight")

            // The receiver answered 410.
            try await Self.asOwner(url) { connection in
                try await connection.query(
                    "UPDATE webhook_endpoints SET enabled = false, disabled_reason = 'gone', disabled_at = now() WHERE id = \(UUID(uuidString: first)!)",
                    logger: TestDatabase.logger
                )
            }
            expectProblem(try await client.send(.post, path, token: support.token), .conflict, "webhook_endpoint_disabled")
            let endpoint = try await client.send(.get, "/v1/webhook-endpoints/\(first)", token: support.token)
            #expect(endpoint.object?["enabled"] as? Bool == false)
            #expect(endpoint.object?["disabled_reason"] as? String == "gone")

            let audit = try await client.send(.get, "/v1/audit-events?action=webhook_delivery.retried", token: support.token)
            #expect(audit.items.filter { $0["result"] as? String == "success" }.map { $0["target"] as? String } == ["webhook_delivery:\(delivery)"])
            #expect(audit.items.contains { $0["result"] as? String == "webhook_endpoint_disabled" })
            #expect(audit.items.contains { $0["result"] as? String == "webhook_delivery_in_flight" })
        }
    }

    /// Everything logged at trace level while secrets are made, replayed and rotated: no
    /// secret in any line, nor in the audit log or the stored idempotent answer.
    @Test func noSecretInLogsAuditOrStoredAnswers() async throws {
        let capture = LogCapture()
        let logger: Logger = {
            var logger = Logger(label: "webhook-log-test") { label in CapturingLogHandler(label: label, capture: capture) }
            logger.logLevel = .trace
            return logger
        }()
        let secrets = try await withTestApplication(hostResolver: Self.resolver, logger: logger) { client, url in
            let support = try await APIFixture.supportToken(url)
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "webhook-1"]
            // One body, sent twice byte for byte (a dictionary's key order may differ between encodings).
            let body = Self.body()
            let made = try await client.send(.post, "/v1/webhook-endpoints", token: support.token, body: body, headers: key)
            #expect(made.status == .created)
            let replay = try await client.send(.post, "/v1/webhook-endpoints", token: support.token, body: body, headers: key)
            #expect(replay.headers[HTTPField.Name("Idempotent-Replayed")!] == "true", "\(replay.status) \(replay.text)")
            #expect(replay.headers[.cacheControl] == "no-store")
            #expect(replay.object?["secret"] as? String == made.object?["secret"] as? String)
            #expect(try await Self.count(url, "webhook_endpoints") == 1)
            let id = try #require(made.object?["id"] as? String)
            let rotated = try await client.send(.post, "/v1/webhook-endpoints/\(id)/rotate-secret", token: support.token)
            let secrets = [made.object?["secret"] as? String, rotated.object?["secret"] as? String].compactMap { $0 }
            #expect(secrets.count == 2)
            let stored = try await Self.asOwner(url) { connection in
                let rows = try await connection.query(
                    """
                    SELECT coalesce(string_agg(concat_ws(' ', action, target, result), ' '), '') FROM audit_events
                    UNION ALL SELECT coalesce(string_agg(encode(sealed_body, 'escape'), ' '), '') FROM idempotency_keys
                    UNION ALL SELECT coalesce(string_agg(encode(secret_sealed, 'base64'), ' '), '') FROM webhook_endpoints
                    """,
                    logger: TestDatabase.logger
                )
                var texts: [String] = []
                for try await text in rows.decode(String.self) { texts.append(text) }
                return texts.joined(separator: "\n")
            }
            for secret in secrets {
                #expect(!stored.contains(secret))
                #expect(!stored.contains(String(secret.dropFirst(WebhookSecret.prefix.count))))
            }
            return secrets
        }
        let lines = capture.entries
        #expect(!lines.isEmpty)
        for secret in secrets {
            let payload = String(secret.dropFirst(WebhookSecret.prefix.count))
            #expect(!lines.contains { $0.contains(payload) }, "a log line holds a webhook secret")
        }
    }
}
