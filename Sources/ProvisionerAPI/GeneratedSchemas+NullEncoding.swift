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

extension Components.Schemas.Tenant {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(slug, forKey: .slug)
        try container.encode(displayName, forKey: .displayName)
        try container.encode(suspended, forKey: .suspended)
        try container.encode(state, forKey: .state)
        try container.encode(currentUriSetVersion, forKey: .currentUriSetVersion)
        try container.encode(activeCredentialId, forKey: .activeCredentialId)
        try container.encode(calendarSettings, forKey: .calendarSettings)
        try container.encode(latestCredentialState, forKey: .latestCredentialState)
        try container.encode(latestCredentialUploadedAt, forKey: .latestCredentialUploadedAt)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}

extension Components.Schemas.TenantList {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}

extension Components.Schemas.URISet {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(version, forKey: .version)
        try container.encode(javascriptOrigins, forKey: .javascriptOrigins)
        try container.encode(redirectUris, forKey: .redirectUris)
        try container.encode(customDomain, forKey: .customDomain)
        try container.encode(issuedAt, forKey: .issuedAt)
        try container.encode(issuedBy, forKey: .issuedBy)
        try container.encode(supersededAt, forKey: .supersededAt)
    }
}

extension Components.Schemas.URISetList {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}

extension Components.Schemas.Finding {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(code, forKey: .code)
        try container.encode(severity, forKey: .severity)
        try container.encode(field, forKey: .field)
        try container.encode(value, forKey: .value)
        try container.encode(expected, forKey: .expected)
        try container.encode(hint, forKey: .hint)
        try container.encode(message, forKey: .message)
    }
}

extension Components.Schemas.Credential {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(tenant, forKey: .tenant)
        try container.encode(state, forKey: .state)
        try container.encode(uploadedAt, forKey: .uploadedAt)
        try container.encode(uploadedBy, forKey: .uploadedBy)
        try container.encode(sha256, forKey: .sha256)
        try container.encode(clientType, forKey: .clientType)
        try container.encode(clientId, forKey: .clientId)
        try container.encode(projectId, forKey: .projectId)
        try container.encode(clientSecretHint, forKey: .clientSecretHint)
        try container.encode(uriSetVersion, forKey: .uriSetVersion)
        try container.encode(verifiedAt, forKey: .verifiedAt)
        try container.encode(attempts, forKey: .attempts)
        try container.encode(findings, forKey: .findings)
    }
}

extension Components.Schemas.CredentialList {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}

extension Components.Schemas.CredentialSecret {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(clientId, forKey: .clientId)
        try container.encode(clientSecret, forKey: .clientSecret)
        try container.encode(projectId, forKey: .projectId)
        try container.encode(redirectUris, forKey: .redirectUris)
        try container.encode(javascriptOrigins, forKey: .javascriptOrigins)
        try container.encode(uriSetVersion, forKey: .uriSetVersion)
    }
}

extension Components.Schemas.TokenCreated {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(token, forKey: .token)
        try container.encode(role, forKey: .role)
        try container.encode(name, forKey: .name)
        try container.encode(tenant, forKey: .tenant)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(createdAt, forKey: .createdAt)
    }
}

extension Components.Schemas.TokenInfo {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(role, forKey: .role)
        try container.encode(name, forKey: .name)
        try container.encode(tenant, forKey: .tenant)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(lastUsedAt, forKey: .lastUsedAt)
        try container.encode(revokedAt, forKey: .revokedAt)
    }
}

extension Components.Schemas.TokenList {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}

extension Components.Schemas.DashboardSummary {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tenants, forKey: .tenants)
        try container.encode(byState, forKey: .byState)
        try container.encode(credentialsPending, forKey: .credentialsPending)
        try container.encode(oldestPendingSeconds, forKey: .oldestPendingSeconds)
        try container.encode(verifiedLast24h, forKey: .verifiedLast24h)
        try container.encode(rejectedLast24h, forKey: .rejectedLast24h)
    }
}

extension Components.Schemas.AuditActor {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tokenId, forKey: .tokenId)
        try container.encode(role, forKey: .role)
        try container.encode(name, forKey: .name)
    }
}

extension Components.Schemas.AuditEvent {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(at, forKey: .at)
        try container.encode(actor, forKey: .actor)
        try container.encode(tenant, forKey: .tenant)
        try container.encode(action, forKey: .action)
        try container.encode(target, forKey: .target)
        try container.encode(result, forKey: .result)
        try container.encode(requestId, forKey: .requestId)
    }
}

extension Components.Schemas.AuditEventList {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}
