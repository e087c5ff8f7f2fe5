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
