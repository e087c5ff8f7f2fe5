import Testing
@testable import ProvisionerDomain

/// Bounded work and output: the worst upload within 64 KiB, and the cap on findings.
@Suite("CredentialVerifier bounds")
struct CredentialVerifierBoundsTests {
    let verifier = CredentialVerifier()
    let redirects = "web.redirect_uris"

    /// The worst upload within 64 KiB: one list of thousands of short URIs (every one a near
    /// miss of an issued value or a duplicate), the other of long values. Without the caps
    /// this gave one finding per URI, and the duplicate check was quadratic.
    @Test("the worst 64 KiB upload: bounded findings, the verdict of the whole file")
    func worstUpload() {
        let nearMisses = [F.callback + "/", "http" + F.callback.dropFirst(5), F.myAccount.uppercased(), " " + F.callback]
            + (0..<2_800).map { "https://a.b/\($0)" } + (0..<200).map { _ in "https://a.b/1" }
        let long = Array(repeating: F.origin + "/" + String(repeating: "p", count: 1_500), count: 4)
        let file = F.file(redirects: .strings(nearMisses), origins: .strings(long))
        #expect(file.count <= 65_536)
        let verdict = verifier.verify(fileBytes: file, against: F.issued)
        #expect(verdict.state == .rejected)
        #expect(verdict.findings.count == CredentialVerifier.maxFindings + 1)
        #expect(verdict.findings.filter { $0.code == .tooManyURIs }.map(\.field) == [redirects])
        #expect(verdict.findings.last?.code == .findingsTruncated)
        // Each unexpected value is reported once.
        let unexpected = verdict.findings.filter { $0.code == .redirectURIUnexpected || $0.code == .javascriptOriginUnexpected }.compactMap(\.value)
        #expect(Set(unexpected).count == unexpected.count)
    }

    @Test("findings are bounded whatever their number, errors first, order kept", arguments: [0, 1, 49, 50, 51, 120])
    func boundedFindings(count: Int) {
        let findings = (0..<count).map { index in
            index % 3 == 0 ? Finding(code: .fieldMissing, field: "e\(index)") : Finding(code: .redirectURIUnexpected, value: "w\(index)")
        }
        let bounded = CredentialVerifier.bounded(findings)
        guard count > CredentialVerifier.maxFindings else {
            #expect(bounded == findings)
            return
        }
        #expect(bounded.count == CredentialVerifier.maxFindings + 1)
        #expect(bounded.last == Finding(code: .findingsTruncated, value: String(count - CredentialVerifier.maxFindings)))
        let kept = bounded.dropLast()
        #expect(kept.filter { $0.severity == .error }.count == findings.filter { $0.severity == .error }.count)
        let positions = kept.map { finding in findings.firstIndex(of: finding)! }
        #expect(positions == positions.sorted())
    }
}
