/// Puts a client secret into a client_secrets.json that lacks one, changing nothing else.
///
/// Google shows a secret only when it is created, so a JSON downloaded later has none; the
/// admin may give the secret beside the file, or an earlier upload's secret is carried over.
/// The stored file is then the uploaded one with `web.client_secret` set: the bytes are
/// spliced rather than re-serialized, so the admin's formatting, member order, number
/// literals and escapes stay as they were, and the result is still the file they sent.
///
/// - An empty or non-string `client_secret` (the first one, as every reader takes) is replaced.
/// - A missing one is added after the last member of `web`, with that member's indentation
///   and the spacing of its colon, so a pretty-printed file stays pretty-printed.
/// - Without a `web` object there is nowhere to put it: the verifier rejects such a file
///   whatever its secret (`client_type_installed`, `client_type_unknown`).
public enum ClientSecretMerge {
    /// `bytes` with `web.client_secret` set to `secret`; nil when `bytes` are not JSON or
    /// have no `web` object.
    public static func setting(secret: String, in bytes: [UInt8]) -> [UInt8]? {
        // The scanner below walks a document already known to be well-formed.
        guard (try? JSONParser().parse(bytes)) != nil else { return nil }
        var scanner = SpanScanner(bytes: bytes)
        scanner.skipByteOrderMark()
        guard let top = scanner.valueStart(at: scanner.position), bytes[top] == UInt8(ascii: "{"),
              let topMembers = scanner.members(ofObjectAt: top),
              let web = topMembers.members.first(where: { $0.key == "web" }),
              bytes[web.valueStart] == UInt8(ascii: "{"),
              let webMembers = scanner.members(ofObjectAt: web.valueStart)
        else { return nil }

        let literal = jsonStringLiteral(secret)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count + literal.count + 24)
        if let existing = webMembers.members.first(where: { $0.key == "client_secret" }) {
            output += bytes[..<existing.valueStart]
            output += literal
            output += bytes[existing.valueEnd...]
        } else if let last = webMembers.members.last {
            var indentStart = last.keyStart
            while indentStart > 0, isWhitespace(bytes[indentStart - 1]) { indentStart -= 1 }
            output += bytes[..<last.valueEnd]
            output.append(UInt8(ascii: ","))
            output += bytes[indentStart..<last.keyStart]
            output += Array("\"client_secret\"".utf8)
            output += bytes[last.keyEnd..<last.valueStart]
            output += literal
            output += bytes[last.valueEnd...]
        } else {
            output += bytes[...web.valueStart]
            output += Array("\"client_secret\":".utf8)
            output += literal
            output += bytes[(web.valueStart + 1)...]
        }
        return output
    }

    /// `value` as a JSON string: `"` and `\` escaped, control characters as `\u00XX`,
    /// everything else as its UTF-8 bytes.
    static func jsonStringLiteral(_ value: String) -> [UInt8] {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var literal: [UInt8] = [UInt8(ascii: "\"")]
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                literal += [UInt8(ascii: "\\"), byte]
            case 0..<0x20:
                literal += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            default:
                literal.append(byte)
            }
        }
        literal.append(UInt8(ascii: "\""))
        return literal
    }

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }
}

/// Byte spans of the members of a well-formed JSON object. Total: any byte it does not
/// expect gives nil rather than a crash, though `ClientSecretMerge` only hands it documents
/// `JSONParser` accepted.
private struct SpanScanner {
    struct Member {
        /// The key decoded (escapes resolved), so `"client\u005fsecret"` is `client_secret`.
        let key: String
        let keyStart: Int
        /// Just past the closing quote of the key.
        let keyEnd: Int
        let valueStart: Int
        /// Just past the value.
        let valueEnd: Int
    }

    let bytes: [UInt8]
    var position = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func skipByteOrderMark() {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
    }

    /// The first non-whitespace index at or after `index`.
    func valueStart(at index: Int) -> Int? {
        var index = index
        while index < bytes.count, ClientSecretMerge.isWhitespace(bytes[index]) { index += 1 }
        return index < bytes.count ? index : nil
    }

    /// The members of the object whose `{` is at `start`, in file order, and the index of its `}`.
    func members(ofObjectAt start: Int) -> (members: [Member], end: Int)? {
        guard start < bytes.count, bytes[start] == UInt8(ascii: "{"), var index = valueStart(at: start + 1) else { return nil }
        var members: [Member] = []
        if bytes[index] == UInt8(ascii: "}") { return (members, index) }
        while true {
            let keyStart = index
            guard bytes[keyStart] == UInt8(ascii: "\""), let keyEnd = stringEnd(at: keyStart),
                  let key = (try? JSONParser().parse(bytes[keyStart..<keyEnd]))?.stringValue,
                  let colon = valueStart(at: keyEnd), bytes[colon] == UInt8(ascii: ":"),
                  let valueStart = valueStart(at: colon + 1), let valueEnd = valueEnd(at: valueStart),
                  let next = self.valueStart(at: valueEnd)
            else { return nil }
            members.append(Member(key: key, keyStart: keyStart, keyEnd: keyEnd, valueStart: valueStart, valueEnd: valueEnd))
            switch bytes[next] {
            case UInt8(ascii: ","):
                guard let following = self.valueStart(at: next + 1) else { return nil }
                index = following
            case UInt8(ascii: "}"):
                return (members, next)
            default:
                return nil
            }
        }
    }

    /// Just past the string whose opening quote is at `start`.
    func stringEnd(at start: Int) -> Int? {
        var index = start + 1
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""): return index + 1
            case UInt8(ascii: "\\"): index += 2
            default: index += 1
            }
        }
        return nil
    }

    /// Just past the value that starts at `start`; containers are skipped by counting
    /// brackets outside strings, without recursion.
    func valueEnd(at start: Int) -> Int? {
        guard start < bytes.count else { return nil }
        switch bytes[start] {
        case UInt8(ascii: "\""):
            return stringEnd(at: start)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var index = start
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    guard let end = stringEnd(at: index) else { return nil }
                    index = end
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return index + 1 }
                default:
                    break
                }
                index += 1
            }
            return nil
        default:
            // A number or a literal: up to the next delimiter.
            var index = start
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") || ClientSecretMerge.isWhitespace(byte) {
                    break
                }
                index += 1
            }
            return index
        }
    }
}
