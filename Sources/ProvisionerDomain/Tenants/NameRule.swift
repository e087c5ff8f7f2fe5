/// The rule for names people give things (a tenant's display name, a token's name), the same
/// through the API and the CLI: 1 to `maxLength` code points, no control characters (C0, DEL
/// and C1, NEL among them), no white space at either end.
public enum NameRule {
    public enum Violation: Error, Sendable, Equatable {
        case length(maxLength: Int)
        case controlCharacter
        case surroundingWhiteSpace

        /// The sentence after the field's name: "display_name must ...".
        public var requirement: String {
            switch self {
            case .length(let maxLength): "must be 1 to \(maxLength) characters long"
            case .controlCharacter: "must not contain control characters"
            case .surroundingWhiteSpace: "must not start or end with white space"
            }
        }
    }

    /// The first rule `value` breaks, or nil.
    public static func violation(of value: String, maxLength: Int) -> Violation? {
        let scalars = value.unicodeScalars
        guard (1...maxLength).contains(scalars.count) else { return .length(maxLength: maxLength) }
        guard !scalars.contains(where: isControl) else { return .controlCharacter }
        guard let first = scalars.first, let last = scalars.last,
              !first.properties.isWhitespace, !last.properties.isWhitespace
        else { return .surroundingWhiteSpace }
        return nil
    }

    /// C0, DEL and C1 (U+0080 to U+009F).
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}
