import StreetSenseCore
import StreetSensePipeline
import StreetSenseStore
import Testing

/// Ten minutes of every kind of sensor of the test registry, in time order, with a duplicate and a late one.
private func liveTraffic(_ pipeline: Pipeline, from start: Double = 0, to end: Double = 600) {
    for step in stride(from: start, to: end, by: 5) {
        let s = Int(step)
        if s % 10 == 0 { pipeline.send(camera, at(step + 0.25), [("people", "\(300 + (s * 7) % 90)")]) }
        if s % 15 == 0 {
            pipeline.send(gate, at(step + 0.5), [("people_in", "\(20 + s % 13)"), ("people_out", "\(14 + s % 11)")])
        }
        if s % 30 == 0 { pipeline.send(air, at(step + 1), [("pm2_5", "\(Double(60 + s % 17) / 4)"), ("no2", "\(30 + s % 5)")]) }
        if s % 20 == 0 { pipeline.send(parkCamera, at(step + 2), [("people", "\(500 + (s * 3) % 50)")]) }
        if s == 300 {
            pipeline.send(camera, at(290.25), [("people", "1")])  // a redelivered copy
            pipeline.send(camera, at(100), [("people", "2")])  // late
        }
    }
}

/// Compares what a restored pipeline shows with what the live one shows, ignoring ingest counts.
private func expectSameState(_ restored: Snapshot, _ live: Snapshot, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(restored.asOf == live.asOf, sourceLocation: sourceLocation)
    #expect(restored.sensors.count == live.sensors.count, sourceLocation: sourceLocation)
    for (r, l) in zip(restored.sensors, live.sensors) {
        #expect(r.address == l.address, sourceLocation: sourceLocation)
        #expect(r.status == l.status, "\(l.address)", sourceLocation: sourceLocation)
        #expect(r.lastSeen == l.lastSeen, "\(l.address)", sourceLocation: sourceLocation)
        #expect(r.metrics == l.metrics, "\(l.address)", sourceLocation: sourceLocation)
        #expect(r.flowOccupancy == l.flowOccupancy, "\(l.address)", sourceLocation: sourceLocation)
        #expect(r.people == l.people, "\(l.address)", sourceLocation: sourceLocation)
    }
    #expect(restored.zones.count == live.zones.count, sourceLocation: sourceLocation)
    for (r, l) in zip(restored.zones, live.zones) {
        #expect(r.densityPPM2 == l.densityPPM2, "\(l.definition.id)", sourceLocation: sourceLocation)
        #expect(r.level == l.level, "\(l.definition.id)", sourceLocation: sourceLocation)
        #expect(r.coverage == l.coverage, "\(l.definition.id)", sourceLocation: sourceLocation)
        #expect(r.updatedAt == l.updatedAt, "\(l.definition.id)", sourceLocation: sourceLocation)
        #expect(r.windows == l.windows, "\(l.definition.id) windows", sourceLocation: sourceLocation)
        #expect(r.p50Density15m == l.p50Density15m, "\(l.definition.id) p50", sourceLocation: sourceLocation)
        #expect(r.p95Density15m == l.p95Density15m, "\(l.definition.id) p95", sourceLocation: sourceLocation)
    }
}

/// What a store would hand back at start-up: non-late readings in event-time order (stable), and the newest
/// flow state per sensor.
private func stored(_ delivered: DeliveredBatches) -> (readings: [StoredReading], flow: [FlowCounterState]) {
    let readings = delivered.readings.enumerated().filter { !$0.element.late }
        .sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
    var flow: [Int32: FlowCounterState] = [:]
    for state in delivered.flowCounters { flow[state.sensorRef] = state }
    return (readings, flow.values.sorted { $0.sensorRef < $1.sensorRef })
}

private let sensorsByRef = Dictionary(uniqueKeysWithValues: testRecords.map { ($0.ref, $0.address) })

@Suite("Pipeline.restore: refilling windows after a restart")
struct PipelineRestoreTests {
    @Test("after restore, a snapshot matches the live pipeline's: windows, last values, flow occupancy; counts start at zero")
    func restoreMatchesLive() throws {
        let liveDelivered = DeliveredBatches()
        let live = try makePipeline(delivered: liveDelivered)
        liveTraffic(live)
        live.flush()
        let (readings, flow) = stored(liveDelivered)
        #expect(readings.count == liveDelivered.readings.count - 1)  // the late one is not replayed
        #expect(flow.count == 1)

        let restoredDelivered = DeliveredBatches()
        let restored = try makePipeline(delivered: restoredDelivered)
        try restored.restore(readings: readings, sensorsByRef: sensorsByRef, flowStates: flow)
        let snapshot = restored.snapshot()
        expectSameState(snapshot, live.snapshot())
        #expect(snapshot.totals == IngestCounts())
        #expect(snapshot.sensors.allSatisfy { $0.counts == IngestCounts() })
        #expect(snapshot.sensor(gate.address)?.flowOccupancy == live.snapshot().sensor(gate.address)?.flowOccupancy)

        // Restoring stores nothing again, and hands over no rollups for minutes already stored.
        restored.flush(final: true)
        #expect(restoredDelivered.all.isEmpty)
    }

    @Test("after restore, duplicate detection and the windows carry on exactly as in the live pipeline")
    func restoreThenContinue() throws {
        let liveDelivered = DeliveredBatches()
        let live = try makePipeline(delivered: liveDelivered)
        liveTraffic(live, to: 400)
        live.flush()
        let (readings, flow) = stored(liveDelivered)
        let restored = try makePipeline(delivered: DeliveredBatches())
        try restored.restore(readings: readings, sensorsByRef: sensorsByRef, flowStates: flow)

        // A redelivered copy of a stored reading is a duplicate after the restart too.
        restored.send(camera, at(390.25), [("people", "12345")])
        #expect(restored.snapshot().totals.duplicate == 1)
        #expect(restored.snapshot().totals.accepted == 0)

        liveTraffic(live, from: 400, to: 700)
        liveTraffic(restored, from: 400, to: 700)
        expectSameState(restored.snapshot(), live.snapshot())
    }

    @Test("flow occupancy comes from the saved state, not from replaying counts")
    func flowOccupancyFromState() throws {
        let restored = try makePipeline(delivered: DeliveredBatches())
        let readings = [
            StoredReading(sensorRef: 11, metric: .peopleIn, time: at(10), value: 50),
            StoredReading(sensorRef: 11, metric: .peopleOut, time: at(10), value: 10),
        ]
        try restored.restore(readings: readings, sensorsByRef: sensorsByRef, flowStates: [FlowCounterState(sensorRef: 11, occupancy: 123, asOf: at(10))])
        #expect(restored.snapshot().sensor(gate.address)?.flowOccupancy == 123)
        restored.send(gate, at(20), [("people_in", "5"), ("people_out", "8")])
        #expect(restored.snapshot().sensor(gate.address)?.flowOccupancy == 120)
    }

    @Test("readings of refs the registry does not know are skipped; late rows are not replayed")
    func unknownRefsAndLateRows() throws {
        let restored = try makePipeline(delivered: DeliveredBatches())
        try restored.restore(
            readings: [
                StoredReading(sensorRef: 99, metric: .people, time: at(1), value: 5),
                StoredReading(sensorRef: 10, metric: .people, time: at(2), value: 6, late: true),
                StoredReading(sensorRef: 10, metric: .people, time: at(3), value: 7),
            ],
            sensorsByRef: sensorsByRef, flowStates: [])
        let snapshot = restored.snapshot()
        #expect(snapshot.sensors.count == testSensors.count + 1)
        let people = try #require(snapshot.sensor(camera.address)?.metrics.first)
        #expect(people.windows[WindowLength.oneHour.rawValue].count == 1)
        #expect(people.last == 7)
        // The late row was not replayed, so its copy is not a duplicate: it is on time now (4 s behind).
        restored.send(camera, at(2), [("people", "6")])
        #expect(restored.snapshot().totals.accepted == 1)
    }
}
