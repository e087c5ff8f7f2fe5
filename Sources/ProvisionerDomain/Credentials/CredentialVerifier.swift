#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What Google's token endpoint said about the client id and secret, when the
/// worker asked it. The worker maps HTTP answers to these.
public enum LiveCheckOutcome: String, Sendable, Hashable, Codable, CaseIterable {
    /// `400 invalid_grant`: Google knows the client and accepted the secret.
    case validPair = "valid_pair"
    case clientNotFound = "client_not_found"
    case clientSecretInvalid = "client_secret_invalid"
    /// No usable answer after the retries.
    case unavailable
}

/// Facts about an upload that only the store or the network know.
public struct VerificationContext: Sendable, Hashable {
    /// The same client id is the active credential of another tenant.
    public var clientIDActiveElsewhere: Bool
    /// nil when no live check was performed.
    public var liveCheck: LiveCheckOutcome?
    /// The earlier upload whose secret was put into this file at upload (recorded on the
    /// credential row), so that every verification of it says so; nil when it had its own.
    public var secretCarriedFrom: UUID?

    public init(clientIDActiveElsewhere: Bool = false, liveCheck: LiveCheckOutcome? = nil, secretCarriedFrom: UUID? = nil) {
        self.clientIDActiveElsewhere = clientIDActiveElsewhere
        self.liveCheck = liveCheck
        self.secretCarriedFrom = secretCarriedFrom
    }
}

/// The outcome of one verification.
public struct Verdict: Sendable, Hashable {
    public let findings: [Finding]

    public init(findings: [Finding]) {
        self.findings = findings
    }

    /// `.verified` when no finding is an error, else `.rejected`.
    public var state: CredentialState {
        findings.contains { $0.severity == .error } ? .rejected : .verified
    }
}

/// Checks an uploaded client_secrets.json against the URIs issued to its tenant.
///
/// Pure and total: any bytes give a verdict, never a crash or a throw, and all
/// problems of a file are reported at once so the admin can fix them in one visit
/// to the console. Findings come in a fixed order: file shape, client id, secret,
/// endpoints, origins (missing, then unexpected), redirect URIs (missing, then
/// unexpected), then the facts from the context (secret carried over, client id in use,
/// live check).
///
/// Decisions of our own, where Google's and our documented rules are silent:
/// - A file for a Desktop app (`installed`) gets only `client_type_installed`: its fields
///   cannot be fixed, only a new Web client helps, so listing them would be noise.
/// - With `web` among other top-level keys, `client_type_unknown` is reported and the
///   `web` section is still checked. A `web` that is not an object reads as empty.
/// - Duplicate keys: the first occurrence counts (as everywhere else in the service).
/// - An uploaded URI reported as the near miss of an issued one (`hint`) is not also
///   reported as unexpected: one finding already tells the admin to change that value.
/// - Comparisons are byte for byte ("verbatim"), not by Unicode equivalence.
/// - Bounded work and output: each URI list is compared up to 100 entries (`too_many_uris`
///   beyond), and a verdict keeps at most 50 findings (`findings_truncated` beyond), so any
///   upload of 64 KiB is verified in time linear in its size.
public struct CredentialVerifier: Sendable {
    /// Google's authorization endpoints (the first is what Google writes today).
    public static let authorizationEndpoints = [
        "https://accounts.google.com/o/oauth2/auth",
        "https://accounts.google.com/o/oauth2/v2/auth",
    ]
    /// Google's token endpoints (the first is what Google writes today).
    public static let tokenEndpoints = [
        "https://oauth2.googleapis.com/token",
        "https://accounts.google.com/o/oauth2/token",
        "https://www.googleapis.com/oauth2/v4/token",
    ]

    private let parser: JSONParser

    public init(maxDepth: Int = JSONParser.defaultMaxDepth) {
        parser = JSONParser(maxDepth: maxDepth)
    }

    /// Verifies raw upload bytes; bytes that are not JSON give `json_not_object`.
    public func verify(fileBytes: [UInt8], against uriSet: IssuedURISet?, context: VerificationContext = .init()) -> Verdict {
        let file: ClientSecretsFile
        do {
            file = ClientSecretsFile(try parser.parse(fileBytes))
        } catch {
            file = ClientSecretsFile(.null)
        }
        return verify(file: file, against: uriSet, context: context)
    }

    public func verify(file: ClientSecretsFile, against uriSet: IssuedURISet?, context: VerificationContext = .init()) -> Verdict {
        var findings: [Finding] = []
        let section = checkShape(file, into: &findings)
        if let section {
            checkFields(section, into: &findings)
        }
        if let uriSet {
            if let section {
                URIListCheck.run(section: section, issued: uriSet, into: &findings)
            }
        } else {
            findings.append(Finding(code: .uriSetNotIssued))
        }
        let clientID = section?.clientID
        if let source = context.secretCarriedFrom {
            // The id, never the secret: findings are shown to people.
            findings.append(Finding(code: .clientSecretCarriedOver, field: "web.client_secret", value: source.uuidString.lowercased()))
        }
        if context.clientIDActiveElsewhere {
            findings.append(Finding(code: .clientIDInUse, field: clientID == nil ? nil : "web.client_id", value: clientID))
        }
        switch context.liveCheck {
        case nil, .validPair?:
            break
        case .clientNotFound?:
            findings.append(Finding(code: .liveClientNotFound, field: "web.client_id", value: clientID))
        case .clientSecretInvalid?:
            findings.append(Finding(code: .liveClientSecretInvalid, field: "web.client_secret"))
        case .unavailable?:
            findings.append(Finding(code: .liveCheckUnavailable))
        }
        return Verdict(findings: Self.bounded(findings))
    }

    /// Findings a credential keeps; beyond them one `findings_truncated` warning stands in for the rest.
    public static let maxFindings = 50

    /// At most `maxFindings` findings, then `findings_truncated` (its `value` = how many were
    /// left out). Errors are kept before warnings, so the verdict is the one the whole list
    /// gives; the kept findings stay in their order.
    static func bounded(_ findings: [Finding]) -> [Finding] {
        guard findings.count > maxFindings else { return findings }
        let errors = findings.indices.filter { findings[$0].severity == .error }
        let warnings = findings.indices.filter { findings[$0].severity != .error }
        let kept = (errors + warnings).prefix(maxFindings).sorted()
        var bounded = kept.map { findings[$0] }
        bounded.append(Finding(code: .findingsTruncated, value: String(findings.count - kept.count)))
        return bounded
    }

    /// Reports what is wrong with the top level; returns the `web` section to check, if any.
    private func checkShape(_ file: ClientSecretsFile, into findings: inout [Finding]) -> ClientSecretsFile.Section? {
        guard file.isObject else {
            findings.append(Finding(code: .jsonNotObject))
            return nil
        }
        if file.clientType == .installed {
            findings.append(Finding(code: .clientTypeInstalled, value: "installed"))
            return nil
        }
        if file.clientType != .web {
            let keys = file.topLevelKeys.isEmpty ? nil : file.topLevelKeys.joined(separator: ", ")
            findings.append(Finding(code: .clientTypeUnknown, value: keys))
        }
        return file.sectionType == .web ? file.section : nil
    }

    private func checkFields(_ section: ClientSecretsFile.Section, into findings: inout [Finding]) {
        if let clientID = section.clientID {
            if !Self.isWellFormedClientID(clientID) {
                findings.append(Finding(code: .clientIDMalformed, field: "web.client_id", value: clientID))
            }
        } else {
            findings.append(Finding(code: .fieldMissing, field: "web.client_id"))
        }

        // The secret itself never goes into a finding: findings are shown to people.
        if let secret = section.clientSecret, !secret.isEmpty {
            if !Self.isUsualSecret(secret) {
                findings.append(Finding(code: .clientSecretUnusual, field: "web.client_secret"))
            }
        } else {
            findings.append(Finding(code: .clientSecretMissing, field: "web.client_secret"))
        }

        if let authURI = section.authURI {
            if !Self.authorizationEndpoints.contains(where: { sameBytes($0, authURI) }) {
                findings.append(Finding(
                    code: .authURIUnexpected, field: "web.auth_uri",
                    value: authURI, expected: Self.authorizationEndpoints[0]))
            }
        } else {
            findings.append(Finding(code: .fieldMissing, field: "web.auth_uri"))
        }

        if let tokenURI = section.tokenURI {
            if !Self.tokenEndpoints.contains(where: { sameBytes($0, tokenURI) }) {
                findings.append(Finding(
                    code: .tokenURIUnexpected, field: "web.token_uri",
                    value: tokenURI, expected: Self.tokenEndpoints[0]))
            }
        } else {
            findings.append(Finding(code: .fieldMissing, field: "web.token_uri"))
        }
    }

    /// `^[0-9]+-[a-z0-9_]+\.apps\.googleusercontent\.com$`, by hand: no regex engine on the hot path.
    public static func isWellFormedClientID(_ clientID: String) -> Bool {
        var contiguous = clientID
        contiguous.makeContiguousUTF8()
        return contiguous.utf8.withContiguousStorageIfAvailable(isWellFormedClientID) ?? false
    }

    private static func isWellFormedClientID(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let suffix: StaticString = ".apps.googleusercontent.com"
        let suffixLength = suffix.utf8CodeUnitCount
        let count = bytes.count
        guard count > suffixLength + 2 else { return false }
        let bodyEnd = count - suffixLength
        let suffixStart = suffix.utf8Start
        for index in 0..<suffixLength where bytes[bodyEnd + index] != suffixStart[index] {
            return false
        }
        var index = 0
        while index < bodyEnd, bytes[index] &- UInt8(ascii: "0") < 10 { index += 1 }
        guard index > 0, index < bodyEnd, bytes[index] == UInt8(ascii: "-") else { return false }
        index += 1
        guard index < bodyEnd else { return false }
        while index < bodyEnd {
            let byte = bytes[index]
            guard byte &- UInt8(ascii: "a") < 26 || byte &- UInt8(ascii: "0") < 10 || byte == UInt8(ascii: "_") else {
                return false
            }
            index += 1
        }
        return true
    }

    /// `GOCSPX-` and 28 characters, or a legacy 24-character secret; both drawn from
    /// the URL-safe base64 alphabet, which is what Google issues.
    public static func isUsualSecret(_ secret: String) -> Bool {
        let utf8 = secret.utf8
        let prefix = "GOCSPX-".utf8
        if utf8.count == 35, utf8.starts(with: prefix) {
            return utf8.dropFirst(prefix.count).allSatisfy(isSecretCharacter)
        }
        return utf8.count == 24 && utf8.allSatisfy(isSecretCharacter)
    }

    private static func isSecretCharacter(_ byte: UInt8) -> Bool {
        (byte | 0x20) &- UInt8(ascii: "a") < 26
            || byte &- UInt8(ascii: "0") < 10
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }
}

/// Byte-for-byte string equality: Swift's `==` treats canonically equivalent
/// Unicode as equal, but "present verbatim" means the same bytes.
func sameBytes(_ lhs: String, _ rhs: String) -> Bool {
    lhs.utf8.count == rhs.utf8.count && lhs.utf8.elementsEqual(rhs.utf8)
}
