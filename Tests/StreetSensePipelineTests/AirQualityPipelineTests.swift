import StreetSenseAlerts
import StreetSenseConfig
import StreetSenseCore
import StreetSensePipeline
import StreetSenseStore
import Testing

/// Air-quality alerts from running means inside the pipeline, and the configured sensor rules, on event time.
@Suite struct AirQualityPipelineTests {
    /// A pipeline with the test registry and the sensor rules of `rules` for every sensor.
    func pipeline(_ delivered: DeliveredBatches, rules: RuleSet = .default) throws -> Pipeline {
        try Pipeline(
            zones: testZones, sensors: testSensors, records: testRecords,
            options: PipelineOptions(storeBatchInterval: .seconds(3600), followsWallClock: false),
            zoneRules: testZones.map { _ in ZoneAlertRules(rules) }, sensorRules: testSensors.map { _ in SensorAlertRules(rules) },
            logger: quietLogger, deliver: { delivered.append($0) })
    }

    /// PM2.5 every 10 minutes, one value per hour: hours 0–17 alternate 19 and 21 (daily mean 20, fair),
    /// hours 18 and 19 are 79 and 81, then 1 and 3 alternate.
    static func pm25(hour: Int) -> Double {
        switch hour {
        case 0..<18: hour.isMultiple(of: 2) ? 19 : 21
        case 18: 79
        case 19: 81
        default: hour.isMultiple(of: 2) ? 1 : 3
        }
    }

    func sendPM(_ pipeline: Pipeline, hours: Range<Int>) {
        for hour in hours {
            for minute in stride(from: 0, to: 60, by: 10) {
                pipeline.send(air, at(Double(hour * 3600 + minute * 60)), [("pm2_5", "\(Self.pm25(hour: hour))")])
            }
        }
    }

    @Test("PM2.5 over the band on the 24-hour mean raises air_quality (poor) and clears below it")
    func pm25RaisesAndClears() throws {
        let delivered = DeliveredBatches()
        let pipeline = try pipeline(delivered)
        sendPM(pipeline, hours: 0..<25)
        pipeline.flush(final: true)
        let events = delivered.all.flatMap(\.alertEvents).filter { $0.rule == .airQuality }
        // Daily means (of hourly means, 18 of 24 hours needed): at 18:00 (360 + 79) / 19 = 23.1 (moderate);
        // at 19:00 (360 + 79 + 81) / 20 = 26 (poor, above 25); then 521/21, 524/22, 525/23 (≥ 22.5, poor's
        // line with 10 % hysteresis), and at 23:00 528/24 = 22 (below it): cleared.
        #expect(events.map(\.transition) == [.raised, .cleared])
        #expect(events.map(\.at) == [at(19 * 3600), at(23 * 3600)])
        #expect(events.map(\.severity) == [.warning, .warning])
        #expect(events.map(\.value) == [26, 22])
        #expect(events.allSatisfy { $0.metric == .pm2_5 && $0.subject == .sensor(air.address) })
        #expect(events.first?.level == "poor")
        // Alternating hourly values are never stuck, and the sensor never went quiet.
        #expect(delivered.all.flatMap(\.alertEvents).allSatisfy { $0.rule == .airQuality })
    }

    @Test("a disabled air-quality rule raises nothing")
    func disabled() throws {
        let delivered = DeliveredBatches()
        var rules = RuleSet.default
        rules.airQuality.isEnabled = false
        let pipeline = try pipeline(delivered, rules: rules)
        sendPM(pipeline, hours: 0..<21)
        pipeline.flush(final: true)
        #expect(delivered.all.flatMap(\.alertEvents).isEmpty)
    }

    @Test("after a restart the stored readings refill the means: the alert comes at the same time")
    func restoreRefillsMeans() throws {
        let first = DeliveredBatches()
        let before = try pipeline(first)
        sendPM(before, hours: 0..<18)
        before.flush(final: true)
        let stored = first.readings
        #expect(stored.count == 18 * 6)

        let second = DeliveredBatches()
        let after = try pipeline(second)
        try after.restore(
            readings: stored, sensorsByRef: Dictionary(uniqueKeysWithValues: testRecords.map { ($0.ref, $0.address) }),
            flowStates: [], activeAlerts: [], lastAlertEventID: AlertEventID(0))
        sendPM(after, hours: 18..<20)
        after.flush(final: true)
        let events = second.all.flatMap(\.alertEvents).filter { $0.rule == .airQuality }
        #expect(events.map(\.transition) == [.raised])
        #expect(events.map(\.at) == [at(19 * 3600)])
        #expect(events.map(\.value) == [26])
    }

    @Test("after a restart, 1-minute rollups older than the raw readings replayed refill the 24-hour means")
    func restoreFromRollups() throws {
        let first = DeliveredBatches()
        let before = try pipeline(first)
        // Flushed every hour, as the live service flushes every 250 ms: closed minutes become rollups.
        for hour in 0..<18 {
            sendPM(before, hours: hour..<(hour + 1))
            before.flush()
        }
        before.flush(final: true)
        // As at start-up: rollups before the last hour, raw readings of the last hour only.
        let cut = at(17 * 3600)
        let rollups = first.all.flatMap(\.rollups).filter { $0.minute < cut && $0.metric == .pm2_5 }
        let recent = first.readings.filter { $0.time >= cut }
        #expect(!rollups.isEmpty && recent.count == 6)

        let second = DeliveredBatches()
        let after = try pipeline(second)
        try after.restore(
            readings: recent, sensorsByRef: Dictionary(uniqueKeysWithValues: testRecords.map { ($0.ref, $0.address) }),
            flowStates: [], activeAlerts: [], lastAlertEventID: AlertEventID(0), airRollups: rollups)
        sendPM(after, hours: 18..<20)
        after.flush(final: true)
        let events = second.all.flatMap(\.alertEvents).filter { $0.rule == .airQuality }
        #expect(events.map(\.transition) == [.raised])
        #expect(events.map(\.at) == [at(19 * 3600)])
        #expect(events.map(\.value) == [26])
    }

    @Test("sensor_offline follows the configured factor and minimum")
    func offlineFollowsConfiguration() throws {
        let delivered = DeliveredBatches()
        var rules = RuleSet.default
        rules.sensorOffline = SensorOfflineRules(factor: 2, minimum: .seconds(60), isEnabled: true)
        let pipeline = try pipeline(delivered, rules: rules)
        // The air sensor reports every 60 s until 240 s; the camera keeps event time moving every 5 s.
        for s in stride(from: 0, through: 600, by: 5) {
            pipeline.send(camera, at(Double(s)), [("people", "10")])
            if s % 60 == 0, s <= 240 { pipeline.send(air, at(Double(s)), [("pm10", "\(10 + s / 60)")]) }
        }
        pipeline.flush(final: true)
        let offline = delivered.all.flatMap(\.alertEvents).filter { $0.rule == .sensorOffline }
        // Limit: max(60 s, 2 × the 60 s interval) = 120 s after the last reading at 240 s (default: 300 s → 540 s).
        #expect(offline.map(\.transition) == [.raised])
        #expect(offline.map(\.subject) == [.sensor(air.address)])
        #expect(offline.first?.at == at(360))
    }

    @Test("sensor_faulty follows the configured stuck time, and can be switched off")
    func faultyFollowsConfiguration() throws {
        for enabled in [true, false] {
            let delivered = DeliveredBatches()
            var rules = RuleSet.default
            rules.sensorFaulty = SensorFaultyRules(stuckAfter: .seconds(600), clear: .seconds(60), isEnabled: enabled)
            let pipeline = try pipeline(delivered, rules: rules)
            for s in stride(from: 0, through: 900, by: 60) {
                pipeline.send(air, at(Double(s)), [("pm10", "12.5")])
            }
            pipeline.flush(final: true)
            let faulty = delivered.all.flatMap(\.alertEvents).filter { $0.rule == .sensorFaulty }
            if enabled {
                #expect(faulty.map(\.transition) == [.raised])
                #expect(faulty.first?.at == at(600))  // identical since 0 s, for 600 s (default: 3600 s)
                #expect(faulty.first?.fault == .stuckValue)
            } else {
                #expect(faulty.isEmpty)
            }
        }
    }
}
