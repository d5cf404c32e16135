import ArgumentParser
import Foundation
import StreetSenseCore
import StreetSenseReplay
import StreetSenseSimulation

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a scenario's messages: to a trace file, or to a broker in real time, ×speed or max.",
        discussion: """
            Scenarios are YAML files; a NAME is looked up in simulators/scenarios/. Same scenario, seed and options:
            the same trace, byte for byte. A scenario with faults writes its ground truth to TRACE.truth.json.
              streetsense simulate --scenario festival --seed 1 --out festival.jsonl
              streetsense simulate --scenario city-scale --sensors 100000 --duration 10m --seed 7 --out city.jsonl
              streetsense simulate --scenario weekday --seed 1 --speed 60 --broker mqtt://127.0.0.1:1883
            """)

    @Option(help: "A scenario name (in simulators/scenarios) or a YAML file.")
    var scenario: String

    @Option(help: "The random seed.")
    var seed: UInt64 = 1

    @Option(help: "Broker mode: a factor of real time (1, 60) or max.")
    var speed: SpeedArgument = .factor(1)

    @Option(help: "Override the scenario's duration (e.g. 2h, 10m).")
    var duration: DurationArgument?

    @Option(help: "For generated cities: the number of sensors.")
    var sensors: Int?

    @Option(help: "Write the trace here (- for standard output).")
    var out: String?

    @Option(help: "Publish to this broker (mqtt://host:port) instead.")
    var broker: BrokerURL?

    @Option(help: "Where to write the ground truth (default: TRACE.truth.json for scenarios with faults).")
    var truth: String?

    @Option(help: "Also write a configuration for the scenario's zones and sensors (streetsense.yaml, zones.geojson) into this folder.")
    var writeConfig: String?

    @Option(help: "Folder of named scenarios.")
    var scenariosDirectory: String = "simulators/scenarios"

    func validate() throws {
        guard (out == nil) != (broker == nil) else { throw ValidationError("give exactly one of --out TRACE or --broker URL") }
        if let sensors, sensors < 1 { throw ValidationError("--sensors must be at least 1") }
    }

    func run() async throws {
        guard let path = ScenarioFile.locate(scenario, in: [scenariosDirectory]) else {
            printError("\(scenario): no such scenario file, and no \(scenariosDirectory)/\(scenario).yaml")
            throw ExitCode(1)
        }
        let loaded: Scenario
        do {
            loaded = try ScenarioFile.load(path: path, overrides: .init(sensorCount: sensors))
        } catch {
            printError(error.description)
            throw ExitCode(1)
        }
        if let writeConfig {
            try FileManager.default.createDirectory(atPath: writeConfig, withIntermediateDirectories: true)
            try writeFile("\(writeConfig)/streetsense.yaml", Array(ScenarioRegistryFiles.configuration(loaded, lateness: loaded.faults.allowedLateness).utf8))
            try writeFile("\(writeConfig)/zones.geojson", Array(ScenarioRegistryFiles.zones(loaded).utf8))
        }
        var generator = ScenarioGenerator(scenario: loaded, seed: seed, duration: duration?.duration)
        var progress = ProgressLine()
        let clock = ContinuousClock()
        let started = clock.now
        if let out {
            let writer: TraceWriter
            do {
                writer = try TraceWriter(path: out)
                while let message = generator.next() {
                    try writer.write(TraceRecord(at: message.at, topic: message.topic, payload: message.payload))
                    if writer.count % 8192 == 0 { progress.update("\(writer.count) messages, at \(message.at.rfc3339)") }
                }
                try writer.close()
            } catch {
                progress.finish()
                printError(error.description)
                throw ExitCode(1)
            }
            progress.finish()
            if !loaded.faults.isEmpty || truth != nil, out != "-" || truth != nil {
                try writeFile(truth ?? "\(out).truth.json", Array(generator.truth.json(scenario: loaded.name, seed: seed).utf8))
            }
            printError("wrote \(writer.count) messages (\(loaded.sensors.count) sensors, \(loaded.zones.count) zones) in \(seconds(started.duration(to: clock.now))) s")
        } else if let broker {
            let publisher = try TracePublisher(host: broker.host, port: broker.port, clientID: "streetsense-simulate")
            try await publisher.connect()
            let statistics = try await publisher.publish(speed: speed.factor, next: {
                generator.next().map { TraceRecord(at: $0.at, topic: $0.topic, payload: $0.payload) }
            }, progress: { s in
                progress.update("published \(s.messages) (\(Int(s.messagesPerSecond)) msg/s), \(seconds(s.behind)) s behind schedule")
            })
            progress.finish()
            await publisher.close()
            if let truth { try writeFile(truth, Array(generator.truth.json(scenario: loaded.name, seed: seed).utf8)) }
            printError("published \(statistics.messages) messages in \(seconds(statistics.elapsed)) s (\(Int(statistics.messagesPerSecond)) msg/s); "
                + "at most \(seconds(statistics.maximumBehind)) s behind schedule")
        }
    }
}
