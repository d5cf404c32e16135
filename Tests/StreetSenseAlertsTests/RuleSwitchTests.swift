import StreetSenseAlerts
import StreetSenseCore
import Testing

/// Per-subject air-quality rules, `alertFrom`, and the `isEnabled` switches of the sensor rules.
@Suite struct RuleSwitchTests {
    @Test("a station's own air rule: alerts from very poor, a poor band clears")
    func perStationAirRule() {
        var engine = AlertEngine()
        var veryPoor = AirQualityAlertRule.default
        veryPoor.alertFrom = .veryPoor
        let strict = engine.registerSensor(station, rules: SensorAlertRules(offline: .default, faults: .default, airQuality: veryPoor))
        let other = engine.registerSensor(SensorAddress(pilot: "citizen-air", sensor: "sds-2"))
        var events: [AlertEvent] = []
        for sensor in [strict, other] {
            engine.evaluateAirQuality(sensor: sensor, at: at(0), means: AirQualityMeans(pm2_5: 30), into: &events)  // poor
        }
        #expect(events.map(\.subject) == [.sensor(SensorAddress(pilot: "citizen-air", sensor: "sds-2"))])
        events.removeAll()
        engine.evaluateAirQuality(sensor: strict, at: at(60), means: AirQualityMeans(pm2_5: 55), into: &events)  // very poor
        engine.evaluateAirQuality(sensor: strict, at: at(120), means: AirQualityMeans(pm2_5: 40), into: &events)  // poor again
        #expect(events.map(\.transition) == [.raised, .cleared])
        #expect(events.map(\.severity) == [.major, .major])
        #expect(events.map(\.at) == [at(60), at(120)])
    }

    @Test("a disabled air rule evaluates nothing")
    func disabledAirRule() {
        var off = AirQualityAlertRule.default
        off.isEnabled = false
        var engine = AlertEngine(airQuality: off)
        let sensor = engine.registerSensor(station)
        let zone = engine.registerZone(id: square)
        var events: [AlertEvent] = []
        engine.evaluateAirQuality(sensor: sensor, at: at(0), means: AirQualityMeans(pm2_5: 300), into: &events)
        engine.evaluateAirQuality(zone: zone, at: at(0), means: AirQualityMeans(pm10: 300), into: &events)
        #expect(events.isEmpty)
    }

    @Test("offline and faulty can be switched off per sensor")
    func disabledSensorRules() {
        var engine = AlertEngine()
        let quiet = engine.registerSensor(
            station,
            rules: SensorAlertRules(
                offline: OfflineAlertRule(factor: 3, minimum: .seconds(300), assumedInterval: .seconds(300), isEnabled: false),
                faults: FaultAlertRule(stuckAfter: .seconds(3600), clear: .seconds(600), stuckMetrics: .measurements, isEnabled: false)))
        let watched = engine.registerSensor(camera)
        var events: [AlertEvent] = []
        engine.sensorReading(quiet, metric: .pm10, value: 999.9, at: at(0), into: &events)  // an error code
        engine.sensorReading(watched, metric: .peopleIn, value: 3, at: at(0), into: &events)
        #expect(events.isEmpty)
        engine.tick(at: at(3600), into: &events)
        #expect(events.map(\.rule) == [.sensorOffline])
        #expect(events.map(\.subject) == [.sensor(camera)])
    }
}
