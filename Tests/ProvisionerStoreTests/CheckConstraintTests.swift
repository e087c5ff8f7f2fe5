import Logging
import PostgresNIO
import ProvisionerStore
import ProvisionerTestSupport
import SeededRandom
import Testing

/// The CHECK constraints that migration 0027 rewrote without counted repetitions accept exactly
/// the strings their original regular expressions accepted. Each constraint is read back from
/// the migrated database (`pg_get_constraintdef`), so what is compared is what the tables
/// enforce, and evaluated beside its original expression over valid values, every one-character
/// change, deletion and insertion of them, and random strings around the valid length.
@Suite struct CheckConstraintTests {
    static let logger = TestDatabase.logger

    struct Case: Sendable, CustomTestStringConvertible {
        let table: String
        let constraint: String
        let column: String
        /// The expression the constraint had before 0027: the specification.
        let original: String
        /// Values it accepts.
        let valid: [String]
        var testDescription: String { constraint }
    }

    static let cases = [
        Case(
            table: "credentials", constraint: "credentials_sha256_check", column: "sha256",
            original: "^[0-9a-f]{64}$",
            valid: [String(repeating: "0", count: 64), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]
        ),
        Case(
            table: "credentials", constraint: "credentials_trace_parent_check", column: "trace_parent",
            original: "^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
            valid: ["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-" + String(repeating: "f", count: 32) + "-" + String(repeating: "0", count: 16) + "-ff"]
        ),
        Case(
            table: "tenants", constraint: "tenants_slug_check", column: "slug",
            original: "^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$",
            valid: ["abc", "a-b", "a--b", "0-9", "acme-japan", String(repeating: "z", count: 63), "a" + String(repeating: "-", count: 61) + "9"]
        ),
    ]

    /// Characters on both sides of every boundary the expressions draw: the ends of the ranges,
    /// their neighbours, upper case, the separator, white space and a multi-byte letter.
    static let alphabet: [Character] = ["0", "9", "a", "f", "g", "z", "A", "F", "/", ":", "`", "{", "-", " ", "\n", "é", "０"]

    static func samples(of valid: [String], seed: UInt64) -> [String] {
        var out: [String] = ["", "-", "\n"]
        for value in valid {
            let chars = Array(value)
            out.append(value)
            out.append(value + "\n")
            out.append("\n" + value)
            for i in chars.indices {
                var deleted = chars
                deleted.remove(at: i)
                out.append(String(deleted))
                for c in alphabet {
                    var replaced = chars
                    replaced[i] = c
                    out.append(String(replaced))
                }
            }
            for i in 0...chars.count {
                for c in alphabet {
                    var inserted = chars
                    inserted.insert(c, at: i)
                    out.append(String(inserted))
                }
            }
        }
        var random = SeededRandom(seed: seed)
        var lengths: [Int] = []
        for length in Set(valid.map(\.count)) {
            lengths += (max(0, length - 2)...(length + 2))
        }
        for _ in 0..<2000 {
            let length = lengths[random.next(below: lengths.count)]
            out.append(String((0..<length).map { _ in alphabet[random.next(below: alphabet.count)] }))
        }
        return out
    }

    @Test(arguments: cases)
    func acceptsExactlyWhatTheOriginalExpressionAccepted(_ check: Case) async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url, purpose: .owner) { client in
                let definitions = try await client.query(
                    "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = \(check.constraint) AND conrelid = \(check.table)::regclass",
                    logger: Self.logger
                ).collect().map { try $0.decode(String.self) }
                let definition = try #require(definitions.first, "no constraint \(check.constraint)")
                #expect(!definition.contains("{"), "a counted repetition is back: \(definition)")
                let expression = try #require(
                    definition.hasPrefix("CHECK (") && definition.hasSuffix(")") ? String(definition.dropFirst(7).dropLast()) : nil,
                    "unexpected definition \(definition)"
                )

                let samples = Self.samples(of: check.valid, seed: UInt64(check.constraint.utf8.count))
                // A CHECK is met unless its expression is false (NULL passes).
                var query = PostgresQuery(unsafeSQL: """
                    SELECT \(check.column), coalesce(\(check.column) ~ $2, true), coalesce(\(expression), true)
                    FROM unnest($1::text[]) AS sample(\(check.column))
                    """)
                query.binds.append(samples)
                query.binds.append(check.original)
                let rows = try await client.query(query, logger: Self.logger).collect()
                #expect(rows.count == samples.count)
                var accepted = 0
                for row in rows {
                    let (value, expected, actual) = try row.decode((String, Bool, Bool).self)
                    #expect(actual == expected, "\(check.constraint) on \(value.debugDescription): \(actual), the original \(expected)")
                    if expected { accepted += 1 }
                }
                // The samples reach both sides of the rule.
                #expect(accepted >= check.valid.count)
                #expect(accepted < samples.count / 2)
            }
        }
    }
}
