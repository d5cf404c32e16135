import Logging
import StreetSenseCore
import StreetSenseDecoding
import StreetSensePipeline
import StreetSenseSimulation
import StreetSenseStore
import Testing

/// 2026-11-22T10:00:00Z: a multiple of the 20-minute cycle, so phase 0 of the surge.
private let cycleStart = EventTime(milliseconds: 1_795_341_600_000)

private func sensor(_ pilot: String, _ id: String, _ zone: String, _ kind: SensorKind, factor: Double = 1, covered: Double? = nil) -> SensorDefinition {
    SensorDefinition(address: SensorAddress(pilot: pilot, sensor: id), zone: zone, kind: kind, factor: factor, coveredM2: covered)
}

/// A festival of four zones: the surge zone is counted by two cameras and a Wi-Fi counter; one quiet zone
/// by flow gates, one by a camera, one by air stations only.
private let festivalZones = [
    ZoneDefinition(id: "main-stage", name: "Main stage", areaM2: 2400),
    ZoneDefinition(id: "market", name: "Market", areaM2: 3000),
    ZoneDefinition(id: "gates", name: "Gates", areaM2: 1500),
    ZoneDefinition(id: "picnic", name: "Picnic lawn", areaM2: 5000),
]
private let festivalSensors = [
    sensor("fest", "cam-stage-1", "main-stage", .occupancy, covered: 800),
    sensor("fest", "cam-stage-2", "main-stage", .occupancy, factor: 1.1, covered: 600),
    sensor("fest", "wifi-stage", "main-stage", .devices, factor: 0.6, covered: 2400),
    sensor("fest", "air-stage", "main-stage", .air),
    sensor("fest", "cam-market", "market", .occupancy, covered: 1000),
    sensor("fest", "gate-east", "gates", .flow),
    sensor("fest", "gate-west", "gates", .flow),
    sensor("city-air", "sds-1", "picnic", .air),
    sensor("fest", "ble-picnic", "picnic", .devices, factor: 0.45, covered: 5000),
]

private let quietLogger = Logger(label: "streetsense.simulation-tests", factory: { _ in SwiftLogNoOpLogHandler() })

/// Feeds one scenario through a real pipeline on event time, `step` at a time, and records a snapshot after
/// each step.
private func run(_ scenario: FestivalScenario, from start: EventTime, through end: EventTime, step: Duration = .seconds(5))
    throws -> (snapshots: [Snapshot], rejects: [StoredReject], readings: Int)
{
    var rejects: [StoredReject] = []
    var readings = 0
    let pipeline = try Pipeline(
        zones: scenario.zones, sensors: scenario.sensors, records: [], options: PipelineOptions(followsWallClock: false),
        logger: quietLogger, deliver: { batch in
            rejects += batch.rejects
            readings += batch.readings.count
        })
    var snapshots: [Snapshot] = []
    var from = start
    while from < end {
        let to = min(from + step, end)
        var batch = MessageBatch()
        for (time, message) in scenario.messages(after: from, through: to) {
            batch.append(topic: Array(message.topic.utf8), payload: Array(message.payload.utf8), arrival: time, payloadLimit: 65_536)
        }
        pipeline.process(batch)
        snapshots.append(pipeline.snapshot())
        from = to
    }
    pipeline.flush(final: true)
    return (snapshots, rejects, readings)
}

private func phase(_ snapshot: Snapshot, _ scenario: FestivalScenario) -> Double {
    let cycle = scenario.cycle.wholeMilliseconds
    return Double((snapshot.asOf.milliseconds - cycleStart.milliseconds) % cycle) / Double(cycle)
}

@Suite("FestivalScenario: deterministic festival traffic")
struct FestivalScenarioTests {
    let scenario = FestivalScenario(zones: festivalZones, sensors: festivalSensors, seed: 42)

    @Test("the same seed and time range give the same messages byte for byte; another seed does not")
    func determinism() {
        let from = cycleStart, to = cycleStart + .seconds(300)
        let first = scenario.messages(after: from, through: to)
        let again = FestivalScenario(zones: festivalZones, sensors: festivalSensors, seed: 42).messages(after: from, through: to)
        #expect(first.count == festivalSensors.count * 60)
        #expect(first.map(\.0) == again.map(\.0))
        #expect(first.map { Array($0.1.topic.utf8) } == again.map { Array($0.1.topic.utf8) })
        #expect(first.map { Array($0.1.payload.utf8) } == again.map { Array($0.1.payload.utf8) })

        // Split into two ranges, the messages are the same as in one.
        let halves = scenario.messages(after: from, through: from + .milliseconds(123_456))
            + scenario.messages(after: from + .milliseconds(123_456), through: to)
        #expect(halves.map(\.1).sorted { ($0.topic, $0.payload) < ($1.topic, $1.payload) }
            == first.map(\.1).sorted { ($0.topic, $0.payload) < ($1.topic, $1.payload) })

        let other = FestivalScenario(zones: festivalZones, sensors: festivalSensors, seed: 43).messages(after: from, through: to)
        #expect(other.map(\.0) == first.map(\.0))  // the schedule does not depend on the seed …
        let differing = zip(other, first).filter { $0.0.1.payload != $0.1.1.payload }.count
        #expect(differing > first.count / 2)  // … the values do
    }

    @Test("every sensor publishes every 5 s at its own phase, in time order, on its own topic")
    func schedule() {
        let messages = scenario.messages(after: cycleStart, through: cycleStart + .seconds(60))
        #expect(messages.count == festivalSensors.count * 12)
        #expect(zip(messages, messages.dropFirst()).allSatisfy { $0.0.0 <= $0.1.0 })
        for (i, definition) in festivalSensors.enumerated() {
            let topic = "streetsense/v1/readings/\(definition.address.pilot)/\(definition.address.sensor)"
            let times = messages.filter { $0.1.topic == topic }.map(\.0.milliseconds)
            let offset = Int64(i) * 997 % 5000
            #expect(times == (0..<12).map { cycleStart.milliseconds + offset + ($0 + (offset == 0 ? 1 : 0)) * 5000 }, "\(topic)")
        }
    }

    @Test("every message of a whole cycle decodes with the real PayloadDecoder, without a single reject")
    func everyMessageDecodes() throws {
        let decoder = PayloadDecoder()
        let topics = try ReadingTopic(prefix: "streetsense/v1")
        var output = DecodeOutput()
        var readings = 0
        var problems: [String] = []
        for (time, message) in scenario.messages(after: cycleStart, through: cycleStart + scenario.cycle) {
            let topicBytes = Array(message.topic.utf8), payload = Array(message.payload.utf8)
            output.reset()
            do throws(Reject) {
                let address = try topics.address(topicBytes.span)
                try decoder.decode(payload.span, sensor: address, arrival: time, into: &output)
                for reject in output.rejects { problems.append("\(message.payload): \(reject.reason.rawValue) \(reject.detail)") }
                if output.readings.contains(where: { $0.time != time }) { problems.append("\(message.payload): time is not \(time)") }
                readings += output.readings.count
            } catch {
                problems.append("\(message.topic) \(message.payload): \(error.reason.rawValue) \(error.detail)")
            }
        }
        #expect(problems.isEmpty, "\(problems.prefix(5))")
        // Per cycle (240 messages each): five cameras and counters 1 reading each, two air stations 3, two gates 2.
        #expect(readings == 240 * (5 * 1 + 2 * 3 + 2 * 2))
    }

    @Test("through a real pipeline, the surge zone crosses elevated, high and critical, then returns to normal")
    func surgeThroughThePipeline() throws {
        let (snapshots, rejects, readings) = try run(scenario, from: cycleStart, through: cycleStart + scenario.cycle)
        #expect(rejects.isEmpty, "\(rejects.prefix(3).map { "\($0.reason.rawValue): \($0.detail)" })")
        #expect(readings == 240 * 15)
        #expect(snapshots.count == 240)
        #expect(scenario.surgeZone == "main-stage")

        func level(atPhase p: Double) -> (DensityLevel, Double?) {
            let snapshot = snapshots.first { phase($0, scenario) >= p }!
            let zone = snapshot.zone(id: "main-stage")!
            return (zone.level, zone.densityPPM2)
        }
        // Target densities: 0.8 → 5.6 over the first half, held to 65 %, back to 0.8 by 90 %.
        let expectations: [(Double, DensityLevel)] = [
            (0.02, .normal),  // 0.99 p/m²
            (0.23, .elevated),  // 3.01
            (0.36, .high),  // 4.26
            (0.55, .critical),  // 5.6
            (0.64, .critical),  // 5.6
            (0.72, .high),  // 4.26
            (0.785, .elevated),  // 3.0
            (0.95, .normal),  // 0.8
        ]
        for (p, expected) in expectations {
            let (actual, density) = level(atPhase: p)
            #expect(actual == expected, "phase \(p): density \(density.map { "\($0)" } ?? "nil")")
        }
        // The whole hold is critical, the surge peaks above 5 p/m², and the cycle ends calm.
        let hold = snapshots.filter { (0.505..<0.645).contains(phase($0, scenario)) }
        #expect(hold.count > 30)
        #expect(hold.allSatisfy { $0.zone(id: "main-stage")?.level == .critical })
        #expect(snapshots.last?.zone(id: "main-stage")?.level == .normal)
        // Levels rise through each band in order and fall back through them.
        var visited: [DensityLevel] = []
        for snapshot in snapshots {
            let level = snapshot.zone(id: "main-stage")!.level
            if visited.last != level { visited.append(level) }
        }
        #expect(visited.firstIndex(of: .elevated)! < visited.firstIndex(of: .high)!)
        #expect(visited.firstIndex(of: .high)! < visited.firstIndex(of: .critical)!)
        #expect(visited.last == .normal)

        // The other zones breathe gently: always measured, never elevated.
        for id in ["market", "gates", "picnic"] {
            let levels = snapshots.dropFirst(2).map { $0.zone(id: id)!.level }
            #expect(levels.allSatisfy { $0 == .normal }, "\(id)")
            let maximum = snapshots.compactMap { $0.zone(id: id)?.densityPPM2 }.max() ?? 0
            #expect(maximum < 2.5, "\(id)")
        }
        // Every zone but the gates (which start from an empty count) tracks its target within 15 %.
        for snapshot in snapshots.dropFirst(2) {
            for id in ["main-stage", "market", "picnic"] {
                let target = scenario.targetDensity(zone: id, at: snapshot.asOf)
                let density = snapshot.zone(id: id)!.densityPPM2!
                #expect(abs(density - target) < 0.15 * target + 0.05, "\(id) at \(snapshot.asOf): \(density) vs \(target)")
            }
        }
    }
}
