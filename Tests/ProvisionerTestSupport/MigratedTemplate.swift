import Logging
import PostgresNIO
import ProvisionerStore

/// The database every fresh migrated test database is copied from (`CREATE DATABASE ...
/// TEMPLATE`): migrated once per set of migration files, instead of once per test.
///
/// Migrating a database takes about 0.6 s of PostgreSQL's time on the 2-core machine, copying
/// one 0.1 s. A full `make test` makes a few hundred of them, all suites starting at once: the
/// migrations were most of the load under which requests of other tests waited past the
/// service's 5 s database deadline and failed with 503.
///
/// The name carries a hash of the files' versions and checksums, so an edited or added
/// migration makes a new template. Test processes sharing the server take turns under an
/// advisory lock; `datistemplate` marks a template as complete, so one left half-made by a
/// killed run is made again.
public actor MigratedTemplate {
    public static let shared = MigratedTemplate()

    private var made: Task<String, any Error>?

    /// The template's name, made first if it does not exist yet.
    public func name(on server: DatabaseURL) async throws -> String {
        if let made { return try await made.value }
        let task = Task { try await Self.make(on: server) }
        made = task
        return try await task.value
    }

    static let prefix = "test_template_"
    /// The advisory lock of making a template, on the server's own database.
    static let lockKey: Int64 = 0x7465_6D70_6C61

    static func name(of migrations: [Migration]) -> String {
        // FNV-1a: a name, not a secret.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in migrations.map({ "\($0.version):\($0.checksum)" }).joined(separator: ",").utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return prefix + String(hash, radix: 16)
    }

    static func make(on server: DatabaseURL) async throws -> String {
        let logger = TestDatabase.logger
        let migrations = try TestDatabase.migrations()
        let name = name(of: migrations)
        try await TestDatabase.withClient(server, purpose: .owner) { client in
            try await client.withConnection { connection in
                // Released at the end, or with the session if a step fails (the client closes).
                try await connection.query("SELECT pg_advisory_lock(\(lockKey))", logger: logger)
                let complete = try await connection.query(
                    "SELECT datistemplate FROM pg_database WHERE datname = \(name)", logger: logger
                ).collect().first.map { try $0.decode(Bool.self) }
                if complete != true {
                    try await build(name, migrations: migrations, server: server, on: connection)
                }
                try await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
            }
        }
        return name
    }

    private static func build(_ name: String, migrations: [Migration], server: DatabaseURL, on connection: PostgresConnection) async throws {
        let logger = TestDatabase.logger
        // Earlier templates (other migrations, or one left half-made) go first.
        let stale = try await connection.query(
            "SELECT datname FROM pg_database WHERE starts_with(datname, \(prefix))", logger: logger
        ).collect().map { try $0.decode(String.self) }
        for old in stale {
            try await connection.query("ALTER DATABASE \(unescaped: old) IS_TEMPLATE false", logger: logger)
            try await connection.query("DROP DATABASE \(unescaped: old) WITH (FORCE)", logger: logger)
        }
        try await connection.query("CREATE DATABASE \(unescaped: name)", logger: logger)
        try await TestDatabase.withClient(server.with(database: name), purpose: .owner) { client in
            try await Migrator(client: client, logger: logger).migrate(migrations)
        }
        // A copy is refused while anyone is connected to the template: the migrating client's
        // connections may still be closing.
        for _ in 0..<100 {
            let open = try await connection.query(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = \(name)", logger: logger
            ).collect().first.map { try $0.decode(Int64.self) } ?? 0
            if open == 0 { break }
            try await connection.query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(name)", logger: logger
            )
            try await Task.sleep(for: .milliseconds(20))
        }
        try await connection.query("ALTER DATABASE \(unescaped: name) IS_TEMPLATE true", logger: logger)
    }
}
