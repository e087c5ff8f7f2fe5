import Foundation
import OpenAPIRuntime

/// Dates of the API as RFC 3339 `date-time` strings, parsed and printed by hand.
///
/// Encoding always writes UTC with `Z`: `2025-11-25T11:14:03Z`, or with the fraction of the
/// second when it is not zero, to the microsecond (PostgreSQL's precision) with trailing
/// zeros removed: `2025-11-25T11:14:03.25Z`, `2025-11-25T11:14:03.123456Z`. Dates outside
/// the years 0001-9999 (UTC) cannot be written and throw an `EncodingError`.
///
/// Decoding accepts any RFC 3339 `date-time` (section 5.6) with a year 0001-9999:
/// - `T` and `Z` in either case (the RFC's ABNF is case-insensitive); no space separator;
/// - a fraction of the second of any length (digits past the ninth are checked, then ignored);
/// - `Z`, or an offset `+hh:mm`/`-hh:mm` (hh 00-23, mm 00-59; `-00:00` means UTC);
/// - a real calendar date (`02-29` only in leap years);
/// - a leap second `:60` only at 23:59 UTC; like POSIX time, it is read as the next second.
/// Anything else throws `DecodingError.dataCorrupted` naming the first problem found.
///
/// Why not the runtime's `ISO8601DateTranscoder`: it accepts either always or never a
/// fraction of the second, and `ISO8601DateFormatter`/`Date.ISO8601FormatStyle` refuse some
/// valid RFC 3339 strings (lowercase `t`/`z`, long fractions, `:60`). The parser below is
/// a single pass over the UTF-8 bytes, without allocation or locks.
struct LenientDateTranscoder: DateTranscoder, Sendable {
    init() {}

    func encode(_ date: Date) throws -> String {
        let interval = date.timeIntervalSinceReferenceDate
        guard interval.isFinite else {
            throw EncodingError.invalidValue(
                date,
                .init(codingPath: [], debugDescription: "Cannot write a non-finite date as RFC 3339.")
            )
        }
        // Whole seconds and microseconds, split before any rounding so the fraction stays exact.
        let whole = interval.rounded(.down)
        guard abs(whole) < 1e15 else { throw Self.outOfRange(date) }
        var seconds = Int64(whole) + Self.referenceDateUnixSeconds
        var micros = Int64(((interval - whole) * 1_000_000).rounded())
        if micros == 1_000_000 {
            seconds += 1
            micros = 0
        }
        let days = Self.floorDivide(seconds, 86_400)
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = Self.civil(fromDays: days)
        guard (1...9999).contains(year) else { throw Self.outOfRange(date) }

        var fractionDigits = 0
        var fraction = Int(micros)
        if fraction != 0 {
            fractionDigits = 6
            while fraction % 10 == 0 {
                fraction /= 10
                fractionDigits -= 1
            }
        }
        let length = 20 + (fractionDigits == 0 ? 0 : 1 + fractionDigits)
        return String(unsafeUninitializedCapacity: length) { buffer in
            func put(_ value: Int, digits: Int, at offset: Int) {
                var value = value
                var index = offset + digits - 1
                while index >= offset {
                    buffer[index] = UInt8(truncatingIfNeeded: 0x30 + value % 10)
                    value /= 10
                    index -= 1
                }
            }
            put(Int(year), digits: 4, at: 0)
            buffer[4] = UInt8(ascii: "-")
            put(month, digits: 2, at: 5)
            buffer[7] = UInt8(ascii: "-")
            put(day, digits: 2, at: 8)
            buffer[10] = UInt8(ascii: "T")
            put(secondOfDay / 3600, digits: 2, at: 11)
            buffer[13] = UInt8(ascii: ":")
            put(secondOfDay / 60 % 60, digits: 2, at: 14)
            buffer[16] = UInt8(ascii: ":")
            put(secondOfDay % 60, digits: 2, at: 17)
            var end = 19
            if fractionDigits > 0 {
                buffer[19] = UInt8(ascii: ".")
                put(fraction, digits: fractionDigits, at: 20)
                end = 20 + fractionDigits
            }
            buffer[end] = UInt8(ascii: "Z")
            return end + 1
        }
    }

    /// How the refusal of a string starts, so that a problem answer can recognise it.
    static let refusalPrefix = "Expected an RFC 3339 date-time"

    func decode(_ string: String) throws -> Date {
        var string = string
        let parsed = string.withUTF8 { Self.parse($0) }
        switch parsed {
        case .success(let date):
            return date
        case .failure(let reason):
            let shown = string.utf8.count > 64 ? String(string.prefix(64)) + "..." : string
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: [],
                    debugDescription: Self.refusalPrefix + " such as 2025-01-31T09:30:00Z, got \"\(shown)\": \(reason.message)."
                )
            )
        }
    }

    // MARK: - Parsing

    /// Why a string was refused; `message` ends up in the `DecodingError`.
    private struct Refusal: Error {
        let message: String
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<Date, Refusal> {
        // Shortest: yyyy-mm-ddThh:mm:ssZ (20 bytes).
        guard bytes.count >= 20 else { return .failure(.init(message: "too short for yyyy-mm-ddThh:mm:ssZ")) }

        func digits(_ offset: Int, _ count: Int) -> Int? {
            var value = 0
            for index in offset..<(offset + count) {
                let digit = bytes[index] &- 0x30
                guard digit < 10 else { return nil }
                value = value * 10 + Int(digit)
            }
            return value
        }
        func byte(_ offset: Int, is expected: Unicode.Scalar) -> Bool {
            bytes[offset] == UInt8(ascii: expected)
        }

        guard let year = digits(0, 4), byte(4, is: "-"),
            let month = digits(5, 2), byte(7, is: "-"),
            let day = digits(8, 2)
        else { return .failure(.init(message: "the date is not yyyy-mm-dd")) }
        guard (1...9999).contains(year) else { return .failure(.init(message: "year 0000 is out of range")) }
        guard (1...12).contains(month) else { return .failure(.init(message: "the month is not 01-12")) }
        guard day >= 1, day <= daysInMonth(year: year, month: month) else {
            return .failure(.init(message: "the day does not exist in that month"))
        }
        guard bytes[10] | 0x20 == UInt8(ascii: "t") else {
            return .failure(.init(message: "the date and time must be separated by T"))
        }
        guard let hour = digits(11, 2), byte(13, is: ":"),
            let minute = digits(14, 2), byte(16, is: ":"),
            let second = digits(17, 2)
        else { return .failure(.init(message: "the time is not hh:mm:ss")) }
        guard hour <= 23, minute <= 59, second <= 60 else {
            return .failure(.init(message: "the time is out of range"))
        }

        var index = 19
        var nanos = 0
        if byte(index, is: ".") {
            index += 1
            let start = index
            while index < bytes.count, bytes[index] &- 0x30 < 10 {
                if index - start < 9 { nanos = nanos * 10 + Int(bytes[index] &- 0x30) }
                index += 1
            }
            guard index > start else { return .failure(.init(message: "the fraction of the second has no digits")) }
            for _ in min(index - start, 9)..<9 { nanos *= 10 }
        }

        guard index < bytes.count else { return .failure(.init(message: "the time offset (Z or +hh:mm) is missing")) }
        var offsetSeconds = 0
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard bytes.count - index >= 6,
                let offsetHour = digits(index + 1, 2), byte(index + 3, is: ":"),
                let offsetMinute = digits(index + 4, 2)
            else { return .failure(.init(message: "the time offset is not +hh:mm or -hh:mm")) }
            guard offsetHour <= 23, offsetMinute <= 59 else {
                return .failure(.init(message: "the time offset is out of range"))
            }
            offsetSeconds = (offsetHour * 60 + offsetMinute) * 60
            if byte(index, is: "-") { offsetSeconds = -offsetSeconds }
            index += 6
        default:
            return .failure(.init(message: "the time offset (Z or +hh:mm) is missing or malformed"))
        }
        guard index == bytes.count else { return .failure(.init(message: "unexpected characters after the time offset")) }

        let localSeconds = Int64(hour * 3600 + minute * 60 + second)
        if second == 60, floorModulo(Int64(hour * 60 + minute - offsetSeconds / 60), 1440) != 23 * 60 + 59 {
            return .failure(.init(message: "a leap second (:60) can only be 23:59:60 UTC"))
        }
        let unixSeconds = days(year: Int64(year), month: Int64(month), day: Int64(day)) * 86_400
            + localSeconds - Int64(offsetSeconds)
        let referenceSeconds = unixSeconds - referenceDateUnixSeconds
        return .success(
            Date(timeIntervalSinceReferenceDate: Double(referenceSeconds) + Double(nanos) / 1_000_000_000)
        )
    }

    // MARK: - Calendar arithmetic (proleptic Gregorian, UTC)

    /// 2001-01-01T00:00:00Z, Foundation's reference date, in Unix seconds.
    private static let referenceDateUnixSeconds: Int64 = 978_307_200

    private static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 to the given date (H. Hinnant's `days_from_civil`).
    private static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDivide(y, 400)
        let yearOfEra = y - era * 400
        let monthFromMarch = (month + 9) % 12
        let dayOfYear = (153 * monthFromMarch + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date `days` after 1970-01-01 (H. Hinnant's `civil_from_days`).
    private static func civil(fromDays days: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * monthFromMarch + 2) / 5 + 1)
        let month = Int(monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9)
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let quotient = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? quotient - 1 : quotient
    }

    private static func floorModulo(_ a: Int64, _ b: Int64) -> Int64 {
        a - floorDivide(a, b) * b
    }

    private static func outOfRange(_ date: Date) -> EncodingError {
        .invalidValue(
            date,
            .init(codingPath: [], debugDescription: "Only dates in the years 0001-9999 (UTC) can be written as RFC 3339.")
        )
    }
}

extension DateTranscoder where Self == LenientDateTranscoder {
    /// RFC 3339 in UTC with `Z` out, any RFC 3339 date-time in: see `LenientDateTranscoder`.
    static var lenientRFC3339: Self { LenientDateTranscoder() }
}
