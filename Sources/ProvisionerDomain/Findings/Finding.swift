/// One problem (or remark) about an uploaded client_secrets.json.
///
/// Plain data so the store can keep it as JSONB; the human sentence is not stored
/// but rendered per request language by `message(in:)`.
/// `value` never holds the client secret: findings are shown to tenant admins and dashboards.
public struct Finding: Sendable, Hashable, Codable {
    public let code: FindingCode
    public let severity: Severity
    /// Where in the file, as a dotted path such as `web.redirect_uris`.
    public let field: String?
    /// What the file holds there.
    public let value: String?
    /// What was issued or is required instead.
    public let expected: String?
    public let hint: NearMiss?

    public init(
        code: FindingCode,
        severity: Severity? = nil,
        field: String? = nil,
        value: String? = nil,
        expected: String? = nil,
        hint: NearMiss? = nil
    ) {
        self.code = code
        self.severity = severity ?? code.severity
        // Values come from the uploaded file: made storable (no U+0000) here, once.
        self.field = StorableText.make(field)
        self.value = StorableText.make(value)
        self.expected = StorableText.make(expected)
        self.hint = hint
    }

    private enum CodingKeys: String, CodingKey {
        case code, severity, field, value, expected, hint
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let code = try container.decode(FindingCode.self, forKey: .code)
        self.init(
            code: code,
            severity: try container.decodeIfPresent(Severity.self, forKey: .severity),
            field: try container.decodeIfPresent(String.self, forKey: .field),
            value: try container.decodeIfPresent(String.self, forKey: .value),
            expected: try container.decodeIfPresent(String.self, forKey: .expected),
            hint: try container.decodeIfPresent(NearMiss.self, forKey: .hint)
        )
    }

    /// Writes every key, null when it does not apply, so stored rows all have one shape
    /// (the API's finding JSON has the same nulls).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(code, forKey: .code)
        try container.encode(severity, forKey: .severity)
        try container.encode(field, forKey: .field)
        try container.encode(value, forKey: .value)
        try container.encode(expected, forKey: .expected)
        try container.encode(hint, forKey: .hint)
    }
}
