import Foundation
import Mosquitto
import MosquittoBroker
import StreetSenseAlerts
import StreetSenseApp
import StreetSenseConfig
import StreetSenseCore
import StreetSensePipeline
import StreetSenseStore
import Synchronization

/// Publish → SSE latency of alert transitions while the service ingests a steady load, next to the same
/// message's publish → plain MQTT subscriber latency (the broker-only reference hop), in one run.
///
/// A real mosquitto, the real service (same `StreetSenseService` as production, SQLite in a temporary folder),
/// one SSE client on `/api/v1/alerts/stream`, and one plain libmosquitto subscriber (TCP_NODELAY, QoS 1, like
/// the service's) on the probe topics only. A publisher thread sends `rate` QoS 1 messages per second, paced in
/// 1 ms slots (``PublisherPacing``): people counts from 200 cameras, and `probesPerSecond` of them, through a
/// client of their own, are an SDS011 error code (PM2.5 999.9) from an air station that has no alert yet,
/// which raises a `sensor_faulty` alert at once. For each probe it records, on the same monotonic clock:
///
/// - sent: right before the probe's `publish` call;
/// - reference: when the plain subscriber's message callback runs (libmosquitto's network thread);
/// - feed: when an in-process subscriber of the service's `AlertFeed` (a task, as the SSE handler is) gets
///   the event (MQTT → ingest queue → pipeline thread → feed);
/// - SSE: right after the `recv` that returned the event's `data:` line on the SSE client;
/// - committed: when the event is first visible in SQLite (polled every millisecond on its own connection).
///
/// The first `warmUpSeconds` of probes are not counted.
struct AlertLatencyBenchmark {
    var rate = 10_000
    var probesPerSecond = 200
    var seconds = 20
    var warmUpSeconds = 2
    /// Load messages the broker may leave unacknowledged before the load waits (0: open loop, never waits).
    var window = 1000
    /// How often the commit poller reads the store's newest event id, in ms (0: no poller, no commit latency).
    /// The poller is the benchmark's own load (a wake-up and a SQLite read per period), so it can be turned off
    /// to see what it costs the other figures.
    var commitPollMilliseconds = 1

    struct Result {
        var probesMeasured: Int
        var reference: LatencySamples
        var feed: LatencySamples
        var sse: LatencySamples
        var committed: LatencySamples
        /// Per probe: feed − reference (the service's ingest and pipeline, plus the MQTT delivery difference).
        var pipelineStage: LatencySamples
        /// Per probe: SSE − feed (the SSE handler's tasks, JSON, HTTP write, loopback, client read).
        var sseStage: LatencySamples
        /// Per probe: SSE − reference (what the service adds to the broker's own delivery).
        var serviceStage: LatencySamples
        /// The writer's commit durations (`store.write`, one transaction with its fsync), sampled every 1 ms.
        var commits: LatencySamples
        var batchesCommitted: Int
        var messagesSent: Int
        var elapsed: Duration
        var measuredMessages: Int
        var measuredElapsed: Duration
        /// Slots the publisher started more than 1 ms late (it then caught up at once).
        var lateSlots: Int
        var totalSlots: Int
        var maximumUnacknowledged: Int
        var heldBack: Int
        /// From the last publish call until the broker had acknowledged every message.
        var acknowledgementLag: Duration
        var messagesProcessed: Int
        var loadAverageBefore: String
        var loadAverageAfter: String
    }

    func run() async throws -> Result {
        guard rate >= 1000, probesPerSecond >= 1, probesPerSecond <= rate, seconds >= 1 else {
            throw BenchError("need --rate ≥ 1000, 1 ≤ --probes ≤ rate and --seconds ≥ 1")
        }
        // Room for bursts: mosquitto's default `max_queued_messages` (1000) would drop QoS 1 messages to a
        // subscriber that is briefly behind; a latency figure must not hide loss.
        let broker = try await LocalBroker.start(LocalBroker.Options(maxQueuedMessages: 1_000_000))
        let directory = NSTemporaryDirectory() + "streetsense-bench-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let probeCount = probesPerSecond * (seconds + warmUpSeconds)
        let warmUpProbes = probesPerSecond * warmUpSeconds
        let zones = (0..<20).map { ZoneDefinition(id: "zone-\($0)", name: "Zone \($0)", areaM2: 5000) }
        let cameras = (0..<200).map {
            SensorDefinition(address: .init(pilot: "bench", sensor: "cam-\($0)"), zone: "zone-\($0 % 20)", kind: .occupancy, coveredM2: 1000)
        }
        let stations = (0..<probeCount).map {
            SensorDefinition(address: .init(pilot: "probe", sensor: "air-\($0)"), zone: "zone-\($0 % 20)", kind: .air)
        }
        let configuration = StreetSenseConfiguration(
            mqtt: MQTTSettings(url: "mqtt://127.0.0.1:\(broker.port)", port: broker.port, clientID: "streetsense-bench", protocolVersion: .v5),
            store: StoreSettings(sqlitePath: directory + "/streetsense.sqlite"),
            http: HTTPSettings(listen: "127.0.0.1:0", port: 0),
            zones: zones, sensors: cameras + stations)
        let running = try await InProcessService.start(configuration)
        let service = running.service, serviceTask = running.task, httpPort = running.httpPort

        // The in-process feed subscriber: event id → probe, and when the event reached the feed's reader.
        let feedSeen = SharedMap<Int, ContinuousClock.Instant>()
        let probeOfEvent = SharedMap<Int64, Int>()
        let subscription = service.alertFeed.subscribe(after: nil, bufferLimit: 1 << 20)
        let feedTask = Task {
            for await event in subscription.events {
                let now = ContinuousClock.now
                guard case .sensor(let address) = event.subject, let probe = Self.probeIndex(address.sensor) else { continue }
                feedSeen.insertIfAbsent(probe, now)
                probeOfEvent.insertIfAbsent(event.id.rawValue, probe)
            }
        }

        let stream = try SSEReader(port: httpPort, path: "/api/v1/alerts/stream")
        stream.start()

        // The reference: a plain subscriber of the probe topics, with TCP_NODELAY and QoS 1 like the service.
        let referenceSeen = SharedMap<Int, ContinuousClock.Instant>()
        var referenceConfiguration = broker.clientConfiguration(clientID: "bench-reference", cleanSession: true, protocolVersion: .v5)
        referenceConfiguration.tcpNoDelay = true
        referenceConfiguration.receiveMaximum = 1000
        let reference = try MosquittoClient(configuration: referenceConfiguration, onMessage: { message in
            let now = ContinuousClock.now
            let topic = message.topicString()
            guard let slash = topic.lastIndex(of: "/"), let probe = Self.probeIndex(topic[topic.index(after: slash)...]) else { return }
            referenceSeen.insertIfAbsent(probe, now)
        })
        try reference.subscribe("streetsense/v1/readings/probe/+", qos: .atLeastOnce)
        try reference.start()
        try await reference.waitUntilConnected(timeout: .seconds(10))
        try await reference.waitForSubscriptions(timeout: .seconds(10))

        var publisherConfiguration = broker.clientConfiguration(clientID: "bench-load", cleanSession: true, protocolVersion: .v5)
        publisherConfiguration.maxInflightMessages = 1000
        publisherConfiguration.tcpNoDelay = true
        let publisher = try MosquittoClient(configuration: publisherConfiguration)
        try publisher.start()
        try await publisher.waitUntilConnected(timeout: .seconds(10))
        var probeConfiguration = broker.clientConfiguration(clientID: "bench-probes", cleanSession: true, protocolVersion: .v5)
        probeConfiguration.maxInflightMessages = 1000
        probeConfiguration.tcpNoDelay = true
        let probePublisher = try MosquittoClient(configuration: probeConfiguration)
        try probePublisher.start()
        try await probePublisher.waitUntilConnected(timeout: .seconds(10))
        // Let the SSE subscription and the first snapshots settle.
        try await Task.sleep(for: .milliseconds(500))

        let poller = commitPollMilliseconds > 0
            ? CommitPoller(store: service.store, period: commitPollMilliseconds, writerStatistics: { service.writerStatistics }) : nil
        poller?.start()

        let loadBefore = loadAverages()
        let pacing = PublisherPacing(
            rate: rate, probesPerSecond: probesPerSecond, seconds: seconds + warmUpSeconds, warmUpSeconds: warmUpSeconds,
            cameras: cameras.count, probes: probeCount, window: window)
        let outcome = try await pacing.run(load: publisher, probes: probePublisher)
        let publishingEnded = ContinuousClock.now
        try await publisher.waitForAcknowledgements(timeout: .seconds(60))
        try await probePublisher.waitForAcknowledgements(timeout: .seconds(60))
        let acknowledgementLag = publishingEnded.duration(to: .now)
        let loadAfter = loadAverages()

        // Drain: every probe through every path (or a timeout, which the report shows as missing samples).
        let drainDeadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < drainDeadline {
            let done = stream.receivedCount >= probeCount && referenceSeen.count >= probeCount
                && (poller?.committed.count ?? probeCount) >= probeCount
                && service.snapshots.snapshot().totals.messages >= outcome.messagesSent
            if done { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        poller?.stop()
        publisher.stop()
        probePublisher.stop()
        reference.stop()
        stream.stop()
        subscription.cancel()
        _ = await feedTask.value
        let processed = service.snapshots.snapshot().totals.messages
        let batchesCommitted = service.writerStatistics.batchesCommitted
        await service.shutdown()
        _ = try? await serviceTask.value
        try await broker.stop()

        let received = stream.receivedAt
        let references = referenceSeen.all
        let feeds = feedSeen.all
        let eventProbes = probeOfEvent.all
        var committedByProbe: [Int: ContinuousClock.Instant] = [:]
        for (id, at) in poller?.committed.all ?? [:] {
            if let probe = eventProbes[id] { committedByProbe[probe] = at }
        }
        var referenceLatencies: [Duration] = [], feedLatencies: [Duration] = [], sseLatencies: [Duration] = []
        var committedLatencies: [Duration] = [], pipelineStage: [Duration] = [], sseStage: [Duration] = []
        var serviceStage: [Duration] = []
        for (probe, sentAt) in outcome.probeSentAt.enumerated() where probe >= warmUpProbes {
            guard let sentAt else { continue }
            let referenceAt = references[probe], feedAt = feeds[probe], sseAt = received["probe/air-\(probe)"]
            if let referenceAt { referenceLatencies.append(sentAt.duration(to: referenceAt)) }
            if let feedAt { feedLatencies.append(sentAt.duration(to: feedAt)) }
            if let sseAt { sseLatencies.append(sentAt.duration(to: sseAt)) }
            if let at = committedByProbe[probe] { committedLatencies.append(sentAt.duration(to: at)) }
            if let referenceAt, let feedAt { pipelineStage.append(referenceAt.duration(to: feedAt)) }
            if let feedAt, let sseAt { sseStage.append(feedAt.duration(to: sseAt)) }
            if let referenceAt, let sseAt { serviceStage.append(referenceAt.duration(to: sseAt)) }
        }
        return Result(
            probesMeasured: outcome.probeSentAt.dropFirst(warmUpProbes).count(where: { $0 != nil }),
            reference: LatencySamples(referenceLatencies), feed: LatencySamples(feedLatencies), sse: LatencySamples(sseLatencies),
            committed: LatencySamples(committedLatencies), pipelineStage: LatencySamples(pipelineStage),
            sseStage: LatencySamples(sseStage), serviceStage: LatencySamples(serviceStage),
            commits: LatencySamples(Array(poller?.commitDurations.all.values ?? [:].values)),
            batchesCommitted: batchesCommitted, messagesSent: outcome.messagesSent, elapsed: outcome.elapsed,
            measuredMessages: outcome.measuredMessages, measuredElapsed: outcome.measuredElapsed, lateSlots: outcome.lateSlots,
            totalSlots: outcome.totalSlots, maximumUnacknowledged: outcome.maximumUnacknowledged, heldBack: outcome.heldBack,
            acknowledgementLag: acknowledgementLag, messagesProcessed: processed, loadAverageBefore: loadBefore, loadAverageAfter: loadAfter)
    }

    /// `air-12` → 12.
    static func probeIndex(_ sensor: some StringProtocol) -> Int? {
        guard sensor.hasPrefix("air-") else { return nil }
        return Int(sensor.dropFirst(4))
    }
}

/// The publishers' thread: `rate` messages per second in 1 ms slots, of which `probesPerSecond` are probes,
/// one every `1000 / probesPerSecond` slots in the middle of its slot's load. A slot that starts late is caught
/// up at once (the number of late slots is reported).
///
/// Probes go through a client of their own, so a probe never waits in the load client's queue. The load is
/// closed-loop when `window` > 0: a load message is sent only while fewer than `window` are unacknowledged by
/// the broker, otherwise it stays due for a later slot. A broker that cannot keep up then slows the load
/// (the achieved rate says by how much) instead of piling it up in the publishing client, where it would be
/// measured as the broker's latency.
struct PublisherPacing: Sendable {
    let rate: Int
    let probesPerSecond: Int
    let seconds: Int
    let warmUpSeconds: Int
    let cameras: Int
    let probes: Int
    let window: Int

    struct Outcome: Sendable {
        /// Per probe, the instant right before its `publish` call.
        var probeSentAt: [ContinuousClock.Instant?]
        var messagesSent: Int
        var elapsed: Duration
        /// Messages and time after the warm-up.
        var measuredMessages: Int
        var measuredElapsed: Duration
        var lateSlots: Int
        var totalSlots: Int
        /// The most load messages the broker had not acknowledged yet, sampled once per slot.
        var maximumUnacknowledged: Int
        /// Load messages that were due by the end but never sent (the window was full).
        var heldBack: Int
    }

    func run(load: MosquittoClient, probes probeClient: MosquittoClient) async throws -> Outcome {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Outcome, any Error>) in
            let thread = Thread {
                do {
                    continuation.resume(returning: try publish(load: load, probes: probeClient))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = "bench-publisher"
            thread.start()
        }
    }

    private func publish(load: MosquittoClient, probes probeClient: MosquittoClient) throws -> Outcome {
        let clock = ContinuousClock()
        let totalSlots = seconds * 1000
        let warmUpSlots = warmUpSeconds * 1000
        let probeEvery = max(1, 1000 / probesPerSecond)
        let loadRate = Int64(rate - probesPerSecond)
        var probeSentAt = [ContinuousClock.Instant?](repeating: nil, count: probes)
        var loadSent = 0, probe = 0, lateSlots = 0, sentAtWarmUpEnd = 0, maximumUnacknowledged = 0, loadDue = 0
        var warmUpEnd = clock.now
        var t = ""

        func sendLoad(_ count: Int, slot: Int) throws {
            for k in 0..<count {
                if window > 0 && load.unacknowledgedPublishCount >= window { return }
                let camera = loadSent % cameras
                let payload = Array(#"{"t": \#(t), "people": \#(100 + (slot + k) % 50)}"#.utf8)
                _ = try load.publish(topic: "streetsense/v1/readings/bench/cam-\(camera)", payload: payload, qos: .atLeastOnce)
                loadSent += 1
            }
        }

        let start = clock.now
        for slot in 0..<totalSlots {
            if waitForSlot(Int64(slot), after: start) { lateSlots += 1 }
            if slot == warmUpSlots {
                warmUpEnd = clock.now
                sentAtWarmUpEnd = loadSent + probe
            }
            maximumUnacknowledged = max(maximumUnacknowledged, load.unacknowledgedPublishCount)
            t = String(format: "%.3f", Date().timeIntervalSince1970)
            loadDue = Int(loadRate * Int64(slot + 1) / 1000)
            let first = (loadDue - loadSent) / 2
            try sendLoad(first, slot: slot)
            if slot % probeEvery == 0 && probe < probes {
                let payload = Array(#"{"t": \#(t), "pm2_5": 999.9}"#.utf8)
                let topic = "streetsense/v1/readings/probe/air-\(probe)"
                let sentAt = clock.now
                _ = try probeClient.publish(topic: topic, payload: payload, qos: .atLeastOnce)
                probeSentAt[probe] = sentAt
                probe += 1
            }
            try sendLoad(loadDue - loadSent, slot: slot)
        }
        let end = clock.now
        let sent = loadSent + probe
        return Outcome(
            probeSentAt: probeSentAt, messagesSent: sent, elapsed: start.duration(to: end), measuredMessages: sent - sentAtWarmUpEnd,
            measuredElapsed: warmUpEnd.duration(to: end), lateSlots: lateSlots, totalSlots: totalSlots,
            maximumUnacknowledged: maximumUnacknowledged, heldBack: loadDue - loadSent)
    }
}

/// A dictionary shared between threads; the first value stored for a key stays.
final class SharedMap<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let entries = Mutex<[Key: Value]>([:])

    func insertIfAbsent(_ key: Key, _ value: Value) {
        entries.withLock { if $0[key] == nil { $0[key] = value } }
    }

    var count: Int { entries.withLock { $0.count } }
    var all: [Key: Value] { entries.withLock { $0 } }
}

/// Polls the store's newest alert event id every `period` ms on its own thread (its own reader connection)
/// and records when each event id was first seen committed.
///
/// It also samples the writer's statistics at the same rate: each commit's duration (the writer's own
/// measurement of `store.write`), so a slow commit can be told from a late hand-over.
final class CommitPoller: Sendable {
    private let store: SQLiteStore
    private let period: Int
    private let writerStatistics: @Sendable () -> StoreWriter.Statistics
    private let running = Atomic<Bool>(true)
    private let done = DispatchSemaphore(value: 0)
    /// Event id → when it was first seen committed.
    let committed = SharedMap<Int64, ContinuousClock.Instant>()
    /// Batch number → its commit's duration (only batches the 1 ms sampling saw as the latest).
    let commitDurations = SharedMap<Int, Duration>()

    init(store: SQLiteStore, period: Int, writerStatistics: @escaping @Sendable () -> StoreWriter.Statistics) {
        self.store = store
        self.period = period
        self.writerStatistics = writerStatistics
    }

    func start() {
        let thread = Thread { [self] in
            var last: Int64 = 0
            var lastBatch = writerStatistics().batchesCommitted
            while running.load(ordering: .relaxed) {
                if let newest = try? store.lastAlertEventID()?.rawValue, newest > last {
                    let now = ContinuousClock.now
                    for id in (last + 1)...newest { committed.insertIfAbsent(id, now) }
                    last = newest
                }
                let statistics = writerStatistics()
                if statistics.batchesCommitted > lastBatch {
                    lastBatch = statistics.batchesCommitted
                    commitDurations.insertIfAbsent(lastBatch, .nanoseconds(Int64(statistics.lastCommitSeconds * 1e9)))
                }
                usleep(UInt32(period * 1000))
            }
            done.signal()
        }
        thread.name = "commit-poller"
        thread.start()
    }

    /// Stops polling and waits for the thread.
    func stop() {
        running.store(false, ordering: .relaxed)
        done.wait()
    }
}
