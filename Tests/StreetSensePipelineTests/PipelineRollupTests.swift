import StreetSenseCore
import StreetSensePipeline
import StreetSenseStore
import Testing

/// A reference model of a zone's density series (README, "Zone density"), independent of the core: at every
/// multiple of 5 s from the first reading the pipeline saw up to and excluding the newest event time, the
/// zone's density is Σ people ÷ Σ covered area of its sensors, from each sensor's latest value at or before
/// the instant. `people(sensor, instant)` gives a sensor's people estimate (nil: no estimate yet).
private func densitySamples(
    firstEventTime: EventTime, newestEventTime: EventTime, covered: [Double], people: (Int, Int64) -> Double?
) -> [(instant: Int64, density: Double)] {
    var samples: [(Int64, Double)] = []
    var instant = (firstEventTime.milliseconds + 4_999) / 5_000 * 5_000
    while instant < newestEventTime.milliseconds {
        var sum = 0.0, area = 0.0
        for s in covered.indices {
            if let p = people(s, instant) {
                sum += p
                area += covered[s]
            }
        }
        if area > 0 { samples.append((instant, sum / area)) }
        instant += 5_000
    }
    return samples
}

/// The latest value at or before `instant` among time-ordered (t, value) readings.
private func latest(_ readings: [(EventTime, Double)], at instant: Int64) -> Double? {
    readings.last { $0.0.milliseconds <= instant }?.1
}

/// 1-minute rollups of (t ms, value) pairs, in time order, summed in that order.
private func minuteRollups(_ values: [(Int64, Double)]) -> [(minute: EventTime, count: Int32, sum: Double, min: Double, max: Double)] {
    var out: [(EventTime, Int32, Double, Double, Double)] = []
    for (t, v) in values {
        let minute = EventTime(milliseconds: t - ((t % 60_000) + 60_000) % 60_000)
        if let last = out.last, last.0 == minute {
            out[out.count - 1] = (minute, last.1 + 1, last.2 + v, Swift.min(last.3, v), Swift.max(last.4, v))
        } else {
            out.append((minute, 1, v, v, v))
        }
    }
    return out
}

private func zoneRecords(_ zone: String, _ samples: [(instant: Int64, density: Double)]) -> [ZoneRollupRecord] {
    minuteRollups(samples.map { ($0.instant, $0.density) }).map {
        ZoneRollupRecord(zone: zone, minute: $0.minute, count: $0.count, sum: $0.sum, min: $0.min, max: $0.max)
    }
}

private func sensorRecords(_ ref: Int32, _ metric: Metric, _ readings: [(EventTime, Double)]) -> [RollupRecord] {
    minuteRollups(readings.map { ($0.0.milliseconds, $0.1) }).map {
        RollupRecord(sensorRef: ref, metric: metric, minute: $0.minute, count: $0.count, sum: $0.sum, min: $0.min, max: $0.max)
    }
}

@Suite("Pipeline: 1-minute rollups and flow counter states")
struct PipelineRollupTests {
    /// Camera readings over a bit more than three minutes.
    let cameraReadings: [(EventTime, Double)] = [
        (at(5), 100), (at(30), 110), (at(55), 120), (at(65), 130), (at(90), 90), (at(125), 150), (at(150), 160), (at(185), 170),
    ]

    @Test("flush() hands over only minutes that ended at least the allowed lateness ago; flush(final:) the rest")
    func closedMinutesOnly() throws {
        let delivered = DeliveredBatches()
        let pipeline = try makePipeline(delivered: delivered)
        for (t, v) in cameraReadings { pipeline.send(camera, t, [("people", "\(Int(v))")]) }
        let allSensor = sensorRecords(10, .people, cameraReadings)
        let samples = densitySamples(firstEventTime: at(5), newestEventTime: at(185), covered: [400]) { _, instant in
            latest(cameraReadings, at: instant)  // people, factor 1
        }
        let allZone = zoneRecords("kamppi-square", samples)
        // Independent check of the model itself: instants 5 s … 180 s, minutes 0–3.
        #expect(samples.count == 36)
        #expect(allZone.map(\.count) == [11, 12, 12, 1])
        #expect(allSensor.map(\.count) == [3, 2, 2, 1])

        // Now is 185 s: only minute 0 (ends at 60 s ≤ 185 − 120 = 65 s) is closed.
        pipeline.flush()
        #expect(delivered.rollups == [RollupRecord(sensorRef: 10, metric: .people, minute: at(0), count: 3, sum: 330, min: 100, max: 120)])
        #expect(delivered.rollups == Array(allSensor.prefix(1)))
        #expect(delivered.zoneRollups == Array(allZone.prefix(1)))
        #expect(delivered.zoneRollups.first?.count == 11)
        #expect(delivered.readings.count == cameraReadings.count)

        // Nothing new: a second flush hands nothing over.
        delivered.removeAll()
        pipeline.flush()
        #expect(delivered.all.isEmpty)

        // At shutdown every open minute goes too, once.
        pipeline.flush(final: true)
        #expect(delivered.rollups == Array(allSensor.dropFirst()))
        #expect(delivered.zoneRollups == Array(allZone.dropFirst()))
        #expect(delivered.rollups[0] == RollupRecord(sensorRef: 10, metric: .people, minute: at(60), count: 2, sum: 220, min: 90, max: 130))
        delivered.removeAll()
        pipeline.flush(final: true)
        #expect(delivered.all.isEmpty)
    }

    @Test("a minute closes as event time moves on: each later flush hands over the newly closed minutes")
    func minutesCloseOverTime() throws {
        let delivered = DeliveredBatches()
        let pipeline = try makePipeline(delivered: delivered)
        var readings: [(EventTime, Double)] = []
        var handedOver: [Int64] = []
        for i in 0..<60 {
            let t = at(Double(i * 10)), v = Double(100 + i % 7)
            readings.append((t, v))
            pipeline.send(camera, t, [("people", "\(Int(v))")])
            pipeline.flush()
            handedOver.append(contentsOf: delivered.rollups.map { ($0.minute.milliseconds - t0.milliseconds) / 60_000 })
            // Every minute handed over so far ended at or before now − 120 s.
            #expect(delivered.rollups.allSatisfy { $0.minute.milliseconds + 60_000 <= t.milliseconds - 120_000 })
            delivered.removeAll()
        }
        // Now is 590 s: minutes 0–6 (ending at ≤ 470 s) closed, each handed over once and in order.
        #expect(handedOver == [0, 1, 2, 3, 4, 5, 6])
        pipeline.flush(final: true)
        #expect(delivered.rollups == Array(sensorRecords(10, .people, readings).dropFirst(7)))
    }

    @Test("a minute handed over before is handed over again, whole, when a quieter series still adds to it")
    func reopenedMinute() throws {
        let delivered = DeliveredBatches()
        let pipeline = try makePipeline(delivered: delivered)
        for (t, v) in cameraReadings { pipeline.send(camera, t, [("people", "\(Int(v))")]) }
        pipeline.send(air, at(20), [("pm10", "10")])
        pipeline.flush()
        #expect(delivered.rollups.filter { $0.sensorRef == 12 } == [RollupRecord(sensorRef: 12, metric: .pm10, minute: at(0), count: 1, sum: 10, min: 10, max: 10)])
        delivered.removeAll()
        // 40 s is 145 s behind now, but only 20 s behind the air station's own newest reading: aggregated.
        pipeline.send(air, at(40), [("pm10", "14")])
        pipeline.flush()
        #expect(delivered.readings == [StoredReading(sensorRef: 12, metric: .pm10, time: at(40), value: 14, late: false)])
        #expect(delivered.rollups == [RollupRecord(sensorRef: 12, metric: .pm10, minute: at(0), count: 2, sum: 24, min: 10, max: 14)])
    }

    @Test("zone density rollups combine cameras and flow gates; flow gates report their occupancy state")
    func flowCountersAndZoneRollups() throws {
        let delivered = DeliveredBatches()
        let pipeline = try makePipeline(delivered: delivered)
        // (t, in, out) and the occupancy each message leaves: running Σ in − out, never below 0.
        let gateMessages: [(Double, Int, Int)] = [(10, 12, 9), (20, 10, 4), (30, 2, 20), (40, 7, 0), (50, 30, 1)]
        var occupancy: [(EventTime, Double)] = []
        var running = 0.0
        for (t, i, o) in gateMessages {
            running = max(0, running + Double(i - o))
            occupancy.append((at(t), running))
        }
        #expect(occupancy.map(\.1) == [3, 9, 0, 7, 36])
        let cameraValues: [(EventTime, Double)] = [(at(15), 200), (at(45), 260)]
        // Time order: gate 10, camera 15, gate 20, 30, 40, camera 45, gate 50.
        pipeline.send(gate, at(10), [("people_in", "12"), ("people_out", "9"), ("interval_s", "10")])
        pipeline.send(camera, at(15), [("people", "200")])
        pipeline.send(gate, at(20), [("people_in", "10"), ("people_out", "4")])
        pipeline.send(gate, at(30), [("people_out", "20"), ("people_in", "2")])  // order of keys does not matter
        pipeline.send(gate, at(40), [("people_in", "7"), ("people_out", "0")])
        pipeline.send(camera, at(45), [("people", "260")])
        pipeline.send(gate, at(50), [("people_in", "30"), ("people_out", "1")])

        let snapshot = pipeline.snapshot()
        let gateSnapshot = try #require(snapshot.sensor(gate.address))
        #expect(gateSnapshot.flowOccupancy == 36)
        // Camera: 260 people over 400 m²; gate: 36 people over the whole zone (1200 m²).
        let zone = try #require(snapshot.zone(id: "kamppi-square"))
        #expect(zone.densityPPM2 == (260.0 + 36.0) / 1600.0)
        #expect(zone.coverage == ZoneCoverage(sensorsUsed: 2, sensorsStale: 0, coveredM2: 1200))

        pipeline.flush()
        #expect(delivered.flowCounters == [FlowCounterState(sensorRef: 11, occupancy: 36, asOf: at(50))])
        #expect(delivered.readings.filter { $0.sensorRef == 11 }.count == 10)
        // The flow state is handed over once per change, not per flush.
        delivered.removeAll()
        pipeline.send(camera, at(55), [("people", "270")])
        pipeline.flush()
        #expect(delivered.flowCounters.isEmpty)
        // Unregistered senders of flow metrics have no occupancy to save.
        pipeline.send(topic(SensorAddress(pilot: "guest", sensor: "gate")), native(at(56), [("people_in", "5")]), arrival: at(56))
        pipeline.flush()
        #expect(delivered.flowCounters.isEmpty)

        pipeline.flush(final: true)
        let allCamera = cameraValues + [(at(55), 270.0)]
        let samples = densitySamples(firstEventTime: at(10), newestEventTime: at(56), covered: [400, 1200]) { s, instant in
            s == 0 ? latest(allCamera, at: instant) : latest(occupancy, at: instant)
        }
        // Instants 10 … 55 s; 10 s has the gate alone, then both.
        #expect(samples.map(\.instant) == stride(from: 10, through: 55, by: 5).map { t0.milliseconds + Int64($0) * 1000 })
        #expect(samples[0].density == 3.0 / 1200)
        #expect(samples[1].density == (200.0 + 3) / 1600)
        #expect(delivered.zoneRollups == zoneRecords("kamppi-square", samples))
        #expect(delivered.zoneRollups.count == 1)
        #expect(delivered.rollups.filter { $0.sensorRef == 11 }.sorted { $0.metric < $1.metric } == [
            RollupRecord(sensorRef: 11, metric: .peopleIn, minute: at(0), count: 5, sum: 61, min: 2, max: 30),
            RollupRecord(sensorRef: 11, metric: .peopleOut, minute: at(0), count: 5, sum: 34, min: 0, max: 20),
        ])
    }

    @Test("a zone whose sensors all went stale stops getting density samples")
    func staleZoneHasNoSamples() throws {
        let delivered = DeliveredBatches()
        let pipeline = try makePipeline(delivered: delivered)
        pipeline.send(camera, at(0), [("people", "400")])
        // The park camera keeps event time moving for 10 minutes; the square's camera is stale after 300 s.
        for i in 1...60 { pipeline.send(parkCamera, at(Double(i * 10)), [("people", "100")]) }
        pipeline.flush(final: true)
        let square = delivered.zoneRollups.filter { $0.zone == "kamppi-square" }
        // Samples at 0, 5, …, 300 s (the camera is fresh while instant − 0 ≤ 300 s).
        #expect(square.map(\.count) == [12, 12, 12, 12, 12, 1])
        #expect(square.allSatisfy { $0.min == 1 && $0.max == 1 })
        let park = delivered.zoneRollups.filter { $0.zone == "esplanadi" }
        // The park samples from 10 s (its first reading) to 595 s, at 100 × 1.5 / 1000.
        #expect(park.map(\.count) == [10, 12, 12, 12, 12, 12, 12, 12, 12, 12])
        #expect(park.allSatisfy { $0.min == 0.15 && $0.max == 0.15 })
    }
}
