import Foundation
import Logging
import PostgresNIO
import ProvisionerStore
import ProvisionerTestSupport
import Testing

/// Nothing of the service outlives its transaction on a connection, so that a pooler in
/// transaction mode may hand each transaction to another server connection
/// (`scripts/pooler-test.sh` runs the whole service that way; these are the fast checks).
@Suite struct SessionStateTests {
    static let logger = TestDatabase.logger

    /// What a source line must not say: session-level settings, named prepared statements,
    /// session-scoped advisory locks, LISTEN outside `PostgresListener`.
    static let sessionFeatures: [(pattern: String, why: String)] = [
        ("PostgresPreparedStatement", "a named prepared statement lives on one server connection"),
        ("prepareStatement(", "a named prepared statement lives on one server connection"),
        ("pg_advisory_lock(", "a session advisory lock outlives the transaction: use pg_advisory_xact_lock"),
        ("pg_try_advisory_lock(", "a session advisory lock outlives the transaction: use pg_try_advisory_xact_lock"),
        ("\"SET ", "SET without LOCAL sets the session: use set_config(..., true) in Database.takeRoleAndScope"),
        ("', false)", "set_config(..., false) sets the session"),
        ("\"LISTEN ", "LISTEN belongs to PostgresListener's own connection"),
        (".listen(on:", "LISTEN belongs to PostgresListener's own connection"),
    ]

    @Test func noSourceUsesASessionFeature() throws {
        let sources = try SourceLines()
        var offenders: [String] = []
        for line in sources.lines {
            for (pattern, why) in Self.sessionFeatures where line.text.contains(pattern) {
                if line.file == "PostgresListener.swift" && pattern == ".listen(on:" { continue }
                offenders.append("\(line.file): \(line.text) (\(why))")
            }
        }
        #expect(sources.filesScanned > 10)
        #expect(offenders.isEmpty, "\(offenders)")
    }

    /// After a transaction of the service, its connection is as it was: no role, no scope.
    @Test func aTransactionLeavesNothingOnItsConnection() async throws {
        try await TestDatabase.withFreshDatabase { url in
            // One connection, so the second query surely runs where the transaction ran.
            let client = DatabaseClientFactory.makeClient(url: url, purpose: .application(maximumConnections: 1), logger: Self.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                let database = TestDatabase.database(client, logger: Self.logger)
                let inside = try await database.transaction(.tenant(UUID())) { connection in
                    try await Self.session(on: connection)
                }
                #expect(inside.role == DatabaseClientFactory.applicationRole)
                #expect(inside.allTenants == "off")
                #expect(!inside.tenantID.isEmpty)
                let after = try await client.withConnection { try await Self.session(on: $0) }
                #expect(after.role == url.username, "the connection kept the role: \(after)")
                #expect(after.allTenants == "", "the connection kept the scope: \(after)")
                #expect(after.tenantID == "", "the connection kept the tenant: \(after)")
            }
        }
    }

    static func session(on connection: PostgresConnection) async throws -> (role: String, allTenants: String, tenantID: String) {
        let rows = try await connection.query(
            """
            SELECT current_user::text, coalesce(current_setting('provisioner.all_tenants', true), ''),
                   coalesce(current_setting('provisioner.tenant_id', true), '')
            """,
            logger: logger
        )
        for try await row in rows.decode((String, String, String).self) { return row }
        throw TestDatabaseError("no row")
    }
}
