import Testing
@testable import StreetSenseCore

/// ``AggregationCore/snapshotChanges()`` rebuilds a zone only when its snapshot can have changed: input to one
/// of its sensors, a new density sample, or time alone (a sensor turning stale, a sample leaving the 15-minute
/// percentile window, a bucket leaving a density window). Every step checks the assembled snapshot against the
/// from-scratch ``AggregationCore/snapshot()``.
@Suite struct ZoneSnapshotChangesTests {
    /// Aligned to the hour, so to every sample instant and bucket boundary.
    private static let t0: Int64 = 1_795_341_600_000

    private static func at(_ milliseconds: Int64) -> EventTime { EventTime(milliseconds: t0 + milliseconds) }

    private static func zone(_ id: String) -> ZoneDefinition { ZoneDefinition(id: id, name: id, areaM2: 1000) }

    private static func sensor(_ name: String, in zone: String, kind: SensorKind = .occupancy, staleAfter: Duration = .seconds(300))
        -> SensorDefinition
    {
        SensorDefinition(address: SensorAddress(pilot: "p", sensor: name), zone: zone, kind: kind, coveredM2: 500, staleAfter: staleAfter)
    }

    /// The positions of the zones one ``SnapshotChanges`` rebuilt.
    private static func rebuiltZones(_ changes: SnapshotChanges) -> [Int] {
        changes.allZones.map { Array($0.indices) } ?? changes.updatedZones.map(\.position)
    }

    /// Takes the next changes, applies them, checks the result against a full rebuild, and returns the positions of
    /// the zones rebuilt and the assembled snapshot.
    private static func next(
        _ core: inout AggregationCore, _ assembly: inout SnapshotAssembly, sourceLocation: SourceLocation = #_sourceLocation
    ) -> (rebuilt: [Int], snapshot: Snapshot) {
        let changes = core.snapshotChanges()
        let assembled = assembly.apply(changes)
        let full = core.snapshot()
        #expect(assembled.asOf == full.asOf, sourceLocation: sourceLocation)
        #expect(assembled.zones == full.zones, sourceLocation: sourceLocation)
        #expect(assembled.zoneIndex == full.zoneIndex, sourceLocation: sourceLocation)
        #expect(assembled.sensors == full.sensors, sourceLocation: sourceLocation)
        #expect(changes.zonesBuilt == rebuiltZones(changes).count, sourceLocation: sourceLocation)
        return (rebuiltZones(changes), assembled)
    }

    @Test func onlyTheZoneWhoseSensorGotInputIsRebuilt() throws {
        let zones = (0..<50).map { Self.zone("zone-\($0)") }
        let sensors = (0..<50).map { Self.sensor("cam-\($0)", in: "zone-\($0)") }
        var core = AggregationCore(zones: zones, sensors: sensors)
        var assembly = SnapshotAssembly()
        for (i, sensor) in sensors.enumerated() { _ = core.send(sensor.address, [(.people, Double(10 + i))], at: Self.at(1_000)) }
        #expect(Self.next(&core, &assembly).rebuilt.count == 50)
        // No input, no sample instant, no bucket boundary, nobody near its staleness limit: nothing to rebuild.
        core.advance(to: Self.at(1_500))
        #expect(Self.next(&core, &assembly).rebuilt.isEmpty)
        // One camera reports before the next sample instant (t0 + 5 s): only its zone.
        _ = core.send(sensors[17].address, [(.people, 400)], at: Self.at(2_000))
        let (rebuilt, snapshot) = Self.next(&core, &assembly)
        #expect(rebuilt == [17])
        #expect(try #require(snapshot.zone(id: "zone-17")).densityPPM2 == 400.0 / 500)
        #expect(try #require(snapshot.zone(id: "zone-16")).densityPPM2 == 26.0 / 500)
        // The sample instant adds a density sample to every zone: all are rebuilt.
        core.advance(to: Self.at(5_000))
        let sampled = Self.next(&core, &assembly)
        #expect(sampled.rebuilt.count == 50)
        #expect(try #require(sampled.snapshot.zone(id: "zone-17")).p50Density15m == 400.0 / 500)
    }

    @Test func aZoneWithoutInputIsRebuiltWhenItsSensorTurnsStale() throws {
        let camera = Self.sensor("cam", in: "square", staleAfter: .seconds(60))
        let other = Self.sensor("other", in: "park")
        var core = AggregationCore(zones: [Self.zone("square"), Self.zone("park")], sensors: [camera, other])
        var assembly = SnapshotAssembly()
        _ = core.send(camera.address, [(.people, 100)], at: Self.at(0))
        _ = Self.next(&core, &assembly)
        // The camera is fresh up to t0 + 60 s inclusive; the sample at t0 + 60 s is taken with it.
        _ = core.send(other.address, [(.people, 10)], at: Self.at(59_000))
        core.advance(to: Self.at(60_000))
        let fresh = Self.next(&core, &assembly)
        #expect(try #require(fresh.snapshot.zone(id: "square")).coverage.sensorsUsed == 1)
        // 1 ms later: no sample instant, no bucket boundary, no input for the square; only staleness moves it.
        core.advance(to: Self.at(60_001))
        let (rebuilt, snapshot) = Self.next(&core, &assembly)
        #expect(rebuilt == [0])
        let square = try #require(snapshot.zone(id: "square"))
        #expect(square.densityPPM2 == nil)
        #expect(square.coverage == ZoneCoverage(sensorsUsed: 0, sensorsStale: 1, coveredM2: 0))
        #expect(square.p50Density15m == 100.0 / 500)
    }

    @Test func aZoneIsRebuiltWhenASampleLeavesTheFifteenMinutes() throws {
        let camera = Self.sensor("cam", in: "square", staleAfter: .seconds(4))
        var core = AggregationCore(zones: [Self.zone("square"), Self.zone("park")], sensors: [camera])
        var assembly = SnapshotAssembly()
        // Samples at t0 + 20 s (100 people) and t0 + 25 s (300); stale from t0 + 29.001 s, so no more samples.
        // Off the minute, so the samples leave the 15 minutes between bucket boundaries.
        _ = core.send(camera.address, [(.people, 100)], at: Self.at(20_000))
        _ = core.send(camera.address, [(.people, 300)], at: Self.at(25_000))
        core.advance(to: Self.at(40_000))
        let full = try #require(Self.next(&core, &assembly).snapshot.zone(id: "square"))
        #expect(full.p50Density15m == 100.0 / 500)
        #expect(full.p95Density15m == 300.0 / 500)
        #expect(full.densityPPM2 == nil)
        // Just before the first sample leaves (at t0 + 920 s) and when it does: the park never changes.
        core.advance(to: Self.at(919_999))
        _ = Self.next(&core, &assembly)
        core.advance(to: Self.at(920_000))
        let (rebuilt, snapshot) = Self.next(&core, &assembly)
        #expect(rebuilt == [0])
        let square = try #require(snapshot.zone(id: "square"))
        #expect(square.p50Density15m == 300.0 / 500)
        #expect(square.p95Density15m == 300.0 / 500)
        core.advance(to: Self.at(925_000))
        let (rebuiltEmpty, emptied) = Self.next(&core, &assembly)
        #expect(rebuiltEmpty == [0])
        #expect(try #require(emptied.zone(id: "square")).p50Density15m == nil)
        #expect(try #require(emptied.zone(id: "square")).p95Density15m == nil)
        // Once its windows have emptied too, nothing about the zone can change without input.
        core.advance(to: Self.at(3 * 3_600_000))
        _ = Self.next(&core, &assembly)
        core.advance(to: Self.at(4 * 3_600_000))
        #expect(Self.next(&core, &assembly).rebuilt.isEmpty)
    }

    @Test func densityWindowsRollWithoutNewSamples() throws {
        let camera = Self.sensor("cam", in: "square", staleAfter: .seconds(12))
        var core = AggregationCore(zones: [Self.zone("square")], sensors: [camera])
        var assembly = SnapshotAssembly()
        _ = core.send(camera.address, [(.people, 100)], at: Self.at(0))
        core.advance(to: Self.at(15_000))
        // Samples at t0, +5 s, +10 s (stale from +12.001 s): fine buckets t0 (two samples) and t0 + 10 s (one).
        let before = try #require(Self.next(&core, &assembly).snapshot.zone(id: "square"))
        #expect(before.windows[WindowLength.oneMinute.rawValue].count == 3)
        // At t0 + 60 s the bucket of t0 leaves the 1-minute window; no sample is added (the camera is stale).
        core.advance(to: Self.at(59_999))
        _ = Self.next(&core, &assembly)
        core.advance(to: Self.at(60_000))
        let (rebuilt, snapshot) = Self.next(&core, &assembly)
        #expect(rebuilt == [0])
        let square = try #require(snapshot.zone(id: "square"))
        #expect(square.windows[WindowLength.oneMinute.rawValue].count == 1)
        #expect(square.windows[WindowLength.fiveMinutes.rawValue].count == 3)
        // Between bucket boundaries nothing moves.
        core.advance(to: Self.at(65_000))
        #expect(Self.next(&core, &assembly).rebuilt.isEmpty)
        // The 15-minute and 1-hour windows roll on 60 s boundaries once the fine ones are empty.
        core.advance(to: Self.at(3_599_999))
        let hour = try #require(Self.next(&core, &assembly).snapshot.zone(id: "square"))
        #expect(hour.windows[WindowLength.oneHour.rawValue].count == 3)
        #expect(hour.windows[WindowLength.fiveMinutes.rawValue].count == 0)
        core.advance(to: Self.at(3_600_000))
        let (rebuiltLater, later) = Self.next(&core, &assembly)
        #expect(rebuiltLater == [0])
        #expect(try #require(later.zone(id: "square")).windows[WindowLength.oneHour.rawValue].count == 0)
    }

    @Test func airMeansFollowInputAndStaleness() throws {
        let station = Self.sensor("station", in: "street", kind: .air, staleAfter: .seconds(30))
        let kiosk = Self.sensor("kiosk", in: "street", kind: .air)
        // A camera that also reports temperature: fresh for the air mean longer than for the estimate.
        let camera = Self.sensor("cam", in: "street", staleAfter: .seconds(20))
        let other = Self.sensor("other", in: "park")
        var core = AggregationCore(zones: [Self.zone("street"), Self.zone("park")], sensors: [station, kiosk, camera, other])
        var assembly = SnapshotAssembly()
        _ = core.send(station.address, [(.pm2_5, 10), (.no2, 40)], at: Self.at(1_000))
        _ = core.send(kiosk.address, [(.pm2_5, 20)], at: Self.at(1_000))
        _ = core.send(camera.address, [(.people, 50)], at: Self.at(1_000))
        _ = core.send(camera.address, [(.temperature, 4)], at: Self.at(2_000))
        let first = try #require(Self.next(&core, &assembly).snapshot.zone(id: "street"))
        #expect(first.air.map(\.metric) == [.pm2_5, .no2, .temperature])
        #expect(first.air.map(\.value) == [15, 40, 4])
        // The kiosk's new value changes the mean; the park gets nothing.
        _ = core.send(kiosk.address, [(.pm2_5, 30)], at: Self.at(3_000))
        let (rebuilt, snapshot) = Self.next(&core, &assembly)
        #expect(rebuilt == [0])
        #expect(try #require(snapshot.zone(id: "street")).air.map(\.value) == [20, 40, 4])
        // The camera's people estimate turns stale at t0 + 21.001 s, its temperature at t0 + 22.001 s.
        core.advance(to: Self.at(21_001))
        _ = Self.next(&core, &assembly)
        core.advance(to: Self.at(22_001))
        let (rebuiltAtTemperature, atTemperature) = Self.next(&core, &assembly)
        #expect(rebuiltAtTemperature == [0])
        #expect(try #require(atTemperature.zone(id: "street")).air.map(\.metric) == [.pm2_5, .no2])
        // The station turns stale at t0 + 31.001 s: only the kiosk's pm2.5 is left.
        core.advance(to: Self.at(31_001))
        let (rebuiltAtStation, atStation) = Self.next(&core, &assembly)
        #expect(rebuiltAtStation == [0])
        let street = try #require(atStation.zone(id: "street"))
        #expect(street.air.map(\.metric) == [.pm2_5])
        #expect(street.air.map(\.value) == [30])
    }

    @Test func aZoneOfOnlyStaleSensors() throws {
        let a = Self.sensor("a", in: "square", staleAfter: .seconds(20))
        let b = Self.sensor("b", in: "square", staleAfter: .seconds(40))
        let other = Self.sensor("other", in: "park", staleAfter: .seconds(7_200))
        var core = AggregationCore(zones: [Self.zone("square"), Self.zone("park")], sensors: [a, b, other])
        var assembly = SnapshotAssembly()
        _ = core.send(a.address, [(.people, 100)], at: Self.at(1_000))
        _ = core.send(b.address, [(.people, 200)], at: Self.at(1_000))
        _ = core.send(other.address, [(.people, 5)], at: Self.at(1_000))
        _ = Self.next(&core, &assembly)
        core.advance(to: Self.at(41_001))
        let square = try #require(Self.next(&core, &assembly).snapshot.zone(id: "square"))
        #expect(square.densityPPM2 == nil)
        #expect(square.people == nil)
        #expect(square.level == .normal)
        #expect(square.coverage == ZoneCoverage(sensorsUsed: 0, sensorsStale: 2, coveredM2: 0))
        #expect(square.updatedAt == nil)
        // The park's camera keeps the sample instants busy; the square is rebuilt only when its samples or
        // buckets move, and after 75 minutes never again.
        core.advance(to: Self.at(5_400_000))
        _ = Self.next(&core, &assembly)
        for step in 1...20 {
            core.advance(to: Self.at(5_400_000 + Int64(step) * 250))
            let (rebuilt, snapshot) = Self.next(&core, &assembly)
            #expect(!rebuilt.contains(0))
            #expect(try #require(snapshot.zone(id: "square")).p50Density15m == nil)
        }
    }

    /// The percentiles kept sorted as samples come and go equal those of the window sorted from scratch, whether
    /// read before the new samples are settled into the sorted order or after, and however many came between two
    /// settles (one, a few, more than ``ZoneSampleRing/settleLimit``, more than the capacity).
    @Test(arguments: [1, 2, 3, 4, 5])
    func samplePercentilesEqualASortOfTheWindow(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let capacity = seed % 2 == 0 ? 12 : 180
        var ring = ZoneSampleRing(capacity: capacity)
        var appended: [(instant: Int64, value: Double)] = []
        var instant: Int64 = 0
        var settles = 0, rebuilds = 0
        var gap = 1
        for _ in 0..<3_000 {
            // Gaps (a zone without density) and repeated values.
            instant += 5_000 * Int64(1 + (rng.next() % 5 == 0 ? rng.next() % 6 : 0))
            let value = Double(rng.next() % 8) / 4
            ring.append(instant: instant, value: value)
            appended.append((instant, value))
            let kept = appended.suffix(capacity)
            func expectPercentiles() {
                for span in [Int64(10_000), 30_000, 60_000, 200_000, 900_000, 2_000_000] {
                    let since = instant - span
                    var window = kept.filter { $0.instant > since }.map(\.value)
                    window.sort()
                    let expected: (Double?, Double?) =
                        window.isEmpty
                        ? (nil, nil)
                        : (window[max(0, Int((0.5 * Double(window.count)).rounded(.up)) - 1)],
                           window[max(0, Int((0.95 * Double(window.count)).rounded(.up)) - 1)])
                    let (p50, p95) = ring.percentiles(since: since, until: instant)
                    #expect(p50 == expected.0)
                    #expect(p95 == expected.1)
                }
            }
            if !(ring.unsettled >= gap) {
                #expect(ring.unsettled > 0)
                expectPercentiles()
                continue
            }
            if ring.unsettled > min(ZoneSampleRing.settleLimit, capacity) { rebuilds += 1 }
            settles += 1
            ring.settle()
            #expect(ring.unsettled == 0)
            // The next settle after 1 sample mostly, after a few often, sometimes after many.
            gap = switch rng.next() % 10 {
            case 0..<5: 1
            case 5..<8: 2 + Int(rng.next() % 15)
            default: 17 + Int(rng.next() % 80)
            }
            // The sorted values are those held, whether the new ones moved up, down or not at all past the old.
            #expect(ring.sorted == kept.map(\.value).sorted())
            expectPercentiles()
        }
        #expect(settles > 150)
        #expect(rebuilds > 5)
    }
}
