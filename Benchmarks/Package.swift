// swift-tools-version:6.2
// In-process benchmarks of StreetSense (the aggregation core, decode → route → aggregate), in their own package
// as swift-nio does, so ordo-one/benchmark and its dependencies stay out of the main build. See BENCHMARKS.md.
//
//   make bench-core                                        the comparison table (streetsense-corebench)
//   swift package benchmark --target CoreBenchmarks        ordo-one/benchmark runs, with allocation counts
//   swift package benchmark thresholds check               the committed thresholds (Thresholds/): zero
//                                                          allocations per reading once warm

import Foundation
import PackageDescription

/// SwiftPM names a path dependency after its directory (`main`, `streetsense`, a worktree's name…), so the
/// root package's identity is read from where this package sits rather than written down.
let root = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent.lowercased()

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "streetsense-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        // The RuntimeInterposer trait (on by default) needs a package the local mirror does not hold; malloc
        // counting is what these benchmarks need.
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // glibc's heap statistics (mallinfo2), for bytes per series.
        .target(name: "CHeapStatistics"),
        // Workloads and references shared by the table and the ordo-one benchmarks.
        .target(
            name: "CoreWorkloads",
            dependencies: [
                "CHeapStatistics",
                .product(name: "StreetSenseCore", package: root),
                .product(name: "StreetSenseDecoding", package: root),
                .product(name: "StreetSensePipeline", package: root),
                .product(name: "StreetSenseSimulation", package: root),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The comparison table printed by `make bench-core` (and once with tiny sizes by `make test`).
        .executableTarget(
            name: "streetsense-corebench",
            dependencies: [
                "CoreWorkloads",
                .product(name: "StreetSenseCore", package: root),
                .product(name: "StreetSenseDecoding", package: root),
                .product(name: "StreetSensePipeline", package: root),
            ],
            swiftSettings: swiftSettings
        ),
        // ordo-one/benchmark suite: throughput and allocation counts, thresholds in Thresholds/.
        .executableTarget(
            name: "CoreBenchmarks",
            dependencies: [
                "CoreWorkloads",
                .product(name: "StreetSenseCore", package: root),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/CoreBenchmarks",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
