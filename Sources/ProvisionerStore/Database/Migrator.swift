import Crypto
import Foundation
import Logging
import PostgresNIO

/// One SQL file of `migrations/`, named `NNNN_name.sql`.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String
    /// SHA-256 of the file, so that an applied file edited afterwards is noticed.
    public let checksum: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
        self.checksum = SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Whether a database that recorded `recorded` for this version ran this file: its
    /// checksum now, or the checksum of an earlier text of it that differed in comments only.
    public func matches(recorded: String) -> Bool {
        recorded == checksum || Self.commentOnlyEdits[version, default: []].contains(recorded)
    }

    /// Checksums of released files whose comments were edited later (never their SQL), by
    /// version. Databases migrated before the edit recorded these; they ran the same
    /// statements. 0001-0006 named, in their first lines, a brief that is not part of this
    /// repository; those references were removed. 0023 said its function saved three round
    /// trips, where it saves one.
    static let commentOnlyEdits: [Int: Set<String>] = [
        1: ["02940adccc6a599531f7affbfa718019dfedbc60623a47964f5481e42630b704"],
        2: ["c94542db06ee2e43c7d8e83850affb6fbebab9b4793a0362e76a9b4cc2732290"],
        3: ["7f7ad829ace1e4b0f2d25e9dbd194c529c9c785e9e8d3cd26aa74a30d2df50d7"],
        4: ["cd88bfae3cb8b16bce889651e9bf20877d685aa0c24c474aadf60de64a83acb7"],
        5: ["793faca172e2054c08e4965ffd1e89b0ef27c097c88383da970afae2495ae2a3"],
        6: ["851583ff02e442828a7b9856827d818356aefa8756eb997b68d4a3cc89343ffd"],
        23: ["6196c5158046702898fc2090db85995ead15b89fab631a18fde2e862c789ac45"],
    ]

    /// Reads every `NNNN_name.sql` of a folder, in version order.
    public static func load(from directory: String) throws(MigrationError) -> [Migration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw .folderUnreadable(directory)
        }
        var migrations: [Migration] = []
        for fileName in names.sorted() where fileName.hasSuffix(".sql") {
            let stem = fileName.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"),
                  stem[..<underscore].count == 4,
                  let version = Int(stem[..<underscore]), version > 0
            else { throw .badFileName(fileName) }
            guard let data = FileManager.default.contents(atPath: directory + "/" + fileName),
                  let sql = String(data: data, encoding: .utf8)
            else { throw .fileUnreadable(fileName) }
            if let previous = migrations.last, previous.version == version {
                throw .duplicateVersion(version)
            }
            migrations.append(Migration(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql))
        }
        return migrations
    }
}

public enum MigrationError: Error, CustomStringConvertible, Equatable {
    case folderUnreadable(String)
    case badFileName(String)
    case fileUnreadable(String)
    case duplicateVersion(Int)
    case editedAfterApply(version: Int, name: String)
    case unknownApplied(version: Int)
    case syntax(file: String, reason: String)
    case failed(file: String, statement: Int, reason: String)

    public var description: String {
        switch self {
        case .folderUnreadable(let path): "cannot read the migrations folder \(path)"
        case .badFileName(let name): "migration file \(name) is not named NNNN_name.sql"
        case .fileUnreadable(let name): "cannot read migration file \(name) as UTF-8"
        case .duplicateVersion(let version): "two migration files have version \(version)"
        case .editedAfterApply(let version, let name):
            "migration \(String(format: "%04d", version))_\(name).sql was edited after it was applied; write a new migration instead"
        case .unknownApplied(let version):
            "the database has migration \(version) applied, which no file here has; this binary is older than the schema"
        case .syntax(let file, let reason): "\(file): \(reason)"
        case .failed(let file, let statement, let reason): "\(file), statement \(statement): \(reason)"
        }
    }
}

/// Applies migrations in order, each in its own transaction, recorded with its checksum.
///
/// Several replicas may start at once: a transaction-scoped advisory lock serialises them,
/// and each re-reads what is applied once it holds the lock, so all but one find nothing
/// left to do.
public struct Migrator: Sendable {
    /// Arbitrary, fixed: the advisory lock key of "provisioner migrations".
    static let lockKey: Int64 = 0x7072_6F76_6D69_6772

    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Applies what is missing; returns the versions it applied.
    @discardableResult
    public func migrate(_ migrations: [Migration]) async throws -> [Int] {
        var statementsByVersion: [Int: [String]] = [:]
        for migration in migrations {
            do {
                statementsByVersion[migration.version] = try SQLScriptSplitter.statements(in: migration.sql)
            } catch {
                throw MigrationError.syntax(file: migration.fileName, reason: error.description)
            }
        }
        try await client.transaction(logger: logger) { connection in
            // Under the lock too: two CREATE TABLE IF NOT EXISTS at once can still collide.
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                logger: logger
            )
        }
        var applied: [Int] = []
        for migration in migrations {
            let didApply = try await client.transaction(logger: logger) { connection in
                // Held until this transaction ends; replicas wait here one after another.
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
                let recorded = try await Self.applied(on: connection, logger: logger)
                if let checksum = recorded[migration.version] {
                    guard migration.matches(recorded: checksum) else {
                        throw MigrationError.editedAfterApply(version: migration.version, name: migration.name)
                    }
                    return false
                }
                for (number, statement) in (statementsByVersion[migration.version] ?? []).enumerated() {
                    do {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    } catch let error as PSQLError {
                        throw MigrationError.failed(
                            file: migration.fileName,
                            statement: number + 1,
                            reason: error.serverInfo?[.message] ?? String(describing: error.code)
                        )
                    }
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(migration.checksum))",
                    logger: logger
                )
                return true
            }
            if didApply {
                logger.info("applied migration", metadata: ["migration": "\(migration.fileName)"])
                applied.append(migration.version)
            }
        }
        // Refuse a database that is ahead of, or differs from, these files.
        let recorded = try await client.withConnection { try await Self.applied(on: $0, logger: logger) }
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        for (version, checksum) in recorded.sorted(by: { $0.key < $1.key }) {
            guard let migration = known[version] else { throw MigrationError.unknownApplied(version: version) }
            if !migration.matches(recorded: checksum) {
                throw MigrationError.editedAfterApply(version: version, name: migration.name)
            }
        }
        return applied
    }

    /// Versions and checksums recorded in the database.
    static func applied(on connection: PostgresConnection, logger: Logger) async throws -> [Int: String] {
        var recorded: [Int: String] = [:]
        let rows = try await connection.query("SELECT version, checksum FROM schema_migrations", logger: logger)
        for try await (version, checksum) in rows.decode((Int, String).self) {
            recorded[version] = checksum
        }
        return recorded
    }
}

extension Migration {
    var fileName: String { String(format: "%04d", version) + "_" + name + ".sql" }
}

extension Migrator {
    /// Whether `error` says the database lacks what `provisioner migrate` makes, rather than
    /// that it is away: the application role (invalid_parameter_value when a transaction takes
    /// it, undefined_object), a table (undefined_table: the migrations table first) or a
    /// function (undefined_function: `take_role_and_scope`, the first statement of every unit).
    public static func isNotMigrated(_ error: any Error) -> Bool {
        guard let sqlState = (error as? PSQLError)?.serverInfo?[.sqlState] else { return false }
        return ["22023", "42704", "42P01", "42883"].contains(sqlState)
    }
}
