import StreetSenseCore
import StreetSenseHTTP
import Synchronization

/// 2026-11-22T10:00:00Z, on a whole hour.
let t0 = EventTime(milliseconds: 1_795_341_600_000)

func at(_ seconds: Double) -> EventTime { t0 + .milliseconds(Int64(seconds * 1000)) }

/// A small testbed: two covered zones and one without sensors.
enum Testbed {
    /// The outline of the square, [longitude, latitude], closed.
    static let squareRing: [[Double]] = [[24.9344, 60.1688], [24.9353, 60.16872], [24.93545, 60.16925], [24.93455, 60.16933], [24.9344, 60.1688]]
    static let square = ZoneDefinition(id: "kamppi-square", name: "Kamppi square", areaM2: 1200, polygon: squareRing)
    static let park = ZoneDefinition(
        id: "esplanadi", name: "Esplanadi", areaM2: 5000, levels: DensityLevels(elevated: 2, high: 3, critical: 4.5))
    static let lot = ZoneDefinition(id: "empty-lot", name: "Empty lot", areaM2: 300)

    /// Inside the square; the only sensor of the testbed with a position.
    static let cameraPosition = GeoPosition(longitude: 24.93492, latitude: 60.16905)
    static let camera = SensorDefinition(
        address: .init(pilot: "helsinki-lab", sensor: "cam-01"), zone: "kamppi-square", kind: .occupancy, coveredM2: 400,
        position: cameraPosition
    )
    static let gate = SensorDefinition(address: .init(pilot: "helsinki-lab", sensor: "gate-n"), zone: "kamppi-square", kind: .flow)
    static let air = SensorDefinition(address: .init(pilot: "citizen-air", sensor: "sds-5331"), zone: "kamppi-square", kind: .air)
    static let wifi = SensorDefinition(
        address: .init(pilot: "wifi-co", sensor: "ap-7"), zone: "esplanadi", kind: .devices, factor: 0.5, coveredM2: 2000
    )
    static let silentCamera = SensorDefinition(address: .init(pilot: "helsinki-lab", sensor: "cam-02"), zone: "esplanadi", kind: .occupancy)
    static let stranger = SensorAddress(pilot: "helsinki-lab", sensor: "cam-99")

    static let zones = [square, park, lot]
    static let sensors = [camera, gate, air, wifi, silentCamera]

    /// The readings fed to the core, as (sensor, metric, value, seconds after t0).
    static let readings: [(SensorAddress, Metric, Double, Double)] = [
        (camera.address, .people, 200, 0),
        (gate.address, .peopleIn, 500, 1),
        (gate.address, .peopleOut, 100, 1),
        (stranger, .people, 5, 5),
        (air.address, .pm2_5, 12.5, 10),
        (air.address, .pm10, 20, 10),
        (wifi.address, .devices, 3000, 20),
        (camera.address, .people, 240, 30),
    ]

    /// A core fed with ``readings`` (one message per reading time and sensor), one reading rejected for its
    /// kind, one malformed message, and then advanced to 60 s.
    static func core() -> AggregationCore {
        var core = AggregationCore(zones: zones, sensors: sensors)
        var dispositions: [ReadingDisposition] = []
        var messages: [(SensorAddress, Double, [DecodedReading])] = []
        for (address, metric, value, seconds) in readings {
            let reading = DecodedReading(metric: metric, value: value, time: at(seconds))
            if let index = messages.firstIndex(where: { $0.0 == address && $0.1 == seconds }) {
                messages[index].2.append(reading)
            } else {
                messages.append((address, seconds, [reading]))
            }
        }
        for (address, seconds, readings) in messages {
            let ref = Int32(core.sensorCount)
            let index = core.index(of: address, registeringWith: ref)
            core.apply(sensor: index, readings: readings, arrival: at(seconds), dispositions: &dispositions)
        }
        // An air station cannot count people: rejected per reading (kind_mismatch).
        let airIndex = core.index(of: air.address)!
        let people = DecodedReading(metric: .people, value: 3, time: at(40))
        core.apply(sensor: airIndex, readings: [people], arrival: at(40), dispositions: &dispositions)
        core.countRejectedMessage(sensor: airIndex, reason: .malformedJSON)
        core.countRejectedMessage(sensor: nil, reason: .badTopic)
        core.advance(to: at(60))
        return core
    }

    static func snapshot() -> Snapshot { core().snapshot() }
}

/// Serves one fixed snapshot, or whatever was last published to it.
final class PublishedSnapshots: SnapshotSource {
    private let current: Mutex<Snapshot>

    init(_ snapshot: Snapshot) { current = Mutex(snapshot) }

    func publish(_ snapshot: Snapshot) { current.withLock { $0 = snapshot } }

    func currentSnapshot() -> Snapshot { current.withLock { $0 } }
}

/// An in-memory history with fixed series points and rejects, recording the calls it gets. It keeps the
/// contract of ``HistorySource`` (rejects newest first, before the cursor, at most `limit`); the real SQLite
/// store is tested in StreetSenseStoreTests.
final class InMemoryHistory: HistorySource {
    enum Call: Hashable {
        case sensorSeries(SensorAddress, Metric, from: EventTime, to: EventTime, step: Duration)
        case zoneDensitySeries(String, from: EventTime, to: EventTime, step: Duration)
        case rejects(pilot: String?, reason: RejectReason?, before: Int64?, limit: Int)
    }

    let points: [SeriesPoint]
    let records: [RejectRecord]
    private let recorded = Mutex<[Call]>([])

    init(points: [SeriesPoint] = [], records: [RejectRecord] = []) {
        self.points = points
        self.records = records.sorted { $0.id > $1.id }
    }

    var calls: [Call] { recorded.withLock { $0 } }

    func sensorSeries(_ address: SensorAddress, metric: Metric, from: EventTime, to: EventTime, step: Duration) throws -> [SeriesPoint] {
        recorded.withLock { $0.append(.sensorSeries(address, metric, from: from, to: to, step: step)) }
        return points
    }

    func zoneDensitySeries(zone: String, from: EventTime, to: EventTime, step: Duration) throws -> [SeriesPoint] {
        recorded.withLock { $0.append(.zoneDensitySeries(zone, from: from, to: to, step: step)) }
        return points
    }

    func rejects(pilot: String?, reason: RejectReason?, before cursor: Int64?, limit: Int) throws -> [RejectRecord] {
        recorded.withLock { $0.append(.rejects(pilot: pilot, reason: reason, before: cursor, limit: limit)) }
        let matching = records.filter { record in
            (pilot == nil || record.pilot == pilot) && (reason == nil || record.reason == reason) && (cursor.map { record.id < $0 } ?? true)
        }
        return Array(matching.prefix(limit))
    }
}

/// A history whose every read fails, as a store with a broken disk would.
struct FailingHistory: HistorySource {
    struct StoreUnavailable: Error {}

    func sensorSeries(_ address: SensorAddress, metric: Metric, from: EventTime, to: EventTime, step: Duration) throws -> [SeriesPoint] {
        throw StoreUnavailable()
    }

    func zoneDensitySeries(zone: String, from: EventTime, to: EventTime, step: Duration) throws -> [SeriesPoint] {
        throw StoreUnavailable()
    }

    func rejects(pilot: String?, reason: RejectReason?, before cursor: Int64?, limit: Int) throws -> [RejectRecord] {
        throw StoreUnavailable()
    }
}

/// Fixed readiness checks.
struct FixedReadiness: ReadinessProbe {
    var checks: [ReadinessCheck]

    func readiness() -> [ReadinessCheck] { checks }
}

extension APIServices {
    static func testbed(
        snapshots: any SnapshotSource = PublishedSnapshots(Testbed.snapshot()), history: any HistorySource = InMemoryHistory(),
        readiness: [ReadinessCheck] = [ReadinessCheck(name: "broker", ok: true, detail: "connected")]
    ) -> APIServices {
        APIServices(snapshots: snapshots, history: history, readiness: FixedReadiness(checks: readiness))
    }
}
