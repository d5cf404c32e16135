import Logging
import StreetSenseAlerts
import StreetSenseCore
import StreetSensePipeline
import StreetSenseStore
import Synchronization
import Testing

/// Alerts evaluated inside the pipeline, on event time, with their events stored in the same batches as the
/// readings that caused them.
@Suite struct AlertPipelineTests {
    let zone = ZoneDefinition(id: "kamppi-square", name: "Kamppi square", areaM2: 1000)
    let camera = SensorDefinition(address: .init(pilot: "helsinki-lab", sensor: "cam-01"), zone: "kamppi-square", kind: .occupancy)
    let t0: Int64 = 1_795_341_600_000

    @Test func aSurgeRaisesOneDensityAlertAndItClearsAfterwards() throws {
        let batches = Mutex<[StoreBatch]>([])
        let pipeline = try Pipeline(
            zones: [zone], sensors: [camera], records: [], options: PipelineOptions(followsWallClock: false),
            logger: Logger(label: "test"), deliver: { batch in batches.withLock { $0.append(batch) } })
        // 3.0 p/m² for two minutes, then 0.5 p/m² for five, one reading every 5 s.
        for i in 0..<(7 * 12) {
            let seconds = Int64(i) * 5
            let people = seconds < 120 ? 3000 : 500
            let t = EventTime(milliseconds: t0 + seconds * 1000)
            let topic = Array("streetsense/v1/readings/helsinki-lab/cam-01".utf8)
            let payload = Array(#"{"t": "\#(t.rfc3339)", "people": \#(people)}"#.utf8)
            pipeline.process(topic: topic.span, payload: payload.span, payloadSize: payload.count, arrival: t)
        }
        pipeline.flush(final: true)
        let events = batches.withLock { $0.flatMap(\.alertEvents) }
        #expect(events.map(\.transition) == [.raised, .cleared])
        #expect(events.allSatisfy { $0.rule == .crowdDensity && $0.subject == .zone("kamppi-square") })
        #expect(events.first?.severity == .warning)  // elevated: 3.0 is below high (3.5)
        // The 1-minute mean is 3.0 from the first sample at 0 s; the level must hold 30 s.
        #expect(events.first?.at == EventTime(milliseconds: t0 + 30_000))
        // Cleared only after the mean stayed below 2.25 (2.5 − 10 %) for 60 s, well after the drop at 120 s.
        let cleared = try #require(events.last?.at.milliseconds)
        #expect(cleared > t0 + 180_000 && cleared < t0 + 300_000)
        #expect(events[1].id.rawValue > events[0].id.rawValue)
        #expect(pipeline.alerts.activeAlertCount == 0)
    }
}
