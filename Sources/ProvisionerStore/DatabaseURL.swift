import Foundation
import NIOSSL
import PostgresNIO

/// A parsed `DATABASE_URL` (`postgres://user:pass@host:port/db?sslmode=...`).
///
/// Parsed once at start-up so that a malformed value stops the process with one clear
/// line instead of failing on the first query.
public struct DatabaseURL: Sendable, Equatable {
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// Parses the URL. The error never repeats the password.
    public init(parsing raw: String) throws(ParseError) {
        guard let components = URLComponents(string: raw.trimmingCharacters(in: .whitespaces)) else {
            throw ParseError(description: "is not a URL; expected postgres://user:pass@host:port/db")
        }
        guard let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            throw ParseError(description: "must start with postgres:// or postgresql://")
        }
        guard let host = components.host, !host.isEmpty else {
            throw ParseError(description: "has no host")
        }
        guard let user = components.user, !user.isEmpty else {
            throw ParseError(description: "has no user name")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw ParseError(description: "has no database name (the path after the host)")
        }
        var sslMode = SSLMode.prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let mode = SSLMode(rawValue: value) else {
                    let allowed = SSLMode.allCases.map(\.rawValue).joined(separator: ", ")
                    throw ParseError(description: "has an unknown sslmode (allowed: \(allowed))")
                }
                sslMode = mode
            default:
                throw ParseError(description: "has an unsupported parameter '\(item.name)' (only sslmode is understood)")
            }
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else {
            throw ParseError(description: "has the port \(port); a port is a number from 1 to 65535")
        }
        self.host = host
        self.port = port
        self.username = user.removingPercentEncoding ?? user
        self.password = (components.password).map { $0.removingPercentEncoding ?? $0 }
        self.database = database.removingPercentEncoding ?? database
        self.sslMode = sslMode
    }

    /// The same server, another database (tests and `make test` create databases this way).
    public func with(database: String) -> DatabaseURL {
        var copy = self
        copy.database = database
        return copy
    }

    /// TLS with libpq's meaning of each sslmode: `require` encrypts without checking the
    /// certificate, `verify-ca` checks the chain, `verify-full` also the host name.
    var tls: PostgresClient.Configuration.TLS {
        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case .disable:
            return .disable
        case .allow, .prefer:
            tlsConfiguration.certificateVerification = .none
            return .prefer(tlsConfiguration)
        case .require:
            tlsConfiguration.certificateVerification = .none
            return .require(tlsConfiguration)
        case .verifyCA:
            tlsConfiguration.certificateVerification = .noHostnameVerification
            return .require(tlsConfiguration)
        case .verifyFull:
            tlsConfiguration.certificateVerification = .fullVerification
            return .require(tlsConfiguration)
        }
    }
}
