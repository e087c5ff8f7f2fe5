import Foundation
import NIOSSL
import PostgresNIO

/// A parsed `DATABASE_URL` (`postgres://user:pass@host:port/db?sslmode=...&sslrootcert=...`).
///
/// Parsed once at start-up so that a malformed value stops the process with one clear
/// line instead of failing on the first query. The CA file of `sslrootcert` is read here too,
/// for the same reason.
public struct DatabaseURL: Sendable, Equatable {
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    /// A host name or IP address (an IPv6 literal without its brackets), or the directory of
    /// a Unix socket (an absolute path: `%2Fvar%2Frun%2Fpostgresql` as the host, or `?host=`).
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    /// The `sslmode` given, else the default for the host (`defaultSSLMode(forHost:)`).
    public var sslMode: SSLMode
    /// `sslrootcert`: the PEM file of the CA certificates the server's certificate must chain
    /// to; nil means the system's trust roots.
    public var sslRootCertificatePath: String?
    /// The certificates read from `sslRootCertificatePath` at parse time.
    var sslRootCertificates: [NIOSSLCertificate]

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
        var host = components.host ?? ""
        guard let user = components.user, !user.isEmpty else {
            throw ParseError(description: "has no user name")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw ParseError(description: "has no database name (the path after the host)")
        }
        var sslMode: SSLMode?
        var rootCertificatePath: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let mode = SSLMode(rawValue: value) else {
                    let allowed = SSLMode.allCases.map(\.rawValue).joined(separator: ", ")
                    throw ParseError(description: "has an unknown sslmode (allowed: \(allowed))")
                }
                sslMode = mode
            case "sslrootcert":
                guard let value = item.value, !value.isEmpty else {
                    throw ParseError(description: "has an empty sslrootcert (the path of a PEM file of CA certificates)")
                }
                rootCertificatePath = value
            case "host":
                // libpq's way to name a socket directory: postgres://user@/db?host=/run/postgresql
                guard let value = item.value, value.hasPrefix("/"), host.isEmpty else {
                    throw ParseError(description: "has a host parameter that is not the absolute path of a socket directory, or a host as well")
                }
                host = value
            default:
                throw ParseError(
                    description: "has an unsupported parameter '\(item.name)' (only sslmode, sslrootcert and host are understood)"
                )
            }
        }
        // [::1] is how an IPv6 address is written in a URL; the address itself has no brackets.
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else {
            throw ParseError(description: "has no host")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else {
            throw ParseError(description: "has the port \(port); a port is a number from 1 to 65535")
        }
        var rootCertificates: [NIOSSLCertificate] = []
        if let rootCertificatePath {
            rootCertificates = try Self.loadCertificates(rootCertificatePath)
        }
        self.host = host
        self.port = port
        self.username = user.removingPercentEncoding ?? user
        self.password = (components.password).map { $0.removingPercentEncoding ?? $0 }
        self.database = database.removingPercentEncoding ?? database
        self.sslMode = sslMode ?? Self.defaultSSLMode(forHost: host)
        self.sslRootCertificatePath = rootCertificatePath
        self.sslRootCertificates = rootCertificates
    }

    /// The same server, another database (tests and `make test` create databases this way).
    public func with(database: String) -> DatabaseURL {
        var copy = self
        copy.database = database
        return copy
    }

    /// `prefer` (TLS if the server offers it, unchecked) only where nobody else is on the path:
    /// the loopback interface or a Unix socket. Anywhere else a missing `sslmode` must not
    /// mean that a password and every secret may cross the network in clear: `require`.
    public static func defaultSSLMode(forHost host: String) -> SSLMode {
        isUnixSocketDirectory(host) || LoopbackHost.contains(host) ? .prefer : .require
    }

    static func isUnixSocketDirectory(_ host: String) -> Bool {
        host.hasPrefix("/")
    }

    /// The CA certificates of a PEM file; an unreadable file or one without a certificate is
    /// a configuration error now rather than a TLS failure on every connection later.
    static func loadCertificates(_ path: String) throws(ParseError) -> [NIOSSLCertificate] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ParseError(description: "has sslrootcert=\(path), which does not exist or cannot be read")
        }
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(Array(data))
        } catch {
            throw ParseError(description: "has sslrootcert=\(path), which is not a PEM file of certificates")
        }
        guard !certificates.isEmpty else {
            throw ParseError(description: "has sslrootcert=\(path), which holds no PEM certificate")
        }
        return certificates
    }

    /// Where a Unix-socket URL connects: libpq's `<directory>/.s.PGSQL.<port>`.
    public var unixSocketPath: String? {
        guard Self.isUnixSocketDirectory(host) else { return nil }
        return (host.hasSuffix("/") ? host : host + "/") + ".s.PGSQL.\(port)"
    }

    /// How the connection uses TLS, with libpq's meaning of each sslmode: `prefer` (and
    /// `allow`) encrypt when the server offers it, without checking the certificate; `require`
    /// encrypts without checking it, unless `sslrootcert` is given, when it checks the chain as
    /// libpq does; `verify-ca` checks the chain; `verify-full` also the host name. The chain is
    /// checked against `sslrootcert`, else the system's trust roots.
    enum TLSPolicy: Equatable {
        case disable
        case prefer(certificateVerification: CertificateVerification)
        case require(certificateVerification: CertificateVerification)
    }

    var tlsPolicy: TLSPolicy {
        // A Unix socket is local by construction; PostgreSQL does not speak TLS over one.
        if Self.isUnixSocketDirectory(host) { return .disable }
        switch sslMode {
        case .disable:
            return .disable
        case .allow, .prefer:
            return .prefer(certificateVerification: .none)
        case .require:
            return .require(certificateVerification: sslRootCertificatePath == nil ? .none : .noHostnameVerification)
        case .verifyCA:
            return .require(certificateVerification: .noHostnameVerification)
        case .verifyFull:
            return .require(certificateVerification: .fullVerification)
        }
    }

    /// The client's TLS settings for `tlsPolicy`.
    var tlsConfiguration: TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch tlsPolicy {
        case .disable:
            break
        case .prefer(let verification), .require(let verification):
            configuration.certificateVerification = verification
        }
        if !sslRootCertificates.isEmpty {
            configuration.trustRoots = .certificates(sslRootCertificates)
        }
        return configuration
    }

    var tls: PostgresClient.Configuration.TLS {
        switch tlsPolicy {
        case .disable: .disable
        case .prefer: .prefer(tlsConfiguration)
        case .require: .require(tlsConfiguration)
        }
    }
}
