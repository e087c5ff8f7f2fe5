import Testing
@testable import ProvisionerAPI

@Suite struct MultipartBoundaryTests {
    @Test("the boundary parameter", arguments: [
        ("multipart/form-data; boundary=abc", "abc"),
        ("multipart/form-data;boundary=\"a b:c\"", "a b:c"),
        ("Multipart/Form-Data; charset=utf-8; BOUNDARY=xyz", "xyz"),
        ("multipart/form-data; boundary=" + String(repeating: "b", count: 70), String(repeating: "b", count: 70)),
    ])
    func boundary(contentType: String, expected: String) {
        #expect(MultipartBoundary(contentType: contentType)?.value == Array(expected.utf8))
    }

    @Test("no boundary", arguments: [
        nil, "application/json", "multipart/form-data", "multipart/form-data; boundary=",
        "multipart/form-data; boundary=" + String(repeating: "b", count: 71), "text/plain; boundary=abc",
    ])
    func none(contentType: String?) {
        #expect(MultipartBoundary(contentType: contentType) == nil)
    }

    @Test func delimitersAreReplacedAndNothingElse() throws {
        let boundary = try #require(MultipartBoundary(contentType: "multipart/form-data; boundary=XyZ"))
        let body = Array("--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n{\"a\":\"--XyQ\"}\r\n--XyZ--\r\n".utf8)
        let replaced = String(decoding: boundary.replacingDelimiters(in: body), as: UTF8.self)
        #expect(replaced == "--boundary\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n{\"a\":\"--XyQ\"}\r\n--boundary--\r\n")
    }
}
