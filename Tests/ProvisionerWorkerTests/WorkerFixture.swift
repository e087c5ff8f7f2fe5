import Foundation
import Logging
import PostgresNIO
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import ProvisionerWorker
import ServiceLifecycle
import Synchronization
import Testing

/// A fresh migrated database with a worker-purpose client (`provisioner_app`, all tenants),
/// and helpers to make tenants, URI sets and uploads through the stores, as the API does.
struct WorkerFixture: Sendable {
    let url: DatabaseURL
    let client: PostgresClient
    let sealer: SecretSealer

    static let logger: Logger = {
        var logger = Logger(label: "worker-test")
        logger.logLevel = ProcessInfo.processInfo.environment["WORKER_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        return logger
    }()

    static func makeSealer(keyID: String = "k1") -> SecretSealer {
        SecretSealer(keyring: try! EncryptionKeyring(parsing: EncryptionKeyring.generateEntry(id: keyID)))
    }

    static func with<T: Sendable>(_ body: @Sendable (WorkerFixture) async throws -> T) async throws -> T {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url, purpose: .worker(maximumConnections: 16)) { client in
                try await body(WorkerFixture(url: url, client: client, sealer: makeSealer()))
            }
        }
    }

    /// The fixture's own writes (tenants, uploads) wait longer than the service's 5 s: with
    /// every suite running at once on two cores, concurrent uploads queued on one tenant's row
    /// can take more than that, and the deadline is not what these tests are about.
    var database: Database { TestDatabase.database(client) }
    var queue: VerificationQueue { VerificationQueue(client: client, logger: TestDatabase.logger) }

    static func audit(_ action: String) -> AuditEntry {
        AuditEntry(actor: Actor(tokenID: nil, role: nil, name: "fixture"), action: action, requestID: nil, sourceAddress: nil)
    }

    struct Tenant: Sendable {
        let id: UUID
        let slug: String
        var uriSet: IssuedURISet?
    }

    /// A tenant, with its first URI set issued unless `issue` is false.
    func tenant(_ slug: String, issue: Bool = true) async throws -> Tenant {
        let record = try await PostgresTenantStore(database: database).create(
            slug: try TenantSlug(validating: slug), displayName: slug, audit: Self.audit("tenant.create")
        )
        var tenant = Tenant(id: record.id, slug: slug, uriSet: nil)
        if issue { tenant.uriSet = try await issueURISet(slug) }
        return tenant
    }

    /// Issues the next URI set (sends the newest upload back to verification).
    @discardableResult
    func issueURISet(_ slug: String, customDomain: String? = nil) async throws -> IssuedURISet {
        let uris = try URISetIssuer(cloudDomain: "crm.example.com").issue(slug: try TenantSlug(validating: slug), customDomain: customDomain)
        let record = try await PostgresURISetStore(database: database).issue(
            tenantSlug: slug, uris: uris, issuedBy: Actor(tokenID: nil, role: nil, name: "fixture"), audit: Self.audit("uri_set.issue")
        )
        return record.issued
    }

    /// Uploads through the store (one transaction with its NOTIFY), sealed with `sealer`.
    func upload(_ bytes: [UInt8], to tenant: Tenant, sealer: SecretSealer? = nil) async throws -> UUID {
        let id = UUID()
        let sealed = try (sealer ?? self.sealer).seal(bytes, tenantID: tenant.id, credentialID: id)
        _ = try await PostgresCredentialStore(database: database).upload(
            NewCredential(
                id: id, tenantID: tenant.id, summary: ClientSecretsSummary(fileBytes: bytes), sealedFile: sealed,
                uploadedBy: Actor(tokenID: nil, role: nil, name: "fixture")
            ),
            audit: Self.audit("credential.upload")
        )
        return id
    }

    func reverify(_ id: UUID, of tenant: Tenant) async throws {
        _ = try await PostgresCredentialStore(database: database).reverify(
            tenantID: tenant.id, id: id, scope: .allTenants, audit: Self.audit("credential.verify")
        )
    }

    struct CredentialRow: Sendable {
        let state: CredentialState
        let findings: [Finding]
        let attempts: Int
        let version: Int
        let uriSetVersion: Int?
        let verifiedAt: Date?
        let lastError: String?
        var codes: [FindingCode] { findings.map(\.code) }
    }

    func credential(_ id: UUID) async throws -> CredentialRow {
        let rows = try await client.query(
            """
            SELECT state, findings::text, attempts, verification_version, uri_set_version, verified_at, last_error
            FROM credentials WHERE id = \(id)
            """,
            logger: TestDatabase.logger
        )
        for try await (state, findings, attempts, version, uriVersion, verifiedAt, lastError) in rows.decode(
            (String, String, Int, Int, Int?, Date?, String?).self
        ) {
            return CredentialRow(
                state: CredentialState(rawValue: state)!,
                findings: try JSONDecoder().decode([Finding].self, from: Data(findings.utf8)),
                attempts: attempts, version: version, uriSetVersion: uriVersion, verifiedAt: verifiedAt, lastError: lastError
            )
        }
        throw TestDatabaseError("no credential \(id)")
    }

    func tenantRow(_ tenant: Tenant) async throws -> (state: TenantState, activeCredentialID: UUID?) {
        let rows = try await client.query(
            "SELECT state, active_credential_id FROM tenants WHERE id = \(tenant.id)", logger: TestDatabase.logger
        )
        for try await (state, active) in rows.decode((String, UUID?).self) {
            return (TenantState(rawValue: state)!, active)
        }
        throw TestDatabaseError("no tenant \(tenant.slug)")
    }

    func count(_ sql: String) async throws -> Int {
        let rows = try await client.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger)
        for try await value in rows.decode(Int.self) { return value }
        return 0
    }

    /// Waits until the credential reaches one of `states` (a verdict by default).
    @discardableResult
    func waitForVerdict(
        _ id: UUID, states: Set<CredentialState> = [.verified, .rejected, .superseded], timeout: Duration = .seconds(15)
    ) async throws -> CredentialRow {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            let row = try await credential(id)
            if states.contains(row.state) { return row }
            if clock.now > deadline {
                Issue.record("credential \(id) still \(row.state) after \(timeout) (attempts \(row.attempts), last error \(row.lastError ?? "-"))")
                return row
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits until `condition` holds.
    func waitUntil(timeout: Duration = .seconds(15), _ what: String, _ condition: @Sendable () async throws -> Bool) async throws {
        try await ProvisionerTestSupport.waitUntil(timeout: timeout, what, condition)
    }

    /// Short intervals for tests.
    static func testConfiguration(
        workerID: String = "test-worker",
        batchSize: Int = 500,
        lease: Duration = .seconds(30),
        maxAttempts: Int = 5,
        pollInterval: Duration = .milliseconds(200),
        rescueInterval: Duration = .milliseconds(200),
        liveCheckConcurrency: Int = 64,
        shutdownGracePeriod: Duration = .seconds(2)
    ) -> WorkerConfiguration {
        WorkerConfiguration(
            workerID: workerID,
            batchSize: batchSize,
            lease: lease,
            maxAttempts: maxAttempts,
            pollInterval: pollInterval,
            rescueInterval: rescueInterval,
            statsInterval: .milliseconds(200),
            retryBackoff: Backoff(base: .milliseconds(20), cap: .milliseconds(100)),
            completionAttempts: 3,
            databaseBackoff: Backoff(base: .milliseconds(10), cap: .milliseconds(100)),
            listenerBackoff: Backoff(base: .milliseconds(20), cap: .milliseconds(200)),
            liveCheckConcurrency: liveCheckConcurrency,
            shutdownGracePeriod: shutdownGracePeriod
        )
    }

    func makeWorker(
        _ configuration: WorkerConfiguration = WorkerFixture.testConfiguration(),
        sealer: SecretSealer? = nil,
        liveCheck: (any LiveCheck)? = nil,
        onCompleted: CompletionObserver? = nil
    ) -> VerificationWorker {
        VerificationWorker(
            queue: queue, configuration: configuration, sealer: sealer ?? self.sealer, liveCheck: liveCheck,
            listenURL: url, logger: Self.logger, onCompleted: onCompleted
        )
    }

    /// Runs the workers in a service group for the duration of `body`, then shuts them down
    /// gracefully; returns how long the shutdown took too.
    @discardableResult
    func running<T: Sendable>(
        _ workers: [VerificationWorker],
        _ body: @Sendable () async throws -> T
    ) async throws -> (result: T, shutdown: Duration) {
        try await withRunningServices(workers, logger: Self.logger, body)
    }

    func running<T: Sendable>(_ worker: VerificationWorker, _ body: @Sendable () async throws -> T) async throws -> T {
        try await running([worker], body).result
    }
}

/// client_secrets.json files for a tenant's issued URI set.
enum ClientFiles {
    static let clientID = "123456789012-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com"
    static let secret = "GOCSPX-" + "AbCdEfGhIjKlMnOpQrStUvWx_-12"

    static func clientID(_ number: Int) -> String {
        "\(100000000000 + number)-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com"
    }

    static func quoted(_ value: String) -> String {
        let data = try! JSONSerialization.data(withJSONObject: [value], options: [.withoutEscapingSlashes])
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }

    static func list(_ values: [String]) -> String {
        "[" + values.map(quoted).joined(separator: ",") + "]"
    }

    /// A clean Web client file for `uriSet`.
    static func clean(
        for uriSet: IssuedURISet?, clientID: String = clientID, secret: String = secret,
        tokenURI: String = "https://oauth2.googleapis.com/token"
    ) -> [UInt8] {
        let redirects = uriSet?.redirectURIs ?? []
        let origins = uriSet?.javascriptOrigins ?? []
        return Array("""
        {"web":{"client_id":\(quoted(clientID)),"project_id":"all-gather-crm-google-calendar",\
        "auth_uri":"https://accounts.google.com/o/oauth2/auth","token_uri":\(quoted(tokenURI)),\
        "auth_provider_x509_cert_url":"https://www.googleapis.com/oauth2/v1/certs","client_secret":\(quoted(secret)),\
        "redirect_uris":\(list(redirects)),"javascript_origins":\(list(origins))}}
        """.utf8)
    }

    /// A malformed client id, no secret, an unexpected token endpoint, a redirect URI with a
    /// trailing slash, and no origins.
    static func severalProblems(for uriSet: IssuedURISet) -> [UInt8] {
        Array("""
        {"web":{"client_id":"not-a-client-id","project_id":"x","auth_uri":"https://accounts.google.com/o/oauth2/auth",\
        "token_uri":"https://example.com/token","redirect_uris":\(list([uriSet.redirectURIs[0] + "/", uriSet.redirectURIs[1]])),\
        "javascript_origins":[]}}
        """.utf8)
    }
}

/// Counts what the completers submitted and what the database took.
final class CompletionLedger: Sendable {
    private let state = Mutex<(submitted: [String: Int], recorded: Int)>(([:], 0))

    var observer: CompletionObserver {
        { [self] outcomes, recorded in
            state.withLock { state in
                for outcome in outcomes {
                    state.submitted["\(outcome.credentialID)#\(outcome.version)", default: 0] += 1
                }
                state.recorded += recorded
            }
        }
    }

    var submitted: [String: Int] { state.withLock { $0.submitted } }
    var recorded: Int { state.withLock { $0.recorded } }
}
