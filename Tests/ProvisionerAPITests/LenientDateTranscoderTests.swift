import Foundation
import Testing
@testable import ProvisionerAPI

@Suite struct LenientDateTranscoderTests {
    let transcoder = LenientDateTranscoder()

    /// Accepted input, and how the same instant is written back (UTC, `Z`, fraction only when
    /// not zero, to the microsecond).
    static let accepted: [(input: String, written: String)] = [
        ("1963-06-19T08:30:06Z", "1963-06-19T08:30:06Z"),
        ("1963-06-19T08:30:06.283185Z", "1963-06-19T08:30:06.283185Z"),
        ("1963-06-19t08:30:06.283185z", "1963-06-19T08:30:06.283185Z"),
        ("2025-11-25T11:14:03.5Z", "2025-11-25T11:14:03.5Z"),
        ("2025-11-25T11:14:03.000Z", "2025-11-25T11:14:03Z"),
        ("2025-11-25T11:14:03.120000Z", "2025-11-25T11:14:03.12Z"),
        ("2025-11-25T11:14:03.1234567Z", "2025-11-25T11:14:03.123457Z"),
        ("2025-11-25T11:14:03.123456789012345678901234567890Z", "2025-11-25T11:14:03.123457Z"),
        ("2025-11-25T20:14:03+09:00", "2025-11-25T11:14:03Z"),
        ("2025-11-25T05:44:03.25-05:30", "2025-11-25T11:14:03.25Z"),
        ("2025-11-25T11:14:03+00:00", "2025-11-25T11:14:03Z"),
        ("2025-11-25T11:14:03-00:00", "2025-11-25T11:14:03Z"),
        ("2025-01-01T00:30:00+01:00", "2024-12-31T23:30:00Z"),
        ("2024-12-31T23:30:00-23:59", "2025-01-01T23:29:00Z"),
        ("2024-02-29T12:00:00Z", "2024-02-29T12:00:00Z"),
        ("2000-02-29T00:00:00Z", "2000-02-29T00:00:00Z"),
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"),
        ("1969-12-31T23:59:58.5Z", "1969-12-31T23:59:58.5Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
        ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"),
        ("1998-12-31T23:59:60Z", "1999-01-01T00:00:00Z"),
        ("1998-12-31T15:59:60.123-08:00", "1999-01-01T00:00:00.123Z"),
        ("2016-12-31T23:59:60.5Z", "2017-01-01T00:00:00.5Z"),
    ]

    static let refused: [String] = [
        "",
        "2025-11-25",
        "2025-11-25T11:14:03",
        "2025-11-25T11:14Z",
        "2025-11-25 11:14:03Z",
        "2025-11-25_11:14:03Z",
        " 2025-11-25T11:14:03Z",
        "2025-11-25T11:14:03Z ",
        "2025-11-25T11:14:03ZZ",
        "2025-11-25T11:14:03UTC",
        "2025-11-25T11:14:03.Z",
        "2025-11-25T11:14:03,5Z",
        "2025-11-25T11:14:03.5",
        "2025-11-25T11:14:03+0900",
        "2025-11-25T11:14:03+09",
        "2025-11-25T11:14:03+9:00",
        "2025-11-25T11:14:03+09:00:00",
        "2025-11-25T11:14:03+09:00Z",
        "1990-12-31T15:59:59-24:00",
        "2025-11-25T11:14:03+01:60",
        "0000-01-01T00:00:00Z",
        "+12025-01-01T00:00:00Z",
        "-2025-01-01T00:00:00Z",
        "12025-01-01T00:00:00Z",
        "2025-1-01T00:00:00Z",
        "2025-01-1T00:00:00Z",
        "2025-00-10T00:00:00Z",
        "2025-13-10T00:00:00Z",
        "2025-01-00T00:00:00Z",
        "2025-01-32T00:00:00Z",
        "2025-04-31T00:00:00Z",
        "2025-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2025-01-01T24:00:00Z",
        "2025-01-01T23:60:00Z",
        "2025-01-01T23:59:61Z",
        "1998-12-31T23:58:60Z",
        "1998-12-31T22:59:60Z",
        "1998-12-31T23:59:60+01:00",
        "2013-350T01:01:01Z",
        "20251125T111403Z",
        "06/19/1963 08:30:06 PST",
        "1963-06-1\u{09EA}T00:00:00Z",
        "1963-06-11T0\u{09EA}:00:00Z",
        "\u{FF12}025-01-01T00:00:00Z",
        "2025-01-01T00:00:00\u{2212}05:00",
    ]

    @Test(arguments: accepted)
    func accepts(_ example: (input: String, written: String)) throws {
        let date = try transcoder.decode(example.input)
        #expect(try transcoder.encode(date) == example.written)
        // What was written reads back as the same instant, to the microsecond written.
        #expect(abs(try transcoder.decode(example.written).timeIntervalSince(date)) < 0.000_001)
    }

    @Test(arguments: refused)
    func refuses(_ input: String) {
        #expect(throws: DecodingError.self) { try transcoder.decode(input) }
        do {
            _ = try transcoder.decode(input)
        } catch DecodingError.dataCorrupted(let context) {
            #expect(context.debugDescription.hasPrefix("Expected an RFC 3339 date-time"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func readsTheInstantNotTheLocalTime() throws {
        #expect(try transcoder.decode("1970-01-01T00:00:00Z") == Date(timeIntervalSince1970: 0))
        #expect(try transcoder.decode("1970-01-01T09:00:00+09:00") == Date(timeIntervalSince1970: 0))
        #expect(try transcoder.decode("1969-12-31T19:00:00.25-05:00") == Date(timeIntervalSince1970: 0.25))
        #expect(try transcoder.decode("2001-01-01T00:00:00Z") == Date(timeIntervalSinceReferenceDate: 0))
    }

    /// A year in range locally can fall outside 0001-9999 in UTC: it is read, but cannot be written.
    @Test func writesOnlyYears0001To9999() throws {
        let early = try transcoder.decode("0001-01-01T00:30:00+01:00")
        #expect(throws: EncodingError.self) { try transcoder.encode(early) }
        let late = try transcoder.decode("9999-12-31T23:30:00-01:00")
        #expect(throws: EncodingError.self) { try transcoder.encode(late) }
        #expect(throws: EncodingError.self) { try transcoder.encode(.distantFuture.addingTimeInterval(1e12)) }
        #expect(throws: EncodingError.self) { try transcoder.encode(Date(timeIntervalSinceReferenceDate: .infinity)) }
    }

    /// Whole seconds across the whole range agree with Foundation's ISO 8601 formatting, and
    /// microseconds of today's dates survive a round trip.
    @Test func agreesWithFoundationAndRoundTrips() throws {
        let style = Date.ISO8601FormatStyle()
        var generator = SystemRandomNumberGenerator()
        // 1600-01-01 .. 9999-12-31, clear of any Julian/Gregorian switch in Foundation.
        let range: ClosedRange<Int64> = -11_676_096_000...253_402_300_799
        for _ in 0..<2000 {
            let date = Date(timeIntervalSince1970: Double(Int64.random(in: range, using: &generator)))
            let written = try transcoder.encode(date)
            #expect(written == style.format(date))
            #expect(try transcoder.decode(written) == date)
        }
        for _ in 0..<2000 {
            let micros = Int64.random(in: 0...4_102_444_800_000_000, using: &generator)  // 1970 .. 2100
            let date = Date(timeIntervalSince1970: Double(micros) / 1_000_000)
            let decoded = try transcoder.decode(try transcoder.encode(date))
            #expect(abs(decoded.timeIntervalSince(date)) < 0.000_001)
        }
    }
}
