/// The two languages every human-facing text of the service is written in.
/// Japanese is the default: the CRM's customers are Japanese companies.
public enum Language: String, Sendable, Hashable, CaseIterable {
    case ja
    case en

    /// Picks the language an `Accept-Language` header (RFC 9110 section 12.5.4) prefers.
    ///
    /// Each language gets the q-value of the ranges naming it (`en`, `en-US`, ...), or of `*`
    /// when none does; the higher wins and Japanese wins ties, so English is chosen only when
    /// it is preferred over Japanese. Malformed entries (a tag that is not a language range,
    /// a q outside 0 to 1) are skipped, as if they were not sent.
    public static func preferred(byAcceptLanguage header: String?) -> Language {
        guard let header, !header.isEmpty else { return .ja }
        var named: [Language: Double] = [:]
        var wildcard: Double?
        for item in header.split(separator: ",") {
            let parts = item.split(separator: ";", omittingEmptySubsequences: false).map { $0.trimmingSpaces() }
            guard let range = parts.first?.lowercased(), let quality = quality(of: parts.dropFirst()) else { continue }
            if range == "*" {
                wildcard = max(wildcard ?? 0, quality)
                continue
            }
            guard isLanguageRange(range), let primary = range.split(separator: "-").first,
                  let language = Language(rawValue: String(primary)) else { continue }
            named[language] = max(named[language] ?? 0, quality)
        }
        let japanese = named[.ja] ?? wildcard ?? 0
        let english = named[.en] ?? wildcard ?? 0
        return english > japanese ? .en : .ja
    }

    /// The q-value of an entry's parameters: 1 without one, nil when it is malformed.
    private static func quality(of parameters: ArraySlice<String>) -> Double? {
        var quality = 1.0
        for parameter in parameters where !parameter.isEmpty {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces().lowercased() }
            guard pair.count == 2, pair[0] == "q" else { continue }
            // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
            let text = pair[1]
            guard let value = Double(text), (0...1).contains(value), text.count <= 5,
                  text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) else { return nil }
            quality = value
        }
        return quality
    }

    /// `1*8ALPHA *("-" 1*8alphanum)` (RFC 4647 section 2.1).
    private static func isLanguageRange(_ range: String) -> Bool {
        let subtags = range.split(separator: "-", omittingEmptySubsequences: false)
        guard let first = subtags.first, (1...8).contains(first.count),
              first.allSatisfy({ $0.isASCII && $0.isLetter }) else { return false }
        return subtags.dropFirst().allSatisfy { subtag in
            (1...8).contains(subtag.count) && subtag.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
        }
    }
}

/// A text written in both languages of the service.
public struct LocalizedText: Sendable, Hashable {
    public let ja: String
    public let en: String

    public init(ja: String, en: String) {
        self.ja = ja
        self.en = en
    }

    public func text(in language: Language) -> String {
        switch language {
        case .ja: ja
        case .en: en
        }
    }
}

extension StringProtocol {
    /// Without the spaces and tabs around it (the optional white space of HTTP header syntax).
    public func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
