import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import Testing
@testable import ProvisionerAPI

/// Shared set-up of the API suites: tokens and tenants made directly through the stores (as
/// `provisioner_app`, like the service), and a small request helper.
enum APIFixture {
    struct IssuedToken: Sendable {
        let id: UUID
        let token: String
        let role: Role
        let name: String
    }

    static func audit(_ action: String) -> AuditEntry {
        AuditEntry(actor: Actor(tokenID: nil, role: nil, name: "fixture"), action: action, requestID: nil, sourceAddress: nil)
    }

    /// Runs `body` with the stores on a client of its own, connected as `provisioner_app`.
    ///
    /// Under `TestDatabase.deadline`: its client connects anew each time.
    static func withStores<T: Sendable>(
        _ url: DatabaseURL,
        _ body: @Sendable (PostgresTenantStore, PostgresTokenStore) async throws -> T
    ) async throws -> T {
        try await TestDatabase.withClient(url, purpose: .application(maximumConnections: 2)) { client in
            let database = TestDatabase.database(client)
            return try await body(PostgresTenantStore(database: database), PostgresTokenStore(database: database))
        }
    }

    /// A new token of `role` (bound to tenant `tenant` for tenant_admin).
    static func token(
        _ url: DatabaseURL, role: Role, name: String? = nil, tenant: String? = nil, expiresAt: Date? = nil
    ) async throws -> IssuedToken {
        try await withStores(url) { tenants, tokens in
            var bound: (id: UUID, slug: String)?
            if let tenant {
                let record = try #require(try await tenants.get(slug: tenant, scope: .allTenants), "no tenant \(tenant)")
                bound = (record.id, record.slug)
            }
            let name = name ?? "fixture-\(role.rawValue)"
            let made = try await tokens.create(
                NewToken(role: role, name: name, tenant: bound, expiresAt: expiresAt), createdBy: nil, audit: audit("token.create")
            )
            return IssuedToken(id: made.record.id, token: made.token, role: role, name: name)
        }
    }

    /// Waits until the application's cache listener is in place, so that what follows is
    /// served from memory where the hot read path caches (tokens, current URI sets).
    static func waitForCacheListener(_ url: DatabaseURL) async throws {
        try await TestDatabase.withClient(url, purpose: .owner) { owner in
            try await waitUntil(timeout: .seconds(10), "the cache listener") {
                let rows = try await owner.query(
                    """
                    SELECT count(*)::int8 FROM pg_stat_activity
                    WHERE datname = current_database() AND application_name = 'provisioner-listen:provisioner_cache'
                    """,
                    logger: TestDatabase.logger
                )
                for try await count in rows.decode(Int.self) { return count > 0 }
                return false
            }
        }
    }

    static func supportToken(_ url: DatabaseURL) async throws -> IssuedToken {
        try await token(url, role: .support, name: "fixture-support")
    }

    /// Creates tenants through the store (faster than through HTTP).
    @discardableResult
    static func tenants(_ url: DatabaseURL, _ slugsAndNames: [(String, String)]) async throws -> [TenantRecord] {
        let list = slugsAndNames.map { Pair(slug: $0.0, name: $0.1) }
        return try await withStores(url) { tenants, _ in
            var made: [TenantRecord] = []
            for pair in list {
                made.append(try await tenants.create(slug: TenantSlug(validating: pair.slug), displayName: pair.name, audit: audit("tenant.create")))
            }
            return made
        }
    }

    private struct Pair: Sendable {
        let slug: String
        let name: String
    }

    /// Percent-encodes a query parameter value (everything but unreserved characters).
    static func query(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        allowed = allowed.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(127)))
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}

/// An answer of the application, read once.
struct Reply: Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let body: Data

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object, or nil.
    var object: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
    }

    /// `items` of a list answer.
    var items: [[String: Any]] {
        (object?["items"] as? [[String: Any]]) ?? []
    }

    /// `next_cursor`: .some(nil) when present as null, nil when absent.
    var nextCursor: String?? {
        guard let object, object.keys.contains("next_cursor") else { return nil }
        return .some(object["next_cursor"] as? String)
    }
}

extension TestClientProtocol {
    /// Sends one request. `body` is sent as `application/json` unless `contentType` says otherwise.
    func send(
        _ method: HTTPRequest.Method,
        _ path: String,
        token: String? = nil,
        body: String? = nil,
        contentType: String = "application/json",
        requestID: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> Reply {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        if body != nil { headers[.contentType] = contentType }
        if let requestID { headers[HTTPField.Name("X-Request-Id")!] = requestID }
        let response = try await executeRequest(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        return Reply(status: response.status, headers: response.headers, body: Data(buffer: response.body))
    }
}

/// Checks that `reply` is an RFC 9457 problem with this status and code (and, if given, that
/// `errors` names `field`).
func expectProblem(
    _ reply: Reply, _ status: HTTPResponse.Status, _ code: String, field: String? = nil,
    _ comment: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
) {
    let context = comment.map { "\($0): " } ?? ""
    #expect(reply.status == status, "\(context)expected \(status.code) \(code), got \(reply.status.code): \(reply.text)", sourceLocation: sourceLocation)
    #expect(
        reply.headers[.contentType]?.hasPrefix("application/problem+json") == true,
        "\(context)content type \(reply.headers[.contentType] ?? "none")", sourceLocation: sourceLocation
    )
    guard let object = reply.object else {
        Issue.record("\(context)problem body is not a JSON object: \(reply.text)", sourceLocation: sourceLocation)
        return
    }
    #expect(object["code"] as? String == code, "\(context)code: \(reply.text)", sourceLocation: sourceLocation)
    #expect(object["status"] as? Int == Int(status.code), "\(context)status member: \(reply.text)", sourceLocation: sourceLocation)
    #expect(object["type"] is String, "\(context)type: \(reply.text)", sourceLocation: sourceLocation)
    #expect(object["title"] is String, "\(context)title: \(reply.text)", sourceLocation: sourceLocation)
    #expect((object["detail"] as? String)?.isEmpty == false, "\(context)detail: \(reply.text)", sourceLocation: sourceLocation)
    if let field {
        let errors = (object["errors"] as? [[String: Any]]) ?? []
        #expect(errors.contains { $0["field"] as? String == field }, "\(context)errors should name \(field): \(reply.text)", sourceLocation: sourceLocation)
    }
}

/// Parses an RFC 3339 time as the API writes it (UTC, `Z`).
func rfc3339(_ value: Any?) -> Date? {
    guard let text = value as? String, text.hasSuffix("Z") else { return nil }
    return try? LenientDateTranscoder().decode(text)
}
