import AsyncHTTPClient
import Foundation
import Tracing

/// A client span around one request the worker sends (a webhook delivery, a live check at
/// Google's token endpoint, a registration probe), whose context the request carries as
/// `traceparent` (and `tracestate`): the receiver's spans join the trace. Child of the current
/// span (the verification span for a live check made while verifying), else a root.
///
/// With `tracer` nil (tracing off) the request is sent as it is, with no span and no header.
///
/// What a span records is chosen here, not by AsyncHTTPClient (whose own tracing, off on the
/// worker's clients, would record the full URL: a webhook URL's query may hold the receiver's
/// token, a probe's names the client): the method, the scheme, host and port, the status, and
/// the type of an error. Never a path, a query, a header or a body.
///
/// The span ends when the response head arrives (or the request fails); reading the body is
/// the caller's, bounded by its own limits.
enum ClientSpan {
    static func execute(
        _ request: HTTPClientRequest,
        name: String,
        tracer: (any Tracer)?,
        attributes: SpanAttributes = [:],
        _ send: (HTTPClientRequest) async throws -> HTTPClientResponse
    ) async throws -> HTTPClientResponse {
        guard let tracer else { return try await send(request) }
        let span = tracer.startSpan(name, context: InstrumentationContext.current ?? .topLevel, ofKind: .client)
        defer { span.end() }
        span.attributes.merge(attributes)
        span.attributes["http.request.method"] = request.method.rawValue
        if let url = URLComponents(string: request.url) {
            span.attributes["url.scheme"] = url.scheme
            span.attributes["server.address"] = url.host
            span.attributes["server.port"] = url.port ?? (url.scheme == "https" ? 443 : 80)
        }
        var request = request
        tracer.inject(span.context, into: &request, using: RequestHeadersInjector())
        do {
            let response = try await send(request)
            let status = Int(response.status.code)
            span.attributes["http.response.status_code"] = status
            if status >= 400 { span.setStatus(SpanStatus(code: .error)) }
            return response
        } catch {
            span.attributes["error.type"] = String(reflecting: type(of: error))
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
    }

    /// Sets `traceparent` (and `tracestate`), replacing any the request had.
    struct RequestHeadersInjector: Injector {
        func inject(_ value: String, forKey key: String, into request: inout HTTPClientRequest) {
            request.headers.replaceOrAdd(name: key, value: value)
        }
    }
}

extension HTTPClient.Configuration {
    /// This configuration with AsyncHTTPClient's own tracing off: it would take the process's
    /// global tracer and record full URLs; the worker's requests are traced by `ClientSpan`.
    func withoutLibraryTracing() -> Self {
        var configuration = self
        configuration.tracing.tracer = nil
        return configuration
    }
}
