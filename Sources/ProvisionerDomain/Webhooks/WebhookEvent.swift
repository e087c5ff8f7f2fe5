#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What happened, as the `type` of a webhook body. Raw values are the public names
/// receivers switch on, so they never change once shipped.
public enum WebhookEventType: String, CaseIterable, Sendable, Codable, Hashable {
    case credentialActivated = "credential.activated"
    case credentialDeactivated = "credential.deactivated"
    case credentialRejected = "credential.rejected"
    case uriSetIssued = "uri_set.issued"
    /// The credential's health changed to anything but `ok` (migration 0017's trigger).
    case credentialUnhealthy = "credential.unhealthy"
    /// The credential's health returned to `ok` from such a state.
    case credentialHealthy = "credential.healthy"
}

/// One event as sent: `id` is the Standard Webhooks `webhook-id` (same for every attempt
/// and every endpoint), so that a receiver can use it as its idempotency key.
public struct WebhookEvent: Sendable, Hashable {
    public let id: UUID
    public let type: WebhookEventType
    public let occurredAt: Date
    /// The tenant's slug.
    public let tenant: String
    public let credentialID: UUID?
    public let uriSetVersion: Int?

    public init(id: UUID, type: WebhookEventType, occurredAt: Date, tenant: String, credentialID: UUID?, uriSetVersion: Int?) {
        self.id = id
        self.type = type
        self.occurredAt = occurredAt
        self.tenant = tenant
        self.credentialID = credentialID
        self.uriSetVersion = uriSetVersion
    }

    /// The header value `webhook-id`: the lowercase UUID string, as PostgreSQL prints it,
    /// so that the worker, the store and the receiver all see one spelling. It holds no `.`,
    /// which the specification asks for (the signed content is `id.timestamp.body`).
    public var webhookID: String { id.uuidString.lowercased() }

    /// Exact bytes of the body, identical on every attempt (the signature covers them, and a
    /// receiver that deduplicates may compare them):
    /// `{"type":"credential.activated","timestamp":"2026-12-06T10:00:00.123Z","data":{"tenant":"acme","credential_id":"<uuid>"|null,"uri_set_version":3|null}}`.
    ///
    /// Written by hand rather than with JSONEncoder because key order, spacing, date and
    /// number formatting would otherwise depend on the Foundation in use.
    public func body() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(160 + tenant.utf8.count)
        out.append(contentsOf: #"{"type":"#.utf8)
        WebhookJSON.appendString(type.rawValue, to: &out)
        out.append(contentsOf: #","timestamp":"#.utf8)
        WebhookJSON.appendString(WebhookTime.rfc3339Milliseconds(occurredAt), to: &out)
        out.append(contentsOf: #","data":{"tenant":"#.utf8)
        WebhookJSON.appendString(tenant, to: &out)
        out.append(contentsOf: #","credential_id":"#.utf8)
        if let credentialID {
            WebhookJSON.appendString(credentialID.uuidString.lowercased(), to: &out)
        } else {
            out.append(contentsOf: "null".utf8)
        }
        out.append(contentsOf: #","uri_set_version":"#.utf8)
        if let uriSetVersion {
            out.append(contentsOf: String(uriSetVersion).utf8)
        } else {
            out.append(contentsOf: "null".utf8)
        }
        out.append(contentsOf: "}}".utf8)
        return out
    }
}

/// RFC 8259 string output: the two characters that must be escaped, and every control
/// character, so that any slug text (whatever a future slug rule allows) stays valid JSON.
enum WebhookJSON {
    static func appendString(_ text: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        // A Swift String's UTF-8 is always well formed, so non-ASCII bytes pass through.
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case 0x0A: out.append(contentsOf: #"\n"#.utf8)
            case 0x0D: out.append(contentsOf: #"\r"#.utf8)
            case 0x09: out.append(contentsOf: #"\t"#.utf8)
            case 0x08: out.append(contentsOf: #"\b"#.utf8)
            case 0x0C: out.append(contentsOf: #"\f"#.utf8)
            case 0x00..<0x20:
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// Proleptic Gregorian calendar arithmetic on days since 1970-01-01 (Howard Hinnant's
/// `days_from_civil` / `civil_from_days`), so that formatting and HTTP-date parsing are
/// exact integer work that does not depend on a Foundation calendar or locale.
enum WebhookTime {
    /// Milliseconds of 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the years
    /// RFC 3339 can write with four digits. Dates outside are clamped.
    static let minimumMilliseconds: Int64 = -62_135_596_800_000
    static let maximumMilliseconds: Int64 = 253_402_300_799_999

    /// `2026-12-06T10:00:00.123Z`: UTC, always three fraction digits (truncated, never
    /// rounded up into the next second).
    static func rfc3339Milliseconds(_ date: Date) -> String {
        // Round to microseconds first: a Date is a binary Double, and 0.123 s is stored
        // as 0.12299999..., which truncating straight to milliseconds would turn into .122.
        let micro = (date.timeIntervalSince1970 * 1_000_000).rounded()
        let milliseconds: Int64
        if micro.isNaN {
            milliseconds = 0
        } else if micro / 1000 <= Double(minimumMilliseconds) {
            milliseconds = minimumMilliseconds
        } else if micro / 1000 >= Double(maximumMilliseconds) {
            milliseconds = maximumMilliseconds
        } else {
            milliseconds = Int64((micro / 1000).rounded(.down))
        }
        let msPerDay: Int64 = 86_400_000
        let days = milliseconds >= 0 ? milliseconds / msPerDay : (milliseconds - msPerDay + 1) / msPerDay
        let inDay = milliseconds - days * msPerDay
        let (year, month, day) = civil(fromDays: days)
        var text = ""
        text.reserveCapacity(24)
        text += pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
        text += "T" + pad(inDay / 3_600_000, 2) + ":" + pad(inDay / 60_000 % 60, 2) + ":" + pad(inDay / 1000 % 60, 2)
        text += "." + pad(inDay % 1000, 3) + "Z"
        return text
    }

    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func days(fromYear year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 4, 6, 9, 11: return 30
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        default: return 31
        }
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
