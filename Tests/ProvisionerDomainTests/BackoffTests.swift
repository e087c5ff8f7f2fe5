import ProvisionerDomain
import Testing

@Suite("Backoff")
struct BackoffTests {
    @Test("the ceiling doubles up to the cap")
    func ceiling() {
        let backoff = Backoff(base: .milliseconds(100), cap: .seconds(1))
        #expect(backoff.ceiling(attempt: 1) == .milliseconds(100))
        #expect(backoff.ceiling(attempt: 2) == .milliseconds(200))
        #expect(backoff.ceiling(attempt: 4) == .milliseconds(800))
        #expect(backoff.ceiling(attempt: 5) == .seconds(1))
        #expect(backoff.ceiling(attempt: 1000) == .seconds(1))
    }

    @Test("full jitter: every delay between zero and the ceiling, and not all the same")
    func jitter() {
        let backoff = Backoff(base: .milliseconds(100), cap: .seconds(1))
        let delays = (0..<200).map { _ in backoff.delay(attempt: 3) }
        #expect(delays.allSatisfy { $0 >= .zero && $0 <= .milliseconds(400) })
        #expect(Set(delays.map { "\($0)" }).count > 100)
    }
}
