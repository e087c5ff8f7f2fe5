import ProvisionerDomain

/// The boundary of a `multipart/form-data` body (RFC 2046 section 5.1.1), for comparing two
/// bodies that differ only in the boundary their clients drew.
struct MultipartBoundary: Equatable {
    let value: [UInt8]

    /// The `boundary` parameter of a multipart `Content-Type`, quoted or not; nil for any
    /// other media type or a boundary outside RFC 2046's 1 to 70 characters.
    init?(contentType: String?) {
        guard let contentType else { return nil }
        let parameters = contentType.split(separator: ";").map { $0.trimmingSpaces() }
        guard let mediaType = parameters.first, mediaType.lowercased().hasPrefix("multipart/") else { return nil }
        for parameter in parameters.dropFirst() {
            guard let equals = parameter.firstIndex(of: "=") else { continue }
            guard parameter[..<equals].trimmingSpaces().lowercased() == "boundary" else { continue }
            var value = parameter[parameter.index(after: equals)...].trimmingSpaces()
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            guard (1...70).contains(value.utf8.count) else { return nil }
            self.value = Array(value.utf8)
            return
        }
        return nil
    }

    /// `body` with every delimiter (`--` and the boundary) replaced by one fixed delimiter.
    func replacingDelimiters(in body: [UInt8]) -> [UInt8] {
        let delimiter: [UInt8] = Array("--".utf8) + value
        let replacement: [UInt8] = Array("--boundary".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(body.count)
        var index = 0
        while index < body.count {
            if body[index] == delimiter[0], index + delimiter.count <= body.count,
               body[index..<(index + delimiter.count)].elementsEqual(delimiter) {
                output.append(contentsOf: replacement)
                index += delimiter.count
            } else {
                output.append(body[index])
                index += 1
            }
        }
        return output
    }
}
