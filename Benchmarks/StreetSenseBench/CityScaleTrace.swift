import Foundation
import StreetSenseCore
import StreetSensePipeline
import StreetSenseReplay
import StreetSenseSimulation

/// A `city-scale` trace (simulators/scenarios/city-scale.yaml, seed 1) generated into memory before a
/// benchmark starts, so that generating it never competes with what is measured.
///
/// The scenario is moved in time so that it starts on a whole minute and its last reading lies at least
/// `endingBefore` before the wall clock when the trace is made: every reading is in the past, as if a city had just published it, and none is refused as
/// `future_timestamp`. Messages are in delivery order: each of the city's sensors reports every 60 s (air
/// stations every 120 s), the sensors interleaved.
struct CityScaleTrace: Sendable {
    let scenario: Scenario
    /// The trace's messages in delivery order, each at QoS 1.
    let records: [TraceRecord]
    /// The readings the messages hold (the generator's ground truth).
    let readings: Int

    /// The repository's `simulators/scenarios/city-scale.yaml`, found from this source file, or from the
    /// current directory (`make bench` runs in the repository).
    static var scenarioPath: String {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let besideSource = repository.appendingPathComponent("simulators/scenarios/city-scale.yaml").path
        return FileManager.default.fileExists(atPath: besideSource) ? besideSource : "simulators/scenarios/city-scale.yaml"
    }

    /// The scenario with `sensors` sensors, moved so that `duration` of it ends `endingBefore` before now.
    static func scenario(sensors: Int, duration: Duration, endingBefore: Duration = .seconds(120)) throws -> Scenario {
        var scenario = try ScenarioFile.load(path: scenarioPath, overrides: ScenarioFile.Overrides(sensorCount: sensors))
        // On a whole minute, so that every run cuts the trace into the same minutes (and rollups).
        let start = (EventTime.now - duration - endingBefore).milliseconds
        scenario.start = EventTime(milliseconds: start - start % 60_000)
        return scenario
    }

    /// Generates `duration` of the scenario with `sensors` sensors, or stops earlier once the messages hold
    /// `readingLimit` readings.
    init(sensors: Int, duration: Duration, readingLimit: Int = .max) throws {
        scenario = try Self.scenario(sensors: sensors, duration: duration)
        var generator = ScenarioGenerator(scenario: scenario, seed: 1, duration: duration)
        var records: [TraceRecord] = []
        while generator.truth.readings < readingLimit, let message = generator.next() {
            records.append(TraceRecord(at: message.at, topic: message.topic, payload: message.payload, qos: 1))
        }
        self.records = records
        readings = generator.truth.readings
    }

    var zones: [ZoneDefinition] { scenario.zones.map(\.definition) }
    var sensors: [SensorDefinition] { scenario.sensors.map(\.definition) }

    /// The mean size of a message on the wire, in bytes: topic and payload (the MQTT header adds a few more).
    var meanMessageBytes: Double {
        Double(records.reduce(0) { $0 + $1.topic.utf8.count + $1.payload.count }) / Double(max(records.count, 1))
    }
}
