import Foundation
import Logging
import MosquittoBroker
import StreetSenseCore
import StreetSensePipeline
import StreetSenseReplay
import StreetSenseStore
import Synchronization

/// Issue 5, row 5: readings per second committed to SQLite by the real writer, next to the `sqlite3` shell
/// importing the same rows into the same schema in one transaction, in the same run.
///
/// The input is the store batches the real ``Pipeline`` makes from a `city-scale` trace (40 000 sensors by
/// default, interleaved as a broker delivers them) until it holds `readings` readings. The writer is the
/// service's: a ``StoreWriter`` (its thread, its bounded queue of 8 batches) committing through
/// ``SQLiteStore/write(_:)`` (WAL, `synchronous=FULL`, one transaction and one fsync per batch) into a fresh
/// database whose registry was synced first, as at the service's start. Three writes are timed per repetition:
///
/// - **writer, readings only**: the trace's readings in batches of `batchRows` (`store.batch_max_rows`), the
///   like-for-like comparison with the reference;
/// - **reference**: `sqlite3 DB` with `PRAGMA synchronous=FULL; BEGIN; .import --csv FILE readings; COMMIT;`
///   on a fresh database of the same schema, the same readings with the same ids, from a CSV file written
///   beforehand; timed from the process start to its exit (which includes the shell's WAL checkpoint);
/// - **writer, pipeline batches**: the batches exactly as the pipeline handed them over, with the 1-minute
///   rollups, zone rollups, flow counters and sensor rows next to the readings: what the service writes;
/// - **writer, pipeline batches without their readings**: the same commits with only the other rows, which
///   shows what the readings and what the rest cost.
///
/// Each repetition alternates the three on fresh files in one directory; the report gives every run and the
/// medians.
struct StoreThroughputBenchmark {
    var sensors = 40_000
    var readings = 2_000_000
    var batchRows = 10_000
    var repetitions = 3
    /// Where the databases and the CSV file go (a fresh temporary folder when nil).
    var directory: String?

    /// The timing of one write of all the readings.
    struct Timing {
        var seconds: Double
        var readings: Int
        /// Rows of every kind the write committed (readings, rollups, …).
        var rows: Int
        var batches: Int
        /// The writer's own timing of each `store.write` (empty for the reference).
        var commitSeconds: [Double]
        /// CPU seconds of the writing process's work (the sqlite3 process; nil for the in-process writer).
        var processCPUSeconds: Double?

        var readingsPerSecond: Double { Double(readings) / seconds }
        var rowsPerSecond: Double { Double(rows) / seconds }
    }

    struct Result {
        var readings: Int
        var sensors: Int
        var eventMinutes: Double
        var pipelineBatches: Int
        var pipelineRows: Int
        var csvBytes: Int
        var readingsOnly: [Timing]
        var reference: [Timing]
        var pipeline: [Timing]
        var pipelineWithoutReadings: [Timing]
        var loadBefore: String
        var loadAfter: String
        var sqliteVersion: String
    }

    func run(progress: (String) -> Void) throws -> Result {
        let folder = directory ?? (NSTemporaryDirectory() + "streetsense-store-bench-" + UUID().uuidString.prefix(8))
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: folder) } }

        progress("generating city-scale (\(sensors) sensors) until it holds \(readings) readings")
        let minutes = Int((Double(readings) / (1.2 * Double(sensors))).rounded(.up)) + 1
        let trace = try CityScaleTrace(sensors: sensors, duration: .seconds(60 * minutes), readingLimit: readings)
        progress("\(trace.records.count) messages; running them through the pipeline")
        let (pipelineBatches, records) = try Self.pipelineBatches(trace, prepareAt: folder + "/registry.sqlite")
        let allReadings = pipelineBatches.flatMap(\.readings)
        let readingBatches = stride(from: 0, to: allReadings.count, by: batchRows).map {
            StoreBatch(readings: Array(allReadings[$0..<min($0 + batchRows, allReadings.count)]))
        }
        let csvPath = folder + "/readings.csv"
        let csvBytes = try Self.writeCSV(allReadings, to: csvPath)
        let first = allReadings.map(\.time.milliseconds).min() ?? 0, last = allReadings.map(\.time.milliseconds).max() ?? 0
        progress("\(allReadings.count) readings in \(pipelineBatches.count) pipeline batches; CSV \(csvBytes / 1_048_576) MiB")

        let loadBefore = loadAverages()
        var readingsOnly: [Timing] = [], reference: [Timing] = [], pipeline: [Timing] = [], withoutReadings: [Timing] = []
        let batchesWithoutReadings = pipelineBatches.map { batch in
            var rest = batch
            rest.readings = []
            return rest
        }
        for repetition in 1...repetitions {
            let path = folder + "/run-\(repetition)"
            readingsOnly.append(try Self.timeWriter(readingBatches, database: path + "-writer.sqlite", trace: trace, records: records))
            progress("run \(repetition): writer (readings only) \(Int(readingsOnly.last!.readingsPerSecond)) readings/s")
            reference.append(try Self.timeShellImport(csvPath, readings: allReadings.count, database: path + "-sqlite3.sqlite", trace: trace))
            progress("run \(repetition): sqlite3 .import \(Int(reference.last!.readingsPerSecond)) readings/s")
            pipeline.append(try Self.timeWriter(pipelineBatches, database: path + "-pipeline.sqlite", trace: trace, records: records))
            progress("run \(repetition): writer (pipeline batches) \(Int(pipeline.last!.readingsPerSecond)) readings/s")
            withoutReadings.append(
                try Self.timeWriter(batchesWithoutReadings, database: path + "-rest.sqlite", trace: trace, records: records))
            progress("run \(repetition): writer (pipeline batches without readings) \(String(format: "%.1f", withoutReadings.last!.seconds)) s")
        }
        return Result(
            readings: allReadings.count, sensors: sensors, eventMinutes: Double(last - first) / 60_000,
            pipelineBatches: pipelineBatches.count, pipelineRows: pipelineBatches.reduce(0) { $0 + $1.rowCount }, csvBytes: csvBytes,
            readingsOnly: readingsOnly, reference: reference, pipeline: pipeline,
            pipelineWithoutReadings: withoutReadings, loadBefore: loadBefore, loadAfter: loadAverages(),
            sqliteVersion: (try? Self.shell(["-version"]).output.split(separator: " ").first.map(String.init)) ?? "?")
    }

    /// The store batches the pipeline hands to its writer for the trace (event time; batches of
    /// `store.batch_max_rows` rows, the default 10 000), with the sensor records of a freshly synced registry.
    static func pipelineBatches(_ trace: CityScaleTrace, prepareAt path: String) throws -> ([StoreBatch], [SensorRecord]) {
        let store = try SQLiteStore(path: path)
        let records = try store.syncRegistry(zones: trace.zones, sensors: trace.sensors)
        try store.close()
        var batches: [StoreBatch] = []
        var logger = Logger(label: "streetsense-bench")
        logger.logLevel = .error
        let pipeline = try Pipeline(
            zones: trace.zones, sensors: trace.sensors, records: records, options: PipelineOptions(followsWallClock: false),
            logger: logger, deliver: { batches.append($0) })
        var messages = MessageBatch(reservingBytes: 4096 * 160, messages: 4096)
        for record in trace.records {
            messages.append(topic: Array(record.topic.utf8), payload: record.payload, arrival: record.at, payloadLimit: 65_536)
            if messages.count == 4096 {
                pipeline.process(messages)
                messages.removeAll()
            }
        }
        pipeline.process(messages)
        pipeline.flush(final: true)
        let accepted = pipeline.snapshot().totals.accepted
        guard accepted == trace.readings else {
            throw BenchError("the pipeline accepted \(accepted) of the trace's \(trace.readings) readings")
        }
        return (batches, records)
    }

    /// A fresh database at `path` with the registry synced, as the service opens it; checks that the refs
    /// are those the batches were made with.
    static func freshStore(_ path: String, trace: CityScaleTrace, records: [SensorRecord]?) throws -> SQLiteStore {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        let store = try SQLiteStore(path: path)
        let synced = try store.syncRegistry(zones: trace.zones, sensors: trace.sensors)
        if let records, synced != records { throw BenchError("a fresh registry gave other sensor refs") }
        return store
    }

    /// Writes the batches through a ``StoreWriter`` as the service does: submitted from this thread (waiting
    /// while 8 are queued), timed until the writer is idle.
    static func timeWriter(_ batches: [StoreBatch], database: String, trace: CityScaleTrace, records: [SensorRecord]) throws -> Timing {
        let store = try freshStore(database, trace: trace, records: records)
        defer {
            try? store.close()
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        }
        var logger = Logger(label: "streetsense-bench")
        logger.logLevel = .error
        let commits = Mutex<[Double]>([])
        let writer = StoreWriter(store: store, capacity: 8, logger: logger) { _, duration in
            commits.withLock { $0.append(seconds(duration)) }
        }
        writer.start()
        let start = ContinuousClock.now
        for batch in batches { writer.submit(batch) }
        writer.waitUntilIdle()
        let elapsed = start.duration(to: .now)
        writer.finish()
        let statistics = writer.currentStatistics
        guard statistics.failedAttempts == 0 else { throw BenchError("the writer failed: \(statistics.lastError ?? "?")") }
        let readings = batches.reduce(0) { $0 + $1.readings.count }
        let stored = try store.storedReadingCount()
        guard stored == readings else { throw BenchError("the writer stored \(stored) of \(readings) readings") }
        return Timing(
            seconds: seconds(elapsed), readings: readings, rows: batches.reduce(0) { $0 + $1.rowCount }, batches: batches.count,
            commitSeconds: commits.withLock { $0 }, processCPUSeconds: nil)
    }

    /// `sqlite3` importing the CSV into the `readings` table of a fresh database in one transaction.
    static func timeShellImport(_ csv: String, readings: Int, database: String, trace: CityScaleTrace) throws -> Timing {
        try freshStore(database, trace: trace, records: nil).close()
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) } }
        let script = "PRAGMA synchronous=FULL;\nBEGIN;\n.import --csv \(csv) readings\nCOMMIT;\n"
        let start = ContinuousClock.now
        let run = try shell(["-bail", database], input: script)
        let elapsed = start.duration(to: .now)
        guard run.status == 0 else { throw BenchError("sqlite3 failed (\(run.status)): \(run.output)") }
        let counted = try shell([database, "SELECT count(*) FROM readings"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard counted == String(readings) else { throw BenchError("sqlite3 imported \(counted) of \(readings) rows") }
        return Timing(
            seconds: seconds(elapsed), readings: readings, rows: readings, batches: 1, commitSeconds: [], processCPUSeconds: run.cpuSeconds)
    }

    /// The readings as CSV rows `id,t,sensor_ref,metric,value,flags`, with the ids the writer gives them in
    /// a fresh database (1, 2, …). Returns the file's size.
    static func writeCSV(_ readings: [StoredReading], to path: String) throws -> Int {
        var text: [UInt8] = []
        text.reserveCapacity(readings.count * 40)
        for (i, reading) in readings.enumerated() {
            let row = "\(i + 1),\(reading.time.milliseconds),\(reading.sensorRef),\(reading.metric.rawValue),\(reading.value),\(reading.late ? 1 : 0)\n"
            text.append(contentsOf: row.utf8)
        }
        try Data(text).write(to: URL(fileURLWithPath: path))
        return text.count
    }

    /// Runs `/usr/bin/sqlite3` with `arguments` (and `input` on its standard input): exit status, standard
    /// output and error, and the CPU seconds it used (from `wait4`'s resource usage).
    static func shell(_ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String, cpuSeconds: Double) {
        let executable = "/usr/bin/sqlite3"
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchError("\(executable) is missing: run `make deps` (Debian package sqlite3)")
        }
        let scriptPath = input.map { _ in NSTemporaryDirectory() + "streetsense-bench-\(UUID().uuidString).sql" }
        if let input, let scriptPath { try input.write(toFile: scriptPath, atomically: true, encoding: .utf8) }
        defer { if let scriptPath { try? FileManager.default.removeItem(atPath: scriptPath) } }
        let outputPath = NSTemporaryDirectory() + "streetsense-bench-\(UUID().uuidString).out"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let child = try ChildProcess.spawn(
            executable: executable, arguments: arguments, standardInput: scriptPath ?? "/dev/null", output: .file(outputPath))
        let usage = child.waitForExitWithUsage()
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return (usage.status, output, usage.cpuSeconds ?? .nan)
    }
}
