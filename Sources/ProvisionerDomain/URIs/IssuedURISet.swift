/// The values the support desk issued to one tenant: what its admin must enter
/// in the Google OAuth client, and what every upload is verified against.
public struct IssuedURISet: Sendable, Hashable {
    public let version: Int
    public let host: String
    public let javascriptOrigins: [String]
    public let redirectURIs: [String]

    public init(version: Int, host: String, javascriptOrigins: [String], redirectURIs: [String]) {
        self.version = version
        self.host = host
        self.javascriptOrigins = javascriptOrigins
        self.redirectURIs = redirectURIs
    }
}
