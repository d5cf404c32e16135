// swift-tools-version:6.2
// StreetSense: crowd density and air quality for city street testbeds, from MQTT to JSON.

import PackageDescription

/// Settings every target shares (as swift-nio and Hummingbird do).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "streetsense",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "streetsense", targets: ["streetsense"]),
        .library(name: "StreetSenseCore", targets: ["StreetSenseCore"]),
        // For the in-process benchmark package in Benchmarks/ (its own Package.swift).
        .library(name: "StreetSenseDecoding", targets: ["StreetSenseDecoding"]),
        .library(name: "StreetSensePipeline", targets: ["StreetSensePipeline"]),
        .library(name: "StreetSenseSimulation", targets: ["StreetSenseSimulation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // The prefetch hint the core's batched recording uses (Swift has none): one static inline function.
        .target(name: "CMemoryHints"),
        // The pure core: vocabulary, time, ring-buffer windows, zone density, snapshots. No I/O, and no C but
        // the prefetch hint.
        .target(
            name: "StreetSenseCore",
            dependencies: ["CMemoryHints"],
            swiftSettings: swiftSettings
        ),
        // The alert engine: rule evaluation and alert lifecycles on event time. Pure: no I/O, no Foundation, and no
        // C but the prefetch hint.
        .target(
            name: "StreetSenseAlerts",
            dependencies: ["StreetSenseCore", "CMemoryHints"],
            swiftSettings: swiftSettings
        ),
        // Payload decoders (native JSON, SenML): bytes in, readings or a named reject out. No I/O.
        .target(
            name: "StreetSenseDecoding",
            dependencies: ["StreetSenseCore"],
            swiftSettings: swiftSettings
        ),
        // Scenario generation: deterministic simulated sensors (the demo's festival, later the full generator).
        .target(
            name: "StreetSenseSimulation",
            dependencies: ["StreetSenseCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        // The YAML configuration and GeoJSON zones, validated with file:line errors.
        .target(
            name: "StreetSenseConfig",
            dependencies: [
                "StreetSenseCore",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // libmosquitto, as Debian ships it.
        .systemLibrary(
            name: "CMosquitto",
            pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]
        ),
        // A small Swift wrapper around libmosquitto; no C type escapes it.
        .target(
            name: "Mosquitto",
            dependencies: ["CMosquitto"],
            swiftSettings: swiftSettings
        ),
        // SQLite storage (GRDB): migrations, batched writer, queries, retention.
        .target(
            name: "StreetSenseStore",
            dependencies: [
                "StreetSenseCore",
                "StreetSenseAlerts",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The pipeline: ingest hand-off, decode, route, aggregate, publish snapshots, feed the store.
        .target(
            name: "StreetSensePipeline",
            dependencies: [
                "StreetSenseCore",
                "StreetSenseDecoding",
                "StreetSenseConfig",
                "StreetSenseStore",
                "StreetSenseAlerts",
                "CMemoryHints",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: swiftSettings
        ),
        // The HTTP JSON API on Hummingbird 2.
        .target(
            name: "StreetSenseHTTP",
            dependencies: [
                "StreetSenseCore",
                "StreetSenseAlerts",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("openapi.yaml")],
            swiftSettings: swiftSettings
        ),
        // Prometheus metrics (`/metrics`): store commits, HTTP requests, and what the service reports at scrape time.
        .target(
            name: "StreetSenseMetrics",
            dependencies: [
                "StreetSenseCore",
                "StreetSenseAlerts",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        // Builds the whole application from a configuration: the services and their lifecycle.
        .target(
            name: "StreetSenseApp",
            dependencies: [
                "StreetSenseCore",
                "StreetSenseConfig",
                "StreetSenseDecoding",
                "StreetSensePipeline",
                "StreetSenseStore",
                "StreetSenseHTTP",
                "Mosquitto",
                "MosquittoBroker",
                "StreetSenseSimulation",
                "StreetSenseAlerts",
                "StreetSenseDelivery",
                "StreetSenseMetrics",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The `streetsense` command: parses arguments and builds the application.
        .executableTarget(
            name: "streetsense",
            dependencies: [
                "StreetSenseApp",
                "StreetSenseHTTP",
                "StreetSenseConfig",
                "StreetSenseSimulation",
                "StreetSenseReplay",
                "MosquittoBroker",
                "Mosquitto",
                "StreetSenseCore",
                "StreetSensePipeline",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // Alert delivery: every alert transition published on MQTT (retained, per subject) and POSTed to webhooks.
        .target(
            name: "StreetSenseDelivery",
            dependencies: [
                "StreetSenseCore",
                "StreetSenseAlerts",
                "StreetSenseConfig",
                "Mosquitto",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Traces (JSON Lines) and replay: offline through the pipeline on event time, or to a broker.
        .target(
            name: "StreetSenseReplay",
            dependencies: [
                "StreetSenseCore", "StreetSenseAlerts", "StreetSenseConfig", "StreetSensePipeline", "StreetSenseStore", "Mosquitto",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // End-to-end benchmarks that need the whole service (`make bench`).
        .executableTarget(
            name: "streetsense-bench",
            dependencies: [
                "StreetSenseApp", "StreetSenseConfig", "StreetSenseCore", "StreetSenseAlerts", "StreetSensePipeline", "StreetSenseStore",
                "StreetSenseSimulation", "StreetSenseReplay", "Mosquitto", "MosquittoBroker",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/StreetSenseBench",
            swiftSettings: swiftSettings
        ),
        // Starts the Debian mosquitto binary on a free loopback port (demo and tests).
        .target(
            name: "MosquittoBroker",
            dependencies: ["Mosquitto"],
            swiftSettings: swiftSettings
        ),
        // Test support: a real mosquitto on a free loopback port, a publishing client, free ports.
        .target(
            name: "StreetSenseTesting",
            dependencies: [
                "Mosquitto", "MosquittoBroker",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        .testTarget(name: "StreetSenseCoreTests", dependencies: ["StreetSenseCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "StreetSenseAlertsTests", dependencies: ["StreetSenseAlerts", "StreetSenseCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "StreetSenseDecodingTests",
            dependencies: ["StreetSenseDecoding", "StreetSenseCore"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StreetSenseConfigTests",
            dependencies: ["StreetSenseConfig", "StreetSenseCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MosquittoTests",
            dependencies: ["Mosquitto", "MosquittoBroker", "StreetSenseTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StreetSenseStoreTests",
            dependencies: ["StreetSenseStore", "StreetSenseCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StreetSensePipelineTests",
            dependencies: [
                "StreetSensePipeline", "StreetSenseCore", "StreetSenseConfig", "StreetSenseStore", "StreetSenseDecoding",
                "StreetSenseAlerts",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StreetSenseSimulationTests",
            dependencies: ["StreetSenseSimulation", "StreetSenseCore", "StreetSensePipeline", "StreetSenseDecoding", "StreetSenseStore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StreetSenseReplayTests",
            dependencies: [
                "StreetSenseReplay", "StreetSenseSimulation", "StreetSenseCore", "StreetSenseConfig", "StreetSenseAlerts", "StreetSenseTesting", "Mosquitto",
                "MosquittoBroker", "StreetSensePipeline",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StreetSenseHTTPTests",
            dependencies: [
                "StreetSenseHTTP",
                "StreetSenseCore",
                "StreetSenseAlerts",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StreetSenseDeliveryTests",
            dependencies: [
                "StreetSenseDelivery", "StreetSenseAlerts", "StreetSenseCore", "StreetSenseConfig", "StreetSenseTesting", "Mosquitto",
                "MosquittoBroker",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StreetSenseIntegrationTests",
            dependencies: [
                "StreetSenseApp", "StreetSenseHTTP", "StreetSenseTesting", "Mosquitto", "MosquittoBroker", "StreetSenseCore",
                "StreetSenseConfig", "StreetSenseStore", "StreetSensePipeline", "StreetSenseAlerts", "StreetSenseReplay",
                "StreetSenseSimulation",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
