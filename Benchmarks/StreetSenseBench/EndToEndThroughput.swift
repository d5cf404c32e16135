import Foundation
import Logging
import Mosquitto
import MosquittoBroker
import StreetSenseApp
import StreetSenseConfig
import StreetSenseCore
import StreetSensePipeline
import StreetSenseReplay
import StreetSenseStore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Issue 5, row 3: StreetSense's sustained accepted rate through a real mosquitto on loopback, as a fraction
/// of what `mosquitto_sub` alone receives from the same publisher and broker in the same run.
///
/// A `city-scale` trace (40 000 sensors, 30 minutes of event time by default) is generated into memory first.
/// For each QoS (1, then 0) and each of `rounds` rounds, a fresh mosquitto is started (`max_queued_messages
/// 1000000`, like the alert-latency bench, so that a subscriber that falls behind delays messages instead of
/// losing them; fresh, so that no session of an earlier round holds messages) and two phases run one after the
/// other on it:
///
/// 1. **Reference**: `mosquitto_sub -q 1 -V mqttv5 -D connect receive-maximum 1000 --nodelay` on
///    `streetsense/v1/readings/#` (the service's filter, QoS, protocol, receive maximum and TCP_NODELAY),
///    printing each payload on a pipe that this process counts.
/// 2. **StreetSense**: the real ``StreetSenseService`` (fresh SQLite file in a temporary folder, HTTP on a free
///    port, the city's zones and sensors registered), with `pipeline.clock: event` (see below).
///
/// In both phases the publisher is `streetsense replay TRACE --broker … --speed max` (the real command, the
/// release build next to this executable, in a process of its own), replaying the trace written to a file
/// with every message at the phase's QoS. Before it starts, probes (a payload that is not JSON, on
/// `…/readings/bench/probe`) are published from this process until the subscriber has received one, so the
/// subscription is in place; probes are not counted. A sampler thread reads the subscriber's count every
/// 5 ms (for the service: its pipeline's processed-message count in the snapshot, published every 250 ms), the
/// CPU time of the broker (`/proc/<pid>/stat`), of this process and of `mosquitto_sub`; the publisher's comes
/// from its exit. A phase ends when every published message has arrived and the publisher has exited, or
/// when for `stallSeconds` nothing arrived (and the service's writer committed nothing and its ingest queue
/// did not change).
///
/// - Rates: overall = messages received / (last arrival − first publish); sustained = messages between the
///   moments 10 % and 90 % of the phase's messages had arrived, over the time between them (start-up and
///   drain excluded). The ratio is StreetSense's sustained rate over the reference's.
/// - Rounds: on this shared 2-core machine one pair of phases can give 0.81 and the next 0.93 with the same
///   binaries, because the reference itself moves (23 000 to 30 000 msg/s). With `--rounds N` the pairs
///   alternate N times and the report gives each pair's ratio and their median.
/// - Loss: at QoS 1 the readings stored in SQLite must equal the readings the published messages hold.
/// - `pipeline.clock: event`: at `max` the trace's 30 minutes pass in well under a minute, so on the wall
///   clock every sensor would look silent for most of the run and raise and clear alerts for nothing; event
///   time is what `streetsense replay --offline` uses. The trace's times end two minutes before it is
///   generated, so none is in the future.
struct EndToEndThroughputBenchmark {
    var sensors = 40_000
    var minutes = 30
    var qualities: [Mosquitto.QualityOfService] = [.atLeastOnce, .atMostOnce]
    /// Pairs of phases (reference, then StreetSense) per QoS, each on a fresh broker.
    var rounds = 1
    /// A phase ends when nothing arrived for this long.
    var stallSeconds = 5.0

    /// One phase: one subscriber receiving one replay of the trace.
    struct Phase {
        var published = 0
        /// Probes the subscriber received before the replay (not counted in `received`).
        var probes = 0
        /// The publisher's own summary line (`published N messages in S s (R msg/s); …`).
        var publisherSummary = ""
        /// Messages per second as the publisher measured them (first publish to last acknowledgement).
        var publisherRate: Double?
        var publisherCPUSeconds = 0.0
        var received = 0
        /// From the first publish to the last message received.
        var elapsed: Duration = .zero
        var overallRate: Double { Double(received) / max(seconds(elapsed), 1e-9) }
        /// Between 10 % and 90 % of the messages received.
        var sustainedRate: Double = 0
        var brokerCPUSeconds: Double = 0
        /// This process's CPU: the service in the StreetSense phase, counting mosquitto_sub's lines in the other.
        var processCPUSeconds: Double = 0
        /// mosquitto_sub's own CPU (reference phase only).
        var subscriberCPUSeconds: Double?
        var loadBefore = ""
        var loadAfter = ""
        // StreetSense phase only.
        var acceptedReadings = 0
        var rejected = 0
        var duplicate = 0
        var late = 0
        var storedReadings: Int?
        /// Times the service's MQTT thread found the ingest queue full and waited (backpressure to the broker).
        var ingestWaits = 0
        var batchesCommitted = 0
        /// The broker's own message counters over the phase (probes included).
        var brokerCounters = BrokerCounters()
        /// What the broker logged about the subscriber's connection (connects, disconnects and why).
        var brokerConnectionLog: [String] = []

        func cores(_ cpuSeconds: Double) -> Double { cpuSeconds / max(seconds(elapsed), 1e-9) }
    }

    struct Comparison {
        var qos: Mosquitto.QualityOfService
        /// 1, 2, … within the QoS.
        var round = 1
        var reference: Phase
        var streetSense: Phase
        var ratio: Double { streetSense.sustainedRate / max(reference.sustainedRate, 1e-9) }
    }

    func run(progress: (String) -> Void) async throws -> (trace: CityScaleTrace, comparisons: [Comparison]) {
        guard FileManager.default.isExecutableFile(atPath: Self.subscriberPath) else {
            throw BenchError("\(Self.subscriberPath) is missing: run `make deps` (Debian package mosquitto-clients)")
        }
        progress("generating city-scale: \(sensors) sensors, \(minutes) minutes of event time")
        let trace = try CityScaleTrace(sensors: sensors, duration: .seconds(60 * minutes))
        progress("\(trace.records.count) messages, \(trace.readings) readings, \(Int(trace.meanMessageBytes)) bytes of topic + payload on average")
        let streetsense = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("streetsense").path
        guard FileManager.default.isExecutableFile(atPath: streetsense) else {
            throw BenchError("\(streetsense) is missing: build it next to this executable (swift build -c release --product streetsense)")
        }
        let directory = NSTemporaryDirectory() + "streetsense-e2e-trace-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var comparisons: [Comparison] = []
        for qos in qualities {
            let traceFile = directory + "/city-scale-qos\(qos.rawValue).jsonl"
            let writer = try TraceWriter(path: traceFile)
            for var record in trace.records {
                record.qos = qos.rawValue
                try writer.write(record)
            }
            try writer.close()
            let publisher = ReplayCommand(executable: streetsense, trace: traceFile, messages: trace.records.count)
            for round in 1...max(1, rounds) {
                let broker = try await LocalBroker.start(LocalBroker.Options(maxQueuedMessages: 1_000_000, extraConfiguration: ["sys_interval 1"]))
                guard let brokerPID = broker.processID else { throw BenchError("mosquitto is not running") }
                let atStart = try await Self.brokerCounters(broker)
                var reference = try await runReference(publisher, broker: broker, brokerPID: brokerPID)
                let afterReference = try await Self.brokerCounters(broker)
                reference.brokerCounters = afterReference.since(atStart)
                progress("QoS \(qos.rawValue)\(rounds > 1 ? " round \(round)" : "") mosquitto_sub: \(reference.received) of \(reference.published), \(Int(reference.sustainedRate)) msg/s sustained")
                var streetSense = try await runStreetSense(trace, publisher: publisher, broker: broker, brokerPID: brokerPID)
                streetSense.brokerCounters = try await Self.brokerCounters(broker).since(afterReference)
                progress("QoS \(qos.rawValue)\(rounds > 1 ? " round \(round)" : "") StreetSense: \(streetSense.received) of \(streetSense.published), \(Int(streetSense.sustainedRate)) msg/s sustained")
                try await broker.stop()
                comparisons.append(Comparison(qos: qos, round: round, reference: reference, streetSense: streetSense))
            }
            try? FileManager.default.removeItem(atPath: traceFile)
        }
        return (trace, comparisons)
    }

    /// The broker's `$SYS/broker/publish/messages/…` counters (published every second: `sys_interval 1`).
    struct BrokerCounters {
        var received = 0
        var sent = 0
        var dropped = 0

        func since(_ earlier: BrokerCounters) -> BrokerCounters {
            BrokerCounters(received: received - earlier.received, sent: sent - earlier.sent, dropped: dropped - earlier.dropped)
        }
    }

    /// Reads the broker's counters with `mosquitto_sub` (they are retained), after 1.5 s so that they are fresh.
    static func brokerCounters(_ broker: LocalBroker) async throws -> BrokerCounters {
        try await Task.sleep(for: .milliseconds(1500))
        let outputPath = NSTemporaryDirectory() + "streetsense-bench-sys-\(UUID().uuidString).txt"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let names = ["received", "sent", "dropped"]
        let subscriber = try ChildProcess.spawn(
            executable: subscriberPath,
            arguments: ["-h", broker.host, "-p", String(broker.port), "-v", "-C", "3", "-W", "5"]
                + names.flatMap { ["-t", "$SYS/broker/publish/messages/\($0)"] },
            output: .file(outputPath))
        _ = subscriber.waitForExitWithUsage()
        var counters = BrokerCounters()
        for line in ((try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "").split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let value = Int(parts[1]) else { continue }
            switch parts[0].split(separator: "/").last {
            case "received": counters.received = value
            case "sent": counters.sent = value
            case "dropped": counters.dropped = value
            default: break
            }
        }
        return counters
    }

    static let subscriberPath = "/usr/bin/mosquitto_sub"
    static let probeTopic = "streetsense/v1/readings/bench/probe"

    // MARK: Phases

    private func runReference(_ publisher: ReplayCommand, broker: LocalBroker, brokerPID: Int32) async throws -> Phase {
        let subscriber = try ChildProcess.spawn(
            executable: Self.subscriberPath,
            arguments: [
                "-h", broker.host, "-p", String(broker.port), "-i", "bench-mosquitto-sub", "-q", "1", "-V", "mqttv5",
                "-D", "connect", "receive-maximum", "1000", "--nodelay", "-t", "streetsense/v1/readings/#",
            ],
            output: .pipe)
        let lines = LineCounter(descriptor: subscriber.outputDescriptor!)
        defer {
            subscriber.send(SIGTERM)
            lines.waitUntilClosed()
            _ = subscriber.waitForExitWithUsage()
        }
        let subscriberPID = subscriber.pid
        return try await replay(
            publisher, broker: broker, brokerPID: brokerPID, clientID: "bench-replay-reference",
            received: { lines.count }, subscriberCPU: { CPUTime.seconds(process: subscriberPID) }, finish: { _ in })
    }

    private func runStreetSense(_ trace: CityScaleTrace, publisher: ReplayCommand, broker: LocalBroker, brokerPID: Int32) async throws -> Phase {
        let directory = NSTemporaryDirectory() + "streetsense-e2e-bench-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = StreetSenseConfiguration(
            mqtt: MQTTSettings(url: "mqtt://127.0.0.1:\(broker.port)", port: broker.port, clientID: "streetsense-e2e-bench", protocolVersion: .v5),
            store: StoreSettings(sqlitePath: directory + "/streetsense.sqlite"),
            http: HTTPSettings(listen: "127.0.0.1:0", port: 0),
            pipeline: PipelineSettings(clock: .event),
            zones: trace.zones, sensors: trace.sensors)
        var logger = Logger(label: "streetsense-bench")
        logger.logLevel = .error
        let service = try StreetSenseService(configuration: configuration, logger: logger)
        let serviceTask = Task { try await service.run(gracefulShutdownSignals: []) }
        let connectDeadline = ContinuousClock.now + .seconds(30)
        while !service.brokerConnected, ContinuousClock.now < connectDeadline { try await Task.sleep(for: .milliseconds(20)) }
        guard service.brokerConnected else { throw BenchError("the service did not connect to the broker") }

        let phase = try await replay(
            publisher, broker: broker, brokerPID: brokerPID, clientID: "bench-replay-streetsense",
            received: { service.snapshots.snapshot().totals.messages },
            activity: { service.writerStatistics.readingsCommitted + service.queue.depth }, subscriberCPU: { Double?.none },
            finish: { phase in
                // Wait for the writer to commit what the pipeline accepted (the last batch waits ≤ 250 ms).
                let deadline = ContinuousClock.now + .seconds(60)
                var totals = service.snapshots.snapshot().totals
                while service.writerStatistics.readingsCommitted < totals.accepted + totals.late, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                    totals = service.snapshots.snapshot().totals
                }
                phase.acceptedReadings = totals.accepted
                phase.rejected = totals.rejected - phase.probes  // each probe is rejected as malformed JSON
                phase.duplicate = totals.duplicate
                phase.late = totals.late
                phase.storedReadings = try service.store.storedReadingCount()
                phase.ingestWaits = service.queue.producerWaits
                phase.batchesCommitted = service.writerStatistics.batchesCommitted
            })
        await service.shutdown()
        _ = try? await serviceTask.value
        var logged = phase
        logged.brokerConnectionLog = broker.log.split(separator: "\n").filter { $0.contains("streetsense-e2e-bench") }.map(String.init)
        return logged
    }

    /// Publishes probes until `received` moves, then runs the publisher and samples `received` until every
    /// message arrived (and the publisher exited) or nothing arrived for `stallSeconds`.
    private func replay(
        _ publisher: ReplayCommand, broker: LocalBroker, brokerPID: Int32, clientID: String,
        received: @escaping @Sendable () -> Int, activity: () -> Int = { 0 }, subscriberCPU: @escaping @Sendable () -> Double?,
        finish: (inout Phase) async throws -> Void
    ) async throws -> Phase {
        // The subscription is in place once a probe arrives; the probes' count is the baseline.
        let prober = try MosquittoClient(configuration: broker.clientConfiguration(clientID: clientID + "-probe", cleanSession: true))
        try prober.start()
        defer { prober.stop() }
        try await prober.waitUntilConnected(timeout: .seconds(10))
        let probeDeadline = ContinuousClock.now + .seconds(30)
        var probes = 0
        while received() == 0 {
            guard ContinuousClock.now < probeDeadline else { throw BenchError("no probe reached the subscriber in 30 s") }
            _ = try prober.publish(topic: Self.probeTopic, payload: Array("probe".utf8), qos: .atLeastOnce)
            probes += 1
            try await Task.sleep(for: .milliseconds(100))
        }
        try await Task.sleep(for: .milliseconds(600))  // stray probes, and one more snapshot of the service
        let baseline = received()
        guard baseline <= probes else { throw BenchError("the subscriber received \(baseline) messages before the replay (\(probes) probes)") }

        var phase = Phase()
        phase.published = publisher.messages
        phase.probes = baseline
        let target = baseline + publisher.messages
        let sampler = ProgressSampler(
            every: .milliseconds(5), count: received, brokerCPU: { CPUTime.seconds(process: brokerPID) ?? 0 },
            processCPU: { CPUTime.seconds(process: getpid()) ?? 0 }, subscriberCPU: subscriberCPU)
        phase.loadBefore = loadAverages()
        let start = sampler.start()
        let run = try publisher.start(port: broker.port, clientID: clientID)
        // Until everything arrived and the publisher is done, or for `stallSeconds` nothing arrived and
        // `activity` did not move either (the service's pipeline publishes no snapshot while it waits for the
        // store writer).
        var lastActivity = (value: activity(), at: ContinuousClock.now)
        while true {
            let last = sampler.lastChange
            if last.count >= target && run.hasExited { break }
            let now = ContinuousClock.now, value = activity()
            if value != lastActivity.value { lastActivity = (value, now) }
            if last.at.duration(to: now) > .seconds(stallSeconds) && lastActivity.at.duration(to: now) > .seconds(stallSeconds) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let samples = sampler.stop()
        phase.loadAfter = loadAverages()
        let outcome = run.waitForExit()
        guard outcome.status == 0 else { throw BenchError("streetsense replay failed (status \(outcome.status)): \(outcome.log)") }
        phase.publisherSummary = outcome.summary
        phase.publisherRate = outcome.messagesPerSecond
        phase.publisherCPUSeconds = outcome.cpuSeconds
        let end = samples.last!
        phase.received = end.count - baseline
        phase.elapsed = start.at.duration(to: end.at)
        phase.sustainedRate = Self.sustainedRate(samples, from: baseline, to: end.count)
        phase.brokerCPUSeconds = end.brokerCPU - start.brokerCPU
        phase.processCPUSeconds = end.processCPU - start.processCPU
        if let before = start.subscriberCPU, let after = end.subscriberCPU { phase.subscriberCPUSeconds = after - before }
        try await finish(&phase)
        return phase
    }

    /// Messages between the first samples at or past 10 % and 90 % of the phase's messages, over the time
    /// between those samples.
    static func sustainedRate(_ samples: [ProgressSampler.Sample], from baseline: Int, to end: Int) -> Double {
        let total = end - baseline
        guard total > 10,
            let low = samples.first(where: { $0.count - baseline >= total / 10 }),
            let high = samples.first(where: { $0.count - baseline >= total - total / 10 }),
            high.count > low.count
        else { return 0 }
        return Double(high.count - low.count) / max(seconds(low.at.duration(to: high.at)), 1e-9)
    }
}

/// Counts the lines a child process writes on a pipe, on a thread of its own; closes the pipe at its end.
final class LineCounter: Sendable {
    private let lines = Atomic<Int>(0)
    private let closed = DispatchSemaphore(value: 0)

    init(descriptor: Int32) {
        let thread = Thread { [self] in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { buffer.deallocate() }
            while true {
                let n = read(descriptor, buffer.baseAddress, buffer.count)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                var newlines = 0
                for byte in buffer[0..<n] where byte == 0x0A { newlines += 1 }
                lines.add(newlines, ordering: .relaxed)
            }
            close(descriptor)
            closed.signal()
        }
        thread.name = "bench-line-count"
        thread.start()
    }

    var count: Int { lines.load(ordering: .relaxed) }

    /// Returns once the writer has closed the pipe (the child exited) and the pipe is closed here.
    func waitUntilClosed() {
        closed.wait()
        closed.signal()
    }
}

/// Samples a message count every few milliseconds on a thread of its own, with the CPU time of the broker,
/// of this process and of the subscriber process at that moment; keeps the samples at which the count
/// changed (and the first one).
final class ProgressSampler: Sendable {
    /// The count at `at`, and the CPU seconds used so far by each process.
    struct Sample: Sendable {
        var at: ContinuousClock.Instant
        var count: Int
        var brokerCPU: Double
        var processCPU: Double
        var subscriberCPU: Double?
    }

    private let interval: Duration
    private let count: @Sendable () -> Int
    private let brokerCPU: @Sendable () -> Double
    private let processCPU: @Sendable () -> Double
    private let subscriberCPU: @Sendable () -> Double?
    private let samples = Mutex<[Sample]>([])
    private let running = Atomic<Bool>(true)
    private let done = DispatchSemaphore(value: 0)

    init(
        every interval: Duration, count: @escaping @Sendable () -> Int, brokerCPU: @escaping @Sendable () -> Double,
        processCPU: @escaping @Sendable () -> Double, subscriberCPU: @escaping @Sendable () -> Double?
    ) {
        self.interval = interval
        self.count = count
        self.brokerCPU = brokerCPU
        self.processCPU = processCPU
        self.subscriberCPU = subscriberCPU
    }

    private func sample() -> Sample {
        Sample(at: .now, count: count(), brokerCPU: brokerCPU(), processCPU: processCPU(), subscriberCPU: subscriberCPU())
    }

    /// Takes the first sample here and starts the thread; returns the first sample.
    func start() -> Sample {
        let first = sample()
        samples.withLock { $0 = [first] }
        let thread = Thread { [self] in
            let microseconds = UInt32(interval.milliseconds * 1000)
            while running.load(ordering: .relaxed) {
                usleep(microseconds)
                let now = sample()
                samples.withLock { if now.count != $0.last!.count { $0.append(now) } }
            }
            done.signal()
        }
        thread.name = "bench-sampler"
        thread.start()
        return first
    }

    /// The newest sample kept (the last change of the count).
    var lastChange: Sample { samples.withLock { $0.last! } }

    /// Stops the thread and returns the samples, oldest first.
    func stop() -> [Sample] {
        running.store(false, ordering: .relaxed)
        done.wait()
        return samples.withLock { $0 }
    }
}

/// `streetsense replay TRACE --broker mqtt://127.0.0.1:PORT --speed max --client-id ID`: the real replay
/// command as the benchmark's publisher, in a process of its own (its CPU time is its own, and it never
/// waits for a thread of this process).
struct ReplayCommand: Sendable {
    let executable: String
    let trace: String
    /// The messages in the trace.
    let messages: Int

    /// One run of the command.
    final class Run: Sendable {
        /// How the command ended: exit status, CPU seconds, its output, and its summary line.
        struct Outcome: Sendable {
            var status: Int32
            var cpuSeconds: Double
            var log: String
            /// `published N messages in S s (R msg/s); …`, the command's last line.
            var summary: String
            /// R from the summary line.
            var messagesPerSecond: Double?
        }

        private let process: ChildProcess
        private let logPath: String
        private let outcome = Mutex<Outcome?>(nil)
        private let exited = DispatchSemaphore(value: 0)

        init(process: ChildProcess, logPath: String) {
            self.process = process
            self.logPath = logPath
            let waiter = Thread { [self] in
                let (status, cpu) = process.waitForExitWithUsage()
                let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                try? FileManager.default.removeItem(atPath: logPath)
                let summary = log.split(separator: "\n").last { $0.hasPrefix("published ") }.map(String.init) ?? ""
                let rate = summary.split(separator: "(").dropFirst().first?.split(separator: " ").first.flatMap { Double($0) }
                outcome.withLock { $0 = Outcome(status: status, cpuSeconds: cpu ?? .nan, log: log, summary: summary, messagesPerSecond: rate) }
                exited.signal()
            }
            waiter.name = "bench-replay-wait"
            waiter.start()
        }

        var hasExited: Bool { outcome.withLock { $0 != nil } }

        /// Blocks until the command has exited.
        func waitForExit() -> Outcome {
            exited.wait()
            exited.signal()
            return outcome.withLock { $0! }
        }
    }

    func start(port: Int, clientID: String) throws -> Run {
        let logPath = NSTemporaryDirectory() + "streetsense-bench-replay-\(UUID().uuidString).log"
        let process = try ChildProcess.spawn(
            executable: executable,
            arguments: ["replay", trace, "--broker", "mqtt://127.0.0.1:\(port)", "--speed", "max", "--client-id", clientID],
            output: .file(logPath))
        return Run(process: process, logPath: logPath)
    }
}
