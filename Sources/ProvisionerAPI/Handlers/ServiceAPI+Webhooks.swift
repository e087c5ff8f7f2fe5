import Foundation
import ProvisionerDomain
import ProvisionerNetwork
import ProvisionerStore

/// `/v1/webhook-endpoints`: where the CRM runtime is told of changes. The signing secret is in
/// the answers of creation and rotation only; the store keeps it sealed, bound to the endpoint.
/// Deliveries are written by the database's triggers and sent by the worker; here they are
/// listed and sent again.
extension ServiceAPI {
    static let webhookDescriptionMaxLength = 500
    static let webhookDeliveryLimits = 1...100

    func createWebhookEndpoint(_ input: Operations.CreateWebhookEndpoint.Input) async throws -> Operations.CreateWebhookEndpoint.Output {
        let caller = try Caller.required()
        _ = try caller.allTenantsScope()
        guard case .json(let body) = input.body else { throw Problem.unsupportedBody() }
        // Cheap checks first, then the URL, whose check may wait on DNS.
        let description = try Self.webhookDescription(body.description ?? "")
        let events = try Self.webhookEvents(body.events)
        let url = try await checkedWebhookURL(body.url)

        // The id is made here so that the sealed secret's associated data can name it.
        let id = UUID()
        let secret = WebhookSecret.generate()
        let sealed = try sealer.sealWebhookSecret(secret, endpointID: id)
        let audit = caller.audit(target: Self.webhookAuditTarget(id: id, host: url.host))
        switch try await webhookEndpoints.create(
            id: id, url: url.text, description: description, events: events.map(\.rawValue), secret: sealed,
            createdBy: caller.token.id, audit: audit
        ) {
        case .limitReached:
            throw Problem(
                .conflict, code: .webhookEndpointLimit,
                detail: "There are \(PostgresWebhookEndpointStore.maximumEndpoints) webhook endpoints already, the most there may be; delete one first."
            )
        case .created(let record):
            let endpoint = Components.Schemas.WebhookEndpoint(record)
            return .created(.init(
                headers: .init(location: "/v1/webhook-endpoints/\(endpoint.id)", cacheControl: .noStore),
                body: .json(.init(
                    id: endpoint.id, url: endpoint.url, description: endpoint.description, events: endpoint.events,
                    enabled: endpoint.enabled, disabledReason: endpoint.disabledReason, createdAt: endpoint.createdAt,
                    secret: secret.encoded
                ))
            ))
        }
    }

    func listWebhookEndpoints(_ input: Operations.ListWebhookEndpoints.Input) async throws -> Operations.ListWebhookEndpoints.Output {
        _ = try Caller.required().allTenantsScope()
        let records = try await webhookEndpoints.list()
        return .ok(.init(body: .json(.init(items: records.map(Components.Schemas.WebhookEndpoint.init)))))
    }

    func getWebhookEndpoint(_ input: Operations.GetWebhookEndpoint.Input) async throws -> Operations.GetWebhookEndpoint.Output {
        _ = try Caller.required().allTenantsScope()
        guard let id = UUID(uuidString: input.path.endpointId), let record = try await webhookEndpoints.get(id: id) else {
            throw Problem.webhookEndpointNotFound(input.path.endpointId)
        }
        return .ok(.init(body: .json(.init(record))))
    }

    func deleteWebhookEndpoint(_ input: Operations.DeleteWebhookEndpoint.Input) async throws -> Operations.DeleteWebhookEndpoint.Output {
        let caller = try Caller.required()
        _ = try caller.allTenantsScope()
        let base = caller.audit()
        guard let id = UUID(uuidString: input.path.endpointId),
              try await webhookEndpoints.delete(id: id, audit: { Self.webhookAudit(base, for: $0) }) != nil
        else {
            throw Problem.webhookEndpointNotFound(input.path.endpointId)
        }
        return .noContent(.init())
    }

    func rotateWebhookSecret(_ input: Operations.RotateWebhookSecret.Input) async throws -> Operations.RotateWebhookSecret.Output {
        let caller = try Caller.required()
        _ = try caller.allTenantsScope()
        guard let id = UUID(uuidString: input.path.endpointId) else { throw Problem.webhookEndpointNotFound(input.path.endpointId) }
        let secret = WebhookSecret.generate()
        let sealed = try sealer.sealWebhookSecret(secret, endpointID: id)
        let base = caller.audit()
        guard let record = try await webhookEndpoints.rotate(id: id, secret: sealed, audit: { Self.webhookAudit(base, for: $0) }),
              let previousExpiry = record.previousSecretExpiresAt
        else {
            throw Problem.webhookEndpointNotFound(input.path.endpointId)
        }
        let endpoint = Components.Schemas.WebhookEndpoint(record)
        return .ok(.init(
            headers: .init(cacheControl: .noStore),
            body: .json(.init(
                id: endpoint.id, url: endpoint.url, description: endpoint.description, events: endpoint.events,
                enabled: endpoint.enabled, disabledReason: endpoint.disabledReason, createdAt: endpoint.createdAt,
                secret: secret.encoded, previousSecretExpiresAt: previousExpiry
            ))
        ))
    }

    func listWebhookDeliveries(_ input: Operations.ListWebhookDeliveries.Input) async throws -> Operations.ListWebhookDeliveries.Output {
        _ = try Caller.required().allTenantsScope()
        let limit = input.query.limit ?? 50
        guard Self.webhookDeliveryLimits.contains(limit) else {
            throw Problem.invalid("limit", "limit must be from 1 to 100 (it was \(limit)).")
        }
        // The cursor is the last row's seq: the order events happened in, never reused.
        let before = try PageCursor.decodeAuditID(input.query.cursor)
        guard let id = UUID(uuidString: input.path.endpointId),
              let page = try await webhookEndpoints.deliveries(endpointID: id, limit: limit + 1, beforeSeq: before)
        else {
            throw Problem.webhookEndpointNotFound(input.path.endpointId)
        }
        let items = page.prefix(limit)
        let next = page.count > limit ? items.last.map { PageCursor.encode(sortKey: $0.seq) } : nil
        return .ok(.init(body: .json(.init(items: items.map(Components.Schemas.WebhookDelivery.init), nextCursor: next))))
    }

    func retryWebhookDelivery(_ input: Operations.RetryWebhookDelivery.Input) async throws -> Operations.RetryWebhookDelivery.Output {
        let caller = try Caller.required()
        _ = try caller.allTenantsScope()
        guard let endpointID = UUID(uuidString: input.path.endpointId) else {
            throw Problem.webhookEndpointNotFound(input.path.endpointId)
        }
        let deliveryNotFound = Problem(
            .notFound, code: .webhookDeliveryNotFound,
            detail: "Webhook endpoint \(input.path.endpointId) has no delivery \(input.path.deliveryId)."
        )
        guard let deliveryID = UUID(uuidString: input.path.deliveryId) else { throw deliveryNotFound }
        let audit = caller.audit(target: "webhook_delivery:\(deliveryID.uuidString.lowercased())")
        switch try await webhookEndpoints.retry(endpointID: endpointID, deliveryID: deliveryID, audit: audit) {
        case .retried(let record):
            return .accepted(.init(body: .json(.init(record))))
        case .endpointNotFound:
            throw Problem.webhookEndpointNotFound(input.path.endpointId)
        case .deliveryNotFound:
            throw deliveryNotFound
        case .endpointDisabled:
            throw Problem(
                .conflict, code: .webhookEndpointDisabled,
                detail: "Webhook endpoint \(endpointID.uuidString.lowercased()) is disabled (its receiver answered 410 Gone); register the URL again to send to it."
            )
        case .inFlight:
            throw Problem(
                .conflict, code: .webhookDeliveryInFlight,
                detail: "A worker is sending this delivery right now; try again in a few seconds."
            )
        }
    }
}

// MARK: - Checks

extension ServiceAPI {
    /// The URL as the policy accepts it: its text first, then (for a name, unless any address
    /// is allowed) what it resolves to now. The worker checks again before each delivery, so
    /// this is about telling the desk early, not the only guard.
    func checkedWebhookURL(_ text: String) async throws -> WebhookURL {
        let url: WebhookURL
        do throws(WebhookURLRefusal) {
            url = try webhookURLPolicy.parse(text)
        } catch {
            throw Problem.webhookURL(error)
        }
        guard url.hostAddress == nil, !webhookURLPolicy.allowPrivate else { return url }
        let addresses: [[UInt8]]
        do {
            addresses = try await hostResolver.addresses(of: url.host)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // A timeout (or a resolver failure) is the caller's to fix or retry, not a 500.
            throw Problem.webhookURL(.unresolvable(host: url.host))
        }
        do throws(WebhookURLRefusal) {
            try webhookURLPolicy.check(url, resolved: addresses)
        } catch {
            throw Problem.webhookURL(error)
        }
        return url
    }

    /// At most 500 code points (the column's CHECK counts the same), no control characters
    /// (U+0000 cannot even be stored in a PostgreSQL text).
    static func webhookDescription(_ value: String) throws -> String {
        let scalars = value.unicodeScalars
        guard scalars.count <= webhookDescriptionMaxLength, !scalars.contains(where: NameRule.isControl) else {
            throw Problem.invalid(
                "description", "description must be at most \(webhookDescriptionMaxLength) characters without control characters."
            )
        }
        return value
    }

    /// 1 to 4 distinct known types, in the order given.
    static func webhookEvents(_ values: [String]) throws -> [WebhookEventType] {
        let known = WebhookEventType.allCases.map(\.rawValue).joined(separator: ", ")
        guard (1...WebhookEventType.allCases.count).contains(values.count) else {
            throw Problem.unprocessable("events", "events must list 1 to \(WebhookEventType.allCases.count) distinct event types of \(known).")
        }
        var seen = Set<WebhookEventType>()
        var events: [WebhookEventType] = []
        for value in values {
            guard let type = WebhookEventType(rawValue: value) else {
                let shown = value.unicodeScalars.count <= 64 ? value : String(value.unicodeScalars.prefix(64)) + "…"
                throw Problem.unprocessable("events", "\"\(shown)\" is not an event type; the types are \(known).")
            }
            guard seen.insert(type).inserted else {
                throw Problem.unprocessable("events", "\(value) is listed twice in events; list each event type once.")
            }
            events.append(type)
        }
        return events
    }

    /// `webhook_endpoint:<id> host=<host>`: enough to tell endpoints apart in the audit feed,
    /// without the path or query, which may carry a receiver's own token.
    static func webhookAuditTarget(id: UUID, host: String?) -> String {
        "webhook_endpoint:\(id.uuidString.lowercased())" + (host.map { " host=\($0)" } ?? "")
    }

    static func webhookAudit(_ base: AuditEntry, for record: WebhookEndpointRecord) -> AuditEntry {
        var entry = base
        // The stored URL was accepted once; read it with a policy that refuses nothing that
        // parses, since the server's own policy may have been tightened since.
        let host = try? WebhookURLPolicy(allowHTTP: true, allowPrivate: true).parse(record.url).host
        entry.target = webhookAuditTarget(id: record.id, host: host)
        return entry
    }
}

extension Problem {
    static func webhookEndpointNotFound(_ id: String) -> Problem {
        Problem(.notFound, code: .webhookEndpointNotFound, detail: "There is no webhook endpoint \(id).")
    }

    /// A refused URL: the refusal's code, and its detail, which says which rule it breaks.
    static func webhookURL(_ refusal: WebhookURLRefusal) -> Problem {
        Problem(
            .unprocessableContent, code: ProblemCode(rawValue: refusal.code) ?? .webhookURLInvalid, detail: refusal.detail,
            errors: [.init(field: "url", message: refusal.detail)]
        )
    }
}

extension Components.Schemas.WebhookEndpoint {
    init(_ record: WebhookEndpointRecord) {
        self.init(
            id: record.id.uuidString.lowercased(), url: record.url, description: record.description,
            // The table's CHECK admits only known types.
            events: record.events.compactMap(Components.Schemas.WebhookEventType.init(rawValue:)),
            enabled: record.enabled, disabledReason: record.disabledReason, createdAt: record.createdAt
        )
    }
}

extension Components.Schemas.WebhookDelivery {
    init(_ record: WebhookDeliveryRecord) {
        let status = Components.Schemas.WebhookDelivery.StatusPayload(rawValue: record.status) ?? .pending
        self.init(
            id: record.id.uuidString.lowercased(), webhookId: record.eventID.uuidString.lowercased(),
            eventType: Components.Schemas.WebhookEventType(rawValue: record.eventType) ?? .credential_activated,
            tenant: record.tenantSlug, endpointId: record.endpointID.uuidString.lowercased(), attempt: record.attempt,
            status: status, responseStatus: record.responseStatus, attemptedAt: record.attemptedAt,
            nextAttemptAt: status == .pending ? record.nextAttemptAt : nil, lastError: record.lastError
        )
    }
}
