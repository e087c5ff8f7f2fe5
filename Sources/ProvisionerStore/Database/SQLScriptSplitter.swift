import Foundation

/// Splits a migration file into single statements.
///
/// PostgresNIO sends every query through the extended protocol as one prepared statement,
/// which cannot hold several SQL statements, so a migration file is cut at each top-level
/// `;`. The cut must not fall inside a string, a quoted identifier, a comment or a
/// dollar-quoted body (`$$ ... $$`, `$fn$ ... $fn$`) such as a PL/pgSQL function.
public enum SQLScriptSplitter {
    public struct UnterminatedError: Error, CustomStringConvertible, Equatable {
        public let construct: String
        public let line: Int
        public var description: String { "unterminated \(construct) starting on line \(line)" }
    }

    public static func statements(in script: String) throws(UnterminatedError) -> [String] {
        let bytes = Array(script.utf8)
        var statements: [String] = []
        var start = 0
        var index = 0

        func lineOf(_ position: Int) -> Int {
            1 + bytes[..<position].reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
        }

        func flush(upTo end: Int) {
            let text = String(decoding: bytes[start..<end], as: UTF8.self)
            if !isOnlyCommentsAndSpace(text) {
                statements.append(text.trimmingWhitespace())
            }
        }

        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "-") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "-"):
                while index < bytes.count && bytes[index] != UInt8(ascii: "\n") { index += 1 }
            case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*"):
                // Block comments nest in PostgreSQL.
                let opened = index
                var depth = 0
                repeat {
                    if index + 1 < bytes.count && bytes[index] == UInt8(ascii: "/") && bytes[index + 1] == UInt8(ascii: "*") {
                        depth += 1
                        index += 2
                    } else if index + 1 < bytes.count && bytes[index] == UInt8(ascii: "*") && bytes[index + 1] == UInt8(ascii: "/") {
                        depth -= 1
                        index += 2
                    } else if index < bytes.count {
                        index += 1
                    } else {
                        throw UnterminatedError(construct: "block comment", line: lineOf(opened))
                    }
                } while depth > 0
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                // Quotes are escaped by doubling. E'' strings also take backslash escapes.
                let quote = byte
                let opened = index
                let backslashEscapes = quote == UInt8(ascii: "'") && index > 0
                    && (bytes[index - 1] == UInt8(ascii: "E") || bytes[index - 1] == UInt8(ascii: "e"))
                index += 1
                while true {
                    guard index < bytes.count else {
                        throw UnterminatedError(construct: quote == UInt8(ascii: "'") ? "string" : "quoted identifier", line: lineOf(opened))
                    }
                    if backslashEscapes && bytes[index] == UInt8(ascii: "\\") {
                        index += 2
                        continue
                    }
                    if bytes[index] == quote {
                        if index + 1 < bytes.count && bytes[index + 1] == quote {
                            index += 2
                            continue
                        }
                        index += 1
                        break
                    }
                    index += 1
                }
            case UInt8(ascii: "$"):
                guard let tag = dollarTag(in: bytes, at: index) else {
                    index += 1
                    continue
                }
                let opened = index
                index += tag.count
                guard let close = find(tag, in: bytes, from: index) else {
                    throw UnterminatedError(construct: "dollar-quoted body \(String(decoding: tag, as: UTF8.self))", line: lineOf(opened))
                }
                index = close + tag.count
            case UInt8(ascii: ";"):
                flush(upTo: index)
                index += 1
                start = index
            default:
                index += 1
            }
        }
        if start < bytes.count { flush(upTo: bytes.count) }
        return statements
    }

    /// `$tag$` where tag is empty or an identifier not starting with a digit; `$1` is a
    /// parameter, not a quote.
    private static func dollarTag(in bytes: [UInt8], at index: Int) -> [UInt8]? {
        if index > 0, isIdentifierByte(bytes[index - 1]) { return nil }
        var end = index + 1
        while end < bytes.count, isIdentifierByte(bytes[end]) { end += 1 }
        guard end < bytes.count, bytes[end] == UInt8(ascii: "$") else { return nil }
        if end > index + 1, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index + 1]) { return nil }
        return Array(bytes[index...end])
    }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_") || byte >= 0x80
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard needle.count <= bytes.count else { return nil }
        var index = start
        while index + needle.count <= bytes.count {
            if bytes[index] == needle[0] && bytes[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    private static func isOnlyCommentsAndSpace(_ text: String) -> Bool {
        var remaining = Substring(text)
        while true {
            remaining = remaining.drop(while: { $0.isWhitespace })
            if remaining.isEmpty { return true }
            if remaining.hasPrefix("--") {
                remaining = remaining.drop(while: { $0 != "\n" })
            } else if remaining.hasPrefix("/*"), let close = remaining.range(of: "*/") {
                remaining = remaining[close.upperBound...]
            } else {
                return false
            }
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
