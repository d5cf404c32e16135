import StreetSenseCore
import StreetSensePipeline
import StreetSenseStore
import Testing

@Suite("Pipeline: route, decode, aggregate, batch for the store")
struct PipelineIngestTests {
    @Test("native and SenML messages become stored readings with the sensor's ref, metric, time and value")
    func goodMessages() throws {
        let delivered = DeliveredBatches()
        let pipeline = try makePipeline(delivered: delivered)
        pipeline.send(camera, at(1), [("people", "134")])
        // Unix seconds as the time, several metrics at once.
        pipeline.send(topic(air.address), #"{"t": 1795341602.5, "pm2_5": 12.3, "pm10": 20.1, "no2": 31}"#, arrival: at(3))
        // SenML with a base name, base time and a relative record time.
        pipeline.send(
            topic(parkCamera.address),
            #"[{"bn": "cam-espa/", "bt": 1795341605, "n": "people", "u": "count", "v": 50}, {"n": "people", "t": 10, "v": 60}]"#,
            arrival: at(20))
        // No time: the arrival time.
        pipeline.send(topic(camera.address), #"{"people": 140}"#, arrival: at(30))
        #expect(delivered.all.isEmpty)
        pipeline.flush()

        #expect(delivered.all.count == 1)
        #expect(delivered.readings == [
            StoredReading(sensorRef: 10, metric: .people, time: at(1), value: 134, late: false),
            StoredReading(sensorRef: 12, metric: .pm2_5, time: at(2.5), value: 12.3, late: false),
            StoredReading(sensorRef: 12, metric: .pm10, time: at(2.5), value: 20.1, late: false),
            StoredReading(sensorRef: 12, metric: .no2, time: at(2.5), value: 31, late: false),
            StoredReading(sensorRef: 13, metric: .people, time: at(5), value: 50, late: false),
            StoredReading(sensorRef: 13, metric: .people, time: at(15), value: 60, late: false),
            StoredReading(sensorRef: 10, metric: .people, time: at(30), value: 140, late: false),
        ])
        #expect(delivered.rejects.isEmpty)
        #expect(delivered.sensors.isEmpty)
        // Nothing closed yet: "now" is 30 s, so no minute ended 120 s before it.
        #expect(delivered.rollups.isEmpty)
        #expect(delivered.zoneRollups.isEmpty)

        let snapshot = pipeline.snapshot()
        #expect(snapshot.asOf == at(30))
        #expect(snapshot.totals.messages == 4)
        #expect(snapshot.totals.accepted == 7)
        #expect(snapshot.totals.rejected == 0)
        let people = try #require(snapshot.sensor(camera.address)?.metrics.first)
        #expect(people.metric == .people)
        #expect(people.last == 140)
        #expect(people.lastTime == at(30))
        #expect(people.windows[WindowLength.oneHour.rawValue].count == 2)
        #expect(people.windows[WindowLength.oneHour.rawValue].sum == 274)
        #expect(snapshot.sensor(air.address)?.metrics.map(\.metric) == [.pm2_5, .pm10, .no2])
        #expect(snapshot.sensor(parkCamera.address)?.counts.accepted == 2)
        // Esplanadi: 60 people × 1.5 over 1000 m².
        #expect(snapshot.zone(id: "esplanadi")?.densityPPM2 == 60 * 1.5 / 1000)
    }

    @Test("late readings are stored with late = true and not aggregated")
    func lateReadings() throws {
        let delivered = DeliveredBatches()
        let pipeline = try makePipeline(delivered: delivered)
        pipeline.send(camera, at(200), [("people", "10")])
        pipeline.send(camera, at(50), [("people", "20")])  // 150 s behind: late
        pipeline.send(camera, at(80), [("people", "30")])  // exactly 120 s behind: still on time
        pipeline.send(camera, at(79), [("people", "40")])  // 121 s behind: late
        pipeline.flush(final: true)

        #expect(delivered.readings == [
            StoredReading(sensorRef: 10, metric: .people, time: at(200), value: 10, late: false),
            StoredReading(sensorRef: 10, metric: .people, time: at(50), value: 20, late: true),
            StoredReading(sensorRef: 10, metric: .people, time: at(80), value: 30, late: false),
            StoredReading(sensorRef: 10, metric: .people, time: at(79), value: 40, late: true),
        ])
        let snapshot = pipeline.snapshot()
        #expect(snapshot.totals.late == 2)
        #expect(snapshot.totals.accepted == 2)
        let people = try #require(snapshot.sensor(camera.address)?.metrics.first)
        #expect(people.last == 10)
        let hour = people.windows[WindowLength.oneHour.rawValue]
        #expect(hour.count == 2)
        #expect(hour.sum == 40)
        #expect(hour.min == 10)
        #expect(hour.max == 30)
        // Rollups hold only the aggregated readings: minute 1 (80 s) and minute 3 (200 s), none for minute 0.
        // (A batch's rollups come in the order their minutes first changed; the store does not depend on it.)
        #expect(delivered.rollups.sorted { $0.minute < $1.minute } == [
            RollupRecord(sensorRef: 10, metric: .people, minute: at(60), count: 1, sum: 30, min: 30, max: 30),
            RollupRecord(sensorRef: 10, metric: .people, minute: at(180), count: 1, sum: 10, min: 10, max: 10),
        ])
    }

    @Test("a second copy of (sensor, metric, t), in either payload shape, is neither stored nor aggregated")
    func duplicates() throws {
        let delivered = DeliveredBatches()
        let pipeline = try makePipeline(delivered: delivered)
        pipeline.send(camera, at(10), [("people", "100")])
        pipeline.send(camera, at(10), [("people", "100")])
        pipeline.send(topic(camera.address), #"[{"n": "people", "bt": 1795341610, "v": 999}]"#, arrival: at(12))
        pipeline.send(air, at(10), [("pm2_5", "8.5"), ("no2", "20")])
        pipeline.send(air, at(10), [("pm2_5", "9.5"), ("o3", "40")])  // pm2_5 repeated, o3 new
        pipeline.flush()

        #expect(delivered.readings == [
            StoredReading(sensorRef: 10, metric: .people, time: at(10), value: 100),
            StoredReading(sensorRef: 12, metric: .pm2_5, time: at(10), value: 8.5),
            StoredReading(sensorRef: 12, metric: .no2, time: at(10), value: 20),
            StoredReading(sensorRef: 12, metric: .o3, time: at(10), value: 40),
        ])
        let snapshot = pipeline.snapshot()
        #expect(snapshot.totals.duplicate == 3)
        #expect(snapshot.totals.accepted == 4)
        #expect(snapshot.totals.messages == 5)
        let cameraSnapshot = try #require(snapshot.sensor(camera.address))
        #expect(cameraSnapshot.counts.duplicate == 2)
        #expect(cameraSnapshot.metrics.first?.last == 100)
        #expect(cameraSnapshot.metrics.first?.windows[WindowLength.oneMinute.rawValue].count == 1)
        let pm = try #require(snapshot.sensor(air.address)?.metrics.first { $0.metric == .pm2_5 })
        #expect(pm.last == 8.5)
        #expect(pm.windows[WindowLength.oneHour.rawValue].count == 1)
        #expect(pm.windows[WindowLength.oneHour.rawValue].sum == 8.5)
    }

    @Test("rejects are recorded with reason, pilot and sensor where known, topic and an excerpt of at most 1 KiB")
    func rejects() throws {
        let delivered = DeliveredBatches()
        let pipeline = try makePipeline(delivered: delivered)
        let cameraTopic = topic(camera.address)
        let longTopic = "streetsense/v1/readings/" + String(repeating: "x", count: 600)

        pipeline.send("streetsense/v1/readings/helsinki-lab", #"{"people": 1}"#, arrival: at(1))
        pipeline.send("other/v1/readings/helsinki-lab/cam-01", #"{"people": 2}"#, arrival: at(2))
        pipeline.send(longTopic, #"{"people": 3}"#, arrival: at(3))
        pipeline.send(cameraTopic, #"{"t": "2026-"#, arrival: at(4))
        let garbage = "{" + String(repeating: "x", count: 3000)
        pipeline.send(cameraTopic, garbage, arrival: at(5))
        let huge = Array(("{\"people\": 1" + String(repeating: " ", count: 70_000) + "}").utf8)
        pipeline.send(cameraTopic, huge, arrival: at(6))
        pipeline.send(air, at(7), [("people", "5"), ("pm10", "8")])
        pipeline.send(camera, at(8), [("people", "-5")])
        pipeline.flush()

        let rejects = delivered.rejects
        try #require(rejects.count == 8)
        func check(_ r: StoredReject, _ reason: RejectReason, _ address: SensorAddress?, _ topic: String, _ payload: [UInt8], _ received: EventTime) {
            #expect(r.reason == reason)
            #expect(r.pilot == address?.pilot)
            #expect(r.sensor == address?.sensor)
            #expect(r.topic == topic)
            #expect(r.payload == payload)
            #expect(r.received == received)
            #expect(!r.detail.isEmpty)
            #expect(r.payload.count <= 1024)
        }
        check(rejects[0], .badTopic, nil, "streetsense/v1/readings/helsinki-lab", Array(#"{"people": 1}"#.utf8), at(1))
        check(rejects[1], .badTopic, nil, "other/v1/readings/helsinki-lab/cam-01", Array(#"{"people": 2}"#.utf8), at(2))
        check(rejects[2], .badTopic, nil, String(longTopic.prefix(512)), Array(#"{"people": 3}"#.utf8), at(3))
        check(rejects[3], .malformedJSON, camera.address, cameraTopic, Array(#"{"t": "2026-"#.utf8), at(4))
        check(rejects[4], .malformedJSON, camera.address, cameraTopic, Array(garbage.utf8.prefix(1024)), at(5))
        check(rejects[5], .payloadTooLarge, camera.address, cameraTopic, Array(huge.prefix(1024)), at(6))
        #expect(rejects[5].detail.contains("\(huge.count)"))
        check(rejects[6], .kindMismatch, air.address, topic(air.address), Array(native(at(7), [("people", "5"), ("pm10", "8")]).utf8), at(7))
        check(rejects[7], .outOfRange, camera.address, cameraTopic, Array(native(at(8), [("people", "-5")]).utf8), at(8))

        // The good value next to the mismatched one is kept; nothing else was stored.
        #expect(delivered.readings == [StoredReading(sensorRef: 12, metric: .pm10, time: at(7), value: 8)])
        let snapshot = pipeline.snapshot()
        #expect(snapshot.totals.rejectsByReasonName.map { "\($0.0.rawValue)=\($0.1)" } == [
            "malformed_json=2", "payload_too_large=1", "bad_topic=3", "out_of_range=1", "kind_mismatch=1",
        ])
        #expect(snapshot.totals.rejected == 8)
        #expect(snapshot.totals.messages == 8)
        let cameraCounts = try #require(snapshot.sensor(camera.address)?.counts)
        #expect(cameraCounts.rejected == 4)
        #expect(cameraCounts.accepted == 0)
        #expect(snapshot.sensor(air.address)?.counts.rejected == 1)
        #expect(snapshot.sensor(air.address)?.counts.accepted == 1)
        // A bad topic names no sensor, so none was created for it.
        #expect(snapshot.sensors.count == testSensors.count + 1)
    }

    @Test("an oversize payload cut to an excerpt by the IngestQueue is rejected payload_too_large with that excerpt")
    func oversizeFromTheQueue() throws {
        let delivered = DeliveredBatches()
        let pipeline = try makePipeline(delivered: delivered, payloadLimit: 4096)
        let queue = IngestQueue(payloadLimit: 4096)
        let payload = (0..<10_000).map { i in UInt8(ascii: "a") + UInt8(i % 26) }
        let cameraTopic = Array(topic(camera.address).utf8)
        queue.append(topic: cameraTopic.span, payload: payload.span, arrival: at(1))
        let good = Array(native(at(2), [("people", "7")]).utf8)
        queue.append(topic: cameraTopic.span, payload: good.span, arrival: at(2))
        var recycled: MessageBatch?
        let batch = try #require(queue.take(recycling: &recycled, timeout: .seconds(1)))
        pipeline.process(batch)
        pipeline.flush()

        let rejects = delivered.rejects
        try #require(rejects.count == 1)
        #expect(rejects[0].reason == .payloadTooLarge)
        #expect(rejects[0].payload == Array(payload.prefix(1024)))
        #expect(rejects[0].detail.contains("10000"))
        #expect(rejects[0].pilot == "helsinki-lab")
        #expect(rejects[0].sensor == "cam-01")
        // One bad message never affects the next one.
        #expect(delivered.readings == [StoredReading(sensorRef: 10, metric: .people, time: at(2), value: 7)])
    }

    @Test("an unregistered sensor gets ref = largest known ref + 1 and exactly one SensorRecord")
    func unregisteredSensors() throws {
        let delivered = DeliveredBatches()
        let pipeline = try makePipeline(delivered: delivered)
        let stranger = SensorAddress(pilot: "guest", sensor: "new-cam")
        let another = SensorAddress(pilot: "guest", sensor: "other")
        pipeline.send(topic(stranger), native(at(1), [("people", "12")]), arrival: at(1))
        pipeline.send(topic(stranger), native(at(2), [("people", "13")]), arrival: at(2.5))
        pipeline.send(topic(another), #"{"t": "2026-"#, arrival: at(3))  // created on routing, even when rejected
        pipeline.send(topic(knownStranger), native(at(4), [("devices", "30")]), arrival: at(4))
        pipeline.flush()

        #expect(delivered.sensors == [
            SensorRecord(ref: 41, address: stranger, zone: nil, kind: nil, registered: false, firstSeen: at(1), lastSeen: at(1)),
            SensorRecord(ref: 42, address: another, zone: nil, kind: nil, registered: false, firstSeen: at(3), lastSeen: at(3)),
        ])
        #expect(delivered.readings == [
            StoredReading(sensorRef: 41, metric: .people, time: at(1), value: 12),
            StoredReading(sensorRef: 41, metric: .people, time: at(2), value: 13),
            StoredReading(sensorRef: 40, metric: .devices, time: at(4), value: 30),
        ])
        #expect(delivered.rejects.map(\.sensor) == ["other"])
        let snapshot = pipeline.snapshot()
        #expect(snapshot.sensor(stranger)?.status == .unregistered)
        #expect(snapshot.sensor(knownStranger)?.status == .unregistered)
        #expect(snapshot.sensor(stranger)?.people == nil)
        // Never mixed into a zone.
        #expect(snapshot.zones.allSatisfy { $0.densityPPM2 == nil && $0.coverage.sensorsUsed == 0 })

        // Later messages from the same sensors add no records.
        pipeline.send(topic(stranger), native(at(5), [("people", "14")]), arrival: at(5))
        pipeline.flush()
        #expect(delivered.sensors.count == 2)
    }

    @Test("registered sensors without a store record get refs above the largest record, then new sensors follow")
    func refsForSensorsWithoutRecords() throws {
        let delivered = DeliveredBatches()
        let records = [
            SensorRecord(ref: 3, address: camera.address, zone: camera.zone, kind: camera.kind, registered: true, firstSeen: nil, lastSeen: nil),
            SensorRecord(ref: 7, address: gate.address, zone: gate.zone, kind: gate.kind, registered: true, firstSeen: nil, lastSeen: nil),
            SensorRecord(ref: 5, address: air.address, zone: air.zone, kind: air.kind, registered: true, firstSeen: nil, lastSeen: nil),
        ]
        let pipeline = try makePipeline(delivered: delivered, records: records)
        let stranger = SensorAddress(pilot: "guest", sensor: "cam")
        pipeline.send(parkCamera, at(1), [("people", "1")])
        pipeline.send(camera, at(2), [("people", "2")])
        pipeline.send(topic(stranger), native(at(3), [("people", "3")]), arrival: at(3))
        pipeline.flush()
        #expect(delivered.readings.map(\.sensorRef) == [8, 3, 9])
        #expect(delivered.sensors.map(\.ref) == [9])
    }

    @Test("the store batch is handed over at storeBatchRows rows")
    func storeBatchRows() throws {
        let delivered = DeliveredBatches()
        let pipeline = try makePipeline(delivered: delivered, storeBatchRows: 5)
        for i in 0..<12 { pipeline.send(camera, at(Double(i)), [("people", "\(i)")]) }
        #expect(delivered.all.map(\.readings.count) == [5, 5])
        #expect(delivered.all.map(\.rowCount) == [5, 5])
        // A multi-metric message is counted whole: 2 pending + 3 rows reaches 5.
        pipeline.send(air, at(12), [("pm2_5", "1"), ("pm10", "2"), ("no2", "3")])
        #expect(delivered.all.map(\.readings.count) == [5, 5, 5])
        pipeline.send(camera, at(13), [("people", "13")])
        pipeline.flush(final: true)
        let batches = delivered.all
        #expect(batches.count == 4)
        #expect(batches[3].readings.count == 1)
        #expect(delivered.readings.map(\.time) == (0...13).map { at(Double($0)) }.flatMap { $0 == at(12) ? [$0, $0, $0] : [$0] })
        // Rejects count as rows too.
        delivered.removeAll()
        for i in 0..<5 { pipeline.send(topic(camera.address), "nope \(i)", arrival: at(20)) }
        #expect(delivered.all.map(\.rejects.count) == [5])
    }
}
