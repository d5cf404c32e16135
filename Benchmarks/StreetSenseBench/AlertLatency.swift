import Foundation
import Logging
import Mosquitto
import MosquittoBroker
import StreetSenseApp
import StreetSenseConfig
import StreetSenseCore
import StreetSensePipeline
import Synchronization

/// Publish → SSE latency of alert transitions while the service ingests a steady load.
///
/// A real mosquitto, the real service (same `StreetSenseService` as production, SQLite in a temporary folder),
/// and one SSE client on `/api/v1/alerts/stream`. A publisher sends `rate` messages per second of ordinary
/// people counts; among them, `probes` per second are an SDS011 error code (PM2.5 999.9) from an air sensor
/// that has no alert yet, which raises a `sensor_faulty` alert at once. The latency of a probe is the time
/// from just before its `publish` call to the moment the SSE client has read the event's `data:` line.
struct AlertLatencyBenchmark {
    var rate = 10_000
    var probesPerSecond = 100
    var seconds = 20
    var warmUpSeconds = 2

    struct Result {
        var latencies: [Duration]
        var probesSent: Int
        var messagesSent: Int
        var messagesProcessed: Int
        var elapsed: Duration
    }

    func run() async throws -> Result {
        let broker = try await LocalBroker.start()
        let directory = NSTemporaryDirectory() + "streetsense-bench-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let probeCount = probesPerSecond * (seconds + warmUpSeconds)
        let zones = (0..<20).map { ZoneDefinition(id: "zone-\($0)", name: "Zone \($0)", areaM2: 5000) }
        let cameras = (0..<200).map {
            SensorDefinition(address: .init(pilot: "bench", sensor: "cam-\($0)"), zone: "zone-\($0 % 20)", kind: .occupancy, coveredM2: 1000)
        }
        let stations = (0..<probeCount).map {
            SensorDefinition(address: .init(pilot: "bench", sensor: "air-\($0)"), zone: "zone-\($0 % 20)", kind: .air)
        }
        let configuration = StreetSenseConfiguration(
            mqtt: MQTTSettings(url: "mqtt://127.0.0.1:\(broker.port)", port: broker.port, clientID: "streetsense-bench", protocolVersion: .v5),
            store: StoreSettings(sqlitePath: directory + "/streetsense.sqlite"),
            http: HTTPSettings(listen: "127.0.0.1:0", port: 0),
            zones: zones, sensors: cameras + stations)
        var logger = Logger(label: "streetsense-bench")
        logger.logLevel = .error
        let service = try StreetSenseService(configuration: configuration, logger: logger)
        let ready = AsyncStream<Int>.makeStream()
        let serviceTask = Task { try await service.run(gracefulShutdownSignals: [], onHTTPReady: { ready.continuation.yield($0) }) }
        var httpPort = 0
        for await port in ready.stream {
            httpPort = port
            break
        }
        let connectDeadline = ContinuousClock.now + .seconds(10)
        while !service.brokerConnected, ContinuousClock.now < connectDeadline { try await Task.sleep(for: .milliseconds(20)) }

        let stream = try SSEReader(port: httpPort, path: "/api/v1/alerts/stream")
        stream.start()
        try await Task.sleep(for: .milliseconds(200))

        var clientConfiguration = broker.clientConfiguration(clientID: "bench-publisher", cleanSession: true, protocolVersion: .v5)
        clientConfiguration.maxInflightMessages = 1000
        let publisher = try MosquittoClient(configuration: clientConfiguration)
        try publisher.start()
        try await publisher.waitUntilConnected(timeout: .seconds(5))

        // Pace in 1 ms slots: `rate / 1000` messages per slot, a probe every `1000 / probesPerSecond` slots.
        let perSlot = max(1, rate / 1000)
        let probeEvery = max(1, 1000 / probesPerSecond)
        let totalSlots = (seconds + warmUpSeconds) * 1000
        let warmUpSlots = warmUpSeconds * 1000
        var sent = 0
        var probe = 0
        var probeSentAt: [Int: ContinuousClock.Instant] = [:]
        let clock = ContinuousClock()
        let start = clock.now
        for slot in 0..<totalSlots {
            let slotStart = start + .milliseconds(slot)
            if clock.now < slotStart { try await clock.sleep(until: slotStart) }
            let nowMs = EventTime.wallClock.milliseconds
            let t = String(format: "%.3f", Double(nowMs) / 1000)
            for k in 0..<perSlot {
                let camera = (slot * perSlot + k) % cameras.count
                let payload = #"{"t": \#(t), "people": \#(100 + (slot + k) % 50)}"#
                _ = try publisher.publish(topic: "streetsense/v1/readings/bench/cam-\(camera)", payload: Array(payload.utf8), qos: .atLeastOnce)
                sent += 1
            }
            if slot % probeEvery == 0, probe < probeCount {
                let payload = Array(#"{"t": \#(t), "pm2_5": 999.9}"#.utf8)
                let sentAt = clock.now
                _ = try publisher.publish(topic: "streetsense/v1/readings/bench/air-\(probe)", payload: payload, qos: .atLeastOnce)
                if slot >= warmUpSlots { probeSentAt[probe] = sentAt }
                probe += 1
                sent += 1
            }
        }
        let elapsed = start.duration(to: clock.now)
        try await publisher.waitForAcknowledgements(timeout: .seconds(30))
        let drainDeadline = clock.now + .seconds(10)
        while stream.receivedCount < probe, clock.now < drainDeadline { try await Task.sleep(for: .milliseconds(20)) }
        publisher.stop()
        stream.stop()
        let processed = service.snapshots.snapshot().totals.messages
        await service.shutdown()
        _ = try? await serviceTask.value
        try await broker.stop()

        let received = stream.receivedAt
        var latencies: [Duration] = []
        for (index, sentAt) in probeSentAt {
            if let at = received["bench/air-\(index)"] { latencies.append(sentAt.duration(to: at)) }
        }
        return Result(latencies: latencies.sorted(), probesSent: probeSentAt.count, messagesSent: sent, messagesProcessed: processed, elapsed: elapsed)
    }
}

extension EventTime {
    /// The wall clock, in milliseconds.
    static var wallClock: EventTime { EventTime(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded())) }
}

/// A minimal blocking Server-Sent Events client on its own thread: it records when the first event about each
/// subject arrived. Only what the benchmark needs: HTTP/1.1 GET, then lines.
final class SSEReader: @unchecked Sendable {
    // @unchecked: `descriptor` is set once in init; the maps are behind `state`.
    private let descriptor: Int32
    private let state = Mutex<(received: [String: ContinuousClock.Instant], count: Int)>(([:], 0))
    private let stopped = Atomic<Bool>(false)

    init(port: Int, path: String) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(fd); throw BenchError("cannot connect to 127.0.0.1:\(port)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        descriptor = fd
    }

    var receivedCount: Int { state.withLock { $0.count } }
    var receivedAt: [String: ContinuousClock.Instant] { state.withLock { $0.received } }

    func start() {
        let thread = Thread { [self] in readLoop() }
        thread.name = "sse-reader"
        thread.start()
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        shutdown(descriptor, Int32(SHUT_RDWR))
    }

    private func readLoop() {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var line: [UInt8] = []
        let marker = Array(#""subject":"sensor/"#.utf8)
        while !stopped.load(ordering: .relaxed) {
            let n = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            let now = ContinuousClock.now
            for byte in buffer[0..<n] {
                guard byte == UInt8(ascii: "\n") else {
                    line.append(byte)
                    continue
                }
                if line.starts(with: Array("data:".utf8)), let range = firstRange(of: marker, in: line) {
                    let rest = line[range.upperBound...]
                    if let end = rest.firstIndex(of: UInt8(ascii: "\"")) {
                        let subject = String(decoding: rest[..<end], as: UTF8.self)
                        state.withLock {
                            if $0.received[subject] == nil { $0.received[subject] = now }
                            $0.count += 1
                        }
                    }
                }
                line.removeAll(keepingCapacity: true)
            }
        }
        close(descriptor)
    }

    private func firstRange(of needle: [UInt8], in haystack: [UInt8]) -> Range<Int>? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<(i + needle.count)]) == needle { return i..<(i + needle.count) }
        }
        return nil
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
