import Foundation
import PostgresNIO
import ProvisionerTestSupport
import Testing
@testable import ProvisionerStore

@Suite struct MigratorTests {
    let logger = TestDatabase.logger

    @Test func appliesEveryFileOnceAndRecordsChecksums() async throws {
        let migrations = try TestDatabase.migrations()
        try await TestDatabase.withFreshDatabase(migrated: false) { url in
            try await TestDatabase.withClient(url, purpose: .owner) { client in
                let migrator = Migrator(client: client, logger: logger)
                let first = try await migrator.migrate(migrations)
                #expect(first == migrations.map(\.version))
                let second = try await migrator.migrate(migrations)
                #expect(second.isEmpty)
                let recorded = try await client.withConnection { try await Migrator.applied(on: $0, logger: logger) }
                #expect(recorded == Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0.checksum) }))
            }
        }
    }

    @Test func concurrentRunsApplyEachMigrationExactlyOnce() async throws {
        let migrations = try TestDatabase.migrations()
        try await TestDatabase.withFreshDatabase(migrated: false) { url in
            let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await TestDatabase.withClient(url, purpose: .owner) { client in
                            try await Migrator(client: client, logger: logger).migrate(migrations)
                        }
                    }
                }
                var all: [Int] = []
                for try await versions in group { all += versions }
                return all
            }
            #expect(applied.sorted() == migrations.map(\.version))
        }
    }

    @Test func refusesAnAppliedFileThatWasEdited() async throws {
        try await TestDatabase.withFreshDatabase(migrated: false) { url in
            try await TestDatabase.withClient(url, purpose: .owner) { client in
                let migrator = Migrator(client: client, logger: logger)
                try await migrator.migrate([Migration(version: 1, name: "first", sql: "CREATE TABLE t (a int);")])
                await #expect(throws: MigrationError.editedAfterApply(version: 1, name: "first")) {
                    try await migrator.migrate([Migration(version: 1, name: "first", sql: "CREATE TABLE t (a bigint);")])
                }
            }
        }
    }

    /// A database migrated before the comments of 0001-0006 and 0023 were edited recorded their earlier
    /// checksums: it is accepted, and nothing is applied again; any other checksum is refused.
    @Test func earlierTextsOfReleasedFilesThatDifferInCommentsOnlyAreAccepted() async throws {
        let migrations = try TestDatabase.migrations()
        try await TestDatabase.withFreshDatabase(migrated: false) { url in
            try await TestDatabase.withClient(url, purpose: .owner) { client in
                let migrator = Migrator(client: client, logger: logger)
                _ = try await migrator.migrate(migrations)
                for (version, checksums) in Migration.commentOnlyEdits {
                    let earlier = try #require(checksums.first)
                    try await client.query("UPDATE schema_migrations SET checksum = \(earlier) WHERE version = \(version)", logger: logger)
                }
                #expect(try await migrator.migrate(migrations).isEmpty)
                try await client.query("UPDATE schema_migrations SET checksum = \(String(repeating: "0", count: 64)) WHERE version = 3", logger: logger)
                await #expect(throws: MigrationError.self) { try await migrator.migrate(migrations) }
            }
        }
    }

    @Test func appliesAFileWithManyStatementsAndAFunctionBody() async throws {
        let sql = """
            -- several statements; one of them a PL/pgSQL body with semicolons inside
            CREATE TABLE counters (name text PRIMARY KEY, value int NOT NULL DEFAULT 0);
            CREATE FUNCTION bump(n text) RETURNS int LANGUAGE plpgsql AS $$
            DECLARE result int;
            BEGIN
                INSERT INTO counters (name, value) VALUES (n, 1)
                ON CONFLICT (name) DO UPDATE SET value = counters.value + 1
                RETURNING value INTO result;
                RETURN result; -- ';' inside the body
            END
            $$;
            INSERT INTO counters (name) VALUES ('it''s; quoted');
            """
        try await TestDatabase.withFreshDatabase(migrated: false) { url in
            try await TestDatabase.withClient(url, purpose: .owner) { client in
                try await Migrator(client: client, logger: logger).migrate([Migration(version: 1, name: "many", sql: sql)])
                let rows = try await client.query("SELECT bump('x'), bump('x')", logger: logger)
                for try await (a, b) in rows.decode((Int, Int).self) {
                    #expect(a == 1 && b == 2)
                }
                let count = try await client.query("SELECT count(*) FROM counters WHERE name = 'it''s; quoted'", logger: logger)
                for try await n in count.decode(Int.self) { #expect(n == 1) }
            }
        }
    }

    @Test func aFailingMigrationLeavesNothingBehind() async throws {
        try await TestDatabase.withFreshDatabase(migrated: false) { url in
            try await TestDatabase.withClient(url, purpose: .owner) { client in
                let broken = Migration(version: 1, name: "broken", sql: "CREATE TABLE half (a int); SELECT no_such_function();")
                await #expect(throws: MigrationError.self) {
                    try await Migrator(client: client, logger: logger).migrate([broken])
                }
                let rows = try await client.query("SELECT to_regclass('half') IS NULL, (SELECT count(*) FROM schema_migrations)", logger: logger)
                for try await (absent, recorded) in rows.decode((Bool, Int).self) {
                    #expect(absent)
                    #expect(recorded == 0)
                }
            }
        }
    }

    @Test func loadRefusesBadFileNames() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "SELECT 1;".write(to: directory.appendingPathComponent("1_short.sql"), atomically: true, encoding: .utf8)
        #expect(throws: MigrationError.badFileName("1_short.sql")) { try Migration.load(from: directory.path) }
    }

    @Test func theServiceRoleIsLeastPrivileged() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url, purpose: .application(maximumConnections: 2)) { client in
                let rows = try await client.query(
                    """
                    SELECT current_user, r.rolsuper, r.rolbypassrls, r.rolcanlogin,
                           (SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user)
                    FROM pg_roles r WHERE r.rolname = current_user
                    """,
                    logger: logger
                )
                for try await (user, isSuper, bypass, login, owned) in rows.decode((String, Bool, Bool, Bool, Int).self) {
                    #expect(user == "provisioner_app")
                    #expect(!isSuper && !bypass && !login)
                    #expect(owned == 0)
                }
            }
        }
    }
}
