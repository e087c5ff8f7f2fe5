// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "gcal-provisioner",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "provisioner", targets: ["provisioner"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-openapi-generator.git", from: "1.14.0"),
        .package(url: "https://github.com/apple/swift-openapi-runtime.git", from: "1.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird.git", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // Tracing (off unless OTEL_TRACES_EXPORTER=otlp): the OTLP/HTTP exporter only, so that
        // gRPC and its dependencies are not built.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/swift-otel/swift-w3c-trace-context.git", from: "1.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
    ],
    targets: [
        // The rules of the domain. No I/O: everything here is pure and table-tested.
        .target(
            name: "ProvisionerDomain",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.embedInCode("Resources/public_suffix_list.dat")],
            swiftSettings: swiftSettings
        ),
        // PostgreSQL: client set-up, migrator, one store per aggregate, the queue.
        .target(
            name: "ProvisionerStore",
            dependencies: [
                "ProvisionerDomain",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Calls out of the service that are not PostgreSQL: resolving the host of a webhook URL
        // (the API when one is registered, the worker before each delivery).
        .target(
            name: "ProvisionerNetwork",
            dependencies: [
                "ProvisionerDomain",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // HTTP: spec-first API generated from the root openapi.yaml.
        .target(
            name: "ProvisionerAPI",
            dependencies: [
                "ProvisionerDomain",
                "ProvisionerNetwork",
                "ProvisionerStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
            ],
            resources: [
                .embedInCode("openapi.yaml"),
                // The web console's templates and assets, compiled in so
                // that the binary alone serves them.
                .embedInCode("Console/Templates/layout.mustache"),
                .embedInCode("Console/Templates/tenant.mustache"),
                .embedInCode("Console/Templates/message.mustache"),
                .embedInCode("Console/Templates/login.mustache"),
                .embedInCode("Console/Templates/home.mustache"),
                .embedInCode("Console/Assets/console.css"),
                .embedInCode("Console/Assets/console.js"),
            ],
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        // The verification worker: queue components and the live Google check.
        .target(
            name: "ProvisionerWorker",
            dependencies: [
                "ProvisionerDomain",
                "ProvisionerNetwork",
                "ProvisionerStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        // The executable: argument parsing and wiring only.
        .executableTarget(
            name: "provisioner",
            dependencies: [
                "ProvisionerAPI",
                "ProvisionerStore",
                "ProvisionerWorker",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // The worker's /healthz and /metrics (WorkerStatusService).
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        // Benchmark seeding and reporting (bench/drain.sh, bench/latency.sh); not shipped.
        .executableTarget(
            name: "provisioner-bench",
            dependencies: [
                "ProvisionerDomain",
                "ProvisionerStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                // The webhook receiver of bench/webhooks.sh: fast enough not to be what is measured.
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            path: "bench/Seeder",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ProvisionerTestSupport",
            dependencies: [
                "ProvisionerStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Tests/ProvisionerTestSupport",
            swiftSettings: swiftSettings
        ),
        // A seeded generator for the random tests of every test target.
        .target(name: "SeededRandom", path: "Tests/SeededRandom", swiftSettings: swiftSettings),
        .testTarget(
            name: "ProvisionerDomainTests",
            dependencies: ["ProvisionerDomain", "SeededRandom"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ProvisionerStoreTests",
            dependencies: ["ProvisionerStore", "ProvisionerTestSupport", "SeededRandom"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ProvisionerAPITests",
            dependencies: [
                "ProvisionerAPI", "ProvisionerTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ProvisionerCommandTests",
            dependencies: ["provisioner"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ProvisionerWorkerTests",
            dependencies: [
                "ProvisionerWorker", "ProvisionerTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                // TracingTests: an upload through the API, verified by the worker, traced by
                // swift-otel's tracer into a collector the test serves.
                "ProvisionerAPI",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
