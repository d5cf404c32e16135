import ArgumentParser
import Dispatch
import Foundation
import Mosquitto
import StreetSenseCore
import StreetSensePipeline
import StreetSenseReplay
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Record: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record messages from a broker into a trace, each with its arrival time (Ctrl-C stops).",
        discussion: "streetsense record --broker mqtt://127.0.0.1:1883 --topic 'streetsense/v1/readings/#' --out rec.jsonl --duration 10m")

    @Option(help: "The broker URL (mqtt://host:port).")
    var broker: BrokerURL

    @Option(help: "The topic filter to subscribe to (wildcards allowed).")
    var topic: String = "streetsense/v1/readings/#"

    @Option(help: "Write the trace here (- for standard output).")
    var out: String

    @Option(help: "Stop after this long (default: until Ctrl-C).")
    var duration: DurationArgument?

    @Option(help: "The MQTT client id.")
    var clientID: String = "streetsense-record"

    func run() async throws {
        let received = ReceivedRecords()
        let client = try MosquittoClient(
            configuration: .init(host: broker.host, port: broker.port, clientID: clientID, cleanSession: true, maxInflightMessages: 1000),
            onMessage: { message in
                let record = TraceRecord(at: EventTime.now, topic: message.topicString(), payload: message.payloadBytes(), qos: Int(message.qos.rawValue))
                received.records.withLock { $0.append(record) }
            })
        let writer: TraceWriter
        do {
            writer = try TraceWriter(path: out)
        } catch {
            printError(error.description)
            throw ExitCode(1)
        }
        let stop = StopFlag()
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { stop.value.store(true, ordering: .relaxed) }
        source.resume()
        try client.start()
        try await client.waitUntilConnected(timeout: .seconds(10))
        try client.subscribe(topic, qos: .atLeastOnce)
        try await client.waitForSubscriptions(timeout: .seconds(10))
        let clock = ContinuousClock()
        let started = clock.now
        var progress = ProgressLine()
        while !stop.value.load(ordering: .relaxed) {
            if let duration, started.duration(to: clock.now) >= duration.duration { break }
            try await Task.sleep(for: .milliseconds(100))
            let batch = received.records.withLock { records in
                defer { records.removeAll(keepingCapacity: true) }
                return records
            }
            for record in batch { try writer.write(record) }
            progress.update("recorded \(writer.count) messages in \(seconds(started.duration(to: clock.now))) s")
        }
        client.stop()
        for record in received.records.withLock({ $0 }) { try writer.write(record) }
        try writer.close()
        source.cancel()
        progress.finish()
        printError("recorded \(writer.count) messages in \(seconds(started.duration(to: clock.now))) s")
    }
}

/// Messages received on the MQTT thread, waiting to be written.
final class ReceivedRecords: Sendable {
    let records = Mutex<[TraceRecord]>([])
}

/// Set by the SIGINT handler.
final class StopFlag: Sendable {
    let value = Atomic<Bool>(false)
}
