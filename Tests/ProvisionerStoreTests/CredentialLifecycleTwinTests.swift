import Foundation
import PostgresNIO
import ProvisionerDomain
import ProvisionerStore
import ProvisionerTestSupport
import SeededRandom
import Testing

/// `complete_verifications` (SQL, set-based) and `CredentialLifecycle.record` (Swift, the
/// specification) over the same random tenants and batches: they must leave the same states,
/// the same active credential, the same latest state and the same tenant state. The tenant's
/// active health must be its active credential's, and its activation events (written by the
/// verdict itself since 0028, not by the row triggers) exactly one for each tenant whose active
/// credential changed, after the batch's rejection events.
///
/// The random tenants are what the service can reach: at most one verified upload a tenant,
/// the active credential (if any) that one, the latest pointer on the newest upload; the
/// batches mix verdicts for uploads being verified with verdicts the fence must drop (an
/// upload no longer verifying, a stale version, an id named twice), uploads of one instant (the
/// id breaks the tie) and URI set versions other than the current one.
@Suite("CredentialLifecycle and complete_verifications agree", .timeLimit(.minutes(3)))
struct CredentialLifecycleTwinTests {
    static let rounds = 60
    /// Six tenants make batches of up to about 30 verdicts, which complete_verifications runs
    /// on the connection's cached generic plans (migration 0020: 32 or fewer); every third
    /// round has thirty, whose batches of 40 and more get plans made for them. Both must agree.
    static func tenants(inRound round: Int) -> Int { round % 3 == 2 ? 30 : 6 }

    @Test("random batches: the SQL and the model leave the same tenants")
    func randomBatches() async throws {
        let seed = UInt64.random(in: 1...UInt64.max)
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url, purpose: .owner) { owner in
                try await TestDatabase.withClient(url, purpose: .worker(maximumConnections: 2)) { worker in
                    let queue = VerificationQueue(client: worker, logger: TestDatabase.logger)
                    var random = SeededRandom(seed: seed)
                    try await Self.subscribeToEveryEvent(on: owner)
                    var largestBatch = 0
                    var activations = 0
                    for round in 0..<Self.rounds {
                        var tenants = (0..<Self.tenants(inRound: round)).map { _ in Self.randomTenant(&random) }
                        try await Self.insert(tenants, round: round, on: owner, &random)
                        let (outcomes, modelVerdicts) = Self.randomBatch(for: tenants, &random)
                        let activeBefore = Dictionary(uniqueKeysWithValues: tenants.map { ($0.id, $0.model.activeCredentialID) })
                        let eventsBefore = try await Self.lastEventSeq(on: owner)

                        largestBatch = max(largestBatch, outcomes.count)
                        let recorded = try await queue.complete(outcomes)
                        var expectedRecorded = 0
                        for index in tenants.indices {
                            expectedRecorded += CredentialLifecycle.record(modelVerdicts, in: &tenants[index].model)
                        }
                        #expect(recorded == expectedRecorded, "seed \(seed), round \(round): verdicts taken")
                        for tenant in tenants {
                            let stored = try await Self.read(tenant, on: owner)
                            #expect(stored == tenant.model, "seed \(seed), round \(round), tenant \(tenant.id)")
                            #expect(try await Self.tenantState(tenant.id, on: owner) == tenant.model.state, "seed \(seed), round \(round)")
                            #expect(try await Self.activeHealthIsTheActiveCredentials(tenant.id, on: owner), "seed \(seed), round \(round)")

                            let events = try await Self.events(of: tenant.id, after: eventsBefore, on: owner)
                            let before = activeBefore[tenant.id] ?? nil
                            let after = tenant.model.activeCredentialID
                            var expected: [Event] = []
                            if before != after {
                                expected = [Event(type: after == nil ? "credential.deactivated" : "credential.activated", credentialID: after ?? before)]
                                activations += 1
                            }
                            #expect(events.filter { $0.type != "credential.rejected" } == expected, "seed \(seed), round \(round), tenant \(tenant.id)")
                            let firstActivation = events.firstIndex { $0.type != "credential.rejected" } ?? events.count
                            #expect(events[firstActivation...].allSatisfy { $0.type != "credential.rejected" }, "seed \(seed), round \(round): order")
                        }
                    }
                    #expect(activations > 0, "seed \(seed): no active credential changed")
                    #expect(largestBatch > 32, "seed \(seed): no batch took the plans made for large batches")
                }
            }
        }
    }

    struct TwinTenant {
        let id = UUID()
        var model: CredentialLifecycle.Tenant
    }

    static func randomTenant(_ random: inout SeededRandom) -> TwinTenant {
        let current: Int? = random.next(below: 5) == 0 ? nil : 1 + random.next(below: 3)
        let base = Date(timeIntervalSince1970: 1_790_000_000)
        var uploads: [UUID: CredentialLifecycle.Upload] = [:]
        let count = random.next(below: 7)
        var verifiedOne = false
        for _ in 0..<count {
            // Few distinct instants, so that uploads of the same instant are common.
            let at = base.addingTimeInterval(Double(random.next(below: 4)))
            var states: [CredentialState] = [.pending, .verifying, .verifying, .rejected, .superseded]
            if !verifiedOne { states.append(.verified) }
            let state = states[random.next(below: states.count)]
            verifiedOne = verifiedOne || state == .verified
            let hasVerdict = state == .verified || state == .rejected || state == .superseded
            let version: Int? = hasVerdict && current != nil ? max(1, current! - random.next(below: 2)) : nil
            let upload = CredentialLifecycle.Upload(id: UUID(), uploadedAt: at, state: state, uriSetVersion: version)
            uploads[upload.id] = upload
        }
        var tenant = CredentialLifecycle.Tenant(currentURISetVersion: current, uploads: uploads)
        if let newest = tenant.newestUpload {
            tenant.latestCredentialID = newest.id
            tenant.latestCredentialState = newest.state
        }
        if let verified = uploads.values.first(where: { $0.state == .verified }),
           verified.uriSetVersion == current, random.next(below: 4) != 0 {
            tenant.activeCredentialID = verified.id
        }
        return TwinTenant(model: tenant)
    }

    /// The batch as the worker sends it, and what of it the model sees: a stale version is
    /// the SQL's fence, so the model is not told of it.
    static func randomBatch(
        for tenants: [TwinTenant], _ random: inout SeededRandom
    ) -> (outcomes: [VerificationOutcome], model: [CredentialLifecycle.Verdict]) {
        var outcomes: [VerificationOutcome] = []
        var model: [CredentialLifecycle.Verdict] = []
        for tenant in tenants {
            for upload in tenant.model.uploads.values.sorted(by: { $0.id.precedesInPostgres($1.id) }) {
                let chance = upload.state == .verifying ? 4 : 1
                guard random.next(below: 5) < chance else { continue }
                let state: CredentialState = random.next(below: 3) == 0 ? .rejected : .verified
                let current = tenant.model.currentURISetVersion
                let version: Int? = current.map { random.next(below: 4) == 0 ? max(1, $0 - 1) : $0 }
                let stale = random.next(below: 10) == 0
                let outcome = VerificationOutcome(
                    credentialID: upload.id, version: stale ? 2 : 1, state: state, findings: [], uriSetVersion: version
                )
                outcomes.append(outcome)
                if !stale {
                    model.append(.init(credentialID: upload.id, state: state, uriSetVersion: version))
                }
                // Now and then the same id twice: the first verdict counts.
                if random.next(below: 12) == 0 {
                    let other: CredentialState = state == .verified ? .rejected : .verified
                    outcomes.append(VerificationOutcome(credentialID: upload.id, version: 1, state: other, findings: [], uriSetVersion: version))
                    model.append(.init(credentialID: upload.id, state: other, uriSetVersion: version))
                }
            }
        }
        // The completer sends a batch in (tenant, credential) order; the SQL must not depend on
        // it. The model is told of the same verdicts in the same order, stale ones left out.
        if random.next(below: 2) == 0 {
            outcomes.shuffle(using: &random)
            model = outcomes.filter { $0.version == 1 }.map {
                CredentialLifecycle.Verdict(credentialID: $0.credentialID, state: $0.state, uriSetVersion: $0.uriSetVersion)
            }
        }
        return (outcomes, model)
    }

    struct Event: Equatable, CustomStringConvertible {
        let type: String
        let credentialID: UUID?
        var description: String { "\(type) \(credentialID?.uuidString ?? "-")" }
    }

    static func subscribeToEveryEvent(on owner: PostgresClient) async throws {
        try await owner.query(
            """
            INSERT INTO webhook_endpoints (url, events, secret_key_id, secret_sealed)
            VALUES ('https://hooks.example.com/twin', ARRAY['credential.activated', 'credential.deactivated', 'credential.rejected'], 'k1', '\\x00'::bytea)
            """,
            logger: TestDatabase.logger
        )
    }

    static func lastEventSeq(on owner: PostgresClient) async throws -> Int64 {
        let rows = try await owner.query("SELECT coalesce(max(seq), 0) FROM webhook_deliveries", logger: TestDatabase.logger)
        for try await seq in rows.decode(Int64.self) { return seq }
        return 0
    }

    static func events(of tenant: UUID, after seq: Int64, on owner: PostgresClient) async throws -> [Event] {
        let rows = try await owner.query(
            "SELECT event_type, credential_id FROM webhook_deliveries WHERE tenant_id = \(tenant) AND seq > \(seq) ORDER BY seq",
            logger: TestDatabase.logger
        )
        var events: [Event] = []
        for try await (type, credential) in rows.decode((String, UUID?).self) {
            events.append(Event(type: type, credentialID: credential))
        }
        return events
    }

    static func activeHealthIsTheActiveCredentials(_ tenant: UUID, on owner: PostgresClient) async throws -> Bool {
        let rows = try await owner.query(
            """
            SELECT t.active_health_state IS NOT DISTINCT FROM (SELECT c.health_state FROM credentials c WHERE c.id = t.active_credential_id)
            FROM tenants t WHERE t.id = \(tenant)
            """,
            logger: TestDatabase.logger
        )
        for try await same in rows.decode(Bool.self) { return same }
        return false
    }

    static let healthStates = ["unchecked", "ok", "propagating", "redirect_uri_not_registered", "client_deleted", "client_secret_invalid"]

    static func insert(_ tenants: [TwinTenant], round: Int, on owner: PostgresClient, _ random: inout SeededRandom) async throws {
        for (index, tenant) in tenants.enumerated() {
            let model = tenant.model
            try await owner.query(
                """
                INSERT INTO tenants (id, slug, display_name, current_uri_set_version)
                VALUES (\(tenant.id), \("twin-\(round)-\(index)"), 'twin', \(model.currentURISetVersion))
                """,
                logger: TestDatabase.logger
            )
            for upload in model.uploads.values {
                // Any health: the tenant's active health must follow whichever becomes active.
                let health = healthStates[random.next(below: healthStates.count)]
                try await owner.query(
                    """
                    INSERT INTO credentials (id, tenant_id, state, uploaded_at, uploaded_by, sha256, sealed_key_id, sealed_file,
                                             uri_set_version, health_state, claimed_by, lease_expires_at)
                    VALUES (\(upload.id), \(tenant.id), \(upload.state.rawValue), \(upload.uploadedAt), 'twin', \(String(repeating: "0", count: 64)),
                            'k1', '\\x00'::bytea, \(upload.uriSetVersion), \(health),
                            \(upload.state == .verifying ? "twin-worker" : nil), \(upload.state == .verifying ? Date().addingTimeInterval(60) : nil))
                    """,
                    logger: TestDatabase.logger
                )
            }
            try await owner.query(
                """
                UPDATE tenants SET active_credential_id = \(model.activeCredentialID), latest_credential_id = \(model.latestCredentialID),
                                   latest_credential_state = \(model.latestCredentialState?.rawValue),
                                   latest_credential_uploaded_at = \(model.latestCredentialID.flatMap { model.uploads[$0]?.uploadedAt })
                WHERE id = \(tenant.id)
                """,
                logger: TestDatabase.logger
            )
        }
    }

    static func read(_ tenant: TwinTenant, on owner: PostgresClient) async throws -> CredentialLifecycle.Tenant {
        var stored = CredentialLifecycle.Tenant()
        let tenantRows = try await owner.query(
            """
            SELECT suspended, current_uri_set_version, active_credential_id, latest_credential_id, latest_credential_state
            FROM tenants WHERE id = \(tenant.id)
            """,
            logger: TestDatabase.logger
        )
        for try await (suspended, current, active, latest, latestState) in tenantRows.decode((Bool, Int?, UUID?, UUID?, String?).self) {
            stored = CredentialLifecycle.Tenant(
                suspended: suspended, currentURISetVersion: current, activeCredentialID: active,
                latestCredentialID: latest, latestCredentialState: latestState.flatMap(CredentialState.init(rawValue:))
            )
        }
        let rows = try await owner.query(
            "SELECT id, uploaded_at, state, uri_set_version FROM credentials WHERE tenant_id = \(tenant.id)",
            logger: TestDatabase.logger
        )
        for try await (id, at, state, version) in rows.decode((UUID, Date, String, Int?).self) {
            stored.uploads[id] = CredentialLifecycle.Upload(id: id, uploadedAt: at, state: CredentialState(rawValue: state)!, uriSetVersion: version)
        }
        return stored
    }

    static func tenantState(_ id: UUID, on owner: PostgresClient) async throws -> TenantState? {
        let rows = try await owner.query("SELECT state FROM tenants WHERE id = \(id)", logger: TestDatabase.logger)
        for try await state in rows.decode(String.self) { return TenantState(rawValue: state) }
        return nil
    }
}
