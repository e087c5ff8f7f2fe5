import AsyncHTTPClient
import Foundation
import NIOCore
import ProvisionerDomain
import ProvisionerNetwork
import ProvisionerStore
import Tracing

/// What one attempt came to, before it is turned into a result to record.
enum WebhookAttempt: Sendable {
    /// The receiver answered (any status; the body was read up to the limit and dropped).
    case answered(status: Int, retryAfter: Duration?)
    /// No answer: connection refused, timeout, TLS, a secret that does not open.
    case failed(String)
    /// No request made: the URL or the addresses its host resolves to now break the policy.
    case refused(String)
    /// The event in the row cannot be sent at all (an event type this build does not know).
    case unsendable(String)
    /// Shutdown interrupted it: given back to the queue.
    case interrupted
}

/// Where a claim's deliveries to one endpoint go, or why they cannot go there.
enum WebhookTarget: Sendable {
    case ready(url: WebhookURL, secrets: [WebhookSecret])
    /// The URL breaks the policy, or a secret does not open: what each attempt comes to.
    case unusable(WebhookAttempt)
}

/// Makes one attempt of a claimed delivery: checks the URL and resolves its host again (a
/// name may point somewhere else since it was saved), signs the body with the endpoint's
/// secrets and POSTs it, never following a redirect, within `timeout` all told.
///
/// The request goes through AsyncHTTPClient, which resolves the host once more when it
/// connects: a name re-pointed between the check and the connection (DNS rebinding within
/// milliseconds) is not caught here. Pinning the checked address needs a per-request resolver
/// that AsyncHTTPClient does not offer.
struct WebhookSender: Sendable {
    let client: HTTPClient
    let resolver: any HostResolver
    let configuration: WebhookDeliveryConfiguration
    let sealer: SecretSealer
    /// With tracing on, each attempt is a client span and carries its `traceparent`.
    var tracer: (any Tracer)? = nil

    /// The URL checked and the secrets opened, once per endpoint of a claim: every delivery a
    /// claim holds for one endpoint comes from the same row of it, read by the same statement.
    /// Parsing the URL and opening the secrets (AES-GCM) for each delivery was 4-5% of the
    /// worker's CPU. The opened secrets live as long as the claim's attempts.
    func target(for claim: ClaimedDelivery) -> WebhookTarget {
        let url: WebhookURL
        do {
            url = try configuration.urlPolicy.parse(claim.url)
        } catch {
            return .unusable(.refused(error.description))
        }
        var secrets: [WebhookSecret] = []
        do {
            secrets.append(try sealer.openWebhookSecret(claim.secret, endpointID: claim.endpointID))
            if let previous = claim.previousSecret {
                secrets.append(try sealer.openWebhookSecret(previous, endpointID: claim.endpointID))
            }
        } catch {
            // The error names the key, never the secret.
            return .unusable(.failed("the endpoint's signing secret cannot be opened: \(error.description)"))
        }
        return .ready(url: url, secrets: secrets)
    }

    /// Each of a claim's deliveries with its target, made once per endpoint.
    func targeted(_ claims: [ClaimedDelivery]) -> [(claim: ClaimedDelivery, target: WebhookTarget)] {
        var targets: [UUID: WebhookTarget] = [:]
        return claims.map { claim in
            if let made = targets[claim.endpointID] { return (claim, made) }
            let made = target(for: claim)
            targets[claim.endpointID] = made
            return (claim, made)
        }
    }

    func attempt(_ claim: ClaimedDelivery, to target: WebhookTarget, now: Date = Date()) async -> WebhookAttempt {
        guard let type = WebhookEventType(rawValue: claim.eventType) else {
            return .unsendable("unknown event type \(claim.eventType.prefix(64))")
        }
        let url: WebhookURL
        let secrets: [WebhookSecret]
        switch target {
        case .ready(let ready, let opened):
            (url, secrets) = (ready, opened)
        case .unusable(let attempt):
            return attempt
        }
        let event = WebhookEvent(
            id: claim.eventID, type: type, occurredAt: claim.occurredAt, tenant: claim.tenantSlug,
            credentialID: claim.credentialID, uriSetVersion: claim.uriSetVersion
        )
        let body = event.body()
        let timestamp = Int64(now.timeIntervalSince1970.rounded(.down))
        let signature = WebhookSignature.header(id: event.webhookID, timestamp: timestamp, body: body, secrets: secrets)

        // The whole attempt (resolving, connecting, the head and the body) within `timeout`.
        // Each step is bounded by what already bounds it rather than by a timer of its own
        // around all of them (two child tasks and a sleep for every attempt, 5% of a worker's
        // CPU at thousands a second): the resolver has its limit, AsyncHTTPClient's deadline
        // covers connecting, writing and the head, and a timer is set only for a body (which a
        // receiver may trickle byte by byte).
        let clock = ContinuousClock()
        let deadline = clock.now + configuration.timeout
        var addresses: [[UInt8]] = []
        if url.hostAddress == nil {
            do {
                // Bounded by the resolver itself (`HostResolutionTimeout`; the worker's resolver
                // is given `resolveTimeout`).
                addresses = try await resolver.addresses(of: url.host)
            } catch {
                return Task.isCancelled ? .interrupted : .failed("\(error)")
            }
        }
        do {
            try configuration.urlPolicy.check(url, resolved: addresses)
        } catch let refusal as WebhookURLRefusal {
            return .refused(refusal.description)
        } catch {
            return .refused("\(error)")
        }
        var request = HTTPClientRequest(url: url.text)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "user-agent", value: "provisioner-webhooks/1")
        request.headers.add(name: "webhook-id", value: event.webhookID)
        request.headers.add(name: "webhook-timestamp", value: String(timestamp))
        request.headers.add(name: "webhook-signature", value: signature)
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        do {
            // No logger: AsyncHTTPClient's debug lines name the URL, whose query may hold a
            // receiver's token; what matters is logged by the producer, without it.
            response = try await ClientSpan.execute(
                request, name: "POST webhook", tracer: tracer,
                attributes: ["provisioner.webhook.event_type": .string(type.rawValue), "provisioner.webhook.attempt": .int64(Int64(claim.attempt))]
            ) {
                try await client.execute($0, deadline: NIODeadline.now() + .nanoseconds(Self.nanoseconds(clock.now.duration(to: deadline))))
            }
        } catch {
            if Task.isCancelled { return .interrupted }
            if let error = error as? HTTPClientError, error == .deadlineExceeded {
                return .failed("no answer within \(configuration.timeout)")
            }
            return .failed(Self.describe(error))
        }
        // The answer is the status, kept whatever happens to the body.
        let answer = WebhookAttempt.answered(
            status: Int(response.status.code),
            retryAfter: response.headers.first(name: "retry-after").flatMap { WebhookRetryAfter.parse($0, now: Date()) }
        )
        // The body is read only so that a small one leaves the connection reusable: at most
        // maxResponseBytes, and no later than the deadline; past either, it is dropped, which
        // closes the connection. A response that has none (204, 304, `content-length: 0`) is not
        // waited on.
        if Self.mayHaveBody(response) {
            let limit = configuration.maxResponseBytes
            _ = await Self.within(clock.now.duration(to: deadline)) {
                var read = 0
                do {
                    for try await chunk in response.body {
                        read += chunk.readableBytes
                        if read >= limit { break }
                    }
                } catch {}
                return true
            }
        }
        return answer
    }

    /// False when the response carries no body by HTTP's rules or by its own word.
    static func mayHaveBody(_ response: HTTPClientResponse) -> Bool {
        if response.status == .noContent || response.status == .notModified { return false }
        return response.headers.first(name: "content-length").map { $0 != "0" } ?? true
    }

    /// Runs `work`, or gives up on it (cancelling it) after `limit`: nil then. For a wait that
    /// nothing else bounds: a receiver trickling its body.
    static func within<T: Sendable>(_ limit: Duration, _ work: @escaping @Sendable () async -> T) async -> T? {
        await withTaskGroup(of: T?.self) { group in
            group.addTask { await work() }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }

    /// A short reason without the URL (it may carry a token in its query).
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            return "no answer: \(error)".prefix(300).description
        }
        return "no answer: \(String(describing: error).prefix(280))"
    }
}
