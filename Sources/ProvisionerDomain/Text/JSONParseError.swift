/// Why a JSON document was refused, with the place a person should look at.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        case emptyInput
        case invalidUTF8
        case tooDeep(limit: Int)
        case expectedValue
        case invalidLiteral
        case expectedKey
        case expectedColon
        case expectedCommaOrObjectEnd
        case expectedCommaOrArrayEnd
        case trailingComma
        case trailingCharacters
        case unterminatedString
        case controlCharacterInString
        case invalidEscape
        case invalidUnicodeEscape
        case loneSurrogate
        case leadingZero
        case expectedDigit

        /// What went wrong, in words for the person who edited the file.
        public var explanation: String {
            switch self {
            case .emptyInput: "the input contains no JSON value"
            case .invalidUTF8: "the input is not valid UTF-8"
            case .tooDeep(let limit): "arrays and objects are nested deeper than \(limit) levels"
            case .expectedValue: "expected a value (an object, array, string, number, true, false or null)"
            case .invalidLiteral: "expected true, false or null"
            case .expectedKey: "expected a member name in double quotes"
            case .expectedColon: "expected ':' after a member name"
            case .expectedCommaOrObjectEnd: "expected ',' or '}' after an object member"
            case .expectedCommaOrArrayEnd: "expected ',' or ']' after an array element"
            case .trailingComma: "a ',' must be followed by another element or member"
            case .trailingCharacters: "unexpected characters after the end of the JSON value"
            case .unterminatedString: "a string is not closed with '\"'"
            case .controlCharacterInString: "a control character must be escaped in a string (e.g. \\n, \\t, \\u0000)"
            case .invalidEscape: "invalid escape sequence (allowed: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)"
            case .invalidUnicodeEscape: "\\u must be followed by four hexadecimal digits"
            case .loneSurrogate: "a \\u escape is half of a UTF-16 surrogate pair without its other half"
            case .leadingZero: "numbers must not have leading zeros"
            case .expectedDigit: "expected a digit in a number"
            }
        }
    }

    public let reason: Reason
    /// Counted from the first byte of the input, byte order mark included.
    public let byteOffset: Int
    /// 1-based.
    public let line: Int
    /// 1-based, in Unicode scalars from the start of the line (a byte order mark is not counted).
    public let column: Int

    public init(reason: Reason, byteOffset: Int, line: Int, column: Int) {
        self.reason = reason
        self.byteOffset = byteOffset
        self.line = line
        self.column = column
    }

    /// Whether the input ended where more was needed, worth saying because
    /// truncated uploads are a common cause.
    public var atEndOfInput: Bool { endOfInput }
    private var endOfInput = false

    init(_ reason: Reason, at offset: Int, in bytes: UnsafeBufferPointer<UInt8>, textStart: Int) {
        var line = 1
        var column = 1
        var index = min(textStart, offset)
        let end = min(offset, bytes.count)
        while index < end {
            let byte = bytes[index]
            if byte == 0x0A {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
            index += 1
        }
        self.init(reason: reason, byteOffset: offset, line: line, column: column)
        endOfInput = offset >= bytes.count
    }

    public var description: String {
        switch reason {
        case .invalidUTF8:
            return "not valid UTF-8 at byte \(byteOffset)"
        case .tooDeep(let limit):
            return "nesting deeper than \(limit) levels at line \(line), column \(column)"
        case .emptyInput:
            return "invalid JSON: \(reason.explanation)"
        default:
            let prefix = endOfInput ? "unexpected end of input: " : ""
            return "invalid JSON at line \(line), column \(column) (byte \(byteOffset)): \(prefix)\(reason.explanation)"
        }
    }

    /// The sentence for a problem+json `detail`.
    public var detail: String { description }
}
