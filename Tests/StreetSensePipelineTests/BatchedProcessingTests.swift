import StreetSenseCore
import StreetSensePipeline
import StreetSenseStore
import Testing

/// `Pipeline.process(_:)` routes a batch's known sensors first and asks for each message's state a few messages
/// ahead; none of that may change what the pipeline does. Each test runs the same messages through one pipeline
/// in batches and through another one message at a time, and compares everything they hand to the store and
/// everything they show.
@Suite("Batched processing")
struct BatchedProcessingTests {
    /// A message as the MQTT thread hands it over.
    struct Message {
        var topic: [UInt8]
        var payload: [UInt8]
        var arrival: EventTime
    }

    /// A random mix over 20 minutes of event time: the registered sensors' readings (some late, some repeated),
    /// strangers first heard in the middle of a batch and heard again in it, the known stranger, bad topics,
    /// bad payloads and readings of metrics a sensor's kind does not report.
    static func messages(seed: UInt64, count: Int) -> [Message] {
        var rng = SplitMix64(state: seed)
        var messages: [Message] = []
        var now = t0
        let strangers = (0..<6).map { SensorAddress(pilot: "guest", sensor: "new-\($0)") }
        for _ in 0..<count {
            now = now + .milliseconds(Int64(rng.next() % 2_500))
            let time = rng.next() % 10 == 0 ? now - .seconds(Int64(rng.next() % 900)) : now
            let value = String(Double(rng.next() % 4_000) / 10)
            let message: (topic: String, payload: String)
            switch rng.next() % 12 {
            case 0, 1, 2: message = (topic(camera.address), native(time, [("people", value)]))
            case 3: message = (topic(gate.address), native(time, [("people_in", String(rng.next() % 9)), ("people_out", String(rng.next() % 7))]))
            case 4: message = (topic(air.address), native(time, [("pm2_5", value), ("pm10", value), ("no2", "31.5")]))
            case 5, 6: message = (topic(parkCamera.address), native(time, [("people", value)]))
            case 7: message = (topic(strangers[Int(rng.next() % 6)]), native(time, [("people", value)]))
            case 8: message = (topic(knownStranger), native(time, [("devices", value)]))
            case 9: message = ("streetsense/v1/other/\(rng.next() % 3)", native(time, [("people", value)]))
            case 10: message = (topic(camera.address), rng.next() % 2 == 0 ? "{\"t\":" : native(time, [("pm10", value)]))
            default:
                // A repeat of an earlier message: a duplicate, or late by now.
                let earlier = messages.isEmpty ? Message(topic: Array(topic(camera.address).utf8), payload: Array(native(time, [("people", "1")]).utf8), arrival: now)
                    : messages[Int(rng.next() % UInt64(messages.count))]
                messages.append(Message(topic: earlier.topic, payload: earlier.payload, arrival: now))
                continue
            }
            messages.append(Message(topic: Array(message.topic.utf8), payload: Array(message.payload.utf8), arrival: now))
        }
        return messages
    }

    @Test("a batch is processed exactly as its messages one by one", arguments: [(UInt64(1), 1), (2, 3), (3, 8), (4, 64), (5, 4096)])
    func batchesMatchOneByOne(seed: UInt64, batchSize: Int) throws {
        let messages = Self.messages(seed: seed, count: 1_500)
        // Small store batches, so that flushes fall in the middle of message batches.
        let batchedDelivered = DeliveredBatches(), oneByOneDelivered = DeliveredBatches()
        let batched = try makePipeline(delivered: batchedDelivered, storeBatchRows: 37)
        let oneByOne = try makePipeline(delivered: oneByOneDelivered, storeBatchRows: 37)
        var start = 0
        while start < messages.count {
            let chunk = messages[start..<min(start + batchSize, messages.count)]
            var batch = MessageBatch()
            for m in chunk { batch.append(topic: m.topic, payload: m.payload, arrival: m.arrival, payloadLimit: 65_536) }
            batched.process(batch)
            for m in chunk {
                oneByOne.process(topic: m.topic.span, payload: m.payload.span, payloadSize: m.payload.count, arrival: m.arrival)
            }
            start += batchSize
            // Snapshots between batches see the same state.
            let a = batched.snapshot(), b = oneByOne.snapshot()
            #expect(a.totals == b.totals)
            #expect(a.zones.map(\.densityPPM2) == b.zones.map(\.densityPPM2))
        }
        batched.flush(final: true)
        oneByOne.flush(final: true)
        let a = batchedDelivered, b = oneByOneDelivered
        #expect(a.readings.count > 1_000)
        #expect(a.rejects.count > 100)
        #expect(a.sensors.count == 6)
        #expect(a.readings == b.readings)
        #expect(a.rejects == b.rejects)
        #expect(a.sensors == b.sensors)
        #expect(a.rollups == b.rollups)
        #expect(a.zoneRollups == b.zoneRollups)
        #expect(a.flowCounters == b.flowCounters)
        #expect(a.all.flatMap(\.alertEvents) == b.all.flatMap(\.alertEvents))
        #expect(a.all.map(\.rowCount) == b.all.map(\.rowCount))
        let snapshotA = batched.snapshot(), snapshotB = oneByOne.snapshot()
        #expect(snapshotA.totals == snapshotB.totals)
        #expect(snapshotA.sensors.map(\.counts) == snapshotB.sensors.map(\.counts))
        #expect(snapshotA.sensors.map(\.people) == snapshotB.sensors.map(\.people))
        for (za, zb) in zip(snapshotA.zones, snapshotB.zones) {
            #expect(za.densityPPM2 == zb.densityPPM2)
            #expect(za.p50Density15m == zb.p50Density15m)
            #expect(za.p95Density15m == zb.p95Density15m)
            #expect(za.coverage == zb.coverage)
        }
    }

    @Test("an empty batch changes nothing")
    func emptyBatch() throws {
        let delivered = DeliveredBatches()
        let pipeline = try makePipeline(delivered: delivered)
        pipeline.process(MessageBatch())
        pipeline.flush(final: true)
        #expect(pipeline.snapshot().totals == IngestCounts())
        #expect(delivered.all.isEmpty)
    }
}
