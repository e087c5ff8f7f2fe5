// The webhook schemas' required nullable properties, written as `null` rather than left out:
// see `GeneratedSchemas+NullEncoding.swift` for why. Keep in step with openapi.yaml.

extension Components.Schemas.WebhookEndpoint {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(id, forKey: .id)
        try container.encodeOrNull(url, forKey: .url)
        try container.encodeOrNull(description, forKey: .description)
        try container.encodeOrNull(events, forKey: .events)
        try container.encodeOrNull(enabled, forKey: .enabled)
        try container.encodeOrNull(disabledReason, forKey: .disabledReason)
        try container.encodeOrNull(createdAt, forKey: .createdAt)
    }
}

extension Components.Schemas.WebhookEndpointCreated {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(id, forKey: .id)
        try container.encodeOrNull(url, forKey: .url)
        try container.encodeOrNull(description, forKey: .description)
        try container.encodeOrNull(events, forKey: .events)
        try container.encodeOrNull(enabled, forKey: .enabled)
        try container.encodeOrNull(disabledReason, forKey: .disabledReason)
        try container.encodeOrNull(createdAt, forKey: .createdAt)
        try container.encodeOrNull(secret, forKey: .secret)
    }
}

extension Components.Schemas.WebhookSecretRotated {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(id, forKey: .id)
        try container.encodeOrNull(url, forKey: .url)
        try container.encodeOrNull(description, forKey: .description)
        try container.encodeOrNull(events, forKey: .events)
        try container.encodeOrNull(enabled, forKey: .enabled)
        try container.encodeOrNull(disabledReason, forKey: .disabledReason)
        try container.encodeOrNull(createdAt, forKey: .createdAt)
        try container.encodeOrNull(secret, forKey: .secret)
        try container.encodeOrNull(previousSecretExpiresAt, forKey: .previousSecretExpiresAt)
    }
}

extension Components.Schemas.WebhookDelivery {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(id, forKey: .id)
        try container.encodeOrNull(webhookId, forKey: .webhookId)
        try container.encodeOrNull(eventType, forKey: .eventType)
        try container.encodeOrNull(tenant, forKey: .tenant)
        try container.encodeOrNull(endpointId, forKey: .endpointId)
        try container.encodeOrNull(attempt, forKey: .attempt)
        try container.encodeOrNull(status, forKey: .status)
        try container.encodeOrNull(responseStatus, forKey: .responseStatus)
        try container.encodeOrNull(attemptedAt, forKey: .attemptedAt)
        try container.encodeOrNull(nextAttemptAt, forKey: .nextAttemptAt)
        try container.encodeOrNull(lastError, forKey: .lastError)
    }
}

extension Components.Schemas.WebhookDeliveryList {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(items, forKey: .items)
        try container.encodeOrNull(nextCursor, forKey: .nextCursor)
    }
}
