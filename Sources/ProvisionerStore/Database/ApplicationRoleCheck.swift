import Logging
import PostgresNIO

/// The start-up check of `serve`, `work` and `run`: after a transaction takes the role as every
/// transaction of the service does (`Database.takeRoleAndScope`), it must be `provisioner_app`,
/// neither superuser nor BYPASSRLS nor the owner of a table, or row-level security would not
/// bind it and tenant isolation would rest on the application alone. A deployment that got
/// this wrong (a login role not granted `provisioner_app`, `ALTER ROLE provisioner_app
/// SUPERUSER` by a hurried operator) is refused, not run.
public enum ApplicationRoleCheck {
    /// What is wrong with the role, in one line for the operator.
    public struct Refusal: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// What the session runs as.
    struct Facts: Sendable {
        let currentUser: String
        let isSuperuser: Bool
        let bypassesRLS: Bool
        let ownedTables: Int
    }

    /// Connects as the service's clients do and checks the role its transactions take. Throws
    /// `Refusal` when the role is wrong, and whatever stopped the connection otherwise (an error
    /// `DatabaseUnavailable.isUnavailability` recognises when the database is not there).
    public static func verify(
        url: DatabaseURL,
        expectedRole: String = DatabaseClientFactory.applicationRole,
        logger: Logger
    ) async throws {
        let connection = try await withDeadline(.seconds(10)) {
            try await DatabaseClientFactory.connect(url: url, logger: logger)
        }
        do {
            try await withDeadline(.seconds(5)) {
                try await verify(on: connection, expectedRole: expectedRole, logger: logger)
            }
            try? await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Checks the role a transaction of the service takes on `connection` (rolled back).
    public static func verify(on connection: PostgresConnection, expectedRole: String = DatabaseClientFactory.applicationRole, logger: Logger) async throws {
        try await connection.query("BEGIN", logger: logger)
        let facts: Facts
        do {
            facts = try await readFacts(on: connection, expectedRole: expectedRole, logger: logger)
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
        try await connection.query("ROLLBACK", logger: logger)
        if let refusal = refusal(facts, expectedRole: expectedRole) {
            throw refusal
        }
    }

    private static func readFacts(on connection: PostgresConnection, expectedRole: String, logger: Logger) async throws -> Facts {
        do {
            _ = try await connection.query(Database.takeRoleAndScope(.allTenants, role: expectedRole), logger: logger).collect()
        } catch let error as PSQLError where error.sqlState == "42501" {
            throw Refusal(description: "refusing to start: the role of DATABASE_URL may not take '\(expectedRole)' (GRANT \(expectedRole) TO that role; `provisioner migrate` does it for the role it runs as)")
        }
        let rows = try await connection.query(
            """
            SELECT current_user::text, r.rolsuper, r.rolbypassrls,
                   (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid AND c.relkind IN ('r', 'p', 'v', 'm'))::int8
            FROM pg_roles r WHERE r.rolname = current_user
            """,
            logger: logger
        )
        guard let (user, superuser, bypassRLS, owned) = try await rows.decode((String, Bool, Bool, Int64).self).first(where: { _ in true }) else {
            throw Refusal(description: "the database role of the session is not in pg_roles")
        }
        return Facts(currentUser: user, isSuperuser: superuser, bypassesRLS: bypassRLS, ownedTables: Int(owned))
    }

    /// Everything wrong at once, so that one restart after the fix is enough.
    static func refusal(_ facts: Facts, expectedRole: String) -> Refusal? {
        var problems: [String] = []
        if facts.currentUser != expectedRole {
            problems.append("queries run as '\(facts.currentUser)', not '\(expectedRole)'")
        }
        if facts.isSuperuser {
            problems.append("'\(facts.currentUser)' is a superuser (ALTER ROLE \(facts.currentUser) NOSUPERUSER)")
        }
        if facts.bypassesRLS {
            problems.append("'\(facts.currentUser)' has BYPASSRLS (ALTER ROLE \(facts.currentUser) NOBYPASSRLS)")
        }
        if facts.ownedTables > 0 {
            problems.append("'\(facts.currentUser)' owns \(facts.ownedTables) table(s) or view(s); the role of DATABASE_URL should own them")
        }
        guard !problems.isEmpty else { return nil }
        return Refusal(description: "refusing to start: row-level security would not bind the service: " + problems.joined(separator: "; "))
    }
}
