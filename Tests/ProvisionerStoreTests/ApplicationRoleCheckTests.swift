import Foundation
import Logging
import PostgresNIO
import ProvisionerStore
import ProvisionerTestSupport
import Testing

/// `serve`, `work` and `run` refuse to start unless, after the role is
/// taken, the session is `provisioner_app`, not superuser, without BYPASSRLS.
///
/// Roles belong to the whole cluster, and the suites run in parallel on one cluster: altering
/// `provisioner_app` itself to SUPERUSER would switch row-level security off under every other
/// test. So the wrong roles are throwaway roles made for each test, taken with `SET ROLE` as
/// the service takes `provisioner_app`, and checked as if they were the expected role.
@Suite struct ApplicationRoleCheckTests {
    static let logger = TestDatabase.logger

    @Test(arguments: [
        DatabaseClientFactory.Purpose.application(maximumConnections: 1),
        .worker(maximumConnections: 1),
    ])
    func theServiceRolePasses(purpose: DatabaseClientFactory.Purpose) async throws {
        try await TestDatabase.withFreshDatabase { url in
            // As at start-up: one connection of its own. The URL names the owner, a member of
            // `provisioner_app` through `provisioner migrate`: each transaction takes the role.
            try await ApplicationRoleCheck.verify(url: url, logger: Self.logger)
            // And on a connection of the pool the service then runs on.
            try await TestDatabase.withClient(url, purpose: purpose) { client in
                try await client.withConnection { connection in
                    try await ApplicationRoleCheck.verify(on: connection, logger: Self.logger)
                }
            }
        }
    }

    /// The login roles a deployment behind a pooler uses: NOINHERIT, so that the login role
    /// itself can do nothing, granted `provisioner_app`: passes. Not granted it: refused, saying
    /// what to grant.
    @Test(arguments: [true, false])
    func aLoginRoleMustBeGrantedTheServiceRole(granted: Bool) async throws {
        try await TestDatabase.withFreshDatabase { url in
            let login = "login_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
            let password = UUID().uuidString
            try await TestDatabase.withClient(url, purpose: .owner) { client in
                try await client.query("CREATE ROLE \(unescaped: String(login)) LOGIN NOINHERIT PASSWORD '\(unescaped: password)'", logger: Self.logger)
                if granted {
                    try await client.query("GRANT provisioner_app TO \(unescaped: String(login))", logger: Self.logger)
                }
            }
            var loginURL = url
            loginURL.username = String(login)
            loginURL.password = password
            do {
                if granted {
                    try await ApplicationRoleCheck.verify(url: loginURL, logger: Self.logger)
                } else {
                    let refusal = await #expect(throws: ApplicationRoleCheck.Refusal.self) {
                        try await ApplicationRoleCheck.verify(url: loginURL, logger: Self.logger)
                    }
                    #expect(refusal?.description.contains("GRANT provisioner_app TO") == true, "\(String(describing: refusal))")
                }
            } catch {
                Issue.record(error)
            }
            try await TestDatabase.withClient(url, purpose: .owner) { client in
                try await client.query("DROP OWNED BY \(unescaped: String(login))", logger: Self.logger)
                try await client.query("DROP ROLE \(unescaped: String(login))", logger: Self.logger)
            }
        }
    }

    /// A NOLOGIN role with `attributes`, taken with SET ROLE on an owner's connection to a fresh
    /// database; `body` runs with the connection and the role's name. The role is dropped after.
    static func asThrowawayRole<T: Sendable>(
        _ attributes: String,
        setUp: [String] = [],
        _ body: @escaping @Sendable (PostgresConnection, String) async throws -> T
    ) async throws -> T {
        try await TestDatabase.withFreshDatabase { url in
            let role = "rolecheck_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
            return try await TestDatabase.withClient(url, purpose: .owner) { client in
                try await client.query("CREATE ROLE \(unescaped: String(role)) NOLOGIN \(unescaped: attributes)", logger: logger)
                do {
                    let result = try await client.withConnection { connection in
                        for statement in setUp {
                            try await connection.query(PostgresQuery(unsafeSQL: statement.replacingOccurrences(of: "ROLE_NAME", with: String(role))), logger: logger)
                        }
                        try await connection.query("SET ROLE \(unescaped: String(role))", logger: logger)
                        let outcome: Result<T, any Error>
                        do {
                            outcome = .success(try await body(connection, String(role)))
                        } catch {
                            outcome = .failure(error)
                        }
                        // The connection goes back to the pool, which drops the role next.
                        try await connection.query("RESET ROLE", logger: logger)
                        return try outcome.get()
                    }
                    try await client.query("DROP OWNED BY \(unescaped: String(role))", logger: logger)
                    try await client.query("DROP ROLE \(unescaped: String(role))", logger: logger)
                    return result
                } catch {
                    _ = try? await client.query("DROP OWNED BY \(unescaped: String(role))", logger: logger)
                    _ = try? await client.query("DROP ROLE \(unescaped: String(role))", logger: logger)
                    throw error
                }
            }
        }
    }

    /// What `verify` refuses with, or nil when it passes.
    static func refusal(on connection: PostgresConnection, expectedRole: String) async throws -> String? {
        do {
            try await ApplicationRoleCheck.verify(on: connection, expectedRole: expectedRole, logger: logger)
            return nil
        } catch let refusal as ApplicationRoleCheck.Refusal {
            return refusal.description
        }
    }

    @Test func aRoleLikeTheServiceRolePasses() async throws {
        let refusal = try await Self.asThrowawayRole("NOSUPERUSER NOBYPASSRLS") { connection, role in
            try await Self.refusal(on: connection, expectedRole: role)
        }
        #expect(refusal == nil)
    }

    @Test(arguments: [
        ("SUPERUSER", ["is a superuser"], ["BYPASSRLS"]),
        ("NOSUPERUSER BYPASSRLS", ["has BYPASSRLS"], ["superuser"]),
        ("SUPERUSER BYPASSRLS", ["is a superuser", "has BYPASSRLS"], []),
    ])
    func aRoleThatRowLevelSecurityDoesNotBindIsRefused(attributes: String, said: [String], notSaid: [String]) async throws {
        let refusal = try await Self.asThrowawayRole(attributes) { connection, role in
            try await Self.refusal(on: connection, expectedRole: role)
        }
        let text = try #require(refusal)
        for phrase in said { #expect(text.contains(phrase), "\(text)") }
        for phrase in notSaid { #expect(!text.contains(phrase), "\(text)") }
        #expect(text.hasPrefix("refusing to start"))
        #expect(!text.contains("\n"))
    }

    @Test func aRoleThatOwnsATableIsRefused() async throws {
        let refusal = try await Self.asThrowawayRole("NOSUPERUSER NOBYPASSRLS", setUp: [
            "CREATE TABLE owned_by_app (id int)", "ALTER TABLE owned_by_app OWNER TO ROLE_NAME",
        ]) { connection, role in
            try await Self.refusal(on: connection, expectedRole: role)
        }
        #expect(refusal?.contains("owns 1 table") == true, "\(refusal ?? "passed")")
    }
}
