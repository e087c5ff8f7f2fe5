import SeededRandom
import Testing
@testable import ProvisionerDomain

struct ValidJSONCase: Sendable, CustomTestStringConvertible {
    let input: String
    let expected: JSONValue
    var testDescription: String { input }
}

struct InvalidJSONCase: Sendable, CustomTestStringConvertible {
    let input: [UInt8]
    let reason: JSONParseError.Reason
    let offset: Int
    let label: String

    init(_ text: String, _ reason: JSONParseError.Reason, at offset: Int) {
        input = Array(text.utf8)
        self.reason = reason
        self.offset = offset
        label = text
    }

    init(bytes: [UInt8], _ reason: JSONParseError.Reason, at offset: Int, label: String) {
        input = bytes
        self.reason = reason
        self.offset = offset
        self.label = label
    }

    var testDescription: String { label }
}

private let bom: [UInt8] = [0xEF, 0xBB, 0xBF]

@Suite("JSONParser")
struct JSONParserTests {
    static let validCases: [ValidJSONCase] = [
        .init(input: "{}", expected: .object([])),
        .init(input: "[]", expected: .array([])),
        .init(input: " \t\r\n{ } \n", expected: .object([])),
        .init(input: "0", expected: .number("0")),
        .init(input: "-0", expected: .number("-0")),
        .init(input: "1.5e10", expected: .number("1.5e10")),
        .init(input: "-1E-2", expected: .number("-1E-2")),
        .init(input: "-0.0e+00", expected: .number("-0.0e+00")),
        .init(input: "123456789012345678901234567890123456789", expected: .number("123456789012345678901234567890123456789")),
        .init(input: "1e999999", expected: .number("1e999999")),
        .init(input: "true", expected: .bool(true)),
        .init(input: "false", expected: .bool(false)),
        .init(input: "null", expected: .null),
        .init(input: "\"\"", expected: .string("")),
        .init(input: "\"abc\"", expected: .string("abc")),
        .init(input: "\"日本語\"", expected: .string("日本語")),
        .init(input: #""\"\\\/\b\f\n\r\t""#, expected: .string("\"\\/\u{8}\u{C}\n\r\t")),
        .init(input: #""\u00e9\u00C9""#, expected: .string("éÉ")),
        .init(input: #""\ud83d\ude00""#, expected: .string("😀")),
        .init(input: #""\u0000""#, expected: .string("\u{0}")),
        .init(input: #""a\u3042b""#, expected: .string("aあb")),
        .init(input: "\"\u{7F}\"", expected: .string("\u{7F}")),
        .init(input: "[1,\"a\",true,null,{}]", expected: .array([.number("1"), .string("a"), .bool(true), .null, .object([])])),
        .init(input: "{\"a\":[1,{\"b\":null}]}", expected: .object([
            JSONMember(key: "a", value: .array([.number("1"), .object([JSONMember(key: "b", value: .null)])])),
        ])),
        .init(input: "{\"b\":1,\"a\":2}", expected: .object([
            JSONMember(key: "b", value: .number("1")), JSONMember(key: "a", value: .number("2")),
        ])),
        .init(input: "{\"a\":1,\"a\":2}", expected: .object([
            JSONMember(key: "a", value: .number("1")), JSONMember(key: "a", value: .number("2")),
        ])),
        .init(input: "{\"\\u0061\":\"x\"}", expected: .object([JSONMember(key: "a", value: .string("x"))])),
        .init(input: "[[[]]]", expected: .array([.array([.array([])])])),
    ]

    @Test("parses valid documents", arguments: validCases)
    func parsesValid(_ testCase: ValidJSONCase) throws {
        #expect(try JSONParser().parse(testCase.input) == testCase.expected)
        #expect(try JSONParser().parse(bom + Array(testCase.input.utf8)) == testCase.expected)
    }

    static let invalidCases: [InvalidJSONCase] = [
        .init("", .emptyInput, at: 0),
        .init("   \n ", .emptyInput, at: 5),
        .init(bytes: bom, .emptyInput, at: 3, label: "BOM only"),
        .init(bytes: bom + bom + Array("{}".utf8), .expectedValue, at: 3, label: "two BOMs"),
        .init(bytes: [0x20] + bom + Array("{}".utf8), .expectedValue, at: 1, label: "BOM after a space"),
        .init("{", .expectedKey, at: 1),
        .init("[", .expectedValue, at: 1),
        .init("[1", .expectedCommaOrArrayEnd, at: 2),
        .init("{\"a\"", .expectedColon, at: 4),
        .init("{\"a\":", .expectedValue, at: 5),
        .init("{\"a\":1", .expectedCommaOrObjectEnd, at: 6),
        .init("{\"a\":}", .expectedValue, at: 5),
        .init("[1,]", .trailingComma, at: 3),
        .init("[1, ]", .trailingComma, at: 4),
        .init("{\"a\":1,}", .trailingComma, at: 7),
        .init("[1,,2]", .expectedValue, at: 3),
        .init("[,1]", .expectedValue, at: 1),
        .init("{,}", .expectedKey, at: 1),
        .init("{\"a\" 1}", .expectedColon, at: 5),
        .init("{\"a\":1 \"b\":2}", .expectedCommaOrObjectEnd, at: 7),
        .init("{\"a\":1]", .expectedCommaOrObjectEnd, at: 6),
        .init("[1 2]", .expectedCommaOrArrayEnd, at: 3),
        .init("[1}", .expectedCommaOrArrayEnd, at: 2),
        .init("{a:1}", .expectedKey, at: 1),
        .init("{'a':1}", .expectedKey, at: 1),
        .init("{1:1}", .expectedKey, at: 1),
        .init("'a'", .expectedValue, at: 0),
        .init("01", .leadingZero, at: 0),
        .init("-01", .leadingZero, at: 1),
        .init("[00]", .leadingZero, at: 1),
        .init("1.", .expectedDigit, at: 2),
        .init("1.e5", .expectedDigit, at: 2),
        .init("1e", .expectedDigit, at: 2),
        .init("1e+", .expectedDigit, at: 3),
        .init("-", .expectedDigit, at: 1),
        .init("-a", .expectedDigit, at: 1),
        .init(".5", .expectedValue, at: 0),
        .init("+1", .expectedValue, at: 0),
        .init("0x10", .trailingCharacters, at: 1),
        .init("NaN", .expectedValue, at: 0),
        .init("Infinity", .expectedValue, at: 0),
        .init("tru", .invalidLiteral, at: 0),
        .init("True", .expectedValue, at: 0),
        .init("nul", .invalidLiteral, at: 0),
        .init("nulL", .invalidLiteral, at: 0),
        .init("fals", .invalidLiteral, at: 0),
        .init("nulls", .trailingCharacters, at: 4),
        .init("\"abc", .unterminatedString, at: 0),
        .init("[\"abc", .unterminatedString, at: 1),
        .init("\"ab\\", .unterminatedString, at: 3),
        .init("\"a\\nb", .unterminatedString, at: 0),
        .init("\"a\u{1}\"", .controlCharacterInString, at: 2),
        .init("\"a\tb\"", .controlCharacterInString, at: 2),
        .init("\"a\nb\"", .controlCharacterInString, at: 2),
        .init("\"a\\n\u{1F}\"", .controlCharacterInString, at: 4),
        .init(#""\x""#, .invalidEscape, at: 1),
        .init(#""\'""#, .invalidEscape, at: 1),
        .init(#""\U0041""#, .invalidEscape, at: 1),
        .init(#""\u12""#, .invalidUnicodeEscape, at: 1),
        .init(#""\u12g4""#, .invalidUnicodeEscape, at: 1),
        .init(#""\u""#, .invalidUnicodeEscape, at: 1),
        .init(#""\ud800""#, .loneSurrogate, at: 1),
        .init(#""\udc00""#, .loneSurrogate, at: 1),
        .init(#""\ud800\u0041""#, .loneSurrogate, at: 1),
        .init(#""\ud800\ud800""#, .loneSurrogate, at: 1),
        .init(#""\ud800x""#, .loneSurrogate, at: 1),
        .init(#""ab\udfff""#, .loneSurrogate, at: 3),
        .init(#""\ud800\u12""#, .invalidUnicodeEscape, at: 7),
        .init("{} x", .trailingCharacters, at: 3),
        .init("{}{}", .trailingCharacters, at: 2),
        .init("[] ,", .trailingCharacters, at: 3),
        .init("1 2", .trailingCharacters, at: 2),
        .init("/* c */ {}", .expectedValue, at: 0),
        .init("{}\u{0}", .trailingCharacters, at: 2),
        .init("\u{A0}{}", .expectedValue, at: 0),
        .init(bytes: Array("[1]".utf8) + [0], .trailingCharacters, at: 3, label: "[1] NUL"),
    ]

    @Test("refuses invalid documents at the right byte", arguments: invalidCases)
    func refusesInvalid(_ testCase: InvalidJSONCase) {
        #expect(throws: JSONParseError.self) { try JSONParser().parse(testCase.input) }
        do throws(JSONParseError) {
            _ = try JSONParser().parse(testCase.input)
        } catch {
            #expect(error.reason == testCase.reason)
            #expect(error.byteOffset == testCase.offset)
            #expect(!error.description.isEmpty)
            #expect(!error.reason.explanation.isEmpty)
        }
    }

    static let invalidUTF8Cases: [InvalidJSONCase] = [
        .init(bytes: [0x22, 0xFF, 0x22], .invalidUTF8, at: 1, label: "FF"),
        .init(bytes: [0x22, 0xFE, 0x22], .invalidUTF8, at: 1, label: "FE"),
        .init(bytes: [0x22, 0x80, 0x22], .invalidUTF8, at: 1, label: "lone continuation"),
        .init(bytes: [0x22, 0xC0, 0x80, 0x22], .invalidUTF8, at: 1, label: "overlong NUL"),
        .init(bytes: [0x22, 0xC1, 0xBF, 0x22], .invalidUTF8, at: 1, label: "overlong C1"),
        .init(bytes: [0x22, 0xE0, 0x80, 0x80, 0x22], .invalidUTF8, at: 1, label: "overlong 3-byte"),
        .init(bytes: [0x22, 0xF0, 0x80, 0x80, 0x80, 0x22], .invalidUTF8, at: 1, label: "overlong 4-byte"),
        .init(bytes: [0x22, 0xED, 0xA0, 0x80, 0x22], .invalidUTF8, at: 1, label: "encoded surrogate"),
        .init(bytes: [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], .invalidUTF8, at: 1, label: "above U+10FFFF"),
        .init(bytes: [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], .invalidUTF8, at: 1, label: "F5"),
        .init(bytes: [0x22, 0xE3, 0x81, 0x22], .invalidUTF8, at: 1, label: "truncated 3-byte"),
        .init(bytes: [0x22, 0xE3, 0x81], .invalidUTF8, at: 1, label: "truncated at end"),
        .init(bytes: [0x22, 0xE3, 0x22, 0x81, 0x22], .invalidUTF8, at: 1, label: "interrupted sequence"),
        .init(bytes: Array("{\"a\":\"é".utf8) + [0xFF] + Array("\"}".utf8), .invalidUTF8, at: 8, label: "after valid multibyte"),
        .init(bytes: bom + [0xFF], .invalidUTF8, at: 3, label: "after BOM"),
        .init(bytes: [0xEF, 0xBB], .invalidUTF8, at: 0, label: "half a BOM"),
        .init(bytes: Array("{\"a\" 1 ".utf8) + [0xC3], .invalidUTF8, at: 7, label: "reported before syntax errors"),
        .init(bytes: [0xFF, 0xFE, 0x7B, 0x00, 0x7D, 0x00], .invalidUTF8, at: 0, label: "UTF-16 LE with BOM"),
    ]

    @Test("refuses invalid UTF-8 at the first bad byte", arguments: invalidUTF8Cases)
    func refusesInvalidUTF8(_ testCase: InvalidJSONCase) {
        do throws(JSONParseError) {
            _ = try JSONParser().parse(testCase.input)
            Issue.record("parsed invalid UTF-8")
        } catch {
            #expect(error.reason == .invalidUTF8)
            #expect(error.byteOffset == testCase.offset)
            #expect(error.description == "not valid UTF-8 at byte \(testCase.offset)")
        }
    }

    @Test("accepts every well-formed UTF-8 length")
    func acceptsUTF8() throws {
        let text = "\"aé€😀\u{10FFFF}\u{E000}\u{FFFF}\u{D7FF}\""
        #expect(try JSONParser().parse(text) == .string("aé€😀\u{10FFFF}\u{E000}\u{FFFF}\u{D7FF}"))
    }

    @Test("error positions are line, column and byte a person can find")
    func errorPositions() {
        let text = "{\n  \"a\": 1,\n  \"b\" 2\n}"
        do throws(JSONParseError) {
            _ = try JSONParser().parse(text)
            Issue.record("parsed")
        } catch {
            #expect(error.line == 3)
            #expect(error.column == 7)
            #expect(error.byteOffset == 18)
            #expect(error.description == "invalid JSON at line 3, column 7 (byte 18): expected ':' after a member name")
            #expect(error.detail == error.description)
        }
    }

    static let positionCases: [(String, Int, Int, Int)] = [
        ("[\"日本\", x]", 1, 8, 11),
        ("{\"a\":1\n\n   ]", 3, 4, 11),
        ("\r\n\r\n  x", 3, 3, 6),
        ("{\"a\":1,\n\"b\":2 ,\n \"c\" 3}", 3, 6, 21),
    ]

    @Test("columns count characters, not bytes", arguments: positionCases)
    func columns(_ testCase: (String, Int, Int, Int)) {
        do throws(JSONParseError) {
            _ = try JSONParser().parse(testCase.0)
            Issue.record("parsed")
        } catch {
            #expect(error.line == testCase.1)
            #expect(error.column == testCase.2)
            #expect(error.byteOffset == testCase.3)
        }
    }

    @Test("a byte order mark shifts bytes but not columns")
    func bomPositions() {
        do throws(JSONParseError) {
            _ = try JSONParser().parse(bom + Array("{\"a\" 1}".utf8))
            Issue.record("parsed")
        } catch {
            #expect(error.byteOffset == 8)
            #expect(error.line == 1)
            #expect(error.column == 6)
        }
    }

    @Test("the description of a truncated file says so")
    func truncated() {
        do throws(JSONParseError) {
            _ = try JSONParser().parse("{\"web\": {\"client_id\": \"x\"")
            Issue.record("parsed")
        } catch {
            #expect(error.atEndOfInput)
            #expect(error.description == "invalid JSON at line 1, column 26 (byte 25): unexpected end of input: expected ',' or '}' after an object member")
        }
    }

    static func nested(_ depth: Int, open: String = "[", close: String = "]", inner: String = "1") -> String {
        String(repeating: open, count: depth) + inner + String(repeating: close, count: depth)
    }

    static let depthCases: [(String, Bool)] = [
        (nested(1), true),
        (nested(31), true),
        (nested(32), true),
        (nested(32, inner: ""), true),
        (nested(33), false),
        (nested(33, inner: ""), false),
        (nested(32, open: "{\"a\":", close: "}"), true),
        (nested(33, open: "{\"a\":", close: "}"), false),
        (nested(16, open: "[{\"k\":", close: "}]"), true),
        (nested(16, open: "[{\"k\":", close: "}]", inner: "[]"), false),
        (nested(16, open: "[{\"k\":", close: "}]", inner: "{}"), false),
        ("[" + nested(31) + "," + nested(31) + "]", true),
        ("[" + nested(31) + "," + nested(32) + "]", false),
    ]

    @Test("nesting of 32 is accepted, 33 refused", arguments: depthCases)
    func depth(_ testCase: (String, Bool)) {
        let result = Result { () throws(JSONParseError) in try JSONParser().parse(testCase.0) }
        switch result {
        case .success:
            #expect(testCase.1)
        case .failure(let error):
            #expect(!testCase.1)
            #expect(error.reason == .tooDeep(limit: 32))
        }
    }

    @Test("the depth error names the opening bracket")
    func depthMessage() {
        do throws(JSONParseError) {
            _ = try JSONParser().parse(Self.nested(40))
            Issue.record("parsed")
        } catch {
            #expect(error.byteOffset == 32)
            #expect(error.description == "nesting deeper than 32 levels at line 1, column 33")
        }
    }

    @Test("custom depth limits", arguments: [(0, "1", true), (0, "[]", false), (1, "[]", true), (1, "[[]]", false), (2, "[[1]]", true), (2, "[[[1]]]", false)])
    func customDepth(_ testCase: (Int, String, Bool)) {
        let parsed = (try? JSONParser(maxDepth: testCase.0).parse(testCase.1)) != nil
        #expect(parsed == testCase.2)
    }

    @Test("a million brackets neither crash nor recurse")
    func hugeNesting() {
        let deep = Array(repeating: UInt8(ascii: "["), count: 1_000_000)
        #expect(throws: JSONParseError.self) { try JSONParser().parse(deep) }
        #expect(throws: JSONParseError.self) { try JSONParser(maxDepth: Int.max).parse(deep) }
        #expect(JSONParser(maxDepth: Int.max).maxDepth == 4096)
        #expect(JSONParser(maxDepth: -5).maxDepth == 0)
    }

    @Test("collections of bytes other than arrays")
    func otherCollections() throws {
        let bytes = Array("[1, 2]".utf8)
        #expect(try JSONParser().parse(bytes[...]) == .array([.number("1"), .number("2")]))
        #expect(try JSONParser().parse("{\"a\":true}".utf8) == .object([JSONMember(key: "a", value: .bool(true))]))
        #expect(try JSONParser().parse(Set([UInt8(ascii: "1")])) == .number("1"))
    }

    @Test("accessors and duplicate keys")
    func accessors() throws {
        let value = try JSONParser().parse("{\"a\":1,\"b\":[true],\"a\":\"x\",\"c\":null,\"b\":{}}")
        #expect(value["a"] == .number("1"))
        #expect(value["a"]?.numberText == "1")
        #expect(value["b"]?.arrayValue == [.bool(true)])
        #expect(value["b"]?.arrayValue?.first?.boolValue == true)
        #expect(value["c"]?.isNull == true)
        #expect(value["missing"] == nil)
        #expect(value.isObject)
        #expect(value.objectMembers?.count == 5)
        #expect(value.duplicateKeys == ["a", "b"])
        #expect(JSONValue.string("x")["a"] == nil)
        #expect(JSONValue.string("x").stringValue == "x")
        #expect(JSONValue.array([]).objectMembers == nil)
    }

    @Test("random mutations of a real file never crash")
    func mutations() {
        var random = SeededRandom(seed: 0x5EED)
        let seed = Array(CredentialFixtures.cleanFileText.utf8)
        let interesting: [UInt8] = [0x00, 0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x2C, 0x3A, 0x80, 0xC3, 0xE3, 0xF0, 0xFF, 0x75, 0x30, 0x2D]
        for _ in 0..<3000 {
            var bytes = seed
            for _ in 0..<(1 + Int(random.next() % 4)) {
                let position = Int(random.next() % UInt64(bytes.count))
                switch random.next() % 4 {
                case 0: bytes[position] = interesting[Int(random.next() % UInt64(interesting.count))]
                case 1: bytes.remove(at: position)
                case 2: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: position)
                default: bytes.removeSubrange(position...)
                    if bytes.isEmpty { bytes = [0x7B] }
                }
            }
            _ = try? JSONParser().parse(bytes)
            _ = CredentialVerifier().verify(fileBytes: bytes, against: CredentialFixtures.issued, context: .init())
        }
    }
}
