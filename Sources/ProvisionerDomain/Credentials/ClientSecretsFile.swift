#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto

/// The application type a Google OAuth client was created with; its JSON is keyed by it.
public enum ClientType: String, Sendable, Hashable, Codable, CaseIterable {
    /// "Web application" (ウェブアプリケーション): what the CRM needs.
    case web
    /// "Desktop app": has no redirect URIs of ours and cannot work.
    case installed
}

/// Google's downloaded `client_secrets.json`, read leniently.
///
/// Extraction never fails: whatever shape the upload has, the verifier must be able
/// to say what is wrong with it, so every field is optional and a wrong type reads as absent.
public struct ClientSecretsFile: Sendable, Hashable {
    /// The fields under `web` (or `installed`).
    public struct Section: Sendable, Hashable {
        public var clientID: String?
        public var projectID: String?
        public var authURI: String?
        public var tokenURI: String?
        public var authProviderX509CertURL: String?
        public var clientSecret: String?
        /// Only the string elements; nil when the key is absent or not an array.
        public var redirectURIs: [String]?
        public var javascriptOrigins: [String]?

        public init(
            clientID: String? = nil, projectID: String? = nil, authURI: String? = nil,
            tokenURI: String? = nil, authProviderX509CertURL: String? = nil, clientSecret: String? = nil,
            redirectURIs: [String]? = nil, javascriptOrigins: [String]? = nil
        ) {
            self.clientID = clientID
            self.projectID = projectID
            self.authURI = authURI
            self.tokenURI = tokenURI
            self.authProviderX509CertURL = authProviderX509CertURL
            self.clientSecret = clientSecret
            self.redirectURIs = redirectURIs
            self.javascriptOrigins = javascriptOrigins
        }

        /// Reads a section; anything that is not an object reads as an empty section.
        public init(_ value: JSONValue) {
            guard case .object(let members) = value else {
                self.init()
                return
            }
            self.init()
            // First occurrence wins, as in `JSONValue.subscript`, so every reader agrees.
            var seen: UInt16 = 0
            for member in members {
                let bit: UInt16
                switch member.key {
                case "client_id": bit = 1
                case "project_id": bit = 2
                case "auth_uri": bit = 4
                case "token_uri": bit = 8
                case "auth_provider_x509_cert_url": bit = 16
                case "client_secret": bit = 32
                case "redirect_uris": bit = 64
                case "javascript_origins": bit = 128
                default: continue
                }
                guard seen & bit == 0 else { continue }
                seen |= bit
                switch bit {
                case 1: clientID = member.value.stringValue
                case 2: projectID = member.value.stringValue
                case 4: authURI = member.value.stringValue
                case 8: tokenURI = member.value.stringValue
                case 16: authProviderX509CertURL = member.value.stringValue
                case 32: clientSecret = member.value.stringValue
                case 64: redirectURIs = Self.strings(member.value)
                default: javascriptOrigins = Self.strings(member.value)
                }
            }
        }

        private static func strings(_ value: JSONValue) -> [String]? {
            guard case .array(let elements) = value else { return nil }
            var strings: [String] = []
            strings.reserveCapacity(elements.count)
            for element in elements {
                if case .string(let string) = element { strings.append(string) }
            }
            return strings
        }
    }

    /// Whether the top level is a JSON object at all.
    public let isObject: Bool
    /// The top-level member names in file order, duplicates included.
    public let topLevelKeys: [String]
    /// `web` or `installed` when that is the one and only top-level key; nil otherwise.
    public let clientType: ClientType?
    /// Which section `section` was read from: `web` when present, else `installed`.
    public let sectionType: ClientType?
    /// The section the other fields come from, nil when neither `web` nor `installed` exists.
    public let section: Section?

    public init(_ value: JSONValue) {
        guard case .object(let members) = value else {
            isObject = false
            topLevelKeys = []
            clientType = nil
            sectionType = nil
            section = nil
            return
        }
        isObject = true
        topLevelKeys = members.map(\.key)
        if members.count == 1, let only = ClientType(rawValue: members[0].key) {
            clientType = only
        } else {
            clientType = nil
        }
        if let web = value["web"] {
            sectionType = .web
            section = Section(web)
        } else if let installed = value["installed"] {
            sectionType = .installed
            section = Section(installed)
        } else {
            sectionType = nil
            section = nil
        }
    }

    /// Parses and reads a file; nil when the bytes are not JSON.
    public init?(fileBytes: [UInt8]) {
        guard let value = try? JSONParser().parse(fileBytes) else { return nil }
        self.init(value)
    }
}

/// What is shown about an upload in listings: everything useful and nothing secret.
public struct ClientSecretsSummary: Sendable, Hashable, Codable {
    public let clientType: ClientType?
    public let clientID: String?
    public let projectID: String?
    /// The last 4 characters of the secret; nil when it has fewer than 8,
    /// because then 4 characters would give away too much of it.
    public let clientSecretHint: String?
    /// Lowercase hex SHA-256 of the exact uploaded bytes.
    public let sha256: String

    public init(clientType: ClientType?, clientID: String?, projectID: String?, clientSecretHint: String?, sha256: String) {
        // Stored in text columns: no U+0000 (StorableText).
        self.clientType = clientType
        self.clientID = StorableText.make(clientID)
        self.projectID = StorableText.make(projectID)
        self.clientSecretHint = StorableText.make(clientSecretHint)
        self.sha256 = sha256
    }

    public init(file: ClientSecretsFile, sha256: String) {
        let section = file.section
        self.init(
            clientType: file.clientType,
            clientID: section?.clientID,
            projectID: section?.projectID,
            clientSecretHint: section?.clientSecret.flatMap(Self.hint(forSecret:)),
            sha256: sha256
        )
    }

    /// Summarizes an upload that may not even be JSON: then only `sha256` is set.
    public init(fileBytes: [UInt8]) {
        let digest = Self.sha256Hex(fileBytes)
        if let value = try? JSONParser().parse(fileBytes) {
            self.init(file: ClientSecretsFile(value), sha256: digest)
        } else {
            self.init(clientType: nil, clientID: nil, projectID: nil, clientSecretHint: nil, sha256: digest)
        }
    }

    /// Summarizes an upload, refusing bytes that are not JSON (the API answers 400 `invalid_json`).
    public static func summarize(_ bytes: [UInt8]) throws(JSONParseError) -> ClientSecretsSummary {
        let value = try JSONParser().parse(bytes)
        return ClientSecretsSummary(file: ClientSecretsFile(value), sha256: sha256Hex(bytes))
    }

    public static func hint(forSecret secret: String) -> String? {
        guard secret.count >= 8 else { return nil }
        return String(secret.suffix(4))
    }

    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        let digest = SHA256.hash(data: bytes)
        let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in digest {
            hex.append(hexDigits[Int(byte >> 4)])
            hex.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }

    private enum CodingKeys: String, CodingKey {
        case clientType = "client_type"
        case clientID = "client_id"
        case projectID = "project_id"
        case clientSecretHint = "client_secret_hint"
        case sha256
    }
}

/// The credential as the CRM runtime needs it, secret included.
///
/// Its descriptions and mirror redact the secret so that an accidental
/// `"\(credential)"` or `dump(credential)` in a log line cannot leak it.
public struct RuntimeCredential: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let clientID: String
    public let clientSecret: String
    public let projectID: String?
    public let redirectURIs: [String]
    public let javascriptOrigins: [String]
    /// `auth_uri` and `token_uri` exactly as uploaded: with them, `{"web": ...}` of what the
    /// runtime reads is a client config Google's libraries accept as is. A verified file has
    /// both (else `field_missing`); nil only for a file that was never verified.
    public let authURI: String?
    public let tokenURI: String?

    public init(
        clientID: String, clientSecret: String, projectID: String?, redirectURIs: [String], javascriptOrigins: [String],
        authURI: String? = nil, tokenURI: String? = nil
    ) {
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.projectID = projectID
        self.redirectURIs = redirectURIs
        self.javascriptOrigins = javascriptOrigins
        self.authURI = authURI
        self.tokenURI = tokenURI
    }

    /// Reads the credential from an upload; nil when it has no client id or no secret.
    public init?(fileBytes: [UInt8]) {
        guard let file = ClientSecretsFile(fileBytes: fileBytes) else { return nil }
        self.init(file: file)
    }

    public init?(file: ClientSecretsFile) {
        guard let section = file.section,
              let clientID = section.clientID, !clientID.isEmpty,
              let clientSecret = section.clientSecret, !clientSecret.isEmpty
        else { return nil }
        self.init(
            clientID: clientID,
            clientSecret: clientSecret,
            projectID: section.projectID,
            redirectURIs: section.redirectURIs ?? [],
            javascriptOrigins: section.javascriptOrigins ?? [],
            authURI: section.authURI,
            tokenURI: section.tokenURI
        )
    }

    public var description: String {
        "RuntimeCredential(client_id: \(clientID), client_secret: <redacted>, project_id: \(projectID ?? "nil"), "
            + "redirect_uris: \(redirectURIs), javascript_origins: \(javascriptOrigins), "
            + "auth_uri: \(authURI ?? "nil"), token_uri: \(tokenURI ?? "nil"))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: [
            "clientID": clientID,
            "clientSecret": "<redacted>",
            "projectID": projectID as Any,
            "redirectURIs": redirectURIs,
            "javascriptOrigins": javascriptOrigins,
            "authURI": authURI as Any,
            "tokenURI": tokenURI as Any,
        ])
    }
}
