import Foundation
import ProvisionerDomain

/// The checks of openapi.yaml that the generated code does not make (patterns, lengths,
/// ranges): each failure is a 400 `invalid_request` naming the field, before anything changes
/// (422 for a well-formed value out of range, such as a token's expiry).
enum RequestValidation {
    /// The longest a token made through the API may live.
    static let longestTokenLifetime: TimeInterval = 366 * 24 * 60 * 60

    /// A token's `expires_at`: absent (no expiry), or in the future and at most 366 days ahead.
    static func tokenExpiry(_ value: Date?, now: Date = Date()) throws -> Date? {
        guard let value else { return nil }
        guard value > now else {
            throw Problem.unprocessable("expires_at", "expires_at must be in the future (it was \(Self.rfc3339(value)), and it is now \(Self.rfc3339(now))).")
        }
        guard value.timeIntervalSince(now) <= longestTokenLifetime else {
            throw Problem.unprocessable("expires_at", "expires_at must be at most 366 days ahead (it was \(Self.rfc3339(value))); leave it out for a token that does not expire.")
        }
        return value
    }

    private static func rfc3339(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }

    static func limit(_ value: Int?) throws -> Int {
        guard let value else { return 50 }
        guard (1...200).contains(value) else {
            throw Problem.invalid("limit", "limit must be from 1 to 200 (it was \(value)).")
        }
        return value
    }

    /// `NameRule`: 1 to `maxLength` code points, no control characters, no white space at
    /// either end.
    static func name(_ value: String, field: String, maxLength: Int) throws -> String {
        if let violation = NameRule.violation(of: value, maxLength: maxLength) {
            throw Problem.invalid(field, "\(field) \(violation.requirement).")
        }
        return value
    }

    /// Free text of a query parameter: at most `maxLength` code points, no control characters.
    static func searchText(_ value: String?, field: String, maxLength: Int) throws -> String? {
        guard let value else { return nil }
        guard value.unicodeScalars.count <= maxLength, !value.unicodeScalars.contains(where: NameRule.isControl) else {
            throw Problem.invalid(field, "\(field) must be at most \(maxLength) characters without control characters.")
        }
        return value.isEmpty ? nil : value
    }

    /// `^[a-z][a-z0-9_.]*$`, 1 to 100 characters (audit action names).
    static func actionName(_ value: String?) throws -> String? {
        guard let value else { return nil }
        let bytes = Array(value.utf8)
        let valid = (1...100).contains(bytes.count) && (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[0])
            && bytes.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
        guard valid else { throw Problem.invalid("action", "action must look like tenant.create.") }
        return value
    }

    /// A slug in a query parameter must look like one (`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`).
    static func slugParameter(_ value: String?, field: String) throws -> String? {
        guard let value else { return nil }
        guard looksLikeSlug(value) else { throw Problem.invalid(field, "\(field) must be a tenant slug (a DNS label).") }
        return value
    }

    static func looksLikeSlug(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        func alnum(_ b: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) }
        return (3...63).contains(bytes.count) && alnum(bytes.first!) && alnum(bytes.last!)
            && bytes.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") }
    }
}
