import Foundation

/// The Public Suffix List (https://publicsuffix.org), compiled into the binary.
///
/// Google refuses a redirect URI or origin whose host's top-level domain is not on
/// this list, so the service checks the same list before issuing a value, rather
/// than letting a tenant's admin find out in Google's console.
///
/// The file is Debian's copy (package `publicsuffix`), refreshed by
/// `scripts/refresh-public-suffix-list.sh`. SwiftPM embeds it in the code
/// (`embedInCode`), so there is no file to ship beside the binary and no I/O here;
/// it is parsed once, lazily, on first use.
public enum PublicSuffixList {
    /// Parsed rules, all in lower-case ASCII (Unicode rules in their `xn--` form).
    struct Rules: Sendable {
        /// The last label of every rule: the top-level domains.
        var topLevelDomains: Set<String> = []
        /// Plain rules, e.g. `co.jp`.
        var suffixes: Set<String> = []
        /// Wildcard rules without their `*.`, e.g. `ck` for `*.ck`.
        var wildcardParents: Set<String> = []
        /// Exception rules without their `!`, e.g. `www.ck`.
        var exceptions: Set<String> = []
    }

    /// Loaded on first use; `static let` makes the load happen once, thread-safely.
    static let rules: Rules = {
        parse(String(decoding: PackageResources.public_suffix_list_dat, as: UTF8.self))
    }()

    /// How many rules were loaded.
    public static var ruleCount: Int {
        rules.suffixes.count + rules.wildcardParents.count + rules.exceptions.count
    }

    /// Whether `label` (any case; Unicode or `xn--` form) is a top-level domain on the list.
    public static func isKnownTopLevelDomain(_ label: String) -> Bool {
        guard let ascii = normalizedLabel(label) else { return false }
        return rules.topLevelDomains.contains(ascii)
    }

    /// Whether `name` (lower-case ASCII host name, no trailing dot) is itself a public
    /// suffix such as `co.jp` or `github.io`: nobody can own such a name as a host.
    public static func isPublicSuffix(_ name: String) -> Bool {
        let name = name.lowercased()
        if rules.exceptions.contains(name) { return false }
        if rules.suffixes.contains(name) { return true }
        guard let dot = name.firstIndex(of: ".") else { return false }
        return rules.wildcardParents.contains(String(name[name.index(after: dot)...]))
    }

    /// Parses the list's text format: one rule per line, `//` comments, blank lines;
    /// only the first whitespace-separated word of a line counts.
    static func parse(_ text: String) -> Rules {
        var rules = Rules()
        for line in text.split(whereSeparator: \.isNewline) {
            guard let word = line.split(whereSeparator: \.isWhitespace).first,
                  !word.hasPrefix("//") else { continue }
            var rule = Substring(word)
            var isException = false
            var isWildcard = false
            if rule.hasPrefix("!") {
                isException = true
                rule = rule.dropFirst()
            }
            if rule.hasPrefix("*.") {
                isWildcard = true
                rule = rule.dropFirst(2)
            }
            let labels = rule.split(separator: ".", omittingEmptySubsequences: false)
                .map { normalizedLabel(String($0)) }
            guard !labels.isEmpty, labels.allSatisfy({ $0 != nil && $0 != "" }) else { continue }
            let asciiLabels = labels.compactMap { $0 }
            let asciiRule = asciiLabels.joined(separator: ".")
            rules.topLevelDomains.insert(asciiLabels[asciiLabels.count - 1])
            if isException {
                rules.exceptions.insert(asciiRule)
            } else if isWildcard {
                rules.wildcardParents.insert(asciiRule)
            } else {
                rules.suffixes.insert(asciiRule)
            }
        }
        return rules
    }

    /// Lower-cases a label and converts a Unicode one to its `xn--` form.
    static func normalizedLabel(_ label: String) -> String? {
        Punycode.asciiLabel(label.lowercased())
    }
}
