import Logging
import StreetSenseConfig
import StreetSenseCore
import StreetSensePipeline
import StreetSenseReplay
import StreetSenseSimulation
import Testing

/// Timeline points fall on the readings' event time (`t`, the pipeline's "now"), not on the trace lines' `at`
/// (DESIGN §10): the point at T is taken after every reading with t ≤ T and before the first with t > T.
@Suite("Timeline on event time")
struct TimelineTests {
    let zone = ZoneDefinition(id: "plaza", name: "Plaza", areaM2: 1000)
    let camera = SensorDefinition(address: SensorAddress(pilot: "lab", sensor: "cam-1"), zone: "plaza", kind: .occupancy)
    /// 2026-11-22T10:00:00Z.
    let ten = EventTime(milliseconds: 1_795_341_600_000)

    private func record(at: Double, t: Double, people: Int) -> TraceRecord {
        let time = ten + .milliseconds(Int64(t * 1000))
        return TraceRecord(
            at: ten + .milliseconds(Int64(at * 1000)), topic: "streetsense/v1/readings/lab/cam-1",
            payload: #"{"t":"\#(time.rfc3339)","people":\#(people)}"#)
    }

    private func timeline(_ records: [TraceRecord], every: Duration = .seconds(60)) throws -> [(EventTime, Snapshot)] {
        let replay = try OfflineReplay(
            zones: [zone], sensors: [camera], options: PipelineOptions(),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        var points: [(EventTime, Snapshot)] = []
        replay.recordTimeline(every: every) { points.append(($0, $1)) }
        for record in records { replay.apply(record) }
        _ = replay.finish()
        return points
    }

    private func people(_ snapshot: Snapshot) -> (last: Double?, count: Int?) {
        let metric = snapshot.sensor(camera.address)?.metrics.first { $0.metric == .people }
        return (metric?.last, metric?.windows[WindowLength.oneMinute.rawValue].count)
    }

    @Test("a delivery after the point with a reading before it lands in the point; a late `at` moves no point")
    func pointsFollowReadingTimes() throws {
        let points = try timeline([
            record(at: 5, t: 5, people: 100),
            record(at: 50, t: 50, people: 200),
            // Delivered at 10:01:30 but read at 10:00:55: it belongs to the 10:01:00 point.
            record(at: 90, t: 55, people: 300),
            // The first reading after 10:01:00 closes that point.
            record(at: 91, t: 70, people: 400),
            // Delivered at 10:09:00 with a reading at 10:01:20: no points for 10:02 … 10:09.
            record(at: 540, t: 80, people: 500),
        ])
        #expect(points.map(\.0) == [ten + .seconds(60), ten + .seconds(120)])
        let first = people(points[0].1)
        #expect(first.last == 300 && first.count == 3)
        #expect(points[0].1.asOf == ten + .seconds(55))
        let last = people(points[1].1)
        #expect(last.last == 500 && last.count == 4)  // 10:00:30 < t ≤ 10:01:20 at 10 s buckets: 50, 55, 70, 80
        #expect(points[1].1.asOf == ten + .seconds(80))
        // The rendered line carries the point's time.
        let line = String(decoding: ReplayReport.timelineLine(points[0].1, asOf: points[0].0), as: UTF8.self)
        #expect(line.hasPrefix(#"{"as_of":"2026-11-22T10:01:00.000Z","zones":["#))
    }

    @Test("a reading exactly on a point belongs to it; a gap of several intervals gives every point in between")
    func edgesAndGaps() throws {
        let points = try timeline([
            record(at: 60, t: 60, people: 100),
            record(at: 61, t: 60.001, people: 200),
            record(at: 200, t: 200, people: 300),
        ])
        #expect(points.map(\.0) == [60, 120, 180, 240].map { ten + .seconds($0) })
        #expect(people(points[0].1).last == 100)
        #expect(people(points[1].1).last == 200 && people(points[2].1).last == 200)
        #expect(people(points[3].1).last == 300)
    }

    @Test("festival with late and out-of-order deliveries: one point per minute of event time, none ahead of its readings")
    func generatedTraceWithFaults() throws {
        var festival = try scenario("festival")
        var faults = Scenario.Faults()
        faults.lateRate = 0.02
        faults.outOfOrderRate = 0.02
        faults.duplicateRate = 0.02
        festival.faults = faults
        let trace = traceBytes(festival, seed: 2, duration: .seconds(20 * 60))
        #expect(trace.truth.lateMessages > 0 && trace.truth.outOfOrderMessages > 0)
        let replay = try OfflineReplay(configuration: try configuration(for: festival), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        var points: [(EventTime, Snapshot)] = []
        replay.recordTimeline(every: .seconds(60)) { points.append(($0, $1)) }
        let reader = TraceReader(bytes: trace.bytes)
        while let record = try reader.next() { replay.apply(record) }
        _ = replay.finish()
        // Points from 16:01:00 (the first reading is just after the start) to 16:20:00 (the newest reading is
        // before it), one a minute.
        #expect(points.map(\.0) == (1...20).map { festival.start + .seconds(60 * $0) })
        for (asOf, snapshot) in points {
            #expect(snapshot.asOf <= asOf && snapshot.asOf > asOf - .seconds(60))
            #expect(snapshot.sensors.allSatisfy { ($0.lastSeen ?? asOf) <= asOf })
        }
    }
}
