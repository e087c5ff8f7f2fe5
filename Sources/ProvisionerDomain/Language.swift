/// The two languages every human-facing text of the service is written in.
/// Japanese is the default: the CRM's customers are Japanese companies.
public enum Language: String, Sendable, Hashable, CaseIterable {
    case ja
    case en

    /// Picks the language an `Accept-Language` header prefers, by q-value.
    /// Japanese unless English is preferred over it.
    public static func preferred(byAcceptLanguage header: String?) -> Language {
        guard let header, !header.isEmpty else { return .ja }
        var best: (language: Language, quality: Double)?
        for (order, item) in header.split(separator: ",").enumerated() {
            let parts = item.split(separator: ";").map { $0.trimmingSpaces() }
            guard let tag = parts.first?.lowercased() else { continue }
            var quality = 1.0
            for parameter in parts.dropFirst() where parameter.lowercased().hasPrefix("q=") {
                quality = Double(parameter.dropFirst(2)) ?? 0
            }
            let primary = tag.split(separator: "-").first.map(String.init) ?? tag
            let language: Language?
            switch primary {
            case "en": language = .en
            case "ja": language = .ja
            case "*": language = .ja
            default: language = nil
            }
            guard let language, quality > 0 else { continue }
            // Earlier entries win ties, as the header lists them by preference.
            _ = order
            if best == nil || quality > best!.quality { best = (language, quality) }
        }
        return best?.language ?? .ja
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

extension Substring {
    func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
