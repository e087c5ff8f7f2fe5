/// A parsed JSON document, as `JSONParser` produces it.
///
/// Numbers keep their literal text: a client_secrets.json never needs arithmetic,
/// and keeping the text means no value can overflow or lose precision.
/// Objects keep their members in file order with duplicates, so a caller can
/// detect a key given twice instead of silently getting one of them.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// The number exactly as written, e.g. `-0.5e10`.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([JSONMember])

    /// The value of the first member named `key`, when this is an object.
    /// The first one wins so that every reader of the same bytes sees the same value.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        for member in members where member.key == key {
            return member.value
        }
        return nil
    }

    public var stringValue: String? {
        if case .string(let string) = self { return string }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let bool) = self { return bool }
        return nil
    }

    /// The literal text of a number.
    public var numberText: String? {
        if case .number(let text) = self { return text }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    public var objectMembers: [JSONMember]? {
        if case .object(let members) = self { return members }
        return nil
    }

    public var isObject: Bool {
        if case .object = self { return true }
        return false
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Keys that occur more than once in this object, in order of their second occurrence.
    public var duplicateKeys: [String] {
        guard case .object(let members) = self, members.count > 1 else { return [] }
        var seen: Set<String> = []
        var reported: Set<String> = []
        var duplicates: [String] = []
        for member in members where !seen.insert(member.key).inserted {
            if reported.insert(member.key).inserted { duplicates.append(member.key) }
        }
        return duplicates
    }
}

/// One `"key": value` pair of a JSON object.
public struct JSONMember: Sendable, Hashable {
    public let key: String
    public let value: JSONValue

    public init(key: String, value: JSONValue) {
        self.key = key
        self.value = value
    }
}
