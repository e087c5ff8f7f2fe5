import Foundation

/// The fields of a form a browser posted: `application/x-www-form-urlencoded`, or
/// `multipart/form-data` (the upload form), each value as bytes.
struct ConsoleForm {
    private(set) var fields: [String: [UInt8]] = [:]

    subscript(name: String) -> String? {
        fields[name].map { String(decoding: $0, as: UTF8.self) }
    }

    func bytes(_ name: String) -> [UInt8]? { fields[name] }

    enum Invalid: Error { case malformed }

    init(contentType: String?, body: [UInt8]) throws(Invalid) {
        let mediaType = (contentType ?? "").split(separator: ";").first.map { $0.trimmingSpaces().lowercased() } ?? ""
        switch mediaType {
        case "application/x-www-form-urlencoded":
            fields = Self.urlEncoded(body)
        case "multipart/form-data":
            guard let boundary = MultipartBoundary(contentType: contentType) else { throw .malformed }
            fields = try Self.multipart(body, boundary: boundary.value)
        default:
            throw .malformed
        }
    }

    static func urlEncoded(_ body: [UInt8]) -> [String: [UInt8]] {
        var fields: [String: [UInt8]] = [:]
        for pair in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(decoding: percentDecoded(parts[0]), as: UTF8.self)
            let value = parts.count > 1 ? percentDecoded(parts[1]) : []
            if fields[name] == nil { fields[name] = value }
        }
        return fields
    }

    static func percentDecoded(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                output.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), index + 2 < bytes.endIndex,
                      let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) {
                output.append(high << 4 | low)
                index += 2
            } else {
                output.append(byte)
            }
            index += 1
        }
        return output
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// RFC 7578: parts separated by `--boundary`, each with headers (a `Content-Disposition`
    /// naming the field), a blank line and the value up to the CRLF before the next delimiter.
    static func multipart(_ body: [UInt8], boundary: [UInt8]) throws(Invalid) -> [String: [UInt8]] {
        let delimiter = Array("\r\n--".utf8) + boundary
        // The first delimiter may come without the CRLF before it.
        var data = Array("\r\n".utf8) + body
        var fields: [String: [UInt8]] = [:]
        guard var start = firstIndex(of: delimiter, in: data, from: 0) else { throw .malformed }
        while true {
            var cursor = start + delimiter.count
            // `--` after the delimiter closes the body.
            if cursor + 1 < data.count, data[cursor] == UInt8(ascii: "-"), data[cursor + 1] == UInt8(ascii: "-") { break }
            guard let headerStart = firstIndex(of: Array("\r\n".utf8), in: data, from: cursor) else { throw .malformed }
            cursor = headerStart + 2
            guard let headerEnd = firstIndex(of: Array("\r\n\r\n".utf8), in: data, from: cursor - 2) else { throw .malformed }
            let headers = String(decoding: data[cursor..<max(cursor, headerEnd)], as: UTF8.self)
            let valueStart = headerEnd + 4
            guard let next = firstIndex(of: delimiter, in: data, from: valueStart) else { throw .malformed }
            if let name = fieldName(in: headers), fields[name] == nil {
                fields[name] = Array(data[valueStart..<next])
            }
            start = next
        }
        data.removeAll()
        return fields
    }

    private static func fieldName(in headers: String) -> String? {
        for line in headers.split(separator: "\r\n") where line.lowercased().hasPrefix("content-disposition:") {
            for parameter in line.split(separator: ";").dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces() }
                guard pair.count == 2, pair[0].lowercased() == "name" else { continue }
                var value = pair[1]
                if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
                return value
            }
        }
        return nil
    }

    private static func firstIndex(of needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        var index = max(0, start)
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == needle[0], haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
