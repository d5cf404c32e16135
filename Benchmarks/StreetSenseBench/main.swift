import Foundation

/// `streetsense-bench alert-latency [--rate N] [--probes N] [--seconds N]`: end-to-end benchmarks that need
/// the whole service (a real broker, SQLite, HTTP); `make bench` runs them in release mode.
let arguments = Array(CommandLine.arguments.dropFirst())

func option(_ name: String, default value: Int) -> Int {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count, let parsed = Int(arguments[i + 1]) else { return value }
    return parsed
}

func percentile(_ sorted: [Duration], _ p: Double) -> Duration {
    guard !sorted.isEmpty else { return .zero }
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}

func milliseconds(_ d: Duration) -> String {
    String(format: "%.3f", Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
}

switch arguments.first {
case "alert-latency":
    var benchmark = AlertLatencyBenchmark()
    benchmark.rate = option("--rate", default: 10_000)
    benchmark.probesPerSecond = option("--probes", default: 100)
    benchmark.seconds = option("--seconds", default: 20)
    let result = try await benchmark.run()
    let l = result.latencies
    let rate = Double(result.messagesSent) / (Double(result.elapsed.components.seconds) + Double(result.elapsed.components.attoseconds) / 1e18)
    print("alert publish → SSE latency, \(l.count) of \(result.probesSent) probes received")
    print("offered load: \(result.messagesSent) messages in \(milliseconds(result.elapsed)) ms = \(Int(rate)) msg/s; processed by the service: \(result.messagesProcessed)")
    print("| p50 | p90 | p99 | p99.9 | max |")
    print("|---|---|---|---|---|")
    print("| \(milliseconds(percentile(l, 50))) ms | \(milliseconds(percentile(l, 90))) ms | \(milliseconds(percentile(l, 99))) ms | \(milliseconds(percentile(l, 99.9))) ms | \(milliseconds(l.last ?? .zero)) ms |")
    if l.count < result.probesSent { exit(1) }
default:
    print("usage: streetsense-bench alert-latency [--rate 10000] [--probes 100] [--seconds 20]")
    exit(2)
}
