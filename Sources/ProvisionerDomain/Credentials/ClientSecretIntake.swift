/// What becomes of an upload's secret: the file's own, the one given beside it, or one to
/// carry over from an earlier upload.
public enum ClientSecretIntake: Sendable, Hashable {
    /// Store the file as uploaded: it has its secret (the same one, if one was given beside
    /// it), or it has no `web` section a secret could go into.
    case asUploaded
    /// Put the secret given beside the file into it (`ClientSecretMerge`).
    case insertSupplied(SuppliedClientSecret)
    /// The file has no secret and none was given: look for an earlier upload of this client id.
    case lookForCarryOver(clientID: String)

    /// Why an upload is refused for its secret (422).
    public enum Refusal: Error, Sendable, Hashable {
        /// The file has a non-empty secret and a different one was given beside it: which is
        /// meant cannot be known, and guessing would store a secret nobody chose.
        case conflict
    }

    /// The longest `client_secret` form field accepted; Google's are 35 characters.
    public static let maxSuppliedLength = 256

    /// Decides for `file`, given the `client_secret` field (nil when absent).
    public static func decide(file: ClientSecretsFile, supplied: SuppliedClientSecret?) throws(Refusal) -> ClientSecretIntake {
        let own = file.section?.clientSecret ?? ""
        if !own.isEmpty {
            if let supplied, !sameBytes(supplied.value, own) { throw .conflict }
            return .asUploaded
        }
        // Only a `web` section can take a secret: any other file is rejected for its shape.
        guard file.sectionType == .web, let section = file.section else { return .asUploaded }
        if let supplied { return .insertSupplied(supplied) }
        guard let clientID = section.clientID, !clientID.isEmpty else { return .asUploaded }
        return .lookForCarryOver(clientID: clientID)
    }
}

/// The `client_secret` form field of a multipart upload, checked.
///
/// Its description redacts the value: it is a secret.
public struct SuppliedClientSecret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let value: String

    public enum Invalid: Error, Sendable, Hashable {
        case tooLong
        /// Anything but printable ASCII (`!` to `~`): spaces, line breaks, control or non-ASCII
        /// characters. Google's secrets are URL-safe base64; a stray newline from a pasted or
        /// piped value would otherwise become part of the stored secret.
        case notPrintableASCII
    }

    /// nil for an empty field, which counts as absent (a browser sends an empty input).
    public static func parse(_ bytes: [UInt8]) throws(Invalid) -> SuppliedClientSecret? {
        if bytes.isEmpty { return nil }
        guard bytes.count <= ClientSecretIntake.maxSuppliedLength else { throw .tooLong }
        guard bytes.allSatisfy({ (0x21...0x7E).contains($0) }) else { throw .notPrintableASCII }
        return SuppliedClientSecret(value: String(decoding: bytes, as: UTF8.self))
    }

    init(value: String) {
        self.value = value
    }

    public var description: String { "SuppliedClientSecret(<redacted>)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["value": "<redacted>"]) }
}
