import Testing
@testable import ProvisionerAPI

/// Every problem code the service can answer is in openapi.yaml's table of codes, and each has
/// a title of its own.
@Suite struct ProblemCodeTests {
    static let spec = String(decoding: PackageResources.openapi_yaml, as: UTF8.self)

    @Test(arguments: ProblemCode.allCases)
    func documented(_ code: ProblemCode) {
        #expect(Self.spec.contains("| `\(code.rawValue)` |"), "\(code.rawValue) is missing from the codes table of openapi.yaml")
        #expect(!code.title.isEmpty)
    }

    @Test func titlesAreDistinct() {
        #expect(Set(ProblemCode.allCases.map(\.title)).count == ProblemCode.allCases.count)
    }

    @Test func theBodyCarriesTheCodeAndItsTitle() throws {
        let body = String(decoding: Problem.tenantSuspended("acme").encodedBody(requestID: "r1"), as: UTF8.self)
        #expect(body.contains(#""code":"tenant_suspended""#))
        #expect(body.contains(#""title":"Tenant suspended""#))
        #expect(body.contains(#""type":"urn:gcal-provisioner:problem:tenant_suspended""#))
    }
}
