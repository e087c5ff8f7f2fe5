import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Testing
@testable import ProvisionerAPI

/// Every operation of openapi.yaml x every kind of caller -> the expected answer, from one
/// table. Adding an operation means adding its row here: `everyOperationHasARow` fails until
/// then.
@Suite struct AuthorizationMatrixTests {
    enum Caller: String, CaseIterable, Sendable {
        case support, dashboard, runtime, ownTenantAdmin, otherTenantAdmin, noToken, revokedToken, expiredToken
    }

    struct Row: Sendable, CustomStringConvertible {
        let operationID: String
        let method: HTTPRequest.Method
        /// `{slug}` is the tenant `acme`, owned by `ownTenantAdmin`.
        let path: String
        let body: String?
        /// Roles that may call the operation (docs/security.md, Roles).
        let allowed: Set<Caller>
        var description: String { operationID }
    }

    static let all: Set<Caller> = [.support, .dashboard, .ownTenantAdmin]

    /// The role table of docs/security.md, operation by operation.
    static let rows: [Row] = [
        Row(operationID: "createTenant", method: .post, path: "/v1/tenants", body: #"{"slug":"matrix-new","display_name":"New"}"#, allowed: [.support]),
        Row(operationID: "listTenants", method: .get, path: "/v1/tenants", body: nil, allowed: [.support, .dashboard]),
        Row(operationID: "getTenant", method: .get, path: "/v1/tenants/{slug}", body: nil, allowed: all),
        Row(operationID: "updateTenant", method: .patch, path: "/v1/tenants/{slug}", body: #"{"display_name":"Acme 2"}"#, allowed: [.support]),
        Row(operationID: "createToken", method: .post, path: "/v1/tokens", body: #"{"role":"dashboard","name":"matrix"}"#, allowed: [.support]),
        Row(operationID: "listTokens", method: .get, path: "/v1/tokens", body: nil, allowed: [.support]),
        Row(operationID: "revokeToken", method: .delete, path: "/v1/tokens/00000000-0000-4000-8000-000000000000", body: nil, allowed: [.support]),
        Row(operationID: "issueURISet", method: .post, path: "/v1/tenants/{slug}/uri-sets", body: nil, allowed: [.support]),
        Row(operationID: "getCurrentURISet", method: .get, path: "/v1/tenants/{slug}/uri-sets/current", body: nil, allowed: all),
        Row(operationID: "listURISets", method: .get, path: "/v1/tenants/{slug}/uri-sets", body: nil, allowed: all),
        Row(operationID: "getSetupSheet", method: .get, path: "/v1/tenants/{slug}/setup-sheet", body: nil, allowed: all),
        Row(operationID: "uploadCredential", method: .post, path: "/v1/tenants/{slug}/credentials", body: #"{"web":{"client_id":"1-a.apps.googleusercontent.com"}}"#, allowed: [.support, .ownTenantAdmin]),
        Row(operationID: "listCredentials", method: .get, path: "/v1/tenants/{slug}/credentials", body: nil, allowed: all),
        Row(operationID: "getCredential", method: .get, path: "/v1/tenants/{slug}/credentials/00000000-0000-4000-8000-000000000001", body: nil, allowed: all),
        Row(operationID: "reverifyCredential", method: .post, path: "/v1/tenants/{slug}/credentials/00000000-0000-4000-8000-000000000001/verify", body: nil, allowed: [.support, .ownTenantAdmin]),
        Row(operationID: "getActiveCredential", method: .get, path: "/v1/tenants/{slug}/credentials/active", body: nil, allowed: all),
        Row(operationID: "getActiveCredentialSecret", method: .get, path: "/v1/tenants/{slug}/credentials/active/secret", body: nil, allowed: [.runtime]),
        Row(operationID: "putCalendarSettings", method: .put, path: "/v1/tenants/{slug}/calendar-settings", body: #"{"sync_enabled":false,"default_event_color":"3"}"#, allowed: [.support, .ownTenantAdmin]),
        Row(operationID: "createOnboardingLink", method: .post, path: "/v1/tenants/{slug}/onboarding-links", body: #"{"expires_in_hours":24}"#, allowed: [.support]),
        Row(operationID: "listOnboardingLinks", method: .get, path: "/v1/tenants/{slug}/onboarding-links", body: nil, allowed: [.support]),
        Row(operationID: "revokeOnboardingLink", method: .delete, path: "/v1/tenants/{slug}/onboarding-links/00000000-0000-4000-8000-000000000002", body: nil, allowed: [.support]),
        Row(operationID: "createWebhookEndpoint", method: .post, path: "/v1/webhook-endpoints", body: #"{"url":"https://93.184.216.34/hook","events":["uri_set.issued"]}"#, allowed: [.support]),
        Row(operationID: "listWebhookEndpoints", method: .get, path: "/v1/webhook-endpoints", body: nil, allowed: [.support]),
        Row(operationID: "getWebhookEndpoint", method: .get, path: "/v1/webhook-endpoints/00000000-0000-4000-8000-000000000003", body: nil, allowed: [.support]),
        Row(operationID: "deleteWebhookEndpoint", method: .delete, path: "/v1/webhook-endpoints/00000000-0000-4000-8000-000000000003", body: nil, allowed: [.support]),
        Row(operationID: "rotateWebhookSecret", method: .post, path: "/v1/webhook-endpoints/00000000-0000-4000-8000-000000000003/rotate-secret", body: nil, allowed: [.support]),
        Row(operationID: "listWebhookDeliveries", method: .get, path: "/v1/webhook-endpoints/00000000-0000-4000-8000-000000000003/deliveries", body: nil, allowed: [.support]),
        Row(operationID: "retryWebhookDelivery", method: .post, path: "/v1/webhook-endpoints/00000000-0000-4000-8000-000000000003/deliveries/00000000-0000-4000-8000-000000000004/retry", body: nil, allowed: [.support]),
        Row(operationID: "getDashboardSummary", method: .get, path: "/v1/dashboard/summary", body: nil, allowed: [.support, .dashboard]),
        Row(operationID: "listAuditEvents", method: .get, path: "/v1/audit-events", body: nil, allowed: [.support, .dashboard]),
    ]

    static let publicOperations: Set<String> = [
        Operations.GetHealth.id, Operations.GetReadiness.id, Operations.GetMetrics.id, Operations.GetOpenAPIDocument.id,
    ]

    @Test func everyOperationHasARow() {
        let document = String(decoding: PackageResources.openapi_yaml, as: UTF8.self)
        let operations = document.split(separator: "\n")
            .filter { $0.hasPrefix("      operationId: ") }
            .map { String($0.dropFirst("      operationId: ".count)).trimmingCharacters(in: .whitespaces) }
        #expect(!operations.isEmpty)
        for operation in operations where !Self.publicOperations.contains(operation) {
            #expect(Self.rows.contains { $0.operationID == operation }, "no authorization row for \(operation)")
            #expect(AccessPolicy.rules[operation] != nil, "no access rule for \(operation)")
        }
    }

    /// What a caller must get: 401 without a usable token, 403 for a role the operation does
    /// not admit, 404 for a tenant_admin on another tenant's path; otherwise neither of those.
    static func expectation(_ row: Row, _ caller: Caller) -> (denied: HTTPResponse.Status?, label: String) {
        switch caller {
        case .noToken, .revokedToken, .expiredToken:
            return (.unauthorized, "401")
        case .otherTenantAdmin where row.path.contains("{slug}") && row.allowed.contains(.ownTenantAdmin):
            return (.notFound, "404")
        default:
            let admitted = caller == .otherTenantAdmin ? row.allowed.contains(.ownTenantAdmin) : row.allowed.contains(caller)
            return admitted ? (nil, "allowed") : (.forbidden, "403")
        }
    }

    @Test(arguments: rows)
    func matrix(row: Row) async throws {
        try await withTestApplication { client, url in
            let tokens = try await MatrixFixture.make(url)
            for caller in Caller.allCases {
                var headers: HTTPFields = [.contentType: "application/json"]
                if let token = tokens[caller] { headers[.authorization] = "Bearer \(token)" }
                let path = row.path.replacingOccurrences(of: "{slug}", with: "acme")
                let body = row.body.map { ByteBuffer(string: $0) }
                let status = try await client.execute(uri: path, method: row.method, headers: headers, body: body) { response in
                    if response.status == .unauthorized {
                        #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                    }
                    return response.status
                }
                let (denied, label) = Self.expectation(row, caller)
                if let denied {
                    #expect(status == denied, "\(row.operationID) as \(caller): expected \(label), got \(status.code)")
                } else {
                    #expect(![.unauthorized, .forbidden].contains(status), "\(row.operationID) as \(caller): expected allowed, got \(status.code)")
                    #expect(status.code < 500, "\(row.operationID) as \(caller): \(status.code)")
                }
            }
        }
    }
}

/// Tenants `acme` and `globex`, and one token per kind of caller.
enum MatrixFixture {
    static func make(_ url: DatabaseURL) async throws -> [AuthorizationMatrixTests.Caller: String] {
        try await TestDatabase.withClient(url, purpose: .application(maximumConnections: 2)) { client in
            let database = TestDatabase.database(client)
            let tenants = PostgresTenantStore(database: database)
            let tokens = PostgresTokenStore(database: database)
            func audit(_ action: String) -> AuditEntry {
                AuditEntry(actor: Actor(tokenID: nil, role: nil, name: "test"), action: action, requestID: nil, sourceAddress: nil)
            }
            let acme = try await tenants.create(slug: TenantSlug(validating: "acme"), displayName: "Acme 株式会社", audit: audit("tenant.create"))
            let globex = try await tenants.create(slug: TenantSlug(validating: "globex"), displayName: "Globex", audit: audit("tenant.create"))
            func token(_ role: Role, tenant: TenantRecord? = nil, expiresAt: Date? = nil) async throws -> (TokenRecord, String) {
                let made = try await tokens.create(
                    NewToken(role: role, name: "matrix-\(role.rawValue)", tenant: tenant.map { ($0.id, $0.slug) }, expiresAt: expiresAt),
                    createdBy: nil, audit: audit("token.create")
                )
                return (made.record, made.token)
            }
            var result: [AuthorizationMatrixTests.Caller: String] = [:]
            result[.support] = try await token(.support).1
            result[.dashboard] = try await token(.dashboard).1
            result[.runtime] = try await token(.runtime).1
            result[.ownTenantAdmin] = try await token(.tenantAdmin, tenant: acme).1
            result[.otherTenantAdmin] = try await token(.tenantAdmin, tenant: globex).1
            let revoked = try await token(.support)
            _ = try await tokens.revoke(id: revoked.0.id, audit: audit("token.revoke"))
            result[.revokedToken] = revoked.1
            result[.expiredToken] = try await token(.support, expiresAt: Date().addingTimeInterval(-60)).1
            return result
        }
    }
}
