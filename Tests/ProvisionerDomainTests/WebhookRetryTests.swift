import Foundation
import Testing
@testable import ProvisionerDomain

@Suite("Webhook retry schedule")
struct WebhookRetryScheduleTests {
    static let standardDelays: [Duration] = [
        .seconds(5), .seconds(300), .seconds(1800), .seconds(7200), .seconds(18000), .seconds(36000), .seconds(36000),
    ]

    @Test("the standard schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; 8 attempts")
    func standard() {
        #expect(WebhookRetrySchedule.standard.delays == Self.standardDelays)
        #expect(WebhookRetrySchedule.standard.maxAttempts == 8)
    }

    @Test("without jitter (0.5) each attempt waits its delay, and the 8th gives up", arguments: [
        (1, Duration.seconds(5)), (2, .seconds(300)), (3, .seconds(1800)), (4, .seconds(7200)),
        (5, .seconds(18000)), (6, .seconds(36000)), (7, .seconds(36000)), (0, .seconds(5)), (-3, .seconds(5)),
    ] as [(Int, Duration)])
    func centred(attempt: Int, delay: Duration) {
        #expect(WebhookRetrySchedule.standard.delay(afterAttempt: attempt, retryAfter: nil, jitter: 0.5) == delay)
    }

    @Test("give up after the last attempt", arguments: [8, 9, 100, Int.max])
    func giveUp(attempt: Int) {
        #expect(WebhookRetrySchedule.standard.delay(afterAttempt: attempt, retryAfter: nil, jitter: 0.5) == nil)
        #expect(WebhookRetrySchedule.standard.delay(afterAttempt: attempt, retryAfter: .seconds(60), jitter: 0.5) == nil)
    }

    @Test("jitter stays within ±10 %", arguments: [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999_999, 1.0, -1.0, 7.0, .nan, .infinity, -.infinity])
    func jitterBounds(jitter: Double) throws {
        for (index, base) in Self.standardDelays.enumerated() {
            let delay = try #require(WebhookRetrySchedule.standard.delay(afterAttempt: index + 1, retryAfter: nil, jitter: jitter))
            #expect(delay >= base * 0.9 && delay <= base * 1.1, "attempt \(index + 1), jitter \(jitter): \(delay)")
        }
    }

    @Test("jitter extremes, exactly", arguments: [
        (1, 0.0, Duration.milliseconds(4500)), (1, 1.0, .milliseconds(5500)), (1, 0.25, .milliseconds(4750)),
        (7, 0.0, .seconds(32400)), (7, 1.0, .seconds(39600)), (2, .nan, .seconds(300)),
    ] as [(Int, Double, Duration)])
    func jitterExact(attempt: Int, jitter: Double, delay: Duration) {
        #expect(WebhookRetrySchedule.standard.delay(afterAttempt: attempt, retryAfter: nil, jitter: jitter) == delay)
    }

    @Test("a longer Retry-After wins, capped at 24 h; a shorter one does not shorten the wait", arguments: [
        (1, Duration.seconds(60), Duration.seconds(60)),
        (1, .seconds(1), .seconds(5)),
        (1, .zero, .seconds(5)),
        (1, .seconds(-30), .seconds(5)),
        (2, .seconds(3600), .seconds(3600)),
        (1, .seconds(48 * 3600), .seconds(86400)),
        (7, .seconds(30 * 3600), .seconds(86400)),
        (7, .seconds(Int64.max), .seconds(86400)),
        (7, .seconds(36001), .seconds(36001)),
        (3, .milliseconds(1_800_001), .milliseconds(1_800_001)),
    ] as [(Int, Duration, Duration)])
    func retryAfter(attempt: Int, retryAfter: Duration, delay: Duration) {
        #expect(WebhookRetrySchedule.standard.delay(afterAttempt: attempt, retryAfter: retryAfter, jitter: 0.5) == delay)
    }

    @Test("no wait is over 24 h, whatever the schedule; an empty schedule never retries")
    func caps() {
        let long = WebhookRetrySchedule(delays: [.seconds(30 * 3600)])
        #expect(long.delay(afterAttempt: 1, retryAfter: nil, jitter: 0.999) == .seconds(86400))
        #expect(long.maxAttempts == 2)
        let empty = WebhookRetrySchedule(delays: [])
        #expect(empty.maxAttempts == 1)
        #expect(empty.delay(afterAttempt: 1, retryAfter: .seconds(5), jitter: 0.5) == nil)
    }

    @Test("parsing", arguments: [
        ("5s,5m,30m,2h,5h,10h,10h", standardDelays),
        ("0s,10ms", [.zero, .milliseconds(10)]),
        (" 1s , 2s ", [.seconds(1), .seconds(2)]),
        ("100ms", [.milliseconds(100)]),
        ("24h", [.seconds(86400)]),
        ("1440m", [.seconds(86400)]),
        ("86400s", [.seconds(86400)]),
        ("86400000ms", [.seconds(86400)]),
        ("007s", [.seconds(7)]),
    ] as [(String, [Duration])])
    func parsing(text: String, delays: [Duration]) throws {
        let schedule = try #require(WebhookRetrySchedule(parsing: text))
        #expect(schedule.delays == delays)
        #expect(schedule.maxAttempts == delays.count + 1)
    }

    @Test("parsing refuses", arguments: [
        "", " ", ",", "5s,", ",5s", "5s,,5m", "5", "s", "5S", "5 s", "-5s", "+5s", "1.5s", "5sec", "5d", "5us",
        "86400001ms", "25h", "1441m", "9999999999h", "99999999999999999999999999999s", "5s;5m", "０s", "5s\n5m", "5h 5m",
    ])
    func parsingRefuses(text: String) {
        #expect(WebhookRetrySchedule(parsing: text) == nil)
    }

    @Test("the parsed standard text equals the standard schedule")
    func parsedStandard() {
        #expect(WebhookRetrySchedule(parsing: "5s,5m,30m,2h,5h,10h,10h") == .standard)
    }
}

@Suite("Retry-After")
struct WebhookRetryAfterTests {
    /// Thu, 25 Feb 2021 15:02:10 GMT.
    static let now = Date(timeIntervalSince1970: 1_614_265_330)

    @Test("parses", arguments: [
        ("120", Duration.seconds(120)),
        ("0", .zero),
        ("  30 ", .seconds(30)),
        ("\t30", .seconds(30)),
        ("0000000000000000000000000000000000000000000000000000000000000007", .seconds(7)),
        ("-5", .zero),
        ("-0", .zero),
        ("-99999999999999999999999999999", .zero),
        ("9223372036854775807", .seconds(Int64.max)),
        ("9223372036854775808", .seconds(Int64.max)),
        ("99999999999999999999999999999999999999999999999999", .seconds(Int64.max)),
        ("Thu, 25 Feb 2021 16:02:10 GMT", .seconds(3600)),
        ("Fri, 26 Feb 2021 15:02:10 GMT", .seconds(86400)),
        ("Thu, 25 Feb 2021 15:02:10 GMT", .zero),
        ("Thu, 25 Feb 2021 14:02:10 GMT", .zero),
        ("Sun, 06 Nov 1994 08:49:37 GMT", .zero),
        ("Thu, 25 Feb 2021 16:02:60 GMT", .seconds(3650)),
        ("Thu, 29 Feb 2024 00:00:00 GMT", .seconds(94_899_470)),
        (" Thu, 25 Feb 2021 16:02:10 GMT ", .seconds(3600)),
        // The obsolete forms RFC 9110 still requires a recipient to read.
        ("Thursday, 25-Feb-21 16:02:10 GMT", .seconds(3600)),
        ("Sunday, 06-Nov-94 08:49:37 GMT", .zero),
        ("Thursday, 01-Jan-70 00:00:00 GMT", .seconds(1_541_494_670)),
        ("Saturday, 01-Jan-72 00:00:00 GMT", .zero),
        ("Thu Feb 25 16:02:10 2021", .seconds(3600)),
        ("Fri Feb 26 15:02:10 2021", .seconds(86400)),
        ("Sun Nov  6 08:49:37 1994", .zero),
    ] as [(String, Duration)])
    func parses(value: String, delay: Duration) {
        #expect(WebhookRetryAfter.parse(value, now: Self.now) == delay)
    }

    @Test("refuses", arguments: [
        "", "   ", "soon", "1.5", "+5", "5s", "0x10", "1 2", "1e3", "\u{0}", "٣", "-", "--5",
        String(repeating: "9", count: 65),
        "1" + String(repeating: " ", count: 64),
        "Thu, 25 Feb 2021 16:02:10 UTC",
        "thu, 25 Feb 2021 16:02:10 GMT",
        "Thu, 25 feb 2021 16:02:10 GMT",
        "Thu, 30 Feb 2021 16:02:10 GMT",
        "Tue, 29 Feb 2022 00:00:00 GMT",
        "Thu, 00 Feb 2021 16:02:10 GMT",
        "Thu, 25 Feb 2021 24:00:00 GMT",
        "Thu, 25 Feb 2021 16:60:00 GMT",
        "Thu, 25 Feb 2021 16:02:61 GMT",
        "Thu, 25 Foo 2021 16:02:10 GMT",
        "Thu,25 Feb 2021 16:02:10 GMT",
        "Thu, 25 Feb 21 16:02:10 GMT",
        "Thu, 25 Feb 2021 16:02 GMT",
        "Thu, 25 Feb 0000 16:02:10 GMT",
        "Xyz, 25 Feb 2021 16:02:10 GMT",
        "Thu, 2a Feb 2021 16:02:10 GMT",
        "Thursday, 25-Feb-2021 16:02:10 GMT",
        "Thursday 25-Feb-21 16:02:10 GMT",
        "Thu Feb 25 16:02:10 21",
        "Thu Feb 25 16:02:10  2021",
        "Thu, 25 Feb 2021 16:02:10 GMT日本",
    ])
    func refuses(value: String) {
        #expect(WebhookRetryAfter.parse(value, now: Self.now) == nil)
    }

    @Test("an odd clock does not crash")
    func oddClock() {
        for now in [Date(timeIntervalSince1970: .nan), Date(timeIntervalSince1970: .infinity), .distantFuture, .distantPast] {
            _ = WebhookRetryAfter.parse("Thursday, 25-Feb-21 16:02:10 GMT", now: now)
            _ = WebhookRetryAfter.parse("Thu, 25 Feb 2021 16:02:10 GMT", now: now)
            #expect(WebhookRetryAfter.parse("5", now: now) == .seconds(5))
        }
    }
}

@Suite("Webhook response outcomes")
struct WebhookResponseOutcomeTests {
    @Test("classify", arguments: [
        (200, WebhookResponseOutcome.succeeded), (201, .succeeded), (202, .succeeded), (204, .succeeded), (299, .succeeded),
        (100, .retry), (199, .retry), (300, .retry), (301, .retry), (302, .retry), (304, .retry), (307, .retry),
        (400, .retry), (401, .retry), (403, .retry), (404, .retry), (409, .retry), (410, .gone), (413, .retry),
        (429, .retry), (500, .retry), (502, .retry), (503, .retry), (504, .retry), (0, .retry), (-1, .retry),
        (999, .retry), (Int.max, .retry),
    ])
    func classify(status: Int, outcome: WebhookResponseOutcome) {
        #expect(WebhookResponseOutcome.classify(status: status) == outcome)
    }
}
