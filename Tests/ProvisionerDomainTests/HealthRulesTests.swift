import Foundation
import Testing
@testable import ProvisionerDomain

@Suite("Health check rules")
struct HealthRulesTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let hour: TimeInterval = 3600
    static let rules = HealthCheckRules(
        window: .seconds(6 * 3600), recheckInterval: .seconds(24 * 3600),
        propagationBackoff: Backoff(base: .seconds(60), cap: .seconds(1800)),
        retryBackoff: Backoff(base: .seconds(30), cap: .seconds(600))
    )
    static let uris = ["https://a/cb", "https://b/cb"]
    static let earlier = now.addingTimeInterval(-2 * hour)
    static let previousOK = CredentialHealth(state: .ok, checkedAt: earlier, uris: [URIHealth(uri: "https://a/cb", state: .ok)])

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        var memory = HealthMemory()
        var answers: [ProbeAnswer]?
        var live: LiveCheckOutcome?
        var random = 0.5
        let state: HealthState
        var uriStates: [HealthState] = []
        var mismatchSince: Date?
        /// Seconds from now; nil: never.
        var due: TimeInterval?
        var attempts = 0
        var inconclusive = false
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "all registered: ok, re-check at the middle of the spread", answers: [.registered, .registered],
             state: .ok, uriStates: [.ok, .ok], due: 24 * hour),
        Case(name: "spread: random 0 is half the interval", answers: [.registered, .registered], random: 0,
             state: .ok, uriStates: [.ok, .ok], due: 12 * hour),
        Case(name: "spread: random near 1 is 1.5 intervals", answers: [.registered, .registered], random: 0.999,
             state: .ok, uriStates: [.ok, .ok], due: 24 * hour * 1.499),
        Case(name: "first mismatch: propagating, since now, 1 min", answers: [.registered, .redirectURIMismatch],
             state: .propagating, uriStates: [.ok, .propagating], mismatchSince: now, due: 60, attempts: 1),
        Case(name: "mismatch goes on: since kept, backoff doubles",
             memory: HealthMemory(health: previousOK, mismatchSince: earlier, attempts: 3),
             answers: [.redirectURIMismatch, .redirectURIMismatch],
             state: .propagating, uriStates: [.propagating, .propagating], mismatchSince: earlier, due: 240, attempts: 3),
        Case(name: "backoff capped at 30 min", memory: HealthMemory(mismatchSince: earlier, attempts: 12),
             answers: [.redirectURIMismatch, .registered],
             state: .propagating, uriStates: [.propagating, .ok], mismatchSince: earlier, due: 1800, attempts: 12),
        Case(name: "next check never after the window's end",
             memory: HealthMemory(mismatchSince: now.addingTimeInterval(-6 * hour + 100), attempts: 8),
             answers: [.redirectURIMismatch, .registered],
             state: .propagating, uriStates: [.propagating, .ok], mismatchSince: now.addingTimeInterval(-6 * hour + 100), due: 100, attempts: 8),
        Case(name: "window run out: not registered, final", memory: HealthMemory(mismatchSince: now.addingTimeInterval(-6 * hour), attempts: 9),
             answers: [.registered, .redirectURIMismatch],
             state: .redirectURINotRegistered, uriStates: [.ok, .redirectURINotRegistered],
             mismatchSince: now.addingTimeInterval(-6 * hour), due: 24 * hour),
        Case(name: "registered again: ok, since cleared", memory: HealthMemory(mismatchSince: earlier, attempts: 4),
             answers: [.registered, .registered], state: .ok, uriStates: [.ok, .ok], due: 24 * hour),
        Case(name: "client gone: client_deleted, final", answers: [.clientGone("deleted_client"), .clientGone("deleted_client")],
             state: .clientDeleted, uriStates: [.unchecked, .unchecked], due: 24 * hour),
        Case(name: "client gone wins over mismatch and a bad secret", answers: [.redirectURIMismatch, .clientGone("invalid_client")],
             live: .clientSecretInvalid, state: .clientDeleted, uriStates: [.propagating, .unchecked], mismatchSince: now, due: 24 * hour),
        Case(name: "live check: client not found", answers: nil, live: .clientNotFound, state: .clientDeleted, due: 24 * hour),
        Case(name: "live check: secret invalid wins over mismatch", answers: [.redirectURIMismatch, .registered], live: .clientSecretInvalid,
             state: .clientSecretInvalid, uriStates: [.propagating, .ok], mismatchSince: now, due: 24 * hour),
        Case(name: "live check only, valid pair: ok", answers: nil, live: .validPair, state: .ok, due: 24 * hour),
        Case(name: "live check valid, probe ok", answers: [.registered, .registered], live: .validPair, state: .ok, uriStates: [.ok, .ok], due: 24 * hour),
        Case(name: "inconclusive probe: unchanged, retry backoff",
             memory: HealthMemory(health: previousOK, mismatchSince: nil, attempts: 2),
             answers: [.registered, .inconclusive("answered 503")],
             state: .ok, uriStates: [.ok], due: 60, attempts: 2, inconclusive: true),
        Case(name: "live check unavailable alone: inconclusive", memory: HealthMemory(health: previousOK, attempts: 1),
             answers: nil, live: .unavailable, state: .ok, uriStates: [.ok], due: 30, attempts: 1, inconclusive: true),
        Case(name: "mismatch with an inconclusive URI: still propagating", answers: [.redirectURIMismatch, .inconclusive("timeout")],
             state: .propagating, uriStates: [.propagating, .unchecked], mismatchSince: now, due: 60, attempts: 1),
        Case(name: "inconclusive keeps mismatchSince", memory: HealthMemory(mismatchSince: earlier, attempts: 1),
             answers: [.inconclusive("answered 500"), .inconclusive("answered 500")],
             state: .unchecked, mismatchSince: earlier, due: 30, attempts: 1, inconclusive: true),
    ]

    @Test("decide", arguments: cases)
    func decide(c: Case) {
        let decision = Self.rules.decide(memory: c.memory, uris: Self.uris, answers: c.answers, liveCheck: c.live, now: Self.now, random: c.random)
        #expect(decision.health.state == c.state)
        #expect(decision.health.uris.map(\.state) == c.uriStates)
        #expect(decision.mismatchSince == c.mismatchSince)
        #expect(decision.attempts == c.attempts)
        #expect(decision.inconclusive == c.inconclusive)
        if let due = c.due {
            let actual = decision.nextDueAt.map { $0.timeIntervalSince(Self.now) }
            #expect(actual.map { abs($0 - due) < 0.01 } == true, "due \(String(describing: actual)) expected \(due)")
        } else {
            #expect(decision.nextDueAt == nil)
        }
        if c.inconclusive {
            #expect(decision.health == c.memory.health, "health and checked_at unchanged")
            #expect(decision.lastError != nil)
        } else {
            #expect(decision.health.checkedAt == Self.now)
        }
    }

    @Test("re-check off: settled states are never due again")
    func recheckOff() {
        var rules = Self.rules
        rules.recheckInterval = .zero
        for (answers, live) in [([ProbeAnswer.registered, .registered], nil), ([.clientGone("deleted_client"), .registered], nil),
                                ([.registered, .registered], LiveCheckOutcome.clientSecretInvalid)] as [([ProbeAnswer], LiveCheckOutcome?)] {
            #expect(rules.decide(memory: HealthMemory(), uris: Self.uris, answers: answers, liveCheck: live, now: Self.now, random: 0.3).nextDueAt == nil)
        }
        let windowOver = HealthMemory(mismatchSince: Self.now.addingTimeInterval(-7 * Self.hour))
        #expect(rules.decide(memory: windowOver, uris: Self.uris, answers: [.redirectURIMismatch, .registered], liveCheck: nil, now: Self.now, random: 0).nextDueAt == nil)
        // Propagating is still retried within the window.
        #expect(rules.decide(memory: HealthMemory(), uris: Self.uris, answers: [.redirectURIMismatch, .registered], liveCheck: nil, now: Self.now, random: 0).nextDueAt != nil)
    }

    @Test("a short window runs out after its length")
    func shortWindow() {
        var rules = Self.rules
        rules.window = .seconds(2)
        let first = rules.decide(memory: HealthMemory(), uris: ["u"], answers: [.redirectURIMismatch], liveCheck: nil, now: Self.now, random: 0)
        #expect(first.health.state == .propagating)
        #expect(first.nextDueAt == Self.now.addingTimeInterval(2))
        let later = Self.now.addingTimeInterval(2)
        let second = rules.decide(memory: HealthMemory(health: first.health, mismatchSince: first.mismatchSince, attempts: 2),
                                  uris: ["u"], answers: [.redirectURIMismatch], liveCheck: nil, now: later, random: 0)
        #expect(second.health.state == .redirectURINotRegistered)
        #expect(second.mismatchSince == Self.now)
    }
}
