import Foundation
import NIOSSL
import Testing
@testable import ProvisionerStore

@Suite struct DatabaseURLTests {
    @Test func parsesEveryPart() throws {
        let url = try DatabaseURL(parsing: "postgres://app:p%40ss@db.internal:6543/provisioner?sslmode=verify-full")
        #expect(url.host == "db.internal")
        #expect(url.port == 6543)
        #expect(url.username == "app")
        #expect(url.password == "p@ss")
        #expect(url.database == "provisioner")
        #expect(url.sslMode == .verifyFull)
    }

    @Test func defaultsPortAndSSLMode() throws {
        let url = try DatabaseURL(parsing: "postgresql://app@localhost/db")
        #expect(url.port == 5432)
        #expect(url.password == nil)
        #expect(url.sslMode == .prefer)
    }

    /// Without sslmode: `prefer` only where nobody else is on the path, `require` elsewhere.
    @Test(arguments: [
        ("postgres://u@localhost/db", DatabaseURL.SSLMode.prefer),
        ("postgres://u@LocalHost:5433/db", .prefer),
        ("postgres://u@127.0.0.1/db", .prefer),
        ("postgres://u@127.10.20.30:6543/db", .prefer),
        ("postgres://u@[::1]/db", .prefer),
        ("postgres://u@[::1]:5433/db", .prefer),
        ("postgres://u@[::ffff:127.0.0.1]/db", .prefer),
        ("postgres://u@%2Fvar%2Frun%2Fpostgresql/db", .prefer),
        ("postgres://u@/db?host=/run/postgresql", .prefer),
        ("postgres://u@db.internal/db", .require),
        ("postgres://u@10.0.0.7/db", .require),
        ("postgres://u@128.0.0.1/db", .require),
        ("postgres://u@192.168.1.127/db", .require),
        ("postgres://u@[::2]/db", .require),
        ("postgres://u@[2001:db8::1]/db", .require),
        ("postgres://u@localhost.example.com/db", .require),
        ("postgres://u@127.0.0.1.nip.io/db", .require),
        ("postgres://u@postgres:5432/db", .require),
        // Given, it is what it says, wherever the host.
        ("postgres://u@db.internal/db?sslmode=disable", .disable),
        ("postgres://u@db.internal/db?sslmode=prefer", .prefer),
        ("postgres://u@127.0.0.1/db?sslmode=verify-full", .verifyFull),
    ])
    func sslModeDefaultsByHost(raw: String, expected: DatabaseURL.SSLMode) throws {
        #expect(try DatabaseURL(parsing: raw).sslMode == expected)
    }

    @Test func anIPv6HostLosesItsBrackets() throws {
        let url = try DatabaseURL(parsing: "postgres://u@[::1]:6543/db")
        #expect(url.host == "::1")
        #expect(url.port == 6543)
        #expect(url.unixSocketPath == nil)
    }

    /// A socket directory, as the host or as libpq's `host` parameter: libpq's socket file name.
    @Test(arguments: [
        "postgres://u@%2Fvar%2Frun%2Fpostgresql:5433/db",
        "postgres://u@:5433/db?host=/var/run/postgresql",
        "postgres://u@:5433/db?host=/var/run/postgresql/",
    ])
    func aUnixSocketHost(raw: String) throws {
        let url = try DatabaseURL(parsing: raw)
        #expect(url.unixSocketPath == "/var/run/postgresql/.s.PGSQL.5433")
        #expect(url.tlsPolicy == .disable)
    }

    /// What each sslmode asks of the certificate (libpq's meanings).
    @Test(arguments: [
        ("postgres://u@db.internal/db?sslmode=disable", DatabaseURL.TLSPolicy.disable),
        ("postgres://u@db.internal/db?sslmode=allow", .prefer(certificateVerification: .none)),
        ("postgres://u@db.internal/db?sslmode=prefer", .prefer(certificateVerification: .none)),
        ("postgres://u@db.internal/db", .require(certificateVerification: .none)),
        ("postgres://u@db.internal/db?sslmode=require", .require(certificateVerification: .none)),
        ("postgres://u@db.internal/db?sslmode=verify-ca", .require(certificateVerification: .noHostnameVerification)),
        ("postgres://u@db.internal/db?sslmode=verify-full", .require(certificateVerification: .fullVerification)),
    ])
    func tlsPolicyBySSLMode(raw: String, expected: DatabaseURL.TLSPolicy) throws {
        #expect(try DatabaseURL(parsing: raw).tlsPolicy == expected)
    }

    // MARK: sslrootcert

    /// A self-signed CA made for these tests (openssl req -x509, P-256, 100 years).
    static let caPEM = """
        -----BEGIN CERTIFICATE-----
        MIIBlDCCATmgAwIBAgIUN24p01ELnyzN6sBGd1CRkDQ1QEcwCgYIKoZIzj0EAwIw
        HjEcMBoGA1UEAwwTcHJvdmlzaW9uZXIgdGVzdCBDQTAgFw0yNjEyMDYyMDUyNDZa
        GA8yMTI2MTExMjIwNTI0NlowHjEcMBoGA1UEAwwTcHJvdmlzaW9uZXIgdGVzdCBD
        QTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABCc2Aj856PoIOhDnMDcW+rAobtYK
        43TA9XykorSqJOObEJamSH5m3LVQmptZ384K4Gcz/Nzgg8CCxyzN9whGHTWjUzBR
        MB0GA1UdDgQWBBTs+R+nLr8KiDK6HJVGr43LiRjY5TAfBgNVHSMEGDAWgBTs+R+n
        Lr8KiDK6HJVGr43LiRjY5TAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kA
        MEYCIQDC68FOxDdcbg9ZJHDhAWAuiMn4UVHa7AXeVjzb/viwUAIhAOTcbEHrktWX
        Q4G26B4IK8dYDVaI3HH0hgE2qSfUQwxx
        -----END CERTIFICATE-----

        """

    /// Runs `body` with the path of a file holding `contents`, removed afterwards.
    static func withFile<T>(_ contents: String, _ body: (String) throws -> T) throws -> T {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ca-\(UUID().uuidString).pem").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(contents.utf8)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try body(path)
    }

    @Test func verifyFullWithARootCertificateTrustsOnlyIt() throws {
        try Self.withFile(Self.caPEM) { path in
            let url = try DatabaseURL(parsing: "postgres://u:p@db.internal:5432/provisioner?sslmode=verify-full&sslrootcert=\(path)")
            #expect(url.sslMode == .verifyFull)
            #expect(url.sslRootCertificatePath == path)
            #expect(url.tlsPolicy == .require(certificateVerification: .fullVerification))
            let expected = try NIOSSLCertificate.fromPEMBytes(Array(Self.caPEM.utf8))
            #expect(url.tlsConfiguration.trustRoots == .certificates(expected))
            #expect(url.tlsConfiguration.certificateVerification == .fullVerification)
        }
    }

    @Test func verifyCAChecksTheChainWithoutTheHostName() throws {
        try Self.withFile(Self.caPEM) { path in
            let url = try DatabaseURL(parsing: "postgres://u@10.0.0.7/db?sslrootcert=\(path)&sslmode=verify-ca")
            #expect(url.tlsConfiguration.certificateVerification == .noHostnameVerification)
            #expect(url.tlsConfiguration.trustRoots == .certificates(try NIOSSLCertificate.fromPEMBytes(Array(Self.caPEM.utf8))))
        }
    }

    /// libpq: `require` with a root certificate file checks the chain, as verify-ca does.
    @Test func requireWithARootCertificateChecksTheChain() throws {
        try Self.withFile(Self.caPEM) { path in
            let url = try DatabaseURL(parsing: "postgres://u@db.internal/db?sslrootcert=\(path)")
            #expect(url.sslMode == .require)
            #expect(url.tlsPolicy == .require(certificateVerification: .noHostnameVerification))
        }
    }

    @Test func withoutARootCertificateTheSystemRootsAreTrusted() throws {
        let url = try DatabaseURL(parsing: "postgres://u@db.internal/db?sslmode=verify-full")
        #expect(url.sslRootCertificatePath == nil)
        #expect(url.tlsConfiguration.trustRoots == nil || url.tlsConfiguration.trustRoots == .default)
    }

    /// A missing, unreadable or empty sslrootcert stops the start-up (ServiceEnvironment names
    /// DATABASE_URL with this description), never the first connection.
    @Test func aRootCertificateFileThatCannotBeUsedIsRefused() throws {
        let missing = "/nonexistent/\(UUID().uuidString)/ca.pem"
        #expect(throws: DatabaseURL.ParseError.self) {
            try DatabaseURL(parsing: "postgres://u@db.internal/db?sslmode=verify-full&sslrootcert=\(missing)")
        }
        do {
            _ = try DatabaseURL(parsing: "postgres://u:hunter2@db.internal/db?sslmode=verify-full&sslrootcert=\(missing)")
        } catch {
            #expect(error.description.contains("sslrootcert"))
            #expect(error.description.contains(missing))
            #expect(!error.description.contains("hunter2"))
        }
        try Self.withFile("not a certificate\n") { path in
            #expect(throws: DatabaseURL.ParseError.self) { try DatabaseURL(parsing: "postgres://u@db.internal/db?sslrootcert=\(path)") }
        }
        // A directory cannot be read as a file.
        #expect(throws: DatabaseURL.ParseError.self) {
            try DatabaseURL(parsing: "postgres://u@db.internal/db?sslrootcert=\(FileManager.default.temporaryDirectory.path)")
        }
        #expect(throws: DatabaseURL.ParseError.self) { try DatabaseURL(parsing: "postgres://u@db.internal/db?sslrootcert=") }
    }

    /// Unreadable by permissions (not for root, which reads anything).
    @Test(.enabled(if: getuid() != 0)) func anUnreadableRootCertificateIsRefused() throws {
        try Self.withFile(Self.caPEM) { path in
            try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: path)
            #expect(throws: DatabaseURL.ParseError.self) { try DatabaseURL(parsing: "postgres://u@db.internal/db?sslrootcert=\(path)") }
        }
    }

    @Test(arguments: [
        "",
        "mysql://u:p@h/db",
        "postgres://u:p@h:99999/db",
        "postgres://u:p@h:0/db",
        "postgres://h/db",
        "postgres://u:p@h",
        "postgres://u:p@h/",
        "postgres://u:p@h/db?sslmode=sometimes",
        "postgres://u:p@h/db?pool=3",
        "postgres://u:p@h/db?host=relative/dir",
        "postgres://u:p@h/db?host=/run/postgresql",
        "postgres://u:p@/db",
        "not a url at all",
    ])
    func refusesMalformed(raw: String) {
        #expect(throws: DatabaseURL.ParseError.self) { try DatabaseURL(parsing: raw) }
    }

    @Test func errorNeverRepeatsThePassword() {
        do {
            _ = try DatabaseURL(parsing: "postgres://u:sup3rsecret@h/db?sslmode=bogus")
            Issue.record("expected an error")
        } catch {
            #expect(!error.description.contains("sup3rsecret"))
        }
    }
}
