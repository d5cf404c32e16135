import ArgumentParser
import Foundation
import Logging
import StreetSenseConfig
import StreetSenseCore
import StreetSenseReplay

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay a trace: to a broker at ×speed or max, or --offline straight into the pipeline with a report.",
        discussion: """
            Offline: streetsense replay TRACE --offline --config FILE --report REPORT.json [--timeline T.jsonl --every 60s]
            Broker:  streetsense replay TRACE --broker mqtt://127.0.0.1:1883 [--speed 10|max]
            Invalid trace lines are reported with their line number on standard error and skipped.
            """)

    @Argument(help: "The trace (JSON Lines; - for standard input).")
    var trace: String

    @Flag(help: "Run the pipeline in this process on event time, without a broker.")
    var offline = false

    @Option(help: "Offline: the configuration (zones, sensors, rules, pipeline settings).")
    var config: String?

    @Option(help: "Offline: where to write the report (JSON; - for standard output).")
    var report: String?

    @Option(help: "Offline: where to write the timeline (JSON Lines, one snapshot per --every of event time).")
    var timeline: String?

    @Option(help: "Offline: timeline interval of event time (e.g. 60s, 5m).")
    var every: DurationArgument = DurationArgument(.seconds(60))

    @Option(help: "Broker mode: the broker URL (mqtt://host:port).")
    var broker: BrokerURL?

    @Option(help: "Broker mode: a factor of real time (1, 10, 0.5) or max.")
    var speed: SpeedArgument = .max

    @Option(help: "Broker mode: the MQTT client id.")
    var clientID: String = "streetsense-replay"

    func validate() throws {
        if offline {
            guard config != nil else { throw ValidationError("--offline needs --config FILE") }
            guard report != nil else { throw ValidationError("--offline needs --report REPORT.json") }
            guard broker == nil else { throw ValidationError("--offline and --broker exclude each other") }
        } else {
            guard broker != nil else { throw ValidationError("give --broker URL, or --offline --config FILE --report R.json") }
            guard timeline == nil, report == nil else { throw ValidationError("--report and --timeline need --offline") }
        }
    }

    func run() async throws {
        let reader: TraceReader
        do {
            reader = try TraceReader(path: trace)
        } catch {
            printError(error.description)
            throw ExitCode(1)
        }
        var shown = 0
        reader.onBadLine = { [trace] error in
            shown += 1
            if shown <= 100 { printError("\(trace):\(error.line): skipped: \(error.reason)") }
        }
        if offline {
            try runOffline(reader)
        } else if let broker {
            try await runToBroker(reader, broker)
        }
    }

    private func runOffline(_ reader: TraceReader) throws {
        guard let config, let report else { return }
        let configuration = try loadConfiguration(config)
        let logger = Logger(label: "streetsense.replay", factory: { _ in SwiftLogNoOpLogHandler() })
        let replay = try OfflineReplay(configuration: configuration, logger: logger)
        var timelineWriter: FileHandle?
        var timelineBuffer: [UInt8] = []
        if let timeline {
            guard FileManager.default.createFile(atPath: timeline, contents: nil), let handle = FileHandle(forWritingAtPath: timeline) else {
                printError("\(timeline): cannot be created")
                throw ExitCode(1)
            }
            timelineWriter = handle
            // Points fall on the readings' event time, not on the trace lines' `at` (DESIGN §10).
            replay.recordTimeline(every: every.duration) { asOf, snapshot in
                timelineBuffer += ReplayReport.timelineLine(snapshot, asOf: asOf)
                if timelineBuffer.count > 1 << 20 {
                    handle.write(Data(timelineBuffer))
                    timelineBuffer.removeAll(keepingCapacity: true)
                }
            }
        }
        var progress = ProgressLine()
        let clock = ContinuousClock()
        let started = clock.now
        do {
            while let record = try reader.next() {
                replay.apply(record)
                if replay.messages % 4096 == 0 {
                    progress.update("replayed \(replay.messages) messages, at \(record.at.rfc3339)")
                }
            }
        } catch {
            progress.finish()
            printError(error.description)
            throw ExitCode(1)
        }
        let result = replay.finish(traceLines: (reader.lineNumber, reader.skippedLines))
        if let timelineWriter {
            timelineWriter.write(Data(timelineBuffer))
            try? timelineWriter.close()
        }
        progress.finish()
        try writeFile(report, result.json())
        let elapsed = started.duration(to: clock.now)
        let rate = Double(replay.messages) / max(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, 1e-9)
        printError("replayed \(replay.messages) messages offline in \(seconds(elapsed)) s (\(Int(rate)) msg/s); "
            + "\(reader.skippedLines) invalid lines skipped; \(result.alerts.count) alert transitions")
    }

    private func runToBroker(_ reader: TraceReader, _ broker: BrokerURL) async throws {
        let publisher = try TracePublisher(host: broker.host, port: broker.port, clientID: clientID)
        try await publisher.connect()
        var progress = ProgressLine()
        let statistics = try await publisher.publish(speed: speed.factor, next: { try reader.next() }, progress: { s in
            progress.update("published \(s.messages) (\(Int(s.messagesPerSecond)) msg/s), \(seconds(s.behind)) s behind schedule")
        })
        progress.finish()
        await publisher.close()
        printError("published \(statistics.messages) messages in \(seconds(statistics.elapsed)) s (\(Int(statistics.messagesPerSecond)) msg/s); "
            + "at most \(seconds(statistics.maximumBehind)) s behind schedule; \(reader.skippedLines) invalid lines skipped")
    }
}
