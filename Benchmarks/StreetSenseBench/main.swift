import Foundation
import Mosquitto

/// `streetsense-bench alert-latency | end-to-end | store | http [options]`: benchmarks that need the whole service
/// or its store (a real broker, SQLite, HTTP); `make bench` runs them in release mode. `--smoke` runs `end-to-end`,
/// `store` and `http` with tiny inputs (nothing is judged).
let arguments = Array(CommandLine.arguments.dropFirst())

func option(_ name: String, default value: Int) -> Int {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count, let parsed = Int(arguments[i + 1]) else { return value }
    return parsed
}

func stringOption(_ name: String) -> String? {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
    return arguments[i + 1]
}

let smoke = arguments.contains("--smoke")

/// Progress lines go to standard error, so that standard output holds only the report.
func progress(_ line: String) {
    FileHandle.standardError.write(Data("[\(ISO8601DateFormatter().string(from: Date()))] \(line)\n".utf8))
}

/// The machine, as BENCHMARKS.md records it.
func machineDescription() -> String {
    let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
        .map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "?" } ?? "?"
    let meminfo = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
    let memory = meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal") }
        .flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") }
        .map { String(format: "%.1f GiB", Double($0) / 1_048_576) } ?? "?"
    return "\(ProcessInfo.processInfo.activeProcessorCount) cores (\(model)), \(memory) memory"
}

/// The first line `mosquitto -h` prints (`mosquitto version 2.0.11`).
func mosquittoVersion() -> String {
    guard let first = firstOutputLine(of: "/usr/sbin/mosquitto", ["-h"]) else { return "mosquitto: not found" }
    return first.isEmpty ? "?" : first
}

/// The first line a program prints (standard output and error together; empty if it printed nothing), or nil if
/// it cannot be started.
func firstOutputLine(of executable: String, _ arguments: [String]) -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    guard (try? process.run()) != nil else { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
}

func row(_ name: String, _ samples: LatencySamples) -> String {
    "| \(name) | \(samples.count) | \(formatMilliseconds(samples.percentile(50))) | \(formatMilliseconds(samples.percentile(90))) | "
        + "\(formatMilliseconds(samples.percentile(99))) | \(formatMilliseconds(samples.percentile(99.9))) | \(formatMilliseconds(samples.maximum)) |"
}

func ratio(_ a: Duration?, _ b: Duration?) -> String {
    guard let a, let b, b > .zero else { return "-" }
    return String(format: "%.1f×", a.milliseconds / b.milliseconds)
}

switch arguments.first {
case "alert-latency":
    var benchmark = AlertLatencyBenchmark()
    benchmark.rate = option("--rate", default: 10_000)
    benchmark.probesPerSecond = option("--probes", default: 200)
    benchmark.seconds = option("--seconds", default: 20)
    benchmark.window = option("--window", default: 1000)
    benchmark.commitPollMilliseconds = option("--commit-poll-ms", default: 1)
    print("streetsense-bench alert-latency --rate \(benchmark.rate) --probes \(benchmark.probesPerSecond) "
        + "--seconds \(benchmark.seconds) --window \(benchmark.window) --commit-poll-ms \(benchmark.commitPollMilliseconds)")
    print("machine: \(machineDescription()); \(mosquittoVersion())")
    let started = Date()
    let r = try await benchmark.run()
    let seconds = { (d: Duration) in Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
    print("started \(ISO8601DateFormatter().string(from: started)); "
        + "load average (1/5/15 min) before \(r.loadAverageBefore), after \(r.loadAverageAfter)")
    print(String(
        format: "offered load: %ld QoS 1 messages in %.2f s = %.0f msg/s (after the %ld s warm-up: %.0f msg/s); "
            + "processed by the service: %ld (%ld missing)",
        r.messagesSent, seconds(r.elapsed), Double(r.messagesSent) / seconds(r.elapsed), benchmark.warmUpSeconds,
        Double(r.measuredMessages) / seconds(r.measuredElapsed), r.messagesProcessed, r.messagesSent - r.messagesProcessed))
    print("publisher slots (1 ms) that started over 1 ms late and were caught up: \(r.lateSlots) of \(r.totalSlots)")
    print("load client: at most \(r.maximumUnacknowledged) QoS 1 messages unacknowledged"
        + (benchmark.window > 0 ? " (closed loop: it waits at \(benchmark.window))" : " (open loop)")
        + "; \(r.heldBack) due messages never sent; the broker acknowledged the last one "
        + "\(formatMilliseconds(r.acknowledgementLag)) ms after the last publish call")
    print("probes measured: \(r.probesMeasured) (exact percentiles over all samples, nearest rank)")
    print("")
    print("| latency (ms) | samples | p50 | p90 | p99 | p99.9 | max |")
    print("|---|---|---|---|---|---|---|")
    print(row("publish → plain MQTT subscriber (broker-only reference)", r.reference))
    print(row("publish → service's alert feed (in-process reader task)", r.feed))
    print(row("**publish → SSE event read by the client**", r.sse))
    print(row("publish → alert event committed in SQLite (\(benchmark.commitPollMilliseconds) ms polling)", r.committed))
    print(row("service's own part: reference → SSE, per probe", r.serviceStage))
    print(row("stage: reference → feed (ingest, pipeline, feed)", r.pipelineStage))
    print(row("stage: feed → SSE (SSE handler, JSON, HTTP write, client read)", r.sseStage))
    print(row("store commit duration (writer's own timing, \(r.batchesCommitted) batches)", r.commits))
    print("")
    print("SSE / reference: p50 \(ratio(r.sse.percentile(50), r.reference.percentile(50))), "
        + "p99 \(ratio(r.sse.percentile(99), r.reference.percentile(99)))")
    let target: Duration = benchmark.rate <= 10_000 ? .milliseconds(2) : .milliseconds(5)
    if let p99 = r.sse.percentile(99) {
        print("DESIGN §9 target p99 < \(formatMilliseconds(target)) ms: \(p99 < target ? "met" : "MISSED") (\(formatMilliseconds(p99)) ms)")
    }
    if r.sse.count < r.probesMeasured || r.messagesProcessed < r.messagesSent {
        print("INCOMPLETE: \(r.probesMeasured - r.sse.count) probes never reached the SSE client; "
            + "\(r.messagesSent - r.messagesProcessed) messages not processed")
        exit(1)
    }
case "store":
    var benchmark = StoreThroughputBenchmark()
    benchmark.sensors = option("--sensors", default: smoke ? 400 : benchmark.sensors)
    benchmark.readings = option("--readings", default: smoke ? 20_000 : benchmark.readings)
    benchmark.batchRows = option("--batch-rows", default: benchmark.batchRows)
    benchmark.repetitions = option("--reps", default: smoke ? 1 : benchmark.repetitions)
    benchmark.directory = stringOption("--directory")
    print("streetsense-bench store --sensors \(benchmark.sensors) --readings \(benchmark.readings) --batch-rows \(benchmark.batchRows) "
        + "--reps \(benchmark.repetitions)\(benchmark.directory.map { " --directory \($0)" } ?? "")\(smoke ? " (--smoke)" : "")")
    print("machine: \(machineDescription())")
    let started = Date()
    let result = try benchmark.run(progress: progress)
    printStoreReport(result, benchmark: benchmark, started: started)
case "end-to-end":
    var benchmark = EndToEndThroughputBenchmark()
    benchmark.sensors = option("--sensors", default: smoke ? 400 : benchmark.sensors)
    benchmark.minutes = option("--minutes", default: smoke ? 3 : benchmark.minutes)
    benchmark.rounds = option("--rounds", default: benchmark.rounds)
    switch stringOption("--qos") {
    case "1": benchmark.qualities = [.atLeastOnce]
    case "0": benchmark.qualities = [.atMostOnce]
    default: break
    }
    print("streetsense-bench end-to-end --sensors \(benchmark.sensors) --minutes \(benchmark.minutes) --rounds \(benchmark.rounds) "
        + "--qos \(benchmark.qualities.map { String($0.rawValue) }.joined(separator: ","))\(smoke ? " (--smoke)" : "")")
    print("machine: \(machineDescription()); \(mosquittoVersion())")
    let started = Date()
    let (trace, comparisons) = try await benchmark.run(progress: progress)
    let incomplete = printEndToEndReport(trace: trace, comparisons: comparisons, started: started)
    if incomplete { exit(1) }
case "http":
    var benchmark = HTTPUnderLoadBenchmark()
    benchmark.sensors = option("--sensors", default: smoke ? 400 : benchmark.sensors)
    benchmark.rate = option("--rate", default: smoke ? 1000 : benchmark.rate)
    benchmark.seconds = option("--seconds", default: smoke ? 1 : benchmark.seconds)
    benchmark.connections = option("--connections", default: smoke ? 2 : benchmark.connections)
    benchmark.pauseMilliseconds = option("--pause-ms", default: benchmark.pauseMilliseconds)
    benchmark.warmUpSeconds = smoke ? 1 : benchmark.warmUpSeconds
    print("streetsense-bench http --sensors \(benchmark.sensors) --rate \(benchmark.rate) --seconds \(benchmark.seconds) "
        + "--connections \(benchmark.connections) --pause-ms \(benchmark.pauseMilliseconds)\(smoke ? " (--smoke)" : "")")
    print("machine: \(machineDescription()); \(mosquittoVersion()); wrk \(WrkRun.version())")
    let started = Date()
    let result = try await benchmark.run(progress: progress)
    if printHTTPReport(result, benchmark: benchmark, started: started, smoke: smoke) { exit(1) }
default:
    print("""
        usage: streetsense-bench alert-latency [--rate 10000] [--probes 200] [--seconds 20] [--window 1000 (0: open loop)]
               streetsense-bench end-to-end [--sensors 40000] [--minutes 30] [--qos 1|0 (default both)] [--rounds 1] [--smoke]
               streetsense-bench store [--sensors 40000] [--readings 2000000] [--batch-rows 10000] [--reps 3] [--directory DIR] [--smoke]
               streetsense-bench http [--sensors 40000] [--rate 20000] [--seconds 20] [--connections 4] [--pause-ms 10 (0: no paced windows)] [--smoke]
        """)
    exit(2)
}
