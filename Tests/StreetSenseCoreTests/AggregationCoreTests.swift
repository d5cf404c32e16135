import Testing
@testable import StreetSenseCore

private let t0 = EventTime(milliseconds: 1_795_341_600_000)  // 2026-11-22T09:20:00Z, aligned to the hour

private func at(_ seconds: Double) -> EventTime { t0 + .milliseconds(Int64(seconds * 1000)) }

private let square = ZoneDefinition(id: "kamppi-square", name: "Kamppi square", areaM2: 1200)
private let park = ZoneDefinition(id: "esplanadi", name: "Esplanadi", areaM2: 5000)
private let camera = SensorDefinition(address: .init(pilot: "helsinki-lab", sensor: "cam-01"), zone: "kamppi-square", kind: .occupancy, coveredM2: 400)
private let gate = SensorDefinition(address: .init(pilot: "helsinki-lab", sensor: "gate-n"), zone: "kamppi-square", kind: .flow)
private let wifi = SensorDefinition(address: .init(pilot: "wifi-co", sensor: "ap-7"), zone: "esplanadi", kind: .devices, factor: 0.5, coveredM2: 2000)
private let air = SensorDefinition(address: .init(pilot: "citizen-air", sensor: "sds-5331"), zone: "kamppi-square", kind: .air)

private func makeCore() -> AggregationCore {
    AggregationCore(zones: [square, park], sensors: [camera, gate, wifi, air])
}

extension AggregationCore {
    /// Applies a message and returns the outcomes.
    mutating func send(_ address: SensorAddress, _ readings: [(Metric, Double)], at time: EventTime) -> [ReadingDisposition.Outcome] {
        let index = index(of: address, registeringWith: 99)
        var out: [ReadingDisposition] = []
        apply(sensor: index, readings: readings.map { DecodedReading(metric: $0.0, value: $0.1, time: time) }, arrival: time, dispositions: &out)
        return out.map(\.outcome)
    }
}

@Suite struct AggregationCoreTests {
    @Test func zoneDensityIsPeopleOverTheAreaTheFreshSensorsCover() throws {
        var core = makeCore()
        _ = core.send(camera.address, [(.people, 200)], at: at(0))
        _ = core.send(gate.address, [(.peopleIn, 500), (.peopleOut, 100)], at: at(1))
        let snapshot = core.snapshot()
        let zone = try #require(snapshot.zone(id: "kamppi-square"))
        // Camera: 200 people over 400 m²; gate: occupancy 400 over the whole zone (1200 m²).
        let expected = (200.0 + 400.0) / (400.0 + 1200.0)
        #expect(try #require(zone.densityPPM2) == expected)
        #expect(zone.people == expected * 1200)
        #expect(zone.coverage == ZoneCoverage(sensorsUsed: 2, sensorsStale: 0, coveredM2: 1200))
        #expect(zone.updatedAt == at(1))
        #expect(zone.level == .normal)
        // The air sensor is in the zone but never estimates people.
        #expect(zone.sensors.count == 3)
    }

    @Test func devicesUseTheirFactor() throws {
        var core = makeCore()
        _ = core.send(wifi.address, [(.devices, 8000)], at: at(0))
        let zone = try #require(core.snapshot().zone(id: "esplanadi"))
        #expect(zone.densityPPM2 == 8000 * 0.5 / 2000)
        #expect(zone.level == .normal)
        _ = core.send(wifi.address, [(.devices, 16_000)], at: at(10))
        #expect(core.snapshot().zone(id: "esplanadi")?.level == .high)  // 8000 / 2000 = 4.0 p/m²
        _ = core.send(wifi.address, [(.devices, 20_000)], at: at(20))
        #expect(core.snapshot().zone(id: "esplanadi")?.level == .critical)  // 10000 / 2000 = 5.0 p/m²
    }

    @Test func flowOccupancyNeverGoesNegativeAndNetsEachMessage() {
        var core = makeCore()
        let index = core.index(of: gate.address)!
        // In and out in one message net out before clamping: 0 + 12 − 9 = 3 whichever key comes first.
        var out: [ReadingDisposition] = []
        core.apply(sensor: index, readings: [
            DecodedReading(metric: .peopleOut, value: 9, time: at(0)), DecodedReading(metric: .peopleIn, value: 12, time: at(0)),
        ], arrival: at(0), dispositions: &out)
        #expect(core.flowOccupancy(index) == 3)
        _ = core.send(gate.address, [(.peopleIn, 0), (.peopleOut, 50)], at: at(60))
        #expect(core.flowOccupancy(index) == 0)
        _ = core.send(gate.address, [(.peopleIn, 7), (.peopleOut, 2)], at: at(120))
        #expect(core.flowOccupancy(index) == 5)
        // A redelivered message changes nothing.
        #expect(core.send(gate.address, [(.peopleIn, 7), (.peopleOut, 2)], at: at(120)) == [.duplicate, .duplicate])
        #expect(core.flowOccupancy(index) == 5)
    }

    @Test func staleSensorsDropOutAndASilentZoneHasNoDensity() throws {
        var core = makeCore()
        _ = core.send(camera.address, [(.people, 400)], at: at(0))
        _ = core.send(gate.address, [(.peopleIn, 1200), (.peopleOut, 0)], at: at(200))
        // At 250 s both are fresh (stale after 300 s).
        core.advance(to: at(250))
        var zone = try #require(core.snapshot().zone(id: "kamppi-square"))
        #expect(zone.densityPPM2 == (400 + 1200) / 1600.0)
        // At 300.001 s the camera is stale: only the gate counts.
        core.advance(to: at(300.001))
        zone = try #require(core.snapshot().zone(id: "kamppi-square"))
        #expect(zone.densityPPM2 == 1.0)
        #expect(zone.coverage == ZoneCoverage(sensorsUsed: 1, sensorsStale: 1, coveredM2: 1200))
        #expect(core.snapshot().sensor(camera.address)?.status == .stale)
        // Everyone silent: no density, level normal, both counted stale.
        core.advance(to: at(600))
        zone = try #require(core.snapshot().zone(id: "kamppi-square"))
        #expect(zone.densityPPM2 == nil)
        #expect(zone.people == nil)
        #expect(zone.coverage == ZoneCoverage(sensorsUsed: 0, sensorsStale: 2, coveredM2: 0))
        // The camera comes back.
        _ = core.send(camera.address, [(.people, 100)], at: at(610))
        #expect(core.snapshot().zone(id: "kamppi-square")?.densityPPM2 == 0.25)
        #expect(core.snapshot().sensor(camera.address)?.status == .active)
    }

    @Test func unregisteredSensorsAreListedButNeverInAZone() throws {
        var core = makeCore()
        let stranger = SensorAddress(pilot: "helsinki-lab", sensor: "cam-99")
        #expect(core.send(stranger, [(.people, 5000)], at: at(0)) == [.accepted])
        let snapshot = core.snapshot()
        let sensor = try #require(snapshot.sensor(stranger))
        #expect(sensor.status == .unregistered)
        #expect(sensor.metrics.first?.last == 5000)
        #expect(snapshot.zones.allSatisfy { $0.densityPPM2 == nil })
        #expect(snapshot.sensor(camera.address)?.status == .waiting)
    }

    @Test func aSensorOfTheWrongKindIsRejectedPerReading() {
        var core = makeCore()
        #expect(core.send(air.address, [(.people, 5), (.pm2_5, 12)], at: at(0)) == [.rejected(.kindMismatch), .accepted])
        let counts = core.snapshot().sensor(air.address)!.counts
        #expect(counts.rejected == 1)
        #expect(counts.accepted == 1)
        #expect(core.snapshot().zone(id: "kamppi-square")!.air.map(\.metric) == [.pm2_5])
    }

    @Test func zoneDensityIsSampledOnEventTimeAndKeepsPercentiles() throws {
        var core = makeCore()
        // The camera's count rises by 4 people every 5 s for 15 minutes (density +0.01 p/m² per sample).
        for i in 0..<180 {
            _ = core.send(camera.address, [(.people, Double(i) * 4)], at: at(Double(i) * 5))
        }
        core.advance(to: at(900))
        let zone = try #require(core.snapshot().zone(id: "kamppi-square"))
        // The sample at instant 5k s is taken after the reading stamped 5k s: density 0.01 k for k = 1…179;
        // the sample at 900 s still sees the last count (sent at 895 s).
        let samples = (1...179).map { Double($0) * 4 / 400 } + [179.0 * 4 / 400]
        let oneMinute = zone.windows[WindowLength.oneMinute.rawValue]
        // The 1m window at 900 s holds the samples at 850…900 s (buckets 850–859 … 900–909): 11 samples.
        #expect(oneMinute.count == 11)
        #expect(abs(try #require(oneMinute.mean) - samples[169...179].reduce(0, +) / 11) < 1e-12)
        // The true slope is 0.12 p/m² per minute; the newest bucket holds one sample instead of two, so the
        // bucket-resolution slope is a little off.
        #expect(abs(try #require(oneMinute.ratePerMinute) - 0.12) < 0.01)
        // p50/p95 over the 180 samples in (0, 900]: nearest rank 90 and 171.
        #expect(zone.p50Density15m == samples[89])
        #expect(zone.p95Density15m == samples[170])
    }

    @Test func readingsCountOnceWhateverTheArrivalOrder() throws {
        var inOrder = makeCore(), shuffled = makeCore()
        let times = (0..<40).map { at(Double($0) * 3) }
        for t in times { _ = inOrder.send(camera.address, [(.people, Double(t.milliseconds % 997))], at: t) }
        var order = Array(times.indices)
        var rng = SplitMix64(seed: 11)
        order.shuffle(using: &rng)
        // Shuffle only within a 90 s horizon so nothing is late: sort by (index / 30) then random.
        order.sort { ($0 / 30) < ($1 / 30) }
        for i in order + order.prefix(10) {  // ten redeliveries
            _ = shuffled.send(camera.address, [(.people, Double(times[i].milliseconds % 997))], at: times[i])
        }
        shuffled.advance(to: times.last!)
        inOrder.advance(to: times.last!)
        let a = try #require(inOrder.snapshot().sensor(camera.address)?.metrics.first)
        let b = try #require(shuffled.snapshot().sensor(camera.address)?.metrics.first)
        #expect(a.windows == b.windows)
        #expect(a.last == b.last)
        #expect(shuffled.snapshot().totals.duplicate == 10)
    }

    @Test func rollupsNameTheirSubjects() {
        var core = AggregationCore(zones: [square, park], sensors: [camera, gate, wifi, air], refs: [10, 11, 12, 13])
        _ = core.send(camera.address, [(.people, 10)], at: at(1))
        _ = core.send(camera.address, [(.people, 20)], at: at(2))
        core.advance(to: at(61))
        var subjects: [RollupSubject: (EventTime, UInt32, Double)] = [:]
        core.drainChangedMinutes { subject, minute, bucket in subjects[subject] = (minute, bucket.count, bucket.sum) }
        let cameraRollup = subjects[.sensor(ref: 10, metric: .people)]
        #expect(cameraRollup?.0 == t0)
        #expect(cameraRollup?.1 == 2)
        #expect(cameraRollup?.2 == 30)
        // The zone density was sampled at 5, 10, …, 55 s (11 samples of 20/400) in minute 0, and at 60 s in minute 1.
        let zoneRollup = subjects[.zoneDensity(zone: "kamppi-square")]
        #expect(zoneRollup != nil)
        #expect(subjects.keys.contains(.zoneDensity(zone: "esplanadi")) == false)
    }
}

@Suite struct ZoneSampleTests {
    @Test func samplesCarryTheWindowsAtTheirInstant() throws {
        var core = AggregationCore(zones: [square], sensors: [camera])
        core.recordsZoneSamples = true
        // 2.5 p/m² from 0 s, 3.0 p/m² from 30 s.
        _ = core.send(camera.address, [(.people, 1000)], at: at(0))
        _ = core.send(camera.address, [(.people, 1200)], at: at(30))
        core.advance(to: at(60))
        var samples: [ZoneSample] = []
        core.drainZoneSamples { samples.append($0) }
        // Instants 0 (after the reading stamped 0 s), 5, …, 60.
        #expect(samples.map(\.instant) == stride(from: 0.0, through: 60, by: 5).map { at($0) })
        #expect(samples.map(\.density) == (0...12).map { $0 < 6 ? 2.5 : 3.0 })
        // At 60 s the 1m window holds the samples of buckets 10–19 … 60–69: 10, 15, 20, 25 (2.5) and 30 … 60 (3.0).
        let last = try #require(samples.last)
        #expect(last.trend.oneMinuteCount == 11)
        #expect(last.trend.oneMinuteMean == (4 * 2.5 + 7 * 3.0) / 11)
        #expect(last.trend.fiveMinuteCount == 13)
        // Drained samples are gone; a core that does not record keeps nothing.
        var again = 0
        core.drainZoneSamples { _ in again += 1 }
        #expect(again == 0)
        var quiet = AggregationCore(zones: [square], sensors: [camera])
        _ = quiet.send(camera.address, [(.people, 1000)], at: at(0))
        quiet.advance(to: at(60))
        quiet.drainZoneSamples { _ in again += 1 }
        #expect(again == 0)
    }

    /// Every sample's trend equals the density series' full fine windows at its instant, although the second
    /// sample in a fine bucket reuses the first one's sums of the older buckets: cameras and a gate reporting at
    /// random times (some late, some silent long enough to go stale), one sample instant at a time.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func sampleTrendsEqualTheFullFineWindows(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        var core = makeCore()
        core.recordsZoneSamples = true
        var now = 0.0
        _ = core.send(camera.address, [(.people, 300)], at: at(now))
        var compared = 0, sameBucket = 0
        for step in 0..<500 {
            now += 5
            for _ in 0..<Int(rng.next() % 3) {
                let t = now - Double(rng.next() % 5_000) / 1_000 - (rng.next() % 10 == 0 ? 60 : 0)
                if rng.next() % 2 == 0 {
                    _ = core.send(camera.address, [(.people, Double(rng.next() % 900))], at: at(t))
                } else {
                    _ = core.send(gate.address, [(.peopleIn, Double(rng.next() % 40)), (.peopleOut, Double(rng.next() % 30))], at: at(t))
                }
            }
            if step % 97 == 0 { now += 400 }
            core.advance(to: at(now))
            var last: ZoneSample?
            core.drainZoneSamples { sample in if sample.zoneIndex == 0 { last = sample } }
            let sample = try #require(last)
            #expect(sample.instant == at(now))
            let id = core.zones[0].densitySeries
            let (oneMinute, fiveMinutes) = core.series.fineWindows(id, at: sample.instant.milliseconds)
            #expect(sample.trend == DensityTrend(oneMinute: oneMinute, fiveMinutes: fiveMinutes))
            compared += 1
            if core.zones[0].trendCarry.epoch == RingGeometry.epoch(of: sample.instant.milliseconds - 5_000, width: RingGeometry.fineWidth) {
                sameBucket += 1
            }
        }
        #expect(compared == 500)
        #expect(sameBucket > 100)
    }

    @Test func aZoneWithoutFreshSensorsIsSampledAsUnknown() {
        var core = AggregationCore(zones: [square], sensors: [camera])
        core.recordsZoneSamples = true
        _ = core.send(camera.address, [(.people, 100)], at: at(0))
        core.advance(to: at(305))
        var last: ZoneSample?
        core.drainZoneSamples { last = $0 }
        #expect(last?.instant == at(305))
        #expect(last?.density == nil)
    }
}

@Suite struct ZoneMemberTests {
    /// What ``AggregationCore/zoneEstimate(_:at:)`` computed before the zone members: every sensor of the zone,
    /// its ``AggregationCore/peopleEstimate(_:)`` from its own state and series.
    static func estimateFromScratch(_ core: AggregationCore, zone z: Int, at instant: Int64) -> AggregationCore.ZoneEstimate {
        var estimate = AggregationCore.ZoneEstimate()
        var people = 0.0
        for sensor in core.zones[z].sensors {
            let s = Int(sensor.rawValue)
            guard let kind = core.sensors[s].kind, kind.estimatesPeople, let (p, newest) = core.peopleEstimate(s) else { continue }
            if instant - newest > core.sensors[s].staleAfterMilliseconds {
                estimate.stale += 1
                continue
            }
            estimate.used += 1
            people += p
            estimate.coveredM2 += core.sensors[s].coveredM2 ?? core.zones[z].definition.areaM2
            estimate.updatedAt = max(estimate.updatedAt, newest)
        }
        if estimate.used > 0, estimate.coveredM2 > 0 { estimate.density = people / estimate.coveredM2 }
        return estimate
    }

    /// The members are kept current by readings (in order, late, duplicate, several per message), flow nets
    /// and restored occupancies, and every estimate equals the one from scratch to the last bit.
    @Test(arguments: [UInt64(1), 2, 3])
    func zoneEstimatesEqualTheEstimateFromScratch(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        var sensors: [SensorDefinition] = []
        for i in 0..<4 {
            let covered: Double? = i == 3 ? nil : 100 * Double(i + 1)
            sensors.append(SensorDefinition(
                address: SensorAddress(pilot: "p", sensor: "cam-\(i)"), zone: "kamppi-square", kind: .occupancy,
                factor: 1 + Double(i) / 10, coveredM2: covered, staleAfter: .seconds(30 + 20 * i)))
        }
        sensors += [gate, wifi, air, SensorDefinition(address: SensorAddress(pilot: "p", sensor: "lost"), zone: "nowhere", kind: .occupancy)]
        var core = AggregationCore(zones: [square, park], sensors: sensors)
        var time = t0.milliseconds
        var sawStale = false, sawUsed = false
        for step in 0..<3_000 {
            time += Int64(rng.next() % 4_000)
            let stamp = EventTime(milliseconds: rng.next() % 8 == 0 ? time - Int64(rng.next() % 120_000) : time)
            let sensor = sensors[Int(rng.next() % UInt64(sensors.count))]
            let value = Double(rng.next() % 500)
            switch sensor.kind {
            case .flow: _ = core.send(sensor.address, [(.peopleIn, value), (.peopleOut, Double(rng.next() % 400))], at: stamp)
            case .devices: _ = core.send(sensor.address, [(.devices, value)], at: stamp)
            case .air: _ = core.send(sensor.address, [(.pm10, value), (.people, value)], at: stamp)
            default: _ = core.send(sensor.address, [(.people, value)], at: stamp)
            }
            if step % 500 == 0 { core.restoreFlowOccupancy(try #require(core.index(of: gate.address)), value) }
            for z in core.zones.indices {
                for instant in [time, time + 25_000, time + 200_000] {
                    let members = core.zoneEstimate(z, at: instant), scratch = Self.estimateFromScratch(core, zone: z, at: instant)
                    sawStale = sawStale || scratch.stale > 0
                    sawUsed = sawUsed || scratch.used > 1
                    #expect(members.density == scratch.density)
                    #expect(members.used == scratch.used && members.stale == scratch.stale)
                    #expect(members.coveredM2 == scratch.coveredM2 && members.updatedAt == scratch.updatedAt)
                }
            }
        }
        #expect(sawStale && sawUsed)
        // The square's four cameras and gate, the park's Wi-Fi counter: not the air station, not a sensor of an
        // unknown zone.
        #expect(core.zoneMembers.count == 6)
    }
}
