import HTTPTypes
import Hummingbird
import ProvisionerStore
import Tracing
import W3CTraceContext

/// A server span for every request, child of the caller's W3C `traceparent`/`tracestate` when it
/// sent valid ones (README, "Tracing"). Added to the router only when tracing is on
/// (`APIDependencies.tracer`): with tracing off there is no middleware and no cost at all.
///
/// Hummingbird's own `TracingMiddleware` is not used: it records the raw path (an onboarding
/// link's code is part of `/connect/{code}`), the query and the client's user agent. This one
/// names the span by route template, `POST /v1/tenants/{slug}/credentials`, and records the
/// method, the route, the status and the request id: never a path, a query, a header or a body.
///
/// The span's own context is handed to the queue through `QueuedTraceContext.current`, so that
/// an upload (or a re-verification, or a new URI set) stores it with the job it queues and the
/// worker's verification span links back to this request.
///
/// The span covers the handler, up to the response head: a streamed body is not waited for,
/// so that no span is left open by a client that stops reading.
struct RequestTracingMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let tracer: any Tracer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var parent = InstrumentationContext.topLevel
        if let incoming = IncomingTraceContext(request.headers) {
            tracer.extract(incoming, into: &parent, using: IncomingTraceContext.Extractor())
        }
        let method = request.method.rawValue
        let span = tracer.startSpan(method, context: parent, ofKind: .server)
        span.attributes["http.request.method"] = method
        if let requestID = RequestScope.current?.requestID {
            span.attributes["provisioner.request_id"] = requestID
        }
        let queued = Self.queuedContext(of: span.context, tracer: tracer)
        do {
            let response = try await InstrumentationContext.withValue(span.context) {
                try await QueuedTraceContext.$current.withValue(queued) {
                    try await next(request, context)
                }
            }
            Self.finish(span, method: method, route: context.endpointPath, status: Int(response.status.code))
            return response
        } catch {
            // The problem middleware inside answers almost everything; what still escapes is
            // answered by Hummingbird with its status, or 500. Only the error's type is kept:
            // its description could quote the request.
            let status = (error as? any HTTPResponseError).map { Int($0.status.code) } ?? 500
            span.attributes["error.type"] = String(reflecting: type(of: error))
            Self.finish(span, method: method, route: context.endpointPath, status: status)
            throw error
        }
    }

    static func finish(_ span: any Span, method: String, route: String?, status: Int) {
        if let route {
            span.operationName = "\(method) \(route)"
            span.attributes["http.route"] = route
        }
        span.attributes["http.response.status_code"] = status
        if status >= 500 { span.setStatus(SpanStatus(code: .error)) }
        span.end()
    }

    /// The span's context as the queue stores it (what the tracer would send as headers).
    static func queuedContext(of context: InstrumentationContext, tracer: any Tracer) -> QueuedTraceContext? {
        var fields: [String: String] = [:]
        tracer.inject(context, into: &fields, using: FieldsInjector())
        return fields["traceparent"].flatMap { QueuedTraceContext(traceParent: $0, traceState: fields["tracestate"]) }
    }

    struct FieldsInjector: Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
            carrier[key] = value
        }
    }
}

/// The caller's `traceparent` and `tracestate`, only when the tracer will accept them.
///
/// Checked here, with the parser the tracer uses, so that the tracer never sees a malformed
/// one: on a parse failure it logs a warning quoting the whole carrier, and a request's headers
/// (its bearer token) must never reach a log line. Anything wrong starts a new trace instead:
/// a `traceparent` that is not exactly one version 00 value; a `tracestate` over 512 bytes or
/// that does not parse is dropped and the `traceparent` kept, as W3C Trace Context allows.
struct IncomingTraceContext: Sendable, CustomStringConvertible {
    let traceParent: String
    let traceState: String?

    init?(_ headers: HTTPFields) {
        let parents = headers[values: .traceparent]
        guard parents.count == 1, let parent = parents.first, parent.utf8.count == 55,
              (try? TraceContext(traceParentHeaderValue: parent)) != nil
        else { return nil }
        traceParent = parent
        let state = headers[values: .tracestate].joined(separator: ",")
        if !state.isEmpty, state.utf8.count <= QueuedTraceContext.maxTraceStateBytes,
           (try? TraceContext(traceParentHeaderValue: parent, traceStateHeaderValue: state)) != nil
        {
            traceState = state
        } else {
            traceState = nil
        }
    }

    var description: String { "traceparent=\(traceParent)" }

    struct Extractor: Instrumentation.Extractor {
        func extract(key: String, from carrier: IncomingTraceContext) -> String? {
            switch key {
            case "traceparent": carrier.traceParent
            case "tracestate": carrier.traceState
            default: nil
            }
        }
    }
}

extension HTTPField.Name {
    static let traceparent = Self("traceparent")!
    static let tracestate = Self("tracestate")!
}
