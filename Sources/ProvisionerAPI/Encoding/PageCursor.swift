import Foundation
import ProvisionerStore

/// The opaque `cursor` of list operations: `<sort key>.<32 hex digits>`, as openapi.yaml
/// publishes so that a malformed one is refused with 400 and a well-formed one only positions
/// the page.
enum PageCursor {
    static func encode(_ key: PageKey) -> String {
        "\(key.micros)." + key.id.uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    /// Pages keyed by a number alone (audit ids, URI set versions); the hex part is unused.
    static func encode(sortKey: Int64) -> String {
        "\(sortKey)." + String(repeating: "0", count: 32)
    }

    static func decode(_ cursor: String?) throws -> PageKey? {
        guard let cursor else { return nil }
        let parts = cursor.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...18).contains(parts[0].count), parts[0].allSatisfy(\.isASCIIDigit),
              let micros = Int64(parts[0]), parts[1].count == 32, parts[1].allSatisfy(\.isLowercaseHexDigit)
        else {
            throw Problem.invalid("cursor", "The cursor is malformed; pass back the next_cursor of the previous page.")
        }
        let hex = Array(parts[1])
        let uuidText = String(hex[0..<8]) + "-" + String(hex[8..<12]) + "-" + String(hex[12..<16]) + "-" + String(hex[16..<20]) + "-" + String(hex[20..<32])
        guard let id = UUID(uuidString: uuidText) else {
            throw Problem.invalid("cursor", "The cursor is malformed; pass back the next_cursor of the previous page.")
        }
        return PageKey(micros: micros, id: id)
    }

    static func decodeAuditID(_ cursor: String?) throws -> Int64? {
        try decode(cursor)?.micros
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
    var isLowercaseHexDigit: Bool { ("0"..."9").contains(self) || ("a"..."f").contains(self) }
}
