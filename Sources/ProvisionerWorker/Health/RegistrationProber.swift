import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ProvisionerDomain
import Tracing

/// Asks Google's authorization endpoint whether a redirect URI is registered with a client: a
/// GET as a browser without a session would make it, no cookies (the client keeps none), never
/// following a redirect, within `requestTimeout`, reading at most `maxBodyBytes` of the answer.
/// The request carries no secret: only the client id and the redirect URI, which are public.
struct RegistrationProber: Sendable {
    let client: HTTPClient
    let configuration: CredentialHealthConfiguration
    let logger: Logger
    /// With tracing on, each probe is a client span and carries its `traceparent`.
    var tracer: (any Tracer)? = nil

    static func makeHTTPClient(_ configuration: CredentialHealthConfiguration) -> HTTPClient {
        let timeout = TimeAmount.nanoseconds(Self.nanoseconds(configuration.requestTimeout))
        let http = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: timeout, read: timeout),
            decompression: .disabled
        )
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: http.withoutLibraryTracing())
    }

    func probe(clientID: String, redirectURI: String) async -> ProbeAnswer {
        let url = RegistrationProbe.requestURL(
            authorizationEndpoint: configuration.authorizationEndpoint, clientID: clientID, redirectURI: redirectURI
        )
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "Accept", value: "text/html,application/xhtml+xml")
        request.headers.add(name: "Accept-Language", value: "en")
        request.headers.add(name: "User-Agent", value: "provisioner-registration-probe")
        do {
            let response = try await ClientSpan.execute(request, name: "GET google auth (registration probe)", tracer: tracer) {
                try await client.execute($0, timeout: .nanoseconds(Self.nanoseconds(configuration.requestTimeout)))
            }
            let location = response.headers.first(name: "location")
            var body: [UInt8] = []
            for try await chunk in response.body {
                let room = configuration.maxBodyBytes - body.count
                if room <= 0 { break }
                body += chunk.readableBytesView.prefix(room)
                if body.count >= configuration.maxBodyBytes { break }
            }
            let answer = RegistrationProbe.classify(status: Int(response.status.code), location: location, body: body)
            logger.debug("registration probe", metadata: [
                "client_id": "\(clientID)", "redirect_uri": "\(redirectURI)", "status": "\(response.status.code)", "answer": "\(answer)",
            ])
            return answer
        } catch {
            let reason = "request failed: \(String(reflecting: type(of: error)))"
            logger.notice("registration probe failed", metadata: [
                "client_id": "\(clientID)", "redirect_uri": "\(redirectURI)", "error": "\(error)",
            ])
            return .inconclusive(reason)
        }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
