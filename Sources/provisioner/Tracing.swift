import ArgumentParser
import Foundation
import Logging
import OTel
import ProvisionerAPI
import ServiceLifecycle
import Tracing

/// Tracing for `serve`, `work` and `run` (README, "Tracing"): swift-otel's tracer and OTLP/HTTP
/// exporter, configured by the standard `OTEL_*` variables, and off unless
/// `OTEL_TRACES_EXPORTER=otlp`. (swift-otel alone would export to localhost:4318 by default;
/// this service traces only when asked to.) Only the tracing backend: logs stay with swift-log's
/// standard error handler and metrics with Prometheus, as `bootstrapObservability` set them.
///
/// The tracer is handed to the API and the worker rather than bootstrapped into the global
/// `InstrumentationSystem`, which stays the no-op default: libraries that read it
/// (AsyncHTTPClient records the full URL of each request, query included) record nothing, and
/// with tracing off nothing at all is traced, exported or run in the background.
struct ProcessTracing: Sendable {
    /// Nil when tracing is off.
    let tracer: (any Tracer)?
    /// The exporter, its batch processor and the tracer's event loop, as one service.
    let service: (any Service)?

    static let off = ProcessTracing(tracer: nil, service: nil)

    /// `others` with the tracing service first, so that a graceful shutdown stops it last:
    /// every span the others end while stopping is still exported (the batch is flushed).
    func services(_ others: [any Service]) -> [any Service] {
        (service.map { [$0] } ?? []) + others
    }

    /// Starts tracing when the environment asks for it, else `off`. A bad `OTEL_*` value stops
    /// the process with one line and exit status 2, as the service's own variables do.
    static func start(logLevel: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ProcessTracing {
        do {
            guard try TracingEnvironment.isOn(environment) else { return .off }
            var configuration = OTel.Configuration.default
            configuration.serviceName = "provisioner"  // OTEL_SERVICE_NAME overrides it
            configuration.logs.enabled = false
            configuration.metrics.enabled = false
            configuration.traces.exporter = .otlp
            // swift-otel's own messages (each OTEL_* value it read, failed exports) go to the
            // service's log, at its level (OTEL_LOG_LEVEL overrides), with secrets removed.
            configuration.diagnosticLogLevel = TracingEnvironment.diagnosticLevel(logLevel)
            configuration.diagnosticLogger = .custom(Logger(label: "provisioner.tracing") { label in
                RedactingLogHandler(base: Logger(label: label).handler)
            })
            let backend = try OTel.makeTracingBackend(configuration: configuration)
            return ProcessTracing(tracer: backend.factory, service: backend.service)
        } catch let invalid as TracingEnvironment.Invalid {
            FileHandle.standardError.write(Data("provisioner: \(invalid.description)\n".utf8))
            throw ExitCode(2)
        } catch {
            // A certificate or key file that is not there, a half mTLS configuration: the
            // exporter's own errors name the file and the variable's purpose, never a secret.
            FileHandle.standardError.write(Data("provisioner: tracing cannot start: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}

/// The `OTEL_*` values this service reads itself before swift-otel does: whether to trace, and
/// those that swift-otel would crash on (it calls `fatalError` for a propagator, sampler or
/// protocol it does not have) or silently send elsewhere. Any other bad value (a duration, a
/// queue size) is swift-otel's to handle: a warning in the log and its default.
enum TracingEnvironment {
    struct Invalid: Error, CustomStringConvertible, Equatable {
        let variable: String
        let reason: String
        var description: String { "\(variable) \(reason)" }
    }

    static let samplers: Set<String> = [
        "always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio",
    ]

    /// Whether tracing is on: `OTEL_TRACES_EXPORTER=otlp` and `OTEL_SDK_DISABLED` not true.
    /// With tracing off no other `OTEL_*` variable is read.
    static func isOn(_ environment: [String: String]) throws(Invalid) -> Bool {
        switch environment["OTEL_SDK_DISABLED"]?.lowercased() {
        case nil, "", "false": break
        case "true": return false
        case _: throw Invalid(variable: "OTEL_SDK_DISABLED", reason: "must be true or false")
        }
        switch environment["OTEL_TRACES_EXPORTER"] {
        case nil, "", "none": return false
        case "otlp": break
        case _:
            throw Invalid(variable: "OTEL_TRACES_EXPORTER", reason: "must be otlp (traces sent over OTLP/HTTP) or none (the default: no tracing)")
        }
        for variable in ["OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] {
            switch environment[variable] {
            case nil, "http/protobuf", "http/json": break
            case "grpc":
                throw Invalid(variable: variable, reason: "grpc is not built in: use http/protobuf (a collector's port 4318) or http/json")
            case _:
                throw Invalid(variable: variable, reason: "must be http/protobuf or http/json")
            }
        }
        for variable in ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] {
            if let value = environment[variable], !isEndpoint(value) {
                throw Invalid(variable: variable, reason: "must be an absolute http or https URL, e.g. http://otel-collector:4318")
            }
        }
        for variable in ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"] {
            // The value is never quoted back: it usually holds the collector's API key.
            if let value = environment[variable], !isHeaderList(value) {
                throw Invalid(variable: variable, reason: "must be comma-separated name=value pairs")
            }
        }
        if let value = environment["OTEL_PROPAGATORS"], value.split(separator: ",", omittingEmptySubsequences: false).contains(where: { $0 != "tracecontext" }) {
            throw Invalid(variable: "OTEL_PROPAGATORS", reason: "must be tracecontext (W3C traceparent and tracestate), the only propagator built in")
        }
        if let sampler = environment["OTEL_TRACES_SAMPLER"], !samplers.contains(sampler) {
            throw Invalid(variable: "OTEL_TRACES_SAMPLER", reason: "must be one of \(samplers.sorted().joined(separator: ", "))")
        }
        if let sampler = environment["OTEL_TRACES_SAMPLER"], sampler.hasSuffix("traceidratio"),
           let argument = environment["OTEL_TRACES_SAMPLER_ARG"], !(Double(argument).map { (0...1).contains($0) } ?? false)
        {
            throw Invalid(variable: "OTEL_TRACES_SAMPLER_ARG", reason: "must be a sampling probability from 0 to 1, e.g. 0.25")
        }
        return true
    }

    static func isEndpoint(_ value: String) -> Bool {
        guard let url = URLComponents(string: value), let scheme = url.scheme?.lowercased(), let host = url.host else { return false }
        return ["http", "https"].contains(scheme) && !host.isEmpty
    }

    /// swift-otel's reading of the W3C Baggage-like list: every entry a name and a value.
    static func isHeaderList(_ value: String) -> Bool {
        value.split(separator: ",").allSatisfy { entry in
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: true)
            return parts.count == 2 && !parts[0].trimmingCharacters(in: .whitespaces).isEmpty
        }
    }

    /// swift-otel's diagnostic level for the service's `LOG_LEVEL`.
    static func diagnosticLevel(_ logLevel: String) -> OTel.Configuration.LogLevel {
        switch Logger.Level(rawValue: logLevel) ?? .info {
        case .trace: .trace
        case .debug: .debug
        case .info, .notice: .info
        case .warning: .warning
        case .error, .critical: .error
        }
    }
}

/// The handler of swift-otel's diagnostic messages: the service's own (standard error, at its
/// level), except that a value read from a variable that may hold a secret is replaced.
/// swift-otel logs every `OTEL_*` value it reads, at info, with the value before and after:
/// `OTEL_EXPORTER_OTLP_HEADERS` is where a collector's API key goes, and an endpoint URL may
/// carry a user and password.
struct RedactingLogHandler: LogHandler {
    var base: any LogHandler

    static let valueKeys = ["environment_value", "previous_value", "new_value"]

    func log(event: LogEvent) {
        // swift-otel sets these on its logger (the handler's metadata), not on the message.
        var handler = base
        var event = event
        let key = Self.environmentKey(event.metadata) ?? Self.environmentKey(handler.metadata)
        if let key {
            handler.metadata = Self.redacted(handler.metadata, key: key)
            event.metadata = event.metadata.map { Self.redacted($0, key: key) }
        }
        handler.log(event: event)
    }

    static func environmentKey(_ metadata: Logger.Metadata?) -> String? {
        metadata?["environment_key"].map { "\($0)" }
    }

    static func redacted(_ metadata: Logger.Metadata, key: String) -> Logger.Metadata {
        let secret = key.contains("HEADERS")
            || (key.contains("ENDPOINT") && valueKeys.contains { metadata[$0].map { "\($0)".contains("@") } ?? false })
        guard secret else { return metadata }
        var metadata = metadata
        for valueKey in valueKeys where metadata[valueKey] != nil {
            metadata[valueKey] = "[redacted]"
        }
        return metadata
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { base[metadataKey: key] }
        set { base[metadataKey: key] = newValue }
    }

    var metadata: Logger.Metadata {
        get { base.metadata }
        set { base.metadata = newValue }
    }

    var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { base.metadataProvider }
        set { base.metadataProvider = newValue }
    }
}

extension APIDependencies {
    /// These dependencies with the tracer of `tracing` (none when it is off).
    func traced(by tracing: ProcessTracing) -> APIDependencies {
        var dependencies = self
        dependencies.tracer = tracing.tracer
        return dependencies
    }
}
