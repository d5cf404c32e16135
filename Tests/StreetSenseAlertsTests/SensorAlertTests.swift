import StreetSenseAlerts
import StreetSenseCore
import Testing

@Suite struct SensorOfflineTests {
    /// Runs seconds `from` … `to` (exclusive) in 5 s ticks; a reading at each time in `readings` goes in
    /// before that instant's tick.
    func run(
        _ engine: inout AlertEngine, _ sensor: AlertEngine.SensorHandle, readings: Set<Int>, from: Int, to: Int,
        into events: inout [AlertEvent]
    ) {
        for s in stride(from: from, to: to, by: 5) {
            if readings.contains(s) { engine.sensorReading(sensor, metric: .people, value: 40, at: at(Double(s)), into: &events) }
            engine.tick(at: at(Double(s)), into: &events)
        }
    }

    @Test func aSilentSensorGoesOfflineAtThreeMedianIntervalsAndClearsOnTheNextReading() throws {
        var engine = AlertEngine()
        let sensor = engine.registerSensor(camera)
        var events: [AlertEvent] = []
        // Every 150 s from 0 to 1500 s: median interval 150 s, limit 3 × 150 = 450 s after 1500 s = 1950 s.
        run(&engine, sensor, readings: Set(stride(from: 0, through: 1500, by: 150)), from: 0, to: 1950, into: &events)
        #expect(events.isEmpty)
        // One millisecond before the limit: still online.
        engine.tick(at: at(1950) - .milliseconds(1), into: &events)
        #expect(events.isEmpty)
        engine.tick(at: at(1950), into: &events)
        let raised = try #require(events.first)
        #expect(events.count == 1)
        #expect(raised.rule == .sensorOffline)
        #expect(raised.transition == .raised)
        #expect(raised.subject == .sensor(camera))
        #expect(raised.subject.id == "helsinki-lab/cam-01")
        #expect(raised.severity == .warning)
        #expect(raised.at == at(1950))
        #expect(raised.value == 450)
        // Later ticks update the silence without events.
        run(&engine, sensor, readings: [], from: 1955, to: 2105, into: &events)
        #expect(events.count == 1)
        #expect(engine.alert(id: raised.alertID)?.value == 600)
        // The next reading clears it.
        engine.sensorReading(sensor, metric: .people, value: 12, at: at(2103), into: &events)
        let cleared = try #require(events.last)
        #expect(events.count == 2)
        #expect(cleared.transition == .cleared)
        #expect(cleared.alertID == raised.alertID)
        #expect(cleared.at == at(2103))
        #expect(cleared.value == 603)
        #expect(cleared.peak == 603)
        #expect(engine.activeAlerts.isEmpty)
    }

    @Test(arguments: [0.0, 1.3, 2.5, 4.999])
    func raisedWithinOneTickOfTheLimit(offset: Double) throws {
        var engine = AlertEngine()
        let sensor = engine.registerSensor(camera)
        var events: [AlertEvent] = []
        for s in stride(from: 0, through: 1500, by: 150) {
            engine.sensorReading(sensor, metric: .people, value: 40, at: at(Double(s)), into: &events)
        }
        var tick = 1500 + offset
        while events.isEmpty, tick < 3000 {
            engine.tick(at: at(tick), into: &events)
            tick += 5
        }
        let raised = try #require(events.first)
        let limit = at(1950)
        #expect(raised.at >= limit)
        #expect(raised.at.milliseconds - limit.milliseconds < 5000)
    }

    @Test func theLimitIsNeverBelowFiveMinutes() throws {
        var engine = AlertEngine()
        let sensor = engine.registerSensor(camera)
        var events: [AlertEvent] = []
        // Every 30 s: 3 × 30 s = 90 s, raised to the 5-minute minimum.
        run(&engine, sensor, readings: Set(stride(from: 0, through: 600, by: 30)), from: 0, to: 905, into: &events)
        #expect(events.count == 1)
        #expect(events.first?.at == at(900))
        #expect(events.first?.value == 300)
    }

    @Test func aNewSensorIsGivenTheAssumedIntervalUntilItShowsOne() throws {
        var engine = AlertEngine()
        let sensor = engine.registerSensor(camera)
        var events: [AlertEvent] = []
        // One reading: 3 × the assumed 5 minutes = 15 minutes.
        run(&engine, sensor, readings: [0], from: 0, to: 900, into: &events)
        #expect(events.isEmpty)
        engine.tick(at: at(900), into: &events)
        #expect(events.first?.at == at(900))
    }

    @Test func aSensorNeverHeardFromIsNotOffline() {
        var engine = AlertEngine()
        engine.registerSensor(camera)
        var events: [AlertEvent] = []
        engine.tick(at: at(86_400), into: &events)
        #expect(events.isEmpty)
    }

    @Test func rejectedValuesAreNotASignOfLife() {
        var engine = AlertEngine()
        let sensor = engine.registerSensor(station)
        var events: [AlertEvent] = []
        engine.sensorReading(sensor, metric: .pm10, value: 20, at: at(0), into: &events)
        engine.tick(at: at(900), into: &events)
        #expect(events.map(\.rule) == [.sensorOffline])
        engine.sensorRejectedValues(sensor, reason: .outOfRange, at: at(960), into: &events)
        #expect(events.map(\.rule) == [.sensorOffline, .sensorFaulty])
        #expect(engine.activeAlertCount == 2)
    }
}

@Suite struct SensorFaultTests {
    @Test func aValueStuckForAnHourIsAFaultAndAChangedValueClearsItAfterTheClearTime() throws {
        var engine = AlertEngine()
        let sensor = engine.registerSensor(station)
        var events: [AlertEvent] = []
        func reading(_ s: Int, _ value: Double) {
            engine.sensorReading(sensor, metric: .pm2_5, value: value, at: at(Double(s)), into: &events)
        }
        // 12.0 every 5 minutes: identical for 55 minutes at 3300 s, for an hour at 3600 s.
        for s in stride(from: 0, through: 3300, by: 300) { reading(s, 12.0) }
        #expect(events.isEmpty)
        reading(3600, 12.0)
        let raised = try #require(events.first)
        #expect(raised.rule == .sensorFaulty)
        #expect(raised.fault == .stuckValue)
        #expect(raised.metric == .pm2_5)
        #expect(raised.at == at(3600))
        #expect(raised.value == 1)
        reading(3900, 12.0)
        #expect(engine.alert(id: raised.alertID)?.value == 2)
        // Good values from 4200 s; cleared after 10 minutes of them.
        reading(4200, 13.0)
        reading(4500, 12.5)
        #expect(events.count == 1)
        reading(4800, 12.8)
        #expect(events.map(\.transition) == [.raised, .cleared])
        #expect(events.last?.at == at(4800))
        #expect(events.last?.value == 2)
        #expect(events.last?.alertID == raised.alertID)
    }

    @Test func countsAtZeroAndSaturatedHumidityAreNeverStuck() throws {
        var engine = AlertEngine()
        let sensor = engine.registerSensor(station)
        var events: [AlertEvent] = []
        for s in stride(from: 0, through: 7200, by: 300) {
            engine.sensorReading(sensor, metric: .people, value: 0, at: at(Double(s)), into: &events)
            engine.sensorReading(sensor, metric: .humidity, value: 100, at: at(Double(s)), into: &events)
        }
        #expect(events.isEmpty)
        for s in stride(from: 7500, through: 7500 + 3600, by: 300) {
            engine.sensorReading(sensor, metric: .humidity, value: 55, at: at(Double(s)), into: &events)
        }
        #expect(events.map(\.fault) == [.stuckValue])
        #expect(events.first?.metric == .humidity)
        #expect(events.first?.at == at(7500 + 3600))
    }

    @Test func errorCodesAreFaultsWhetherReadOrRejected() throws {
        var engine = AlertEngine()
        let sensor = engine.registerSensor(station)
        var events: [AlertEvent] = []
        engine.sensorReading(sensor, metric: .pm10, value: 999.9, at: at(0), into: &events)
        let raised = try #require(events.first)
        #expect(raised.rule == .sensorFaulty)
        #expect(raised.fault == .errorCode)
        #expect(raised.metric == .pm10)
        #expect(raised.value == 1)
        engine.sensorRejectedValues(sensor, reason: .errorCode, count: 3, at: at(60), into: &events)
        engine.sensorRejectedValues(sensor, reason: .malformedJSON, count: 5, at: at(61), into: &events)
        #expect(events.count == 1)
        #expect(engine.alert(id: raised.alertID)?.value == 4)
        engine.sensorReading(sensor, metric: .pm2_5, value: 1999.9, at: at(90), into: &events)
        #expect(engine.alert(id: raised.alertID)?.value == 5)
        engine.sensorReading(sensor, metric: .pm10, value: 20, at: at(120), into: &events)
        engine.sensorReading(sensor, metric: .pm10, value: 21, at: at(690), into: &events)
        #expect(events.count == 1)
        engine.sensorReading(sensor, metric: .pm10, value: 22, at: at(720), into: &events)
        #expect(events.map(\.transition) == [.raised, .cleared])
        #expect(events.last?.value == 5)
    }

    @Test func impossibleValuesRaiseWithTheirCount() throws {
        var engine = AlertEngine()
        let sensor = engine.registerSensor(station)
        var events: [AlertEvent] = []
        engine.sensorRejectedValues(sensor, reason: .outOfRange, count: 2, at: at(0), into: &events)
        engine.sensorRejectedValues(sensor, reason: .notFinite, count: 0, at: at(1), into: &events)
        let raised = try #require(events.first)
        #expect(events.count == 1)
        #expect(raised.fault == .impossibleValue)
        #expect(raised.metric == nil)
        #expect(raised.value == 2)
        #expect(SensorFault(rejectReason: .notFinite) == .impossibleValue)
        #expect(SensorFault(rejectReason: .unknownMetric) == nil)
    }

    @Test func aFaultInTheMiddleOfGoodReadingsRestartsTheClearTime() throws {
        var engine = AlertEngine()
        let sensor = engine.registerSensor(station)
        var events: [AlertEvent] = []
        engine.sensorRejectedValues(sensor, reason: .outOfRange, at: at(0), into: &events)
        for s in stride(from: 60, through: 540, by: 60) {
            engine.sensorReading(sensor, metric: .no2, value: Double(30 + s / 60), at: at(Double(s)), into: &events)
        }
        engine.sensorRejectedValues(sensor, reason: .outOfRange, at: at(570), into: &events)
        // Good from 600 s: cleared at 1200 s, not at 660 s.
        for s in stride(from: 600, through: 1140, by: 60) {
            engine.sensorReading(sensor, metric: .no2, value: Double(30 + s / 60), at: at(Double(s)), into: &events)
        }
        #expect(events.count == 1)
        engine.sensorReading(sensor, metric: .no2, value: 51, at: at(1200), into: &events)
        #expect(events.last?.transition == .cleared)
        #expect(events.last?.value == 2)
    }
}
