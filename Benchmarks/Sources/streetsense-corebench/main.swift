// The in-process benchmark table (`make bench-core`): the aggregation core and decode → route → aggregate,
// each next to a reference measured in the same run on the same input, as a ratio.
//
//   streetsense-corebench [--smoke] [--reps N] [--skip-million] [--only core|pipeline|snapshot|ingest] [--series N]
//                        [--sensors N] [--interval MS]
//
// --smoke runs every row once with tiny sizes and prints the table without judging it (`make test`).
// --only, --series and --sensors narrow a run (for profiling, e.g. under valgrind --tool=callgrind). --interval sets the
// event time between snapshots in the snapshot row (250 ms as live; 10 000 is a replay at about 40×). The ingest row
// (the MQTT thread's hand-off to the pipeline thread at 10 000, 25 000 and 50 000 msg/s, with each nap length of
// --naps, default 200,500,1000 µs) takes about three minutes.

import CoreWorkloads
import Foundation
import StreetSenseCore
import StreetSenseDecoding
import StreetSensePipeline

let arguments = CommandLine.arguments.dropFirst()
let smoke = arguments.contains("--smoke")
let skipMillion = arguments.contains("--skip-million")
func option(_ name: String) -> String? {
    guard let i = arguments.firstIndex(of: name), arguments.index(after: i) < arguments.endIndex else { return nil }
    return arguments[arguments.index(after: i)]
}
let reps = option("--reps").flatMap(Int.init).map { max(1, $0) } ?? (smoke ? 1 : 5)
let only = option("--only")

func fileText(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

func machine() -> String {
    let cpu = fileText("/proc/cpuinfo").split(separator: "\n").first { $0.hasPrefix("model name") }
        .map { $0.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
    let memory = fileText("/proc/meminfo").split(separator: "\n").first { $0.hasPrefix("MemTotal") }
        .map { $0.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces) } ?? "?"
    return "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(cpu), \(memory) memory"
}

func loadAverage() -> String {
    fileText("/proc/loadavg").split(separator: " ").prefix(3).joined(separator: " ")
}

/// The kernel's transparent huge page mode (the bracketed word of `enabled`), or nil where there is none.
func transparentHugePages() -> String? {
    let text = fileText("/sys/kernel/mm/transparent_hugepage/enabled")
    guard let open = text.firstIndex(of: "["), let close = text[open...].firstIndex(of: "]") else { return nil }
    return String(text[text.index(after: open)..<close])
}

func rate(_ value: Double) -> String {
    if value >= 1e6 { return String(format: "%.2f M/s", value / 1e6) }
    if value >= 1e3 { return String(format: "%.1f k/s", value / 1e3) }
    return String(format: "%.0f /s", value)
}

func nanoseconds(_ seconds: Double, per count: Int) -> String { String(format: "%.1f ns", seconds / Double(count) * 1e9) }

func bytes(_ value: Double) -> String {
    value >= 10_240 ? String(format: "%.1f KiB", value / 1024) : String(format: "%.0f B", value)
}

func ratio(_ value: Double) -> String { value.isFinite ? String(format: "%.1f×", value) : "–" }

print("# streetsense-corebench\(smoke ? " --smoke (tiny sizes; figures mean nothing)" : "")")
print("machine: \(machine()); load average at start: \(loadAverage())")
print("malloc: GLIBC_TUNABLES=\(ProcessInfo.processInfo.environment["GLIBC_TUNABLES"] ?? "(unset)")\(transparentHugePages().map { "; transparent huge pages: \($0)" } ?? "")")
print("rates are on thread CPU time; each figure is the median of \(reps) runs, ours and the reference alternating")
print("")

// MARK: Core and scaling

struct CoreRow {
    var series: Int
    var ours: Double  // updates/s
    var oursNanoseconds: Double
    var oursWall: Double
    var reference: Double?
    var oursBytes: Double
    var referenceBytes: Double?
}

var seriesCounts = smoke ? [1_000] : (skipMillion ? [1_000, 10_000, 100_000] : [1_000, 10_000, 100_000, 1_000_000])
if let n = option("--series").flatMap(Int.init) { seriesCounts = [n] }
if only != nil, only != "core" { seriesCounts = [] }
var coreRows: [CoreRow] = []
for n in seriesCounts {
    // Sixty rounds (one hour at 60 s) fill every window, so the memory figures are those of full windows.
    let rounds = smoke ? 61 : (n >= 1_000_000 ? 6 : 60)
    let trace = CoreTrace(seriesCount: n, rounds: rounds)
    let passesPerRun = max(1, (smoke ? 1 : 2_000_000) / trace.count)
    let withReference = n <= 100_000

    var heap = heapBytesInUse()
    var ours = CoreRun(seriesCount: n)
    ours.recordPass(trace)  // warm: every window has seen an hour, the rollup queue has its capacity
    let oursBytes = Double(heapBytesInUse() - heap) / Double(n)

    var naive = NaiveRun()
    var naiveBytes: Double?
    if withReference {
        heap = heapBytesInUse()
        naive.recordPass(trace)
        naiveBytes = Double(heapBytesInUse() - heap) / Double(n)
    }
    var oursCPU: [Double] = [], oursWall: [Double] = [], naiveCPU: [Double] = []
    for _ in 0..<reps {
        let t = Timing.of { for _ in 0..<passesPerRun { ours.recordPass(trace) } }
        oursCPU.append(t.cpu)
        oursWall.append(t.wall)
        if withReference {
            naiveCPU.append(Timing.of { for _ in 0..<passesPerRun { naive.recordPass(trace) } }.cpu)
        }
    }
    precondition(ours.accepted == ours.passes * trace.count, "the core must accept every reading of the trace")
    let updates = Double(passesPerRun * trace.count)
    coreRows.append(CoreRow(
        series: n, ours: updates / median(oursCPU), oursNanoseconds: median(oursCPU) / updates * 1e9,
        oursWall: updates / median(oursWall), reference: withReference ? updates / median(naiveCPU) : nil,
        oursBytes: oursBytes, referenceBytes: naiveBytes))
    // Both tables go before the next size is built.
    _ = ours.table.count
    _ = naive.table.count
}

if !coreRows.isEmpty {
print("## 1 + 3. Aggregation core: updates/s into all four windows (1m/5m/15m/1h), readings in trace order")
print("(one reading per series per 60 s, series interleaved in a seeded shuffle; closed 1-minute rollups drained")
print("every 10 000 readings as the pipeline does; reference: naive per-series arrays of buckets in a dictionary,")
print("evicting bucket by bucket; bytes per series measured on the heap after one hour of readings)")
print("")
print("| series | StreetSense updates/s | ns/update | reference updates/s | ratio | StreetSense bytes/series | reference bytes/series | ratio |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
for row in coreRows {
    let reference = row.reference.map(rate) ?? "(not run: ~4 GB more)"
    let speed = row.reference.map { ratio(row.ours / $0) } ?? "–"
    let referenceBytes = row.referenceBytes.map(bytes) ?? "–"
    let memory = row.referenceBytes.map { ratio($0 / row.oursBytes) } ?? "–"
    print("| \(row.series) | \(rate(row.ours)) | \(String(format: "%.1f", row.oursNanoseconds)) | \(reference) | \(speed) | \(bytes(row.oursBytes)) | \(referenceBytes) | \(memory) |")
}
if let first = coreRows.first, let last = coreRows.last, coreRows.count > 1 {
    print("")
    print(String(format: "cost per update at %d series ÷ at %d series: %.2f (flat within 2× is the target)",
                 last.series, first.series, last.oursNanoseconds / first.oursNanoseconds))
}
print("SeriesTable.bytesPerSeries (static layout): \(SeriesTable.bytesPerSeries) B")
print("")
}

// MARK: Decode + route + aggregate

if only == nil || only == "pipeline" {
let sensors = option("--sensors").flatMap(Int.init) ?? (smoke ? 100 : 10_000)
let duration: Duration = smoke ? .seconds(300) : .seconds(1_800)
let city = try CityTrace(sensors: sensors, duration: duration)
let foundationLimit = min(city.count, smoke ? 200 : 20_000)
print("## 2. Decode + route + aggregate from raw payload bytes (city-scale, \(sensors) sensors, \(duration.components.seconds / 60) min: \(city.count) messages, \(city.readings) readings)")
print("(the real Pipeline.process(MessageBatch) in batches of 4096: topic routing, decoding, the core, the alert")
print("rules and the store rows, store batches dropped instead of written; reference: Foundation JSONDecoder")
print("decoding the first \(foundationLimit) payloads into a Decodable struct, nothing else)")
print("")
print("| payload | mean bytes | StreetSense messages/s | ns/message | JSONDecoder messages/s | ns/message | ratio |")
print("|---|---:|---:|---:|---:|---:|---:|")
var decodeOnly: [Double] = [], foundationOnly: [Double] = []
for senML in [false, true] {
    let batches = city.batches(senML: senML)
    let payloads = (senML ? city.senML : city.native).prefix(foundationLimit).map { Data($0) }
    var oursCPU: [Double] = [], foundationCPU: [Double] = [], decodeCPU: [Double] = []
    // Warm-up run of each (page faults, lazy initialisation), not counted.
    do {
        let pipeline = try city.pipeline()
        processAll(pipeline, batches)
        precondition(pipeline.core.totals.accepted == city.readings,
                     "accepted \(pipeline.core.totals.accepted) of \(city.readings) readings (\(pipeline.core.totals))")
        _ = try foundationDecodeAll(payloads, senML: senML)
    }
    for _ in 0..<reps {
        let pipeline = try city.pipeline()
        oursCPU.append(Timing.of { processAll(pipeline, batches) }.cpu)
        foundationCPU.append(try Timing.of { _ = try foundationDecodeAll(payloads, senML: senML) }.cpu)
        decodeCPU.append(Timing.of { _ = streetSenseDecodeAll(city, senML: senML, limit: foundationLimit) }.cpu)
    }
    let ours = Double(city.count) / median(oursCPU)
    let foundation = Double(payloads.count) / median(foundationCPU)
    decodeOnly.append(median(decodeCPU))
    foundationOnly.append(median(foundationCPU))
    print("| \(senML ? "SenML" : "native JSON") | \(String(format: "%.0f", city.meanSize(senML: senML))) | \(rate(ours)) | \(String(format: "%.0f", 1e9 / ours)) | \(rate(foundation)) | \(String(format: "%.0f", 1e9 / foundation)) | \(ratio(ours / foundation)) |")
}
print("")
print("### 2b. Decoding alone, same \(foundationLimit) payloads: PayloadDecoder (bytes → readings, validated) vs JSONDecoder (bytes → struct)")
print("")
print("| payload | PayloadDecoder messages/s | ns/message | JSONDecoder messages/s | ns/message | ratio |")
print("|---|---:|---:|---:|---:|---:|")
for (i, shape) in ["native JSON", "SenML"].enumerated() {
    let ours = Double(foundationLimit) / decodeOnly[i], foundation = Double(foundationLimit) / foundationOnly[i]
    print("| \(shape) | \(rate(ours)) | \(String(format: "%.0f", 1e9 / ours)) | \(rate(foundation)) | \(String(format: "%.0f", 1e9 / foundation)) | \(ratio(ours / foundation)) |")
}
print("")
}
// MARK: Snapshot refresh

if only == nil || only == "snapshot" {
let sensors = option("--sensors").flatMap(Int.init) ?? (smoke ? 100 : 40_000)
let duration: Duration = smoke ? .seconds(120) : .seconds(1_200)
let city = try CityTrace(sensors: sensors, duration: duration)
let start = city.arrivals.first?.milliseconds ?? 0
let warmUp = start + (smoke ? 60_000 : 600_000)
let interval = option("--interval").flatMap(Int64.init) ?? 250
print("## 4b. Snapshot for HTTP readers (city-scale, \(sensors) sensors: what the pipeline thread pauses for every \(interval) ms of event time)")
print("(after each \(interval) ms of the trace's event time: Pipeline.snapshotChanges(), the pipeline thread's part, which")
print("rebuilds only the sensors and zones changed since the previous snapshot or moved by time; then SnapshotAssembly.apply, the")
print("publisher thread's part, which copies the shared sensor and zone lists, the previous snapshot dropped as SnapshotBox drops")
print("it; reference: the same state rebuilt from scratch, AggregationCore.snapshot(), as the pipeline thread built every")
print("snapshot before; wall time per snapshot after \((warmUp - start) / 60_000) minutes of warm-up)")
print("")
let pipeline = try city.pipeline()
var changesTaken: [Double] = [], assembled: [Double] = [], full: [Double] = [], picturesBuilt: [Double] = [], zonesBuilt: [Double] = []
var assembly = SnapshotAssembly()
var published = assembly.apply(pipeline.snapshotChanges()), reference = pipeline.core.snapshot()
var next = 0
var sliceEnd = start + interval
while next < city.count {
    var batch = MessageBatch(reservingBytes: 4096 * 160, messages: 4096)
    while next < city.count, city.arrivals[next].milliseconds < sliceEnd, batch.count < 4096 {
        batch.append(topic: city.topics[next], payload: city.native[next], arrival: city.arrivals[next],
                     payloadLimit: PayloadDecoder.defaultMaximumPayloadSize)
        next += 1
    }
    if !batch.isEmpty { pipeline.process(batch) }
    guard next == city.count || city.arrivals[next].milliseconds >= sliceEnd else { continue }
    pipeline.tick(wallClock: EventTime(milliseconds: sliceEnd))
    sliceEnd += interval
    if city.arrivals[max(0, next - 1)].milliseconds < warmUp {
        published = assembly.apply(pipeline.snapshotChanges())
        continue
    }
    let w0 = wallSeconds()
    let changes = pipeline.snapshotChanges()
    let w1 = wallSeconds()
    // Handed over as the publisher thread hands them over, so the assembly can move the pictures.
    picturesBuilt.append(Double(changes.picturesBuilt))
    zonesBuilt.append(Double(changes.zonesBuilt))
    published = assembly.apply(consume changes)
    let w2 = wallSeconds()
    reference = pipeline.core.snapshot()
    let w3 = wallSeconds()
    changesTaken.append(w1 - w0)
    assembled.append(w2 - w1)
    full.append(w3 - w2)
    // Every measured snapshot, not only the last (outside the timed parts).
    precondition(published.sensors == reference.sensors && published.zones == reference.zones, "the refreshed snapshot must equal a full rebuild")
}
precondition(published.sensors == reference.sensors && published.zones == reference.zones, "the refreshed snapshot must equal a full rebuild")
func ms(_ seconds: Double) -> String { String(format: "%.3f ms", seconds * 1000) }
print("| part | p50 | p99 | max |")
print("|---|---:|---:|---:|")
print("| pipeline thread: snapshotChanges (\(String(format: "%.0f", median(picturesBuilt))) of \(published.sensors.count) pictures, \(String(format: "%.0f", median(zonesBuilt))) of \(published.zones.count) zones rebuilt at p50) | \(ms(quantile(changesTaken, 0.5))) | \(ms(quantile(changesTaken, 0.99))) | \(ms(changesTaken.max() ?? .nan)) |")
print("| publisher thread: SnapshotAssembly.apply | \(ms(quantile(assembled, 0.5))) | \(ms(quantile(assembled, 0.99))) | \(ms(assembled.max() ?? .nan)) |")
print("| reference: full rebuild on the pipeline thread | \(ms(quantile(full, 0.5))) | \(ms(quantile(full, 0.99))) | \(ms(full.max() ?? .nan)) |")
print("")
print("pipeline-thread pause, full rebuild ÷ changes, at p50: \(ratio(quantile(full, 0.5) / quantile(changesTaken, 0.5))); at p99: \(ratio(quantile(full, 0.99) / quantile(changesTaken, 0.99))) (\(changesTaken.count) snapshots)")
print("")
}
// MARK: Ingest hand-off

/// One run of the hand-off: a producer thread appends `count` messages `gap` nanoseconds apart (busy-waiting, as
/// the MQTT thread appends while the broker streams), and this thread takes them as `PipelineRunner` does,
/// spending `work` nanoseconds a message as the pipeline would.
func measureHandOff(count: Int, gap: UInt64, work: UInt64, nap: Duration)
    -> (cpuPerMessage: Double, switches: Int, takes: Int, naps: Int, waits: [Double])
{
    /// Each message's append time: written by the producer before the append, read after the take that returns
    /// it (the queue's lock orders the two).
    final class AppendTimes: @unchecked Sendable {
        let times: UnsafeMutableBufferPointer<UInt64>
        init(_ count: Int) { times = .allocate(capacity: count); times.initialize(repeating: 0) }
        deinit { times.deallocate() }
    }
    let queue = IngestQueue(napLength: nap)
    let appendTimes = AppendTimes(count)
    let appended = appendTimes.times
    let topic = Array("streetsense/v1/readings/city/cam-00001".utf8)
    let producer = Thread {
        let appended = appendTimes.times
        var payload = [UInt8](repeating: 0x20, count: 60)
        var next = DispatchTime.now().uptimeNanoseconds
        for i in 0..<count {
            while DispatchTime.now().uptimeNanoseconds < next {}
            withUnsafeBytes(of: UInt64(i).littleEndian) { for k in 0..<8 { payload[k] = $0[k] } }
            appended[i] = DispatchTime.now().uptimeNanoseconds
            queue.append(topic: topic.span, payload: payload.span, arrival: EventTime(milliseconds: 0))
            next += gap
        }
    }
    func threadCPU() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
    func contextSwitches() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(1), &usage)  // RUSAGE_THREAD
        return usage.ru_nvcsw + usage.ru_nivcsw
    }
    var waits = [Double]()
    waits.reserveCapacity(count)
    var recycled: MessageBatch?
    var takes = 0
    let switches0 = contextSwitches(), cpu0 = threadCPU()
    producer.start()
    while waits.count < count {
        guard let batch = queue.take(recycling: &recycled, timeout: .milliseconds(50)) else { continue }
        takes += 1
        let taken = DispatchTime.now().uptimeNanoseconds
        batch.bytes.withUnsafeBytes { bytes in
            for entry in batch.entries {
                let i = Int(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: entry.payloadStart, as: UInt64.self)))
                waits.append(Double(taken &- appended[i]) / 1e6)
            }
        }
        let end = DispatchTime.now().uptimeNanoseconds + UInt64(batch.count) * work
        while DispatchTime.now().uptimeNanoseconds < end {}
        recycled = batch
    }
    let cpu = threadCPU() - cpu0, switches = contextSwitches() - switches0
    return (cpu / Double(count), switches, takes, queue.consumerNaps, waits)
}

if only == nil || only == "ingest" {
    let count = smoke ? 2_000 : 400_000
    let work: UInt64 = 1_000
    print("## 4c. Ingest hand-off: the MQTT thread's appends, the pipeline thread's takes")
    print("(a producer thread appends \(count) messages of 60 bytes, spaced by busy-waiting; this thread takes them as")
    print("PipelineRunner does and spends \(work) ns a message as the pipeline would. CPU and context switches are the consumer")
    print("thread's own; a message's wait is from its append to the take that returned it)")
    print("")
    print("| gap between messages (rate) | nap | consumer CPU a message, beyond the work | context switches per 1 000 messages | messages a take | naps | wait p50 | p99 | max |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    let naps: [Int] = option("--naps").map { $0.split(separator: ",").compactMap { Int($0) } } ?? (smoke ? [500] : [200, 500, 1_000])
    for gap in [100, 40, 20] as [UInt64] {
        for nap in naps {
            let r = measureHandOff(count: count, gap: gap * 1_000, work: work, nap: .microseconds(nap))
            print("| \(gap) µs (\(rate(1e6 / Double(gap)))) | \(nap) µs | \(String(format: "%.2f µs", r.cpuPerMessage * 1e6 - Double(work) / 1e3)) | "
                + "\(String(format: "%.1f", Double(r.switches) / Double(count) * 1_000)) | \(String(format: "%.1f", Double(count) / Double(r.takes))) | \(r.naps) | "
                + "\(String(format: "%.3f ms", quantile(r.waits, 0.5))) | \(String(format: "%.3f ms", quantile(r.waits, 0.99))) | \(String(format: "%.3f ms", r.waits.max() ?? .nan)) |")
        }
    }
    print("")
}
print("load average at end: \(loadAverage())")
