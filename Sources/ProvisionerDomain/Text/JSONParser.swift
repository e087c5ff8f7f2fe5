/// A strict RFC 8259 JSON parser for uploaded files.
///
/// Uploads come from strangers, so this parser is written to be fuzzed: it never
/// recurses (containers live on an explicit stack), refuses nesting deeper than
/// `maxDepth` before allocating for it, and validates UTF-8 up front so every
/// later step can treat the bytes as well-formed text.
/// It is our own rather than Foundation's because we need byte positions in
/// errors, duplicate keys kept, numbers kept as text, and no platform differences.
public struct JSONParser: Sendable {
    /// Uploads nested deeper than this are refused (openapi.yaml, `invalid_json`).
    public static let defaultMaxDepth = 32

    /// Values are freed and compared recursively, so the limit must stay far
    /// below what a thread stack survives whatever a caller asks for.
    static let hardestMaxDepth = 4096

    /// How many arrays and objects may enclose each other: `[[1]]` has depth 2.
    public let maxDepth: Int

    /// - Parameter maxDepth: clamped to 0...4096.
    public init(maxDepth: Int = JSONParser.defaultMaxDepth) {
        self.maxDepth = min(max(maxDepth, 0), Self.hardestMaxDepth)
    }

    public func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        let depth = maxDepth
        let result = bytes.withUnsafeBufferPointer { buffer in
            Self.parseDocument(buffer, maxDepth: depth)
        }
        return try result.get()
    }

    public func parse(_ bytes: some Collection<UInt8>) throws(JSONParseError) -> JSONValue {
        let depth = maxDepth
        let contiguous = bytes.withContiguousStorageIfAvailable { buffer in
            Self.parseDocument(buffer, maxDepth: depth)
        }
        if let contiguous { return try contiguous.get() }
        return try parse(Array(bytes))
    }

    public func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    private static func parseDocument(
        _ buffer: UnsafeBufferPointer<UInt8>,
        maxDepth: Int
    ) -> Result<JSONValue, JSONParseError> {
        var scanner = JSONScanner(bytes: buffer, maxDepth: maxDepth)
        do throws(JSONScanner.Failure) {
            return .success(try scanner.parseDocument())
        } catch {
            return .failure(JSONParseError(error.reason, at: error.offset, in: buffer, textStart: scanner.textStart))
        }
    }
}

/// The parsing state over one contiguous buffer.
private struct JSONScanner {
    struct Failure: Error {
        let reason: JSONParseError.Reason
        let offset: Int
    }

    /// One open array or object; a document can only hold `maxDepth` of them.
    private struct Frame {
        let isObject: Bool
        var elements: [JSONValue] = []
        var members: [JSONMember] = []
        var key: String = ""
    }

    let bytes: UnsafeBufferPointer<UInt8>
    let count: Int
    let maxDepth: Int
    var position = 0
    /// Where the text starts after a byte order mark.
    var textStart = 0
    /// Reused for strings with escapes, so most strings cost one allocation.
    private var scratch: [UInt8] = []

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.count = bytes.count
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() throws(Failure) -> JSONValue {
        if count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            position = 3
            textStart = 3
        }
        if let bad = UTF8Validation.firstInvalidOffset(in: bytes, from: position) {
            throw Failure(reason: .invalidUTF8, offset: bad)
        }
        skipWhitespace()
        if position == count { throw Failure(reason: .emptyInput, offset: position) }

        var stack: [Frame] = []
        var afterComma = false
        expectingValue: while true {
            skipWhitespace()
            guard position < count else { throw Failure(reason: .expectedValue, offset: position) }
            var value: JSONValue
            switch bytes[position] {
            case UInt8(ascii: "{"):
                guard stack.count < maxDepth else {
                    throw Failure(reason: .tooDeep(limit: maxDepth), offset: position)
                }
                position += 1
                skipWhitespace()
                if position < count, bytes[position] == UInt8(ascii: "}") {
                    position += 1
                    value = .object([])
                } else {
                    let key = try parseMemberName(afterComma: false)
                    stack.append(Frame(isObject: true, key: key))
                    afterComma = false
                    continue expectingValue
                }
            case UInt8(ascii: "["):
                guard stack.count < maxDepth else {
                    throw Failure(reason: .tooDeep(limit: maxDepth), offset: position)
                }
                position += 1
                skipWhitespace()
                if position < count, bytes[position] == UInt8(ascii: "]") {
                    position += 1
                    value = .array([])
                } else {
                    stack.append(Frame(isObject: false))
                    afterComma = false
                    continue expectingValue
                }
            case UInt8(ascii: "\""):
                value = .string(try parseString())
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                value = .number(try parseNumber())
            case UInt8(ascii: "t"):
                try expectLiteral("true")
                value = .bool(true)
            case UInt8(ascii: "f"):
                try expectLiteral("false")
                value = .bool(false)
            case UInt8(ascii: "n"):
                try expectLiteral("null")
                value = .null
            case UInt8(ascii: "]") where afterComma:
                throw Failure(reason: .trailingComma, offset: position)
            default:
                throw Failure(reason: .expectedValue, offset: position)
            }
            afterComma = false

            // Hand the finished value to its container; closing one finishes another value.
            while true {
                skipWhitespace()
                guard !stack.isEmpty else {
                    guard position == count else {
                        throw Failure(reason: .trailingCharacters, offset: position)
                    }
                    return value
                }
                let top = stack.count - 1
                if stack[top].isObject {
                    stack[top].members.append(JSONMember(key: stack[top].key, value: value))
                    guard position < count else {
                        throw Failure(reason: .expectedCommaOrObjectEnd, offset: position)
                    }
                    if bytes[position] == UInt8(ascii: ",") {
                        position += 1
                        skipWhitespace()
                        stack[top].key = try parseMemberName(afterComma: true)
                        continue expectingValue
                    }
                    guard bytes[position] == UInt8(ascii: "}") else {
                        throw Failure(reason: .expectedCommaOrObjectEnd, offset: position)
                    }
                    position += 1
                    value = .object(stack.removeLast().members)
                } else {
                    stack[top].elements.append(value)
                    guard position < count else {
                        throw Failure(reason: .expectedCommaOrArrayEnd, offset: position)
                    }
                    if bytes[position] == UInt8(ascii: ",") {
                        position += 1
                        afterComma = true
                        continue expectingValue
                    }
                    guard bytes[position] == UInt8(ascii: "]") else {
                        throw Failure(reason: .expectedCommaOrArrayEnd, offset: position)
                    }
                    position += 1
                    value = .array(stack.removeLast().elements)
                }
            }
        }
    }

    private mutating func skipWhitespace() {
        while position < count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    /// Parses `"name"` and the `:` after it.
    private mutating func parseMemberName(afterComma: Bool) throws(Failure) -> String {
        guard position < count, bytes[position] == UInt8(ascii: "\"") else {
            if afterComma, position < count, bytes[position] == UInt8(ascii: "}") {
                throw Failure(reason: .trailingComma, offset: position)
            }
            throw Failure(reason: .expectedKey, offset: position)
        }
        let key = try parseString()
        skipWhitespace()
        guard position < count, bytes[position] == UInt8(ascii: ":") else {
            throw Failure(reason: .expectedColon, offset: position)
        }
        position += 1
        return key
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(Failure) {
        let length = literal.utf8CodeUnitCount
        let start = position
        guard count - position >= length else { throw Failure(reason: .invalidLiteral, offset: start) }
        let expected = literal.utf8Start
        for index in 0..<length where bytes[position + index] != expected[index] {
            throw Failure(reason: .invalidLiteral, offset: start)
        }
        position += length
    }

    private mutating func parseNumber() throws(Failure) -> String {
        let start = position
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < count, isDigit(bytes[position]) else {
            throw Failure(reason: .expectedDigit, offset: position)
        }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            if position < count, isDigit(bytes[position]) {
                throw Failure(reason: .leadingZero, offset: position - 1)
            }
        } else {
            skipDigits()
        }
        if position < count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard position < count, isDigit(bytes[position]) else {
                throw Failure(reason: .expectedDigit, offset: position)
            }
            skipDigits()
        }
        if position < count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            position += 1
            if position < count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard position < count, isDigit(bytes[position]) else {
                throw Failure(reason: .expectedDigit, offset: position)
            }
            skipDigits()
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    private mutating func skipDigits() {
        while position < count, isDigit(bytes[position]) { position += 1 }
    }

    private mutating func parseString() throws(Failure) -> String {
        let opening = position
        position += 1
        let start = position
        // Most strings have no escapes: take them straight from the input.
        while position < count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
                position += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw Failure(reason: .controlCharacterInString, offset: position) }
            position += 1
        }
        guard position < count else { throw Failure(reason: .unterminatedString, offset: opening) }

        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<position]))
        while position < count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return String(decoding: scratch, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try appendEscape()
            case 0..<0x20:
                throw Failure(reason: .controlCharacterInString, offset: position)
            default:
                scratch.append(byte)
                position += 1
            }
        }
        throw Failure(reason: .unterminatedString, offset: opening)
    }

    /// Decodes the escape at `position` (a backslash) into `scratch`.
    private mutating func appendEscape() throws(Failure) {
        let backslash = position
        guard position + 1 < count else { throw Failure(reason: .unterminatedString, offset: backslash) }
        let letter = bytes[position + 1]
        position += 2
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(letter)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try hexQuad(escapeAt: backslash)
            var scalar = UInt32(unit)
            if (0xDC00...0xDFFF).contains(unit) {
                throw Failure(reason: .loneSurrogate, offset: backslash)
            }
            if (0xD800...0xDBFF).contains(unit) {
                guard position + 1 < count,
                      bytes[position] == UInt8(ascii: "\\"),
                      bytes[position + 1] == UInt8(ascii: "u")
                else { throw Failure(reason: .loneSurrogate, offset: backslash) }
                let lowEscape = position
                position += 2
                let low = try hexQuad(escapeAt: lowEscape)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw Failure(reason: .loneSurrogate, offset: backslash)
                }
                scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            }
            appendUTF8(scalar)
        default:
            throw Failure(reason: .invalidEscape, offset: backslash)
        }
    }

    private mutating func hexQuad(escapeAt escape: Int) throws(Failure) -> UInt16 {
        guard count - position >= 4 else { throw Failure(reason: .invalidUnicodeEscape, offset: escape) }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw Failure(reason: .invalidUnicodeEscape, offset: escape)
            }
            value = value << 4 | UInt16(digit)
            position += 1
        }
        return value
    }

    private mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | (scalar >> 6)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | (scalar >> 12)))
            scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        default:
            scratch.append(UInt8(0xF0 | (scalar >> 18)))
            scratch.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
            scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        }
    }
}
