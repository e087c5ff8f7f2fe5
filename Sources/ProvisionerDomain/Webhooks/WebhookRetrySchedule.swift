#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// When a failed webhook delivery is tried again.
///
/// The standard schedule is the one the Standard Webhooks specification suggests (5 s, 5 min,
/// 30 min, 2 h, 5 h, 10 h, 10 h): quick enough to ride out a deploy, long enough (about a day
/// and a half in all) to survive a receiver's outage. Jitter is an input, not drawn here, so
/// the schedule stays pure and every case is testable.
public struct WebhookRetrySchedule: Sendable, Hashable {
    /// After attempt 1 fails: 5 s, then 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (8 attempts in all).
    public static let standard = WebhookRetrySchedule(delays: [
        .seconds(5), .seconds(5 * 60), .seconds(30 * 60), .seconds(2 * 3600),
        .seconds(5 * 3600), .seconds(10 * 3600), .seconds(10 * 3600),
    ])

    /// No wait is ever longer than this, whatever the schedule or a Retry-After asks for.
    public static let maximumDelay: Duration = .seconds(24 * 3600)

    public let delays: [Duration]

    public init(delays: [Duration]) {
        self.delays = delays
    }

    /// Parses `5s,5m,30m,2h,5h,10h,10h`: comma-separated whole numbers with a unit (`ms`,
    /// `s`, `m`, `h`), spaces around entries allowed, zero allowed (tests use `0s,10ms`).
    /// Nil if malformed, empty, or any delay is over 24 h. Used for
    /// PROVISIONER_WEBHOOK_RETRY_DELAYS, so a typo stops start-up instead of retrying oddly.
    public init?(parsing text: String) {
        var delays: [Duration] = []
        for entry in text.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            guard let delay = Self.parseEntry(Array(entry)) else { return nil }
            delays.append(delay)
        }
        guard !delays.isEmpty else { return nil }
        self.delays = delays
    }

    /// delays.count + 1: the first attempt and one per delay.
    public var maxAttempts: Int { delays.count + 1 }

    /// Delay before the next attempt after `attempt` (1-based; below 1 counts as 1) failed;
    /// nil = give up. Jitter spreads retries of many deliveries that failed together:
    /// delay * (1 + 0.2 * (jitter - 0.5)), i.e. within ±10 %, with `jitter` in 0..<1 from the
    /// caller (clamped; NaN counts as 0.5). A Retry-After longer than that wins, because the
    /// receiver knows when it will be back. The result is whole milliseconds, at most 24 h.
    public func delay(afterAttempt attempt: Int, retryAfter: Duration?, jitter: Double) -> Duration? {
        let index = max(attempt, 1) - 1
        guard index < delays.count else { return nil }
        let unit = jitter.isNaN ? 0.5 : min(max(jitter, 0), 1)
        var milliseconds = Backoff.seconds(delays[index]) * 1000 * (1 + 0.2 * (unit - 0.5))
        if let retryAfter {
            milliseconds = max(milliseconds, Backoff.seconds(retryAfter) * 1000)
        }
        let cap = Backoff.seconds(Self.maximumDelay) * 1000
        milliseconds = min(max(milliseconds, 0), cap)
        return .milliseconds(Int64(milliseconds.rounded()))
    }

    private static func parseEntry(_ entry: [UInt8]) -> Duration? {
        var bytes = entry[...]
        while bytes.first == UInt8(ascii: " ") { bytes.removeFirst() }
        while bytes.last == UInt8(ascii: " ") { bytes.removeLast() }
        let digits = bytes.prefix { $0 &- UInt8(ascii: "0") < 10 }
        let unit = String(decoding: bytes.dropFirst(digits.count), as: UTF8.self)
        // Nine digits cannot overflow even in milliseconds of hours; anything longer is over 24 h anyway.
        guard (1...9).contains(digits.count), let value = Int64(String(decoding: digits, as: UTF8.self)) else { return nil }
        let milliseconds: Int64
        switch unit {
        case "ms": milliseconds = value
        case "s": milliseconds = value * 1000
        case "m": milliseconds = value * 60_000
        case "h": milliseconds = value * 3_600_000
        default: return nil
        }
        guard milliseconds <= 86_400_000 else { return nil }
        return .milliseconds(milliseconds)
    }
}

/// The `Retry-After` header of a 429 or 503 answer.
public enum WebhookRetryAfter {
    /// RFC 9110 Retry-After: delta-seconds or an HTTP-date (IMF-fixdate, and the obsolete
    /// RFC 850 and asctime forms a recipient must also accept); nil if absent or invalid.
    /// A negative number or a date in the past gives zero. Huge numbers saturate instead of
    /// overflowing. Input over 64 bytes is refused unread, so the work is bounded.
    public static func parse(_ value: String, now: Date) -> Duration? {
        guard value.utf8.count <= 64 else { return nil }
        var bytes = Array(value.utf8)[...]
        while let first = bytes.first, first == 0x20 || first == 0x09 { bytes.removeFirst() }
        while let last = bytes.last, last == 0x20 || last == 0x09 { bytes.removeLast() }
        guard !bytes.isEmpty else { return nil }

        let negative = bytes.first == UInt8(ascii: "-")
        let number = negative ? bytes.dropFirst() : bytes
        if !number.isEmpty, number.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }) {
            if negative { return .zero }
            var seconds: Int64 = 0
            for digit in number {
                let (times10, o1) = seconds.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(Int64(digit - UInt8(ascii: "0")))
                if o1 || o2 { return .seconds(Int64.max) }
                seconds = sum
            }
            return .seconds(seconds)
        }
        guard let epochSeconds = HTTPDate.parse(Array(bytes), now: now) else { return nil }
        let milliseconds = ((Double(epochSeconds) - now.timeIntervalSince1970) * 1000).rounded()
        // Dates are years 1-9999, so the difference always fits; NaN (an odd `now`) is no answer.
        guard milliseconds.isFinite, milliseconds.magnitude < 1e15 else { return nil }
        return milliseconds > 0 ? .milliseconds(Int64(milliseconds)) : .zero
    }
}

/// RFC 9110 section 5.6.7 HTTP-date, as seconds since 1970. Fixed-position parsing of the
/// three forms; names are case-sensitive, as the grammar says.
enum HTTPDate {
    private static let dayNames = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    private static let longDayNames = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func parse(_ bytes: [UInt8], now: Date) -> Int64? {
        // IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`
        if bytes.count == 29, dayNames.contains(where: { matches(bytes, 0, $0 + ", ") }), matches(bytes, 25, " GMT"),
           let day = number(bytes, 5, 2), matches(bytes, 7, " "), let month = month(bytes, 8), matches(bytes, 11, " "),
           let year = number(bytes, 12, 4), matches(bytes, 16, " ") {
            return epoch(year: year, month: month, day: day, time: bytes, at: 17)
        }
        // RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT`
        if let name = longDayNames.first(where: { matches(bytes, 0, $0 + ", ") }) {
            let at = name.utf8.count + 2
            guard bytes.count == at + 22, matches(bytes, at + 18, " GMT"),
                  let day = number(bytes, at, 2), matches(bytes, at + 2, "-"), let month = month(bytes, at + 3),
                  matches(bytes, at + 6, "-"), let shortYear = number(bytes, at + 7, 2), matches(bytes, at + 9, " "),
                  case let today = now.timeIntervalSince1970 / 86400, today.magnitude < 1e8 else { return nil }
            // A two-digit year more than 50 years in the future is in the past century.
            let currentYear = WebhookTime.civil(fromDays: Int64(today.rounded(.down))).year
            var year = currentYear - currentYear % 100 + shortYear
            if year > currentYear + 50 { year -= 100 }
            return epoch(year: year, month: month, day: day, time: bytes, at: at + 10)
        }
        // asctime: `Sun Nov  6 08:49:37 1994`
        if bytes.count == 24, dayNames.contains(where: { matches(bytes, 0, $0 + " ") }),
           let month = month(bytes, 4), matches(bytes, 7, " "),
           let day = matches(bytes, 8, " ") ? number(bytes, 9, 1) : number(bytes, 8, 2),
           matches(bytes, 10, " "), matches(bytes, 19, " "), let year = number(bytes, 20, 4) {
            return epoch(year: year, month: month, day: day, time: bytes, at: 11)
        }
        return nil
    }

    private static func matches(_ bytes: [UInt8], _ offset: Int, _ literal: String) -> Bool {
        offset >= 0 && offset + literal.utf8.count <= bytes.count
            && bytes[offset..<offset + literal.utf8.count].elementsEqual(literal.utf8)
    }

    /// `HH:MM:SS` at `offset`, then the calendar check (a second of 60 is a leap second).
    private static func epoch(year: Int64, month: Int64, day: Int64, time bytes: [UInt8], at offset: Int) -> Int64? {
        guard offset + 8 <= bytes.count,
              let hour = number(bytes, offset, 2), bytes[offset + 2] == UInt8(ascii: ":"),
              let minute = number(bytes, offset + 3, 2), bytes[offset + 5] == UInt8(ascii: ":"),
              let second = number(bytes, offset + 6, 2),
              year >= 1, hour < 24, minute < 60, second <= 60,
              day >= 1, day <= WebhookTime.daysInMonth(year: year, month: month) else { return nil }
        return WebhookTime.days(fromYear: year, month: month, day: day) * 86400 + hour * 3600 + minute * 60 + second
    }

    private static func month(_ bytes: [UInt8], _ offset: Int) -> Int64? {
        guard offset + 3 <= bytes.count,
              let index = monthNames.firstIndex(of: String(decoding: bytes[offset..<offset + 3], as: UTF8.self))
        else { return nil }
        return Int64(index + 1)
    }

    private static func number(_ bytes: [UInt8], _ offset: Int, _ width: Int) -> Int64? {
        guard offset >= 0, offset + width <= bytes.count else { return nil }
        var value: Int64 = 0
        for byte in bytes[offset..<offset + width] {
            guard byte &- UInt8(ascii: "0") < 10 else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }
}

/// What a webhook response means for the delivery.
public enum WebhookResponseOutcome: String, Sendable, Hashable {
    /// Any 2xx: the specification's definition of delivered.
    case succeeded
    /// 410 Gone: the receiver says the endpoint is no more, so the endpoint is disabled
    /// rather than retried for a day and a half.
    case gone
    /// Everything else (3xx too: redirects are not followed, since the target was never checked).
    case retry

    public static func classify(status: Int) -> WebhookResponseOutcome {
        switch status {
        case 200...299: .succeeded
        case 410: .gone
        default: .retry
        }
    }
}
