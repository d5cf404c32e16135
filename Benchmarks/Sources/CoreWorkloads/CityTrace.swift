import Foundation
import Logging
import StreetSenseCore
import StreetSenseDecoding
import StreetSensePipeline
import StreetSenseSimulation

/// The messages of a `city-scale` trace as raw bytes, in delivery order, in both payload shapes: the native JSON
/// the generator writes, and the same readings as SenML packs (`[{"bn":"cam-7:","bt":…,"n":"people","u":"count",
/// "v":134}, …]`). Batched as the MQTT thread hands them to the pipeline.
public struct CityTrace: Sendable {
    public let scenario: Scenario
    /// Topic bytes of each message.
    public let topics: [[UInt8]]
    public let native: [[UInt8]]
    public let senML: [[UInt8]]
    public let arrivals: [EventTime]
    /// The sensor each message's topic names.
    public let addresses: [SensorAddress]
    /// Readings the generator put in the messages (what the pipeline must accept).
    public let readings: Int

    /// The repository's `simulators/scenarios` directory (found from this source file).
    public static var scenarioDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("simulators/scenarios").path
    }

    /// Generates `city-scale` with `sensors` sensors for `duration` (seed 1).
    public init(sensors: Int, duration: Duration) throws {
        let path = Self.scenarioDirectory + "/city-scale.yaml"
        let scenario = try ScenarioFile.load(path: path, overrides: ScenarioFile.Overrides(sensorCount: sensors))
        self.scenario = scenario
        var generator = ScenarioGenerator(scenario: scenario, seed: 1, duration: duration)
        var topics: [[UInt8]] = [], native: [[UInt8]] = [], senML: [[UInt8]] = [], arrivals: [EventTime] = []
        var addresses: [SensorAddress] = []
        let decoder = NativeJSONDecoder()
        var output = DecodeOutput()
        while let message = generator.next() {
            let payload = Array(message.payload.utf8)
            let sensor = String(message.topic.split(separator: "/").last!)
            output.reset()
            try payload.withUnsafeBufferPointer { bytes in
                try decoder.decode(bytes.span, sensor: SensorAddress(pilot: "city", sensor: sensor), arrival: message.at, into: &output)
            }
            topics.append(Array(message.topic.utf8))
            native.append(payload)
            senML.append(Array(Self.senML(sensor: sensor, readings: output.readings).utf8))
            arrivals.append(message.at)
            addresses.append(SensorAddress(pilot: "city", sensor: sensor))
        }
        self.topics = topics
        self.native = native
        self.senML = senML
        self.arrivals = arrivals
        self.addresses = addresses
        self.readings = generator.truth.readings
    }

    /// The messages.
    public var count: Int { topics.count }

    /// Mean payload size in bytes.
    public func meanSize(senML: Bool) -> Double {
        let payloads = senML ? self.senML : native
        return Double(payloads.reduce(0) { $0 + $1.count }) / Double(max(payloads.count, 1))
    }

    static func senML(sensor: String, readings: [DecodedReading]) -> String {
        var records: [String] = []
        for (i, reading) in readings.enumerated() {
            var fields: [String] = []
            if i == 0 {
                fields.append("\"bn\":\"\(sensor):\"")
                if let time = reading.time {
                    let ms = time.milliseconds
                    fields.append("\"bt\":\(ms / 1000).\(String(ms % 1000 + 1000).dropFirst())")
                }
            }
            fields.append("\"n\":\"\(reading.metric.name)\"")
            fields.append("\"u\":\"\(reading.metric.unit)\"")
            fields.append("\"v\":\(reading.value)")
            records.append("{" + fields.joined(separator: ",") + "}")
        }
        return "[" + records.joined(separator: ",") + "]"
    }

    /// The messages cut into batches of at most `size`, as the ingest queue hands them over.
    public func batches(senML: Bool, size: Int = 4096, limit: Int? = nil) -> [MessageBatch] {
        let payloads = senML ? self.senML : native
        var batches: [MessageBatch] = []
        var batch = MessageBatch(reservingBytes: size * 160, messages: size)
        for i in 0..<Swift.min(limit ?? count, count) {
            batch.append(topic: topics[i], payload: payloads[i], arrival: arrivals[i], payloadLimit: PayloadDecoder.defaultMaximumPayloadSize)
            if batch.count == size {
                batches.append(batch)
                batch = MessageBatch(reservingBytes: size * 160, messages: size)
            }
        }
        if !batch.isEmpty { batches.append(batch) }
        return batches
    }

    /// A fresh pipeline for the scenario on event time (no wall clock), whose store batches are dropped.
    public func pipeline() throws -> Pipeline {
        var logger = Logger(label: "streetsense.bench")
        logger.logLevel = .critical
        return try Pipeline(
            zones: scenario.zones.map(\.definition), sensors: scenario.sensors.map(\.definition), records: [],
            options: PipelineOptions(followsWallClock: false), logger: logger, deliver: { _ in })
    }
}

/// Decodes the batches through a pipeline: decode → route → aggregate (and the alert rules and store rows the
/// pipeline builds on the way; the store batches are dropped instead of written).
public func processAll(_ pipeline: Pipeline, _ batches: [MessageBatch]) {
    for batch in batches { pipeline.process(batch) }
    pipeline.flush(final: true)
}

/// Decodes the first `limit` payloads with the pipeline's decoder alone (no routing, no core); returns the
/// readings decoded. The like-for-like partner of ``foundationDecodeAll(_:senML:)``.
public func streetSenseDecodeAll(_ city: CityTrace, senML: Bool, limit: Int) -> Int {
    let decoder = PayloadDecoder()
    var output = DecodeOutput()
    var readings = 0
    let payloads = senML ? city.senML : city.native
    for i in 0..<Swift.min(limit, payloads.count) {
        output.reset()
        payloads[i].withUnsafeBufferPointer { bytes in
            do {
                try decoder.decode(bytes.span, sensor: city.addresses[i], arrival: city.arrivals[i], into: &output)
            } catch {
                preconditionFailure("the trace's payloads are valid: \(error)")
            }
        }
        readings += output.readings.count
    }
    return readings
}

/// The reference for the decode rows: Foundation's `JSONDecoder` decoding a native payload into a struct.
public struct FoundationNativeMessage: Decodable, Sendable {
    public var t: String?
    public var people: Double?
    public var devices: Double?
    public var peopleIn: Double?
    public var peopleOut: Double?
    public var intervalSeconds: Double?
    public var pm2_5: Double?
    public var pm10: Double?
    public var no2: Double?
    public var o3: Double?

    enum CodingKeys: String, CodingKey {
        case t, people, devices, pm2_5, pm10, no2, o3
        case peopleIn = "people_in", peopleOut = "people_out", intervalSeconds = "interval_s"
    }
}

/// The reference for the SenML row: Foundation's `JSONDecoder` decoding a SenML pack into records.
public struct FoundationSenMLRecord: Decodable, Sendable {
    public var bn: String?
    public var bt: Double?
    public var n: String?
    public var u: String?
    public var v: Double?
    public var t: Double?
}

/// Decodes every payload with one `JSONDecoder`; returns the number of values found (so nothing is optimised away).
public func foundationDecodeAll(_ payloads: [Data], senML: Bool) throws -> Int {
    let decoder = JSONDecoder()
    var values = 0
    for payload in payloads {
        if senML {
            values += try decoder.decode([FoundationSenMLRecord].self, from: payload).count
        } else {
            let m = try decoder.decode(FoundationNativeMessage.self, from: payload)
            values += [m.people, m.devices, m.peopleIn, m.peopleOut, m.pm2_5, m.pm10, m.no2, m.o3].count { $0 != nil }
        }
    }
    return values
}
