/// Compares the URI lists of an upload with the issued ones, and names near misses.
///
/// Three passes, so that an obvious reading wins over a far-fetched one:
/// exact matches first, then near misses within the same list, then issued values
/// that were entered in the other list (exactly or nearly).
///
/// Linear in the size of the upload: each list is compared up to `maxComparedEntries` entries
/// (an upload of 64 KiB holds thousands of short URIs), the issued lists have a handful, and
/// repeated values are found with a set, not by scanning what came before.
enum URIListCheck {
    /// Entries of one list that are compared; a longer list gets `too_many_uris`.
    static let maxComparedEntries = 100

    private struct Missing {
        let issued: String
        var value: String?
        var hint: NearMiss?
    }

    static func run(section: ClientSecretsFile.Section, issued: IssuedURISet, into findings: inout [Finding]) {
        let origins = compared(section.javascriptOrigins, field: "web.javascript_origins", into: &findings)
        let redirects = compared(section.redirectURIs, field: "web.redirect_uris", into: &findings)
        var originUsed = [Bool](repeating: false, count: origins.count)
        var redirectUsed = [Bool](repeating: false, count: redirects.count)

        var missingOrigins = exactPass(issued: issued.javascriptOrigins, uploaded: origins, used: &originUsed)
        var missingRedirects = exactPass(issued: issued.redirectURIs, uploaded: redirects, used: &redirectUsed)

        if !missingOrigins.isEmpty || !missingRedirects.isEmpty {
            nearMissPass(&missingOrigins, uploaded: origins, used: &originUsed, hint: nil)
            nearMissPass(&missingRedirects, uploaded: redirects, used: &redirectUsed, hint: nil)
            nearMissPass(&missingOrigins, uploaded: redirects, used: &redirectUsed, hint: .originInRedirects)
            nearMissPass(&missingRedirects, uploaded: origins, used: &originUsed, hint: .callbackInOrigins)
        }

        report(missingOrigins, code: .javascriptOriginMissing, field: "web.javascript_origins", into: &findings)
        reportUnexpected(origins, used: originUsed, code: .javascriptOriginUnexpected, field: "web.javascript_origins", into: &findings)
        report(missingRedirects, code: .redirectURIMissing, field: "web.redirect_uris", into: &findings)
        reportUnexpected(redirects, used: redirectUsed, code: .redirectURIUnexpected, field: "web.redirect_uris", into: &findings)
    }

    /// The entries of a list that are compared: the first `maxComparedEntries`, with one
    /// `too_many_uris` finding for a longer list (`value` = its length, `expected` = the cap).
    private static func compared(_ list: [String]?, field: String, into findings: inout [Finding]) -> ArraySlice<String> {
        let list = list ?? []
        guard list.count > maxComparedEntries else { return list[...] }
        findings.append(Finding(code: .tooManyURIs, field: field, value: String(list.count), expected: String(maxComparedEntries)))
        return list.prefix(maxComparedEntries)
    }

    private static func exactPass(issued: [String], uploaded: ArraySlice<String>, used: inout [Bool]) -> [Missing] {
        var missing: [Missing] = []
        for (position, value) in issued.enumerated() {
            // An issued list with a value twice still asks for it once.
            if issued[..<position].contains(where: { sameBytes($0, value) }) { continue }
            var found = false
            for index in uploaded.indices where sameBytes(uploaded[index], value) {
                used[index] = true
                found = true
            }
            if !found { missing.append(Missing(issued: value)) }
        }
        return missing
    }

    /// Pairs still-unexplained issued values with unused uploaded ones.
    /// - Parameter hint: nil within the same list (the kind of difference is the hint);
    ///   the cross-list hint otherwise, as being in the wrong list is the bigger problem.
    private static func nearMissPass(_ missing: inout [Missing], uploaded: ArraySlice<String>, used: inout [Bool], hint: NearMiss?) {
        for slot in missing.indices where missing[slot].value == nil {
            let issued = missing[slot].issued
            var issuedShape: URIShape?
            for index in uploaded.indices where !used[index] {
                let found: NearMiss?
                if let hint, sameBytes(uploaded[index], issued) {
                    found = hint
                } else {
                    let shape = issuedShape ?? URIShape(issued)
                    issuedShape = shape
                    let difference = URIShape(uploaded[index]).nearMiss(of: shape)
                    found = difference == nil ? nil : (hint ?? difference)
                }
                if let found {
                    used[index] = true
                    missing[slot].value = uploaded[index]
                    missing[slot].hint = found
                    break
                }
            }
        }
    }

    private static func report(_ missing: [Missing], code: FindingCode, field: String, into findings: inout [Finding]) {
        for entry in missing {
            findings.append(Finding(code: code, field: field, value: entry.value, expected: entry.issued, hint: entry.hint))
        }
    }

    private static func reportUnexpected(_ uploaded: ArraySlice<String>, used: [Bool], code: FindingCode, field: String, into findings: inout [Finding]) {
        // Google refuses duplicates, but an edited file may have them: one finding each.
        // Bytes, not `String`, in the set: "verbatim" is byte for byte (see `sameBytes`).
        var reported = Set<[UInt8]>()
        for index in uploaded.indices where !used[index] {
            let value = uploaded[index]
            if reported.insert(Array(value.utf8)).inserted {
                findings.append(Finding(code: code, field: field, value: value))
            }
        }
    }
}

/// A URI taken apart into the pieces people commonly get wrong.
struct URIShape {
    enum Scheme { case http, https }

    let hadSurroundingSpaces: Bool
    let scheme: Scheme?
    /// The scheme as written, to tell `HTTPS://` from `https://`.
    let schemeBytes: [UInt8]
    let port: [UInt8]?
    let trailingSlash: Bool
    /// Everything else, case preserved.
    let body: [UInt8]

    init(_ value: String) {
        let scalars = value.unicodeScalars
        // Full-width and no-break spaces count too: they come with Japanese input methods.
        let start = scalars.firstIndex { !$0.properties.isWhitespace } ?? scalars.endIndex
        let end = scalars.lastIndex { !$0.properties.isWhitespace }.map { scalars.index(after: $0) } ?? start
        hadSurroundingSpaces = start != scalars.startIndex || end != scalars.endIndex
        var bytes = Array(String(String.UnicodeScalarView(scalars[start..<end])).utf8)

        if Self.hasPrefixIgnoringCase(bytes, "https://") {
            scheme = .https
            schemeBytes = Array(bytes[0..<8])
            bytes.removeFirst(8)
        } else if Self.hasPrefixIgnoringCase(bytes, "http://") {
            scheme = .http
            schemeBytes = Array(bytes[0..<7])
            bytes.removeFirst(7)
        } else {
            scheme = nil
            schemeBytes = []
        }

        let authorityEnd = bytes.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? bytes.count
        var port: [UInt8]?
        if let colon = bytes[..<authorityEnd].lastIndex(of: UInt8(ascii: ":")),
           bytes[(colon + 1)..<authorityEnd].allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }) {
            port = Array(bytes[(colon + 1)..<authorityEnd])
            bytes.removeSubrange(colon..<authorityEnd)
        }
        self.port = port

        if bytes.last == UInt8(ascii: "/") {
            trailingSlash = true
            bytes.removeLast()
        } else {
            trailingSlash = false
        }
        body = bytes
    }

    /// How this (uploaded) URI differs from `issued`, if only by the usual slips.
    /// The first applicable difference names it: spaces, http, port, case, trailing slash.
    func nearMiss(of issued: URIShape) -> NearMiss? {
        let schemeCompatible = scheme == issued.scheme || (scheme == .http && issued.scheme == .https)
        guard schemeCompatible, Self.equalIgnoringCase(body, issued.body) else { return nil }
        if hadSurroundingSpaces { return .surroundingSpaces }
        if scheme == .http, issued.scheme == .https { return .schemeHTTP }
        if port != issued.port { return .port }
        if body != issued.body || schemeBytes != issued.schemeBytes { return .letterCase }
        if trailingSlash != issued.trailingSlash { return .trailingSlash }
        return nil
    }

    private static func hasPrefixIgnoringCase(_ bytes: [UInt8], _ prefix: StaticString) -> Bool {
        let length = prefix.utf8CodeUnitCount
        guard bytes.count >= length else { return false }
        let start = prefix.utf8Start
        for index in 0..<length where lowercased(bytes[index]) != start[index] {
            return false
        }
        return true
    }

    private static func equalIgnoringCase(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        lhs.count == rhs.count && zip(lhs, rhs).allSatisfy { lowercased($0) == lowercased($1) }
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        byte &- UInt8(ascii: "A") < 26 ? byte | 0x20 : byte
    }
}
