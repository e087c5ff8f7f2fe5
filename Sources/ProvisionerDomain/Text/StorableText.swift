/// Text taken from an uploaded file, made fit to store. PostgreSQL's `text` and `jsonb` refuse
/// U+0000, which JSON allows (`"\u0000"`): a file holding one would make the row, or a whole
/// batch of verdicts, fail to write. It is written out as the six characters `\u0000`, which
/// is also how a person can see it in a finding.
public enum StorableText {
    public static func make(_ text: String) -> String {
        guard text.unicodeScalars.contains("\u{0}") else { return text }
        return text.replacingNUL()
    }

    public static func make(_ text: String?) -> String? {
        text.map(make)
    }
}

extension String {
    fileprivate func replacingNUL() -> String {
        var output = ""
        output.unicodeScalars.reserveCapacity(unicodeScalars.count + 5)
        for scalar in unicodeScalars {
            if scalar == "\u{0}" {
                output.unicodeScalars.append(contentsOf: "\\u0000".unicodeScalars)
            } else {
                output.unicodeScalars.append(scalar)
            }
        }
        return output
    }
}
