import Foundation
import ProvisionerDomain
import ProvisionerStore
import ProvisionerWorker
import Testing

/// Upload to verdict through the real queue, with every kind of state transition.
@Suite("Verification worker: uploads to verdicts", .timeLimit(.minutes(2)))
struct VerificationFlowTests {
    @Test("a clean file is verified and becomes the tenant's active credential")
    func cleanFileVerified() async throws {
        try await WorkerFixture.with { fixture in
            let acme = try await fixture.tenant("acme")
            try await fixture.running(fixture.makeWorker()) {
                let id = try await fixture.upload(ClientFiles.clean(for: acme.uriSet), to: acme)
                let row = try await fixture.waitForVerdict(id)
                #expect(row.state == .verified)
                #expect(row.findings.isEmpty)
                #expect(row.uriSetVersion == 1)
                #expect(row.attempts == 1)
                #expect(row.verifiedAt != nil)
                let tenant = try await fixture.tenantRow(acme)
                #expect(tenant.state == .verified)
                #expect(tenant.activeCredentialID == id)
            }
        }
    }

    @Test("a file with several problems is rejected with all of them")
    func severalProblemsRejected() async throws {
        try await WorkerFixture.with { fixture in
            let acme = try await fixture.tenant("acme")
            try await fixture.running(fixture.makeWorker()) {
                let id = try await fixture.upload(ClientFiles.severalProblems(for: acme.uriSet!), to: acme)
                let row = try await fixture.waitForVerdict(id)
                #expect(row.state == .rejected)
                #expect(row.codes == [
                    .clientIDMalformed, .clientSecretMissing, .tokenURIUnexpected,
                    .javascriptOriginMissing, .redirectURIMissing,
                ])
                let redirect = try #require(row.findings.first { $0.code == .redirectURIMissing })
                #expect(redirect.expected == acme.uriSet!.redirectURIs[0])
                #expect(redirect.hint == .trailingSlash)
                let tenant = try await fixture.tenantRow(acme)
                #expect(tenant.state == .rejected)
                #expect(tenant.activeCredentialID == nil)
            }
        }
    }

    @Test("without a URI set the upload is rejected with uri_set_not_issued")
    func noURISet() async throws {
        try await WorkerFixture.with { fixture in
            let acme = try await fixture.tenant("acme", issue: false)
            try await fixture.running(fixture.makeWorker()) {
                let id = try await fixture.upload(ClientFiles.clean(for: nil), to: acme)
                let row = try await fixture.waitForVerdict(id)
                #expect(row.state == .rejected)
                #expect(row.codes.contains(.uriSetNotIssued))
                #expect(row.uriSetVersion == nil)
            }
        }
    }

    @Test("a newer verified upload supersedes the older one")
    func newerSupersedesOlder() async throws {
        try await WorkerFixture.with { fixture in
            let acme = try await fixture.tenant("acme")
            try await fixture.running(fixture.makeWorker()) {
                let older = try await fixture.upload(ClientFiles.clean(for: acme.uriSet), to: acme)
                #expect(try await fixture.waitForVerdict(older).state == .verified)
                let newer = try await fixture.upload(ClientFiles.clean(for: acme.uriSet, clientID: ClientFiles.clientID(2)), to: acme)
                #expect(try await fixture.waitForVerdict(newer).state == .verified)
                #expect(try await fixture.credential(older).state == .superseded)
                let tenant = try await fixture.tenantRow(acme)
                #expect(tenant.activeCredentialID == newer)
                #expect(tenant.state == .verified)
            }
        }
    }

    @Test("a rejected newer upload leaves the older one active, and the tenant rejected")
    func rejectedNewerKeepsOlder() async throws {
        try await WorkerFixture.with { fixture in
            let acme = try await fixture.tenant("acme")
            try await fixture.running(fixture.makeWorker()) {
                let older = try await fixture.upload(ClientFiles.clean(for: acme.uriSet), to: acme)
                #expect(try await fixture.waitForVerdict(older).state == .verified)
                let newer = try await fixture.upload(ClientFiles.severalProblems(for: acme.uriSet!), to: acme)
                #expect(try await fixture.waitForVerdict(newer).state == .rejected)
                #expect(try await fixture.credential(older).state == .verified)
                let tenant = try await fixture.tenantRow(acme)
                #expect(tenant.activeCredentialID == older)
                #expect(tenant.state == .rejected)
            }
        }
    }

    @Test("an older upload that passes after a newer one was verified ends superseded")
    func olderPassingLateEndsSuperseded() async throws {
        try await WorkerFixture.with { fixture in
            let acme = try await fixture.tenant("acme")
            let older = try await fixture.upload(ClientFiles.clean(for: acme.uriSet), to: acme)
            let newer = try await fixture.upload(ClientFiles.clean(for: acme.uriSet, clientID: ClientFiles.clientID(2)), to: acme)
            // The older one waits (as if retried later) while the newer one is verified.
            _ = try await fixture.client.query(
                "UPDATE credentials SET next_attempt_at = now() + interval '1 hour' WHERE id = \(older)", logger: WorkerFixture.logger
            )
            try await fixture.running(fixture.makeWorker()) {
                #expect(try await fixture.waitForVerdict(newer).state == .verified)
                _ = try await fixture.client.query(
                    "UPDATE credentials SET next_attempt_at = now() WHERE id = \(older)", logger: WorkerFixture.logger
                )
                let row = try await fixture.waitForVerdict(older)
                #expect(row.state == .superseded)
                #expect(row.findings.isEmpty)
                #expect(try await fixture.credential(newer).state == .verified)
                let tenant = try await fixture.tenantRow(acme)
                #expect(tenant.activeCredentialID == newer)
                #expect(tenant.state == .verified)
            }
        }
    }

    @Test("a reissued URI set sends the newest upload back to verification against it")
    func reverifiedAfterReissue() async throws {
        try await WorkerFixture.with { fixture in
            let acme = try await fixture.tenant("acme")
            try await fixture.running(fixture.makeWorker()) {
                let id = try await fixture.upload(ClientFiles.clean(for: acme.uriSet), to: acme)
                #expect(try await fixture.waitForVerdict(id).state == .verified)

                // A custom domain: the file lists the old host, so it now fails.
                let reissued = try await fixture.issueURISet("acme", customDomain: "calendar.acme-corp.co.jp")
                let failed = try await fixture.waitForVerdict(id, states: [.rejected])
                #expect(failed.version == 2)
                #expect(failed.uriSetVersion == 2)
                #expect(failed.codes.contains(.redirectURIMissing))
                #expect(failed.codes.contains(.javascriptOriginMissing))
                var tenant = try await fixture.tenantRow(acme)
                #expect(tenant.activeCredentialID == nil)
                #expect(tenant.state == .rejected)

                // The admin fixes the Google client and uploads again.
                let fixed = try await fixture.upload(ClientFiles.clean(for: reissued), to: acme)
                #expect(try await fixture.waitForVerdict(fixed).state == .verified)
                tenant = try await fixture.tenantRow(acme)
                #expect(tenant.activeCredentialID == fixed)
                #expect(tenant.state == .verified)
            }
        }
    }

    @Test("re-verification on request records a new verdict for the new version")
    func reverifyOnRequest() async throws {
        try await WorkerFixture.with { fixture in
            let acme = try await fixture.tenant("acme")
            try await fixture.running(fixture.makeWorker()) {
                let id = try await fixture.upload(ClientFiles.clean(for: acme.uriSet), to: acme)
                let first = try await fixture.waitForVerdict(id)
                try await fixture.reverify(id, of: acme)
                try await fixture.waitUntil("the second verdict") {
                    let row = try await fixture.credential(id)
                    return row.version == 2 && row.state == .verified && row.verifiedAt != first.verifiedAt
                }
                #expect(try await fixture.tenantRow(acme).activeCredentialID == id)
            }
        }
    }

    @Test("client_id_in_use when the client is another tenant's active credential")
    func clientIDInUse() async throws {
        try await WorkerFixture.with { fixture in
            let acme = try await fixture.tenant("acme")
            let globex = try await fixture.tenant("globex")
            try await fixture.running(fixture.makeWorker()) {
                let first = try await fixture.upload(ClientFiles.clean(for: acme.uriSet), to: acme)
                #expect(try await fixture.waitForVerdict(first).state == .verified)
                let second = try await fixture.upload(ClientFiles.clean(for: globex.uriSet), to: globex)
                let row = try await fixture.waitForVerdict(second)
                #expect(row.state == .verified)
                #expect(row.codes == [.clientIDInUse])
            }
        }
    }
}
