import Logging
import ServiceLifecycle
import Synchronization
import Testing
@testable import provisioner

/// Whether `serve`, `work` and `run` trace, read from the `OTEL_*` variables before swift-otel
/// reads them: off unless asked for, and a value swift-otel would crash on or silently misread
/// stops the process with one line naming the variable.
@Suite struct TracingEnvironmentTests {
    static let on = ["OTEL_TRACES_EXPORTER": "otlp"]

    static func with(_ extra: [String: String]) -> [String: String] {
        on.merging(extra) { $1 }
    }

    @Test(arguments: [
        [:],
        ["OTEL_TRACES_EXPORTER": ""],
        ["OTEL_TRACES_EXPORTER": "none"],
        ["OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"],
        ["OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "TRUE"],
        // Off: nothing else is read, so nothing else can stop the process.
        ["OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_PROPAGATORS": "b3", "OTEL_TRACES_SAMPLER": "xray"],
        ["OTEL_SERVICE_NAME": "provisioner-eu", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"],
    ])
    func offUnlessTheOTLPExporterIsAskedFor(_ environment: [String: String]) throws {
        #expect(try TracingEnvironment.isOn(environment) == false)
        #expect(try ProcessTracing.start(logLevel: "error", environment: environment).tracer == nil)
    }

    @Test(arguments: [
        [:],
        ["OTEL_SDK_DISABLED": "false"],
        ["OTEL_SDK_DISABLED": ""],
        ["OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"],
        ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"],
        ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector:4318"],
        ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://otlp.example.com/v1/traces"],
        ["OTEL_EXPORTER_OTLP_HEADERS": "api-key=0123456789abcdef,x-team=crm"],
        ["OTEL_PROPAGATORS": "tracecontext"],
        ["OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"],
        ["OTEL_TRACES_SAMPLER": "always_off"],
        // swift-otel's to handle: a warning and its default.
        ["OTEL_BSP_SCHEDULE_DELAY": "soon", "OTEL_SERVICE_NAME": "provisioner-eu"],
    ])
    func onWithTheOTLPExporter(_ extra: [String: String]) throws {
        #expect(try TracingEnvironment.isOn(Self.with(extra)))
    }

    @Test(arguments: [
        (["OTEL_SDK_DISABLED": "yes"], "OTEL_SDK_DISABLED"),
        (["OTEL_TRACES_EXPORTER": "console"], "OTEL_TRACES_EXPORTER"),
        (["OTEL_TRACES_EXPORTER": "jaeger"], "OTEL_TRACES_EXPORTER"),
        (["OTEL_TRACES_EXPORTER": "otlp,console"], "OTEL_TRACES_EXPORTER"),
        (["OTEL_TRACES_EXPORTER": "OTLP"], "OTEL_TRACES_EXPORTER"),
        (["OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"], "OTEL_EXPORTER_OTLP_PROTOCOL"),
        (["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"], "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
        (["OTEL_EXPORTER_OTLP_PROTOCOL": "http"], "OTEL_EXPORTER_OTLP_PROTOCOL"),
        (["OTEL_EXPORTER_OTLP_ENDPOINT": ""], "OTEL_EXPORTER_OTLP_ENDPOINT"),
        (["OTEL_EXPORTER_OTLP_ENDPOINT": "collector.internal:4318"], "OTEL_EXPORTER_OTLP_ENDPOINT"),
        (["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "ftp://collector/v1/traces"], "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        (["OTEL_EXPORTER_OTLP_HEADERS": "Bearer-0123456789abcdef"], "OTEL_EXPORTER_OTLP_HEADERS"),
        (["OTEL_EXPORTER_OTLP_TRACES_HEADERS": "=0123456789abcdef"], "OTEL_EXPORTER_OTLP_TRACES_HEADERS"),
        // swift-otel would stop the process (fatalError) on these.
        (["OTEL_PROPAGATORS": "tracecontext,baggage"], "OTEL_PROPAGATORS"),
        (["OTEL_PROPAGATORS": "b3"], "OTEL_PROPAGATORS"),
        (["OTEL_TRACES_SAMPLER": "jaeger_remote"], "OTEL_TRACES_SAMPLER"),
        (["OTEL_TRACES_SAMPLER": "xray"], "OTEL_TRACES_SAMPLER"),
        (["OTEL_TRACES_SAMPLER": "sometimes"], "OTEL_TRACES_SAMPLER"),
        (["OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"], "OTEL_TRACES_SAMPLER_ARG"),
        (["OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "a quarter"], "OTEL_TRACES_SAMPLER_ARG"),
    ])
    func aValueThatWouldCrashOrMisdirectIsRefused(_ extra: [String: String], variable: String) {
        #expect(throws: TracingEnvironment.Invalid.self) { try TracingEnvironment.isOn(Self.with(extra)) }
        do {
            _ = try TracingEnvironment.isOn(Self.with(extra))
        } catch {
            #expect(error.variable == variable)
            #expect(error.description.hasPrefix(variable + " "))
            // The value is never quoted back (headers hold the collector's API key).
            for value in extra.values where value.count > 4 {
                #expect(!error.description.contains(value))
            }
        }
    }

    @Test func theTracingServiceStartsFirstSoThatItStopsLast() {
        struct Named: Service { let name: String; func run() async throws {} }
        let tracing = ProcessTracing(tracer: nil, service: Named(name: "tracing"))
        let services = tracing.services([Named(name: "worker"), Named(name: "status")])
        #expect(services.compactMap { ($0 as? Named)?.name } == ["tracing", "worker", "status"])
        #expect(ProcessTracing.off.services([Named(name: "worker")]).count == 1)
    }

    @Test(arguments: [
        ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=0123456789abcdef", true),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "authorization=Basic c2VjcmV0", true),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://user:0123456789abcdef@collector:4318", true),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", false),
        ("OTEL_SERVICE_NAME", "provisioner-eu", false),
    ])
    func swiftOTelsMessagesKeepSecretsOut(variable: String, value: String, secret: Bool) {
        let capture = Capture()
        // As swift-otel logs an override: the key and values on the logger, then a message.
        var logger = Logger(label: "provisioner.tracing") { _ in RedactingLogHandler(base: CapturingHandler(capture: capture)) }
        logger[metadataKey: "environment_key"] = "\(variable)"
        logger[metadataKey: "environment_value"] = "\(value)"
        logger[metadataKey: "previous_value"] = ""
        logger[metadataKey: "new_value"] = "\(value)"
        logger.info("Configuration updated from environment")
        logger.warning("Failed to update configuration from environment", metadata: ["environment_key": "\(variable)", "environment_value": "\(value)"])
        let lines = capture.lines
        #expect(lines.count == 2)
        for line in lines {
            #expect(line.contains(variable))
            #expect(line.contains(value) == !secret, "\(line)")
            #expect(line.contains("[redacted]") == secret)
        }
    }

    final class Capture: Sendable {
        private let state = Mutex<[String]>([])
        var lines: [String] { state.withLock { $0 } }
        func append(_ line: String) { state.withLock { $0.append(line) } }
    }

    struct CapturingHandler: LogHandler {
        let capture: Capture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.append("\(event.message) " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
    }
}
