// Why this file exists: swift-openapi-generator (1.14.x) maps a required property whose
// schema is nullable (OpenAPI 3.1 `type: [X, "null"]`) to a Swift optional and then
// synthesizes `Encodable`, which writes optionals with `encodeIfPresent`; so a nil value
// drops the key, while the spec (and every client) expects the key with a JSON `null`.
// Each extension below replaces the synthesized `encode(to:)` of one component schema that
// has such a property, writing every key with `encode` (nil -> `null`). Every property of
// these schemas is required, so none uses `encodeIfPresent`. Decoding is left generated.
//
// Keep in step with `openapi.yaml`: when a schema gains, loses or renames a property, edit its
// extension here (a missing key here would silently vanish from the JSON); when a schema gains
// its first required nullable property, add an extension. NullEncodingTests checks the keys.

extension KeyedEncodingContainer {
    /// The key with the value, or with `null` for nil. `encode(_: T?)` writes the same JSON but
    /// through Optional's generic `Encodable` conformance, which was measured to cost about
    /// 45 % more on a page of 50 audit events.
    mutating func encodeOrNull<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value {
            try encode(value, forKey: key)
        } else {
            try encodeNil(forKey: key)
        }
    }
}

extension Components.Schemas.Tenant {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(id, forKey: .id)
        try container.encodeOrNull(slug, forKey: .slug)
        try container.encodeOrNull(displayName, forKey: .displayName)
        try container.encodeOrNull(suspended, forKey: .suspended)
        try container.encodeOrNull(state, forKey: .state)
        try container.encodeOrNull(currentUriSetVersion, forKey: .currentUriSetVersion)
        try container.encodeOrNull(activeCredentialId, forKey: .activeCredentialId)
        try container.encodeOrNull(calendarSettings, forKey: .calendarSettings)
        try container.encodeOrNull(latestCredentialState, forKey: .latestCredentialState)
        try container.encodeOrNull(latestCredentialUploadedAt, forKey: .latestCredentialUploadedAt)
        try container.encodeOrNull(createdAt, forKey: .createdAt)
        try container.encodeOrNull(updatedAt, forKey: .updatedAt)
    }
}

extension Components.Schemas.TenantList {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(items, forKey: .items)
        try container.encodeOrNull(nextCursor, forKey: .nextCursor)
    }
}

extension Components.Schemas.URISet {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(version, forKey: .version)
        try container.encodeOrNull(javascriptOrigins, forKey: .javascriptOrigins)
        try container.encodeOrNull(redirectUris, forKey: .redirectUris)
        try container.encodeOrNull(customDomain, forKey: .customDomain)
        try container.encodeOrNull(issuedAt, forKey: .issuedAt)
        try container.encodeOrNull(issuedBy, forKey: .issuedBy)
        try container.encodeOrNull(supersededAt, forKey: .supersededAt)
    }
}

extension Components.Schemas.URISetList {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(items, forKey: .items)
        try container.encodeOrNull(nextCursor, forKey: .nextCursor)
    }
}

extension Components.Schemas.Finding {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(code, forKey: .code)
        try container.encodeOrNull(severity, forKey: .severity)
        try container.encodeOrNull(field, forKey: .field)
        try container.encodeOrNull(value, forKey: .value)
        try container.encodeOrNull(expected, forKey: .expected)
        try container.encodeOrNull(hint, forKey: .hint)
        try container.encodeOrNull(message, forKey: .message)
    }
}

extension Components.Schemas.Credential {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(id, forKey: .id)
        try container.encodeOrNull(tenant, forKey: .tenant)
        try container.encodeOrNull(state, forKey: .state)
        try container.encodeOrNull(uploadedAt, forKey: .uploadedAt)
        try container.encodeOrNull(uploadedBy, forKey: .uploadedBy)
        try container.encodeOrNull(sha256, forKey: .sha256)
        try container.encodeOrNull(clientType, forKey: .clientType)
        try container.encodeOrNull(clientId, forKey: .clientId)
        try container.encodeOrNull(projectId, forKey: .projectId)
        try container.encodeOrNull(clientSecretHint, forKey: .clientSecretHint)
        try container.encodeOrNull(uriSetVersion, forKey: .uriSetVersion)
        try container.encodeOrNull(verifiedAt, forKey: .verifiedAt)
        try container.encodeOrNull(attempts, forKey: .attempts)
        try container.encodeOrNull(findings, forKey: .findings)
        try container.encodeOrNull(health, forKey: .health)
    }
}

extension Components.Schemas.CredentialHealth {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(state, forKey: .state)
        try container.encodeOrNull(checkedAt, forKey: .checkedAt)
        try container.encodeOrNull(uris, forKey: .uris)
    }
}

extension Components.Schemas.CredentialList {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(items, forKey: .items)
        try container.encodeOrNull(nextCursor, forKey: .nextCursor)
    }
}

extension Components.Schemas.CredentialSecret {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(clientId, forKey: .clientId)
        try container.encodeOrNull(clientSecret, forKey: .clientSecret)
        try container.encodeOrNull(projectId, forKey: .projectId)
        try container.encodeOrNull(authUri, forKey: .authUri)
        try container.encodeOrNull(tokenUri, forKey: .tokenUri)
        try container.encodeOrNull(redirectUris, forKey: .redirectUris)
        try container.encodeOrNull(javascriptOrigins, forKey: .javascriptOrigins)
        try container.encodeOrNull(uriSetVersion, forKey: .uriSetVersion)
    }
}

extension Components.Schemas.TokenCreated {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(id, forKey: .id)
        try container.encodeOrNull(token, forKey: .token)
        try container.encodeOrNull(role, forKey: .role)
        try container.encodeOrNull(name, forKey: .name)
        try container.encodeOrNull(tenant, forKey: .tenant)
        try container.encodeOrNull(expiresAt, forKey: .expiresAt)
        try container.encodeOrNull(createdAt, forKey: .createdAt)
        try container.encodeOrNull(createdBy, forKey: .createdBy)
    }
}

extension Components.Schemas.TokenInfo {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(id, forKey: .id)
        try container.encodeOrNull(role, forKey: .role)
        try container.encodeOrNull(name, forKey: .name)
        try container.encodeOrNull(tenant, forKey: .tenant)
        try container.encodeOrNull(expiresAt, forKey: .expiresAt)
        try container.encodeOrNull(createdAt, forKey: .createdAt)
        try container.encodeOrNull(createdBy, forKey: .createdBy)
        try container.encodeOrNull(lastUsedAt, forKey: .lastUsedAt)
        try container.encodeOrNull(revokedAt, forKey: .revokedAt)
    }
}

extension Components.Schemas.TokenList {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(items, forKey: .items)
        try container.encodeOrNull(nextCursor, forKey: .nextCursor)
    }
}

extension Components.Schemas.DashboardSummary {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(tenants, forKey: .tenants)
        try container.encodeOrNull(byState, forKey: .byState)
        try container.encodeOrNull(credentialsPending, forKey: .credentialsPending)
        try container.encodeOrNull(oldestPendingSeconds, forKey: .oldestPendingSeconds)
        try container.encodeOrNull(verifiedLast24h, forKey: .verifiedLast24h)
        try container.encodeOrNull(rejectedLast24h, forKey: .rejectedLast24h)
        try container.encodeOrNull(byHealth, forKey: .byHealth)
    }
}

extension Components.Schemas.AuditActor {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(tokenId, forKey: .tokenId)
        try container.encodeOrNull(role, forKey: .role)
        try container.encodeOrNull(name, forKey: .name)
    }
}

extension Components.Schemas.AuditEvent {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(id, forKey: .id)
        try container.encodeOrNull(at, forKey: .at)
        try container.encodeOrNull(actor, forKey: .actor)
        try container.encodeOrNull(tenant, forKey: .tenant)
        try container.encodeOrNull(action, forKey: .action)
        try container.encodeOrNull(target, forKey: .target)
        try container.encodeOrNull(result, forKey: .result)
        try container.encodeOrNull(requestId, forKey: .requestId)
        try container.encodeOrNull(count, forKey: .count)
    }
}

extension Components.Schemas.AuditEventList {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(items, forKey: .items)
        try container.encodeOrNull(nextCursor, forKey: .nextCursor)
    }
}

extension Components.Schemas.OnboardingLinkCreated {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(id, forKey: .id)
        try container.encodeOrNull(url, forKey: .url)
        try container.encodeOrNull(expiresAt, forKey: .expiresAt)
        try container.encodeOrNull(createdBy, forKey: .createdBy)
    }
}

extension Components.Schemas.OnboardingLink {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(id, forKey: .id)
        try container.encodeOrNull(tenant, forKey: .tenant)
        try container.encodeOrNull(createdAt, forKey: .createdAt)
        try container.encodeOrNull(createdBy, forKey: .createdBy)
        try container.encodeOrNull(expiresAt, forKey: .expiresAt)
        try container.encodeOrNull(revokedAt, forKey: .revokedAt)
        try container.encodeOrNull(lastUsedAt, forKey: .lastUsedAt)
        try container.encodeOrNull(useCount, forKey: .useCount)
    }
}

extension Components.Schemas.OnboardingLinkList {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeOrNull(items, forKey: .items)
        try container.encodeOrNull(nextCursor, forKey: .nextCursor)
    }
}
