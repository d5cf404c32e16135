import Foundation
import Mosquitto
import MosquittoBroker
import StreetSenseApp
import StreetSenseConfig
import StreetSenseCore
import StreetSensePipeline
import StreetSenseSimulation
import StreetSenseStore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Issue 5, row 6: `GET /api/v1/zones` and `GET /api/v1/zones/{id}/series` latency under `wrk` while the service
/// ingests at half the broker's QoS 1 ceiling, next to two references from the same run: `/healthz` under the
/// same wrk (the HTTP stack's floor: no snapshot, no store), and the ingest rate with no HTTP load.
///
/// A real mosquitto (`max_queued_messages 1000000`) and the real ``StreetSenseService`` in this process, with the
/// zones and sensors of `city-scale` (`sensors` sensors, ten per zone), SQLite in a temporary folder holding one
/// hour of 1-minute zone density rollups for every zone (written before the service starts, so the series
/// endpoint reads what a dashboard's default hour reads: 60 points), HTTP on a free port with public reads and a
/// rate limit too high to refuse anything (wrk is one client; the limiter's per-request work still runs).
///
/// A publisher thread in this process (``PacedLoad``) sends `rate` QoS 1 people counts per second to the city's
/// cameras, paced in 1 ms slots and closed-loop (at most `window` unacknowledged). After `warmUpSeconds`, nine
/// windows of `seconds` each follow while it keeps publishing: no HTTP load, wrk on `/api/v1/zones` (its default
/// first page of 100 zones), on `/api/v1/zones?limit=1000` (the largest page), on the series, on `/healthz`, the
/// same three endpoints paced (each connection pauses `pauseMilliseconds` between requests: a dashboard-like rate,
/// not saturation), and no HTTP load again. In each window the readings the service accepted (its
/// pipeline's counter in the published snapshot, every 250 ms) are sampled every 5 ms; the accepted rate is
/// the count between the window's first and last change of that counter over the time between them.
struct HTTPUnderLoadBenchmark {
    var sensors = 40_000
    var rate = 20_000
    var seconds = 20
    var connections = 4
    /// The pause of the paced windows (each connection waits this long between requests; 0: no paced windows).
    var pauseMilliseconds = 10
    var warmUpSeconds = 3
    /// Messages the broker may leave unacknowledged before the publisher waits.
    var window = 1000

    /// One window of the run: ingest alone, or ingest while wrk hits one endpoint.
    struct Window {
        var name: String
        /// The endpoint's path (nil: no HTTP load in this window).
        var path: String?
        var wrk: WrkRun.Result?
        var accepted = 0
        var acceptedRate = 0.0
        var published = 0
        var publishedRate = 0.0
        var elapsed: Duration = .zero
        /// CPU time of this process (service, publisher, sampler) and of the broker over the window.
        var processCPUSeconds = 0.0
        var brokerCPUSeconds = 0.0
        /// Times the service's MQTT thread waited for room in the ingest queue during the window.
        var ingestWaits = 0
        var loadBefore = ""
        var loadAfter = ""

        func cores(_ cpuSeconds: Double) -> Double { cpuSeconds / max(elapsed.milliseconds / 1000, 1e-9) }
    }

    /// The city, the five windows in order, and how the publisher and the service fared over the run.
    struct Result {
        var zones = 0
        var sensors = 0
        var cameras = 0
        var seriesZone = ""
        var windows: [Window] = []
        var lateSlots = 0
        var publishFailure: String?
        var rejected = 0
        var loadBefore = ""
        var loadAfter = ""

        /// The mean accepted rate of the windows without HTTP load.
        var idleAcceptedRate: Double {
            let idle = windows.filter { $0.path == nil }
            return idle.map(\.acceptedRate).reduce(0, +) / Double(max(idle.count, 1))
        }
    }

    static let zonesPath = "/api/v1/zones"
    static let healthPath = "/healthz"

    func run(progress: (String) -> Void) async throws -> Result {
        guard rate >= 100, seconds >= 1, connections >= 1, sensors >= 10 else {
            throw BenchError("need --rate ≥ 100, --seconds ≥ 1, --connections ≥ 1 and --sensors ≥ 10")
        }
        guard FileManager.default.isExecutableFile(atPath: WrkRun.executablePath) else {
            throw BenchError("\(WrkRun.executablePath) is missing: run `make bench-deps` (Debian package wrk)")
        }
        let scenario = try CityScaleTrace.scenario(sensors: sensors, duration: .seconds(3600))
        let zones = scenario.zones.map(\.definition)
        let sensorDefinitions = scenario.sensors.map(\.definition)
        let cameras = sensorDefinitions.filter { $0.kind == .occupancy }
        guard let seriesZone = zones.first?.id, !cameras.isEmpty else { throw BenchError("city-scale has no zone or no camera") }
        var result = Result(zones: zones.count, sensors: sensorDefinitions.count, cameras: cameras.count, seriesZone: seriesZone)

        let broker = try await LocalBroker.start(LocalBroker.Options(maxQueuedMessages: 1_000_000))
        guard let brokerPID = broker.processID else { throw BenchError("mosquitto is not running") }
        let directory = NSTemporaryDirectory() + "streetsense-http-bench-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let databasePath = directory + "/streetsense.sqlite"
        try Self.writeZoneHistory(zones: zones, path: databasePath)
        progress("\(zones.count) zones, \(sensorDefinitions.count) sensors (\(cameras.count) cameras); one hour of zone rollups stored")

        let configuration = StreetSenseConfiguration(
            mqtt: MQTTSettings(url: "mqtt://127.0.0.1:\(broker.port)", port: broker.port, clientID: "streetsense-http-bench", protocolVersion: .v5),
            store: StoreSettings(sqlitePath: databasePath),
            http: HTTPSettings(listen: "127.0.0.1:0", port: 0, rateLimit: HTTPSettings.RateLimit(requestsPerSecond: 1_000_000, burst: 1_000_000)),
            zones: zones, sensors: sensorDefinitions)
        let running = try await InProcessService.start(configuration)
        let service = running.service, serviceTask = running.task, httpPort = running.httpPort

        var publisherConfiguration = broker.clientConfiguration(clientID: "bench-http-load", cleanSession: true, protocolVersion: .v5)
        publisherConfiguration.maxInflightMessages = max(window, 20)
        publisherConfiguration.tcpNoDelay = true
        let publisher = try MosquittoClient(configuration: publisherConfiguration)
        try publisher.start()
        try await publisher.waitUntilConnected(timeout: .seconds(10))
        let load = PacedLoad(
            client: publisher, topics: cameras.map { "streetsense/v1/readings/\($0.address.pilot)/\($0.address.sensor)" }, rate: rate,
            window: window)
        load.start()
        progress("publishing \(rate) msg/s; warming up for \(warmUpSeconds) s")
        try await Task.sleep(for: .seconds(warmUpSeconds))
        let acceptDeadline = ContinuousClock.now + .seconds(30)
        while service.snapshots.snapshot().totals.accepted == 0, ContinuousClock.now < acceptDeadline {
            try await Task.sleep(for: .milliseconds(50))
        }

        result.loadBefore = loadAverages()
        let base = "http://127.0.0.1:\(httpPort)"
        let seriesPath = "/api/v1/zones/\(seriesZone)/series"
        let paced = "paced: \(connections) × 1 per \(pauseMilliseconds) ms"
        var plan: [(name: String, path: String?, pause: Int?)] = [
            ("ingest alone (reference)", nil, nil),
            ("`GET /api/v1/zones` (first page: 100 zones, the default)", Self.zonesPath, nil),
            ("`GET /api/v1/zones?limit=1000` (the largest page)", Self.zonesPath + "?limit=1000", nil),
            ("`GET /api/v1/zones/\(seriesZone)/series` (default: last hour, 1-minute steps)", seriesPath, nil),
            ("`GET /healthz` (HTTP stack floor)", Self.healthPath, nil),
        ]
        if pauseMilliseconds > 0 {
            plan += [
                ("`GET /api/v1/zones`, \(paced)", Self.zonesPath, pauseMilliseconds),
                ("`GET /api/v1/zones/\(seriesZone)/series`, \(paced)", seriesPath, pauseMilliseconds),
                ("`GET /healthz`, \(paced) (floor)", Self.healthPath, pauseMilliseconds),
            ]
        }
        plan.append(("ingest alone again (reference)", nil, nil))
        for (name, path, pause) in plan {
            var measured = Window(name: name, path: path)
            let sampler = ProgressSampler(
                every: .milliseconds(5), count: { service.snapshots.snapshot().totals.accepted },
                brokerCPU: { CPUTime.seconds(process: brokerPID) ?? 0 }, processCPU: { CPUTime.seconds(process: getpid()) ?? 0 },
                subscriberCPU: { Double?.none })
            measured.loadBefore = loadAverages()
            let waitsBefore = service.queue.producerWaits
            let publishedBefore = load.sent
            let first = sampler.start()
            if let path {
                progress("wrk -c \(connections) -d \(seconds)s on \(path)")
                measured.wrk = try await WrkRun(url: base + path, connections: connections, seconds: seconds, pauseMilliseconds: pause).run()
            } else {
                progress("\(seconds) s without HTTP load")
                try await Task.sleep(for: .seconds(seconds))
            }
            let end = ContinuousClock.now
            let publishedAfter = load.sent
            let processCPUAtEnd = CPUTime.seconds(process: getpid()) ?? 0, brokerCPUAtEnd = CPUTime.seconds(process: brokerPID) ?? 0
            let samples = sampler.stop()
            measured.loadAfter = loadAverages()
            let last = samples.last!
            measured.elapsed = first.at.duration(to: end)
            measured.published = publishedAfter - publishedBefore
            measured.publishedRate = Double(measured.published) / max(measured.elapsed.milliseconds / 1000, 1e-9)
            measured.ingestWaits = service.queue.producerWaits - waitsBefore
            // From the first to the last change of the accepted counter (it moves every 250 ms).
            if samples.count >= 3 {
                let firstChange = samples[1]
                measured.accepted = last.count - firstChange.count
                measured.acceptedRate = Double(measured.accepted) / max(firstChange.at.duration(to: last.at).milliseconds / 1000, 1e-9)
            }
            measured.processCPUSeconds = processCPUAtEnd - first.processCPU
            measured.brokerCPUSeconds = brokerCPUAtEnd - first.brokerCPU
            result.windows.append(measured)
            progress("\(name): \(Int(measured.acceptedRate)) readings/s accepted")
        }
        result.loadAfter = loadAverages()

        let outcome = load.stop()
        result.lateSlots = outcome.lateSlots
        result.publishFailure = outcome.failure
        try? await publisher.waitForAcknowledgements(timeout: .seconds(30))
        publisher.stop()
        result.rejected = service.snapshots.snapshot().totals.rejected
        await service.shutdown()
        _ = try? await serviceTask.value
        try await broker.stop()
        return result
    }

    /// Stores one hour of 1-minute zone density rollups (12 samples a minute, as the pipeline takes them every
    /// 5 s) for every zone, ending at the current minute, so that a zone's default series has 60 points.
    static func writeZoneHistory(zones: [ZoneDefinition], path: String) throws {
        let store = try SQLiteStore(path: path)
        let now = EventTime.now.milliseconds
        let currentMinute = now - now % 60_000
        var rollups: [ZoneRollupRecord] = []
        rollups.reserveCapacity(zones.count * 60)
        for (index, zone) in zones.enumerated() {
            for minutesAgo in 1...60 {
                let density = 0.2 + Double((index + minutesAgo) % 20) / 40
                rollups.append(
                    ZoneRollupRecord(
                        zone: zone.id, minute: EventTime(milliseconds: currentMinute - Int64(minutesAgo) * 60_000), count: 12,
                        sum: density * 12, min: density * 0.9, max: density * 1.1))
            }
        }
        try store.write(StoreBatch(zoneRollups: rollups))
        try store.close()
    }
}

/// A publisher thread that sends `rate` QoS 1 people counts per second to `topics` in turn, in 1 ms slots, until
/// stopped. Closed-loop: while `window` messages are unacknowledged by the broker it sends nothing, and what was
/// due is sent in the next slots (the achieved rate says when the broker or the machine could not keep up).
final class PacedLoad: Sendable {
    private let client: MosquittoClient
    private let topics: [String]
    private let rate: Int
    private let window: Int
    private let running = Atomic<Bool>(true)
    private let sentCount = Atomic<Int>(0)
    private let lateSlots = Atomic<Int>(0)
    private let failure = Mutex<String?>(nil)
    private let done = DispatchSemaphore(value: 0)

    /// How the publisher ended.
    struct Outcome: Sendable {
        var sent: Int
        /// Slots that started over 1 ms late (caught up at once).
        var lateSlots: Int
        /// The error that stopped publishing early, if any.
        var failure: String?
    }

    init(client: MosquittoClient, topics: [String], rate: Int, window: Int) {
        self.client = client
        self.topics = topics
        self.rate = rate
        self.window = window
    }

    /// Messages sent so far.
    var sent: Int { sentCount.load(ordering: .relaxed) }

    func start() {
        let thread = Thread { [self] in
            do {
                try publish()
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
            done.signal()
        }
        thread.name = "bench-paced-load"
        thread.start()
    }

    /// Stops the thread and waits for it.
    func stop() -> Outcome {
        running.store(false, ordering: .relaxed)
        done.wait()
        return Outcome(sent: sent, lateSlots: lateSlots.load(ordering: .relaxed), failure: failure.withLock { $0 })
    }

    private func publish() throws {
        let clock = ContinuousClock()
        let start = clock.now
        var slot: Int64 = 0
        var sent = 0
        while running.load(ordering: .relaxed) {
            if waitForSlot(slot, after: start) { lateSlots.add(1, ordering: .relaxed) }
            let t = String(format: "%.3f", Date().timeIntervalSince1970)
            let due = Int(Int64(rate) * (slot + 1) / 1000)
            while sent < due {
                if window > 0 && client.unacknowledgedPublishCount >= window { break }
                let payload = Array(#"{"t": \#(t), "people": \#(20 + sent % 30)}"#.utf8)
                _ = try client.publish(topic: topics[sent % topics.count], payload: payload, qos: .atLeastOnce)
                sent += 1
                sentCount.store(sent, ordering: .relaxed)
            }
            slot += 1
        }
    }
}

/// Prints the HTTP-under-load report; returns whether the run is incomplete (an endpoint answered errors or
/// nothing, or the publisher failed), which no figure may hide.
func printHTTPReport(_ r: HTTPUnderLoadBenchmark.Result, benchmark: HTTPUnderLoadBenchmark, started: Date, smoke: Bool) -> Bool {
    print("started \(ISO8601DateFormatter().string(from: started)); load average (1/5/15 min) before \(r.loadBefore), after \(r.loadAfter)")
    print("city-scale: \(grouped(r.zones)) zones, \(grouped(r.sensors)) sensors, load on its \(grouped(r.cameras)) cameras; "
        + "wrk \(benchmark.connections) connections, 1 thread, \(benchmark.seconds) s per endpoint")
    print("")
    print("| window | req/s | p50 ms | p75 ms | p90 ms | p99 ms | max ms | bytes/response | target | verdict | "
        + "readings/s accepted | ratio to no HTTP load | published msg/s | CPU: this process / broker / wrk (cores) | load before → after |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---|---|")
    let idle = r.idleAcceptedRate
    let target: Duration = .milliseconds(5)
    var incomplete = false
    for w in r.windows {
        let ratio = String(format: "%.3f", w.acceptedRate / max(idle, 1e-9))
        let cpu = String(format: "%.2f / %.2f", w.cores(w.processCPUSeconds), w.cores(w.brokerCPUSeconds))
            + (w.wrk?.cpuSeconds.map { String(format: " / %.2f", w.cores($0)) } ?? "")
        let ingest = "\(grouped(Int(w.acceptedRate))) | \(ratio) | \(grouped(Int(w.publishedRate))) | \(cpu) | \(w.loadBefore) → \(w.loadAfter) |"
        guard let wrk = w.wrk else {
            print("| \(w.name) | – | – | – | – | – | – | – | – | – | " + ingest)
            continue
        }
        let judged = w.path != HTTPUnderLoadBenchmark.healthPath
        var verdict = "–"
        if judged && !smoke { verdict = wrk.p99.map { $0 < target ? "met" : "**MISSED**" } ?? "?" }
        print("| \(w.name) | \(grouped(Int(wrk.requestsPerSecond))) | \(formatMilliseconds(wrk.p50)) | \(formatMilliseconds(wrk.p75)) | "
            + "\(formatMilliseconds(wrk.p90)) | \(formatMilliseconds(wrk.p99)) | \(formatMilliseconds(wrk.maximum)) | "
            + "\(grouped(Int(wrk.bytesPerResponse))) | \(judged ? "p99 < 5 ms" : "reference") | \(verdict) | " + ingest)
        if wrk.status != 0 || wrk.requests == 0 || wrk.non2xx > 0 || wrk.p99 == nil {
            print("INCOMPLETE: wrk on \(w.path ?? "?") exited with \(wrk.status), \(wrk.requests) requests, \(wrk.non2xx) not 2xx/3xx; its output:")
            print(wrk.output)
            incomplete = true
        }
        if let errors = wrk.socketErrors { print("wrk on \(w.path ?? "?"): \(errors)") }
    }
    print("")
    let loaded = r.windows.filter { $0.path != nil }
    let worst = loaded.map(\.acceptedRate).min() ?? 0
    let worstRatio = worst / max(idle, 1e-9)
    print("ingest: \(grouped(Int(idle))) readings/s accepted without HTTP load (mean of the two reference windows, "
        + "offered \(grouped(benchmark.rate)) msg/s); lowest under wrk \(grouped(Int(worst))) (ratio \(String(format: "%.3f", worstRatio)))"
        + (smoke ? "" : "; no ingest slowdown (every ratio ≥ 0.95): " + (worstRatio >= 0.95 ? "met" : "**MISSED**")))
    print("the MQTT thread waited for room in the ingest queue \(r.windows.map(\.ingestWaits).reduce(0, +)) times; "
        + "publisher slots over 1 ms late: \(grouped(r.lateSlots)); readings rejected by the service: \(r.rejected)")
    if let failure = r.publishFailure {
        print("INCOMPLETE: the publisher stopped: \(failure)")
        incomplete = true
    }
    return incomplete
}
