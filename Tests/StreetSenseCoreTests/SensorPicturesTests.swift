import Testing
@testable import StreetSenseCore

/// ``AggregationCore/snapshotChanges()`` carries only the sensor pictures that input or time changed; a
/// ``SnapshotAssembly`` applying them must give the from-scratch ``AggregationCore/snapshot()``, whatever
/// happened in between.
@Suite struct SensorPicturesTests {
    private static let t0: Int64 = 1_795_341_600_000

    private static let zones = [
        ZoneDefinition(id: "square", name: "Square", areaM2: 1200),
        ZoneDefinition(id: "park", name: "Park", areaM2: 5000),
    ]

    /// Cameras, gates, Wi-Fi counters and air stations over two zones, with short and default staleness
    /// limits, so statuses flip while windows slide.
    private static let sensors: [SensorDefinition] = (0..<24).map { i in
        let kinds: [SensorKind] = [.occupancy, .flow, .devices, .air]
        return SensorDefinition(
            address: SensorAddress(pilot: i % 3 == 0 ? "pilot-b" : "pilot-a", sensor: "s-\(23 - i)"),
            zone: zones[i % 2].id, kind: kinds[i % 4], coveredM2: i % 4 == 3 ? nil : 300,
            staleAfter: i % 5 == 0 ? .seconds(20) : .seconds(300))
    }

    private static func expectEqual(_ refreshed: Snapshot, _ full: Snapshot, _ step: Int) {
        #expect(refreshed.asOf == full.asOf, "step \(step)")
        #expect(refreshed.sensors.count == full.sensors.count, "step \(step)")
        // The first differing sensor only, so a failure reads as one picture, not the whole city.
        if let i = refreshed.sensors.indices.first(where: { $0 < full.sensors.count && refreshed.sensors[$0] != full.sensors[$0] }) {
            #expect(refreshed.sensors[i] == full.sensors[i], "step \(step)")
        }
        #expect(refreshed.zones == full.zones, "step \(step)")
        #expect(refreshed.totals == full.totals, "step \(step)")
        #expect(refreshed.sensorIndex == full.sensorIndex, "step \(step)")
        #expect(refreshed.zoneIndex == full.zoneIndex, "step \(step)")
    }

    @Test(arguments: [1, 2, 3, 4])
    func refreshedSnapshotEqualsAFullRebuildAfterAnyInput(seed: UInt64) {
        var core = AggregationCore(zones: Self.zones, sensors: Self.sensors)
        var assembly = SnapshotAssembly()
        var rng = SplitMix64(seed: seed)
        var now = Self.t0
        var dispositions: [ReadingDisposition] = []
        var unregistered = 0
        var compared = 0
        for step in 0..<3_000 {
            // Time moves by small steps mostly, sometimes past a staleness limit, a window or the hour.
            let jump = [Int64(0), 250, 1_000, 4_000, 9_999, 10_000, 25_000, 61_000, 330_000, 3_700_000]
            now += jump[Int(rng.next() % UInt64(jump.count))] / (rng.next() % 4 == 0 ? 1 : 8)
            let sensor = Int(rng.next() % UInt64(Self.sensors.count))
            let index = SensorIndex(Int32(sensor))
            switch rng.next() % 10 {
            case 0:
                core.advance(to: EventTime(milliseconds: now))
            case 1:
                core.countRejectedMessage(sensor: index, reason: .malformedJSON)
            case 2:
                core.countRejectedReading(sensor: index, reason: .outOfRange)
            case 3 where unregistered < 6:
                let stranger = SensorAddress(pilot: "pilot-c", sensor: "new-\(unregistered)")
                unregistered += 1
                let i = core.index(of: stranger, registeringWith: Int32(100 + unregistered))
                dispositions.removeAll()
                core.apply(sensor: i, readings: [DecodedReading(metric: .people, value: 5, time: EventTime(milliseconds: now))],
                           arrival: EventTime(milliseconds: now), dispositions: &dispositions)
            case 4:
                core.restoreFlowOccupancy(index, Double(rng.next() % 50))
            case 5 where rng.next() % 20 == 0:
                core.resetCounts()
            default:
                // A reading, now or a little late (duplicates and too-late ones included).
                let metric: Metric = switch Self.sensors[sensor].kind {
                case .occupancy: .people
                case .flow: rng.next() % 2 == 0 ? .peopleIn : .peopleOut
                case .devices: .devices
                case .air: rng.next() % 2 == 0 ? .pm2_5 : .no2
                }
                let back = [Int64(0), 0, 0, 3_000, 40_000, 200_000][Int(rng.next() % 6)]
                let time = EventTime(milliseconds: now - back)
                dispositions.removeAll()
                core.apply(sensor: index, readings: [DecodedReading(metric: metric, value: Double(rng.next() % 400), time: time)],
                           arrival: time, dispositions: &dispositions)
            }
            if rng.next() % 3 == 0 {
                Self.expectEqual(assembly.apply(core.snapshotChanges()), core.snapshot(), step)
                compared += 1
            }
        }
        #expect(compared > 500)
        // The walk reached every status, so the comparison covered their transitions.
        let statuses = Set(assembly.apply(core.snapshotChanges()).sensors.map(\.status))
        #expect(statuses.contains(.unregistered))
    }

    @Test func aQuietSensorsWindowsAndStatusMoveWithTimeAlone() throws {
        let camera = SensorDefinition(address: SensorAddress(pilot: "p", sensor: "cam"), zone: "square", kind: .occupancy,
                                      coveredM2: 300, staleAfter: .seconds(60))
        let other = SensorDefinition(address: SensorAddress(pilot: "p", sensor: "other"), zone: "park", kind: .occupancy, coveredM2: 300)
        var core = AggregationCore(zones: Self.zones, sensors: [camera, other])
        var assembly = SnapshotAssembly()
        _ = core.send(camera.address, [(.people, 90)], at: EventTime(milliseconds: Self.t0))
        let first = try #require(assembly.apply(core.snapshotChanges()).sensor(camera.address))
        #expect(first.status == .active)
        #expect(first.metrics.first?.windows[WindowLength.oneMinute.rawValue].count == 1)
        // Only the other sensor reports; the camera's 1-minute window empties and it turns stale.
        _ = core.send(other.address, [(.people, 10)], at: EventTime(milliseconds: Self.t0 + 61_000))
        let changes = core.snapshotChanges()
        // Time alone moved the camera; the other sensor got input.
        #expect(changes.picturesBuilt == 2)
        let later = try #require(assembly.apply(changes).sensor(camera.address))
        #expect(later.status == .stale)
        #expect(later.metrics.first?.windows[WindowLength.oneMinute.rawValue].count == 0)
        #expect(later.metrics.first?.windows[WindowLength.fiveMinutes.rawValue].count == 1)
        #expect(later == core.snapshot().sensor(camera.address))
    }
    /// The assembly moves new pictures and zones into a new list when most changed and into its own list when
    /// few did; either way the snapshot it gave before keeps what it showed (readers may still hold it).
    @Test func manyOrFewChangesLeaveEarlierSnapshotsAsTheyWere() throws {
        var core = AggregationCore(zones: Self.zones, sensors: Self.sensors)
        var assembly = SnapshotAssembly()
        var dispositions: [ReadingDisposition] = []
        func reading(_ s: Int, _ value: Double, at t: Int64) {
            let metric: Metric = switch Self.sensors[s].kind {
            case .occupancy: .people
            case .flow: .peopleIn
            case .devices: .devices
            case .air: .pm2_5
            }
            dispositions.removeAll()
            core.apply(sensor: SensorIndex(Int32(s)), readings: [DecodedReading(metric: metric, value: value, time: EventTime(milliseconds: t))],
                       arrival: EventTime(milliseconds: t), dispositions: &dispositions)
        }
        for s in Self.sensors.indices { reading(s, 10, at: Self.t0) }
        let first = assembly.apply(core.snapshotChanges())
        let firstFull = core.snapshot()
        Self.expectEqual(first, firstFull, 0)
        // Every sensor and both zones change: the lists are rebuilt.
        for s in Self.sensors.indices { reading(s, 20, at: Self.t0 + 1_000) }
        let many = core.snapshotChanges()
        #expect(many.picturesBuilt == Self.sensors.count)
        let second = assembly.apply(many)
        let secondFull = core.snapshot()
        Self.expectEqual(second, secondFull, 1)
        // One sensor changes: the assembly's own lists are updated in place.
        reading(5, 30, at: Self.t0 + 2_000)
        let few = core.snapshotChanges()
        #expect(few.picturesBuilt == 1)
        Self.expectEqual(assembly.apply(few), core.snapshot(), 2)
        // The snapshots handed out before still show their moments.
        Self.expectEqual(first, firstFull, 3)
        Self.expectEqual(second, secondFull, 4)
        let sensor5 = try #require(second.sensor(Self.sensors[5].address))
        #expect(sensor5.metrics.first?.last == 20)
    }

    /// A picture is a value: changing a copy's property leaves the original and its equals as they were.
    @Test func aPictureIsAValue() throws {
        var core = AggregationCore(zones: Self.zones, sensors: Self.sensors)
        _ = core.send(Self.sensors[0].address, [(.people, 7)], at: EventTime(milliseconds: Self.t0))
        let original = try #require(core.snapshot().sensor(Self.sensors[0].address))
        let twin = try #require(core.snapshot().sensor(Self.sensors[0].address))
        var changed = original
        changed.status = .stale
        changed.people = 99
        #expect(original.status == .active)
        #expect(original.people != 99)
        #expect(changed.status == .stale)
        #expect(changed != original)
        #expect(twin == original)
        #expect(Set([original, twin, changed]).count == 2)
    }
}
