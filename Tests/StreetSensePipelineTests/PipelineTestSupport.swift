import Foundation
import Logging
import StreetSenseCore
import StreetSensePipeline
import StreetSenseStore
import Synchronization
import Testing

/// A logger that writes nothing, so that `swift test` output stays standard.
let quietLogger = Logger(label: "streetsense.pipeline-tests", factory: { _ in SwiftLogNoOpLogHandler() })

/// 2026-11-22T10:00:00Z: a multiple of one hour (so of one minute and of 5 s).
let t0 = EventTime(milliseconds: 1_795_341_600_000)

/// `t0` plus a number of seconds.
func at(_ seconds: Double) -> EventTime { t0 + .milliseconds(Int64((seconds * 1000).rounded())) }

// MARK: A small registry

let square = ZoneDefinition(id: "kamppi-square", name: "Kamppi square", areaM2: 1200)
let park = ZoneDefinition(id: "esplanadi", name: "Esplanadi", areaM2: 5000)
let camera = SensorDefinition(address: .init(pilot: "helsinki-lab", sensor: "cam-01"), zone: "kamppi-square", kind: .occupancy, coveredM2: 400)
let gate = SensorDefinition(address: .init(pilot: "helsinki-lab", sensor: "gate-n"), zone: "kamppi-square", kind: .flow)
let air = SensorDefinition(address: .init(pilot: "citizen-air", sensor: "sds-5331"), zone: "kamppi-square", kind: .air)
let parkCamera = SensorDefinition(address: .init(pilot: "helsinki-lab", sensor: "cam-espa"), zone: "esplanadi", kind: .occupancy, factor: 1.5, coveredM2: 1000)
let testZones = [square, park]
let testSensors = [camera, gate, air, parkCamera]

/// Store records as `syncRegistry` returns them: registered sensors with refs 10, 11, 12, 13 and one
/// unregistered sensor seen before, with ref 40.
let knownStranger = SensorAddress(pilot: "guest", sensor: "old-cam")
let testRecords: [SensorRecord] =
    testSensors.enumerated().map { i, s in
        SensorRecord(ref: Int32(10 + i), address: s.address, zone: s.zone, kind: s.kind, registered: true, firstSeen: nil, lastSeen: nil)
    } + [SensorRecord(ref: 40, address: knownStranger, zone: nil, kind: nil, registered: false, firstSeen: t0 - .seconds(3600), lastSeen: t0 - .seconds(3600))]

func ref(of address: SensorAddress) -> Int32 { testRecords.first { $0.address == address }!.ref }

func topic(_ address: SensorAddress, prefix: String = "streetsense/v1") -> String {
    "\(prefix)/readings/\(address.pilot)/\(address.sensor)"
}

/// A native JSON payload with an RFC 3339 time.
func native(_ time: EventTime, _ values: [(String, String)]) -> String {
    "{\"t\":\"\(time.rfc3339)\"," + values.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
}

// MARK: Collecting store batches

/// Collects what a pipeline delivers to the store.
final class DeliveredBatches: Sendable {
    private let batches = Mutex<[StoreBatch]>([])

    var all: [StoreBatch] { batches.withLock { $0 } }
    var readings: [StoredReading] { all.flatMap(\.readings) }
    var rejects: [StoredReject] { all.flatMap(\.rejects) }
    var rollups: [RollupRecord] { all.flatMap(\.rollups) }
    var zoneRollups: [ZoneRollupRecord] { all.flatMap(\.zoneRollups) }
    var sensors: [SensorRecord] { all.flatMap(\.sensors) }
    var flowCounters: [FlowCounterState] { all.flatMap(\.flowCounters) }

    func append(_ batch: StoreBatch) { batches.withLock { $0.append(batch) } }
    func removeAll() { batches.withLock { $0.removeAll() } }
}

/// A pipeline on the test registry that runs on event time alone and hands its store batches to `delivered`.
func makePipeline(
    delivered: DeliveredBatches, zones: [ZoneDefinition] = testZones, sensors: [SensorDefinition] = testSensors,
    records: [SensorRecord] = testRecords, storeBatchRows: Int = 10_000, payloadLimit: Int = 65_536
) throws -> Pipeline {
    try Pipeline(
        zones: zones, sensors: sensors, records: records,
        options: PipelineOptions(payloadLimit: payloadLimit, storeBatchRows: storeBatchRows, storeBatchInterval: .seconds(3600), followsWallClock: false),
        logger: quietLogger, deliver: { delivered.append($0) })
}

extension Pipeline {
    /// Processes one message given as strings, arriving at `arrival` (the message's own time if nil).
    func send(_ topic: String, _ payload: String, arrival: EventTime) {
        send(topic, Array(payload.utf8), arrival: arrival)
    }

    func send(_ topic: String, _ payload: [UInt8], arrival: EventTime) {
        let topicBytes = Array(topic.utf8)
        process(topic: topicBytes.span, payload: payload.span, payloadSize: payload.count, arrival: arrival)
    }

    /// Sends one native reading of one sensor, stamped and arriving at `time`.
    func send(_ sensor: SensorDefinition, _ time: EventTime, _ values: [(String, String)]) {
        send(topic(sensor.address), native(time, values), arrival: time)
    }
}

// MARK: Threads

/// Runs `body` on a new thread; `wait(timeout:)` says whether it finished in time.
final class TestThread: Sendable {
    private let finished = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () -> Void) {
        let finished = self.finished
        let thread = Thread {
            body()
            finished.signal()
        }
        thread.start()
    }

    /// Waits up to `timeout` for the thread to finish.
    func wait(timeout: Duration = .seconds(5)) -> Bool {
        finished.wait(timeout: .now() + .milliseconds(Int(timeout.wholeMilliseconds))) == .success
    }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(5), _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.001)
    }
    return condition()
}

// MARK: Temporary directories and deterministic randomness

/// A fresh directory under the system temporary directory, removed by ``remove()``.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("streetsense-pipeline-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// SplitMix64, so that randomised tests are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
