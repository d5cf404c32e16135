import Foundation
import Mosquitto
import StreetSenseReplay

// The reports of `streetsense-bench store` and `end-to-end`: Markdown tables ready for BENCHMARKS.md.

/// The median of `values` (the mean of the middle two for an even count).
func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// The nearest-rank percentile of `values`.
func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted[min(max(Int((p / 100 * Double(sorted.count)).rounded(.up)), 1), sorted.count) - 1]
}

func printStoreReport(_ r: StoreThroughputBenchmark.Result, benchmark: StoreThroughputBenchmark, started: Date) {
    print("started \(ISO8601DateFormatter().string(from: started)); SQLite \(r.sqliteVersion) (the shell and GRDB's system library); "
        + "load average (1/5/15 min) before \(r.loadBefore), after \(r.loadAfter)")
    print("input: \(grouped(r.readings)) readings of city-scale with \(grouped(r.sensors)) sensors interleaved "
        + String(format: "(%.0f minutes of event time)", r.eventMinutes) + "; the pipeline made \(r.pipelineBatches) store batches "
        + "of \(grouped(r.pipelineRows)) rows in all (readings, 1-minute rollups, zone rollups, flow counters, sensors); "
        + "CSV for sqlite3: \(r.csvBytes / 1_048_576) MiB")
    print("")
    let runs = (1...r.readingsOnly.count).map { "run \($0)" }.joined(separator: " | ")
    print("| write (\(grouped(r.readings)) readings, fresh database each) | \(runs) | median readings/s | ratio to sqlite3 |")
    print("|---|" + String(repeating: "---:|", count: r.readingsOnly.count + 2))
    let referenceMedian = median(r.reference.map(\.readingsPerSecond))
    func row(_ name: String, _ timings: [StoreThroughputBenchmark.Timing]) {
        let cells = timings.map { "\(grouped(Int($0.readingsPerSecond)))/s (\(String(format: "%.2f", $0.seconds)) s)" }.joined(separator: " | ")
        let m = median(timings.map(\.readingsPerSecond))
        print("| \(name) | \(cells) | **\(grouped(Int(m)))** | \(String(format: "%.2f×", m / max(referenceMedian, 1e-9))) |")
    }
    row("StreetSense writer, readings only (`StoreWriter` → `SQLiteStore.write`, batches of \(grouped(benchmark.batchRows)))", r.readingsOnly)
    row("reference: `sqlite3` shell, `.import --csv` in one transaction", r.reference)
    row("StreetSense writer, the pipeline's own batches (readings + rollups + …)", r.pipeline)
    let rest = r.pipelineWithoutReadings
    let restCells = rest.map { "\(grouped(Int(Double($0.rows) / $0.seconds))) rows/s (\(String(format: "%.2f", $0.seconds)) s)" }
    print("| the same batches without their readings (\(grouped(rest.first?.rows ?? 0)) rows: rollups, zone rollups, flow counters, sensors) | "
        + restCells.joined(separator: " | ") + " | – | – |")
    print("")
    for (name, timings) in [("readings only", r.readingsOnly), ("pipeline batches", r.pipeline), ("pipeline batches without readings", rest)] {
        let commits = timings.flatMap(\.commitSeconds)
        let busy = timings.map { $0.commitSeconds.reduce(0, +) / $0.seconds }
        print("writer, \(name): \(commits.count / max(timings.count, 1)) commits of \(grouped(timings[0].rows / max(timings[0].batches, 1))) "
            + "rows on average; " + String(
                format: "commit duration p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms; the writer thread was inside store.write %.0f %% of the wall time; ",
                percentile(commits, 50) * 1000, percentile(commits, 90) * 1000, percentile(commits, 99) * 1000,
                (commits.max() ?? 0) * 1000, median(busy) * 100)
            + "rows of every kind: \(grouped(Int(median(timings.map(\.rowsPerSecond)))))/s (median)")
    }
    let referenceCPU = r.reference.compactMap(\.processCPUSeconds)
    print(String(format: "sqlite3 process CPU: %.2f s median (wall %.2f s)", median(referenceCPU), median(r.reference.map(\.seconds))))
    let best = median(r.readingsOnly.map(\.readingsPerSecond))
    print("target ≥ 500 000 readings/s (writer, readings only): \(best >= 500_000 ? "met" : "MISSED") (\(grouped(Int(best)))/s)")
}

/// Prints the end-to-end report; returns whether a QoS 1 run lost or failed to store readings.
func printEndToEndReport(trace: CityScaleTrace, comparisons: [EndToEndThroughputBenchmark.Comparison], started: Date) -> Bool {
    let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
    print("started \(ISO8601DateFormatter().string(from: started))")
    print("trace: city-scale, \(grouped(trace.sensors.count)) sensors, \(grouped(trace.records.count)) messages holding "
        + "\(grouped(trace.readings)) readings, \(Int(trace.meanMessageBytes.rounded())) bytes of topic + payload per message on average")
    print("")
    print("| QoS | round | subscriber | received / published | sustained msg/s (10–90 %) | overall msg/s | publisher msg/s | "
        + "broker CPU (cores, share of \(Int(cores))) | subscriber CPU (cores) | publisher CPU (cores) | load before → after |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for c in comparisons {
        for (name, p) in [("mosquitto_sub alone (reference)", c.reference), ("**StreetSense**", c.streetSense)] {
            // The subscriber's CPU: mosquitto_sub's own, or this process (the service) in the StreetSense phase.
            let subscriber = p.subscriberCPUSeconds ?? p.processCPUSeconds
            print("| \(c.qos.rawValue) | \(c.round) | \(name) | \(grouped(p.received)) / \(grouped(p.published)) | \(grouped(Int(p.sustainedRate))) | "
                + "\(grouped(Int(p.overallRate))) | \(p.publisherRate.map { grouped(Int($0)) } ?? "–") | "
                + String(format: "%.2f (%.0f %%)", p.cores(p.brokerCPUSeconds), p.cores(p.brokerCPUSeconds) / cores * 100)
                + " | \(String(format: "%.2f", p.cores(subscriber))) | \(String(format: "%.2f", p.cores(p.publisherCPUSeconds))) | "
                + "\(p.loadBefore) → \(p.loadAfter) |")
        }
    }
    print("")
    for c in comparisons {
        let r = c.reference, s = c.streetSense
        let perMessage = { (seconds: Double, p: EndToEndThroughputBenchmark.Phase) in seconds / Double(max(p.received, 1)) * 1e6 }
        print(String(
            format: "QoS %d round %d, CPU per message received (µs): mosquitto_sub %.1f, StreetSense %.1f; broker %.1f and %.1f; "
                + "publisher %.1f and %.1f (reference and StreetSense phase)",
            c.qos.rawValue, c.round, perMessage(r.subscriberCPUSeconds ?? 0, r), perMessage(s.processCPUSeconds, s),
            perMessage(r.brokerCPUSeconds, r), perMessage(s.brokerCPUSeconds, s),
            perMessage(r.publisherCPUSeconds, r), perMessage(s.publisherCPUSeconds, s)))
    }
    print("")
    var incomplete = false
    for c in comparisons {
        let s = c.streetSense
        print("QoS \(c.qos.rawValue) round \(c.round): StreetSense / mosquitto_sub sustained = \(String(format: "%.2f", c.ratio)) "
            + "(target ≥ 0.9: \(c.ratio >= 0.9 ? "met" : "MISSED")); StreetSense accepted \(grouped(s.acceptedReadings)) readings "
            + "(\(grouped(trace.readings)) published), rejected \(s.rejected), duplicate \(s.duplicate), late \(s.late); "
            + "stored \(s.storedReadings.map(grouped) ?? "?") readings in \(s.batchesCommitted) commits; "
            + "the MQTT thread waited for room in the ingest queue \(grouped(s.ingestWaits)) times")
        for (name, p) in [("mosquitto_sub phase", c.reference), ("StreetSense phase", s)] {
            print("  broker's counters, \(name): received \(grouped(p.brokerCounters.received)), sent \(grouped(p.brokerCounters.sent)), "
                + "dropped \(grouped(p.brokerCounters.dropped)) publish messages")
        }
        let connections = s.brokerConnectionLog.filter { $0.contains("New client connected") }.count
        if connections != 1 {
            print("  the service connected \(connections) times; the broker's log of its connection:")
            for line in s.brokerConnectionLog.prefix(20) { print("    \(line)") }
        }
        if c.qos == .atLeastOnce {
            let lossless = s.storedReadings == trace.readings && s.received == s.published
            print("QoS 1 round \(c.round) zero loss (stored = published readings): \(lossless ? "met" : "MISSED")")
            if !lossless { incomplete = true }
        } else {
            print("QoS 0 round \(c.round) losses: mosquitto_sub missed \(grouped(c.reference.published - c.reference.received)), "
                + "StreetSense missed \(grouped(s.published - s.received)) messages")
        }
    }
    // One pair can differ from the next by 0.1 with the same binaries (the reference moves): the median pair.
    for qos in Set(comparisons.map(\.qos)).sorted(by: { $0.rawValue > $1.rawValue }) {
        let ratios = comparisons.filter { $0.qos == qos }.map(\.ratio)
        guard ratios.count > 1 else { continue }
        let m = median(ratios)
        print("QoS \(qos.rawValue), \(ratios.count) rounds: StreetSense / mosquitto_sub sustained = "
            + ratios.map { String(format: "%.2f", $0) }.joined(separator: ", ")
            + String(format: "; median %.2f (target ≥ 0.9: %@)", m, m >= 0.9 ? "met" : "MISSED"))
    }
    return incomplete
}
