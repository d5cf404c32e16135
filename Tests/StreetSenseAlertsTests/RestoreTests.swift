import StreetSenseAlerts
import StreetSenseCore
import Testing

@Suite struct RestoreTests {
    /// Before the restart: a critical crowd alert (event 1), acknowledged (event 2), and an offline camera
    /// (event 3).
    func engineBeforeRestart() throws -> AlertEngine {
        var engine = AlertEngine()
        let zone = engine.registerZone(id: square)
        let sensor = engine.registerSensor(camera)
        var events: [AlertEvent] = []
        engine.sensorReading(sensor, metric: .people, value: 200, at: at(0), into: &events)
        engine.feed(zone, density: 5.5, from: 0, to: 35, into: &events)
        _ = try engine.acknowledge(alertID: AlertID(1), by: "ops-anna", note: "gates closed", at: at(40))
        engine.tick(at: at(900), into: &events)
        #expect(events.map(\.transition) == [.raised, .raised])
        #expect(engine.lastEventID == AlertEventID(3))
        return engine
    }

    func freshEngine() -> (AlertEngine, AlertEngine.ZoneHandle, AlertEngine.SensorHandle) {
        var engine = AlertEngine()
        let zone = engine.registerZone(id: square)
        let sensor = engine.registerSensor(camera)
        return (engine, zone, sensor)
    }

    @Test func activeAlertsStayActiveAreNotRaisedTwiceAndIdsContinue() throws {
        let before = try engineBeforeRestart()
        var (engine, zone, sensor) = freshEngine()
        var events: [AlertEvent] = []
        try engine.restore(activeAlerts: before.activeAlerts, lastEventID: before.lastEventID, at: at(900), into: &events)
        #expect(events.isEmpty)
        #expect(engine.activeAlerts == before.activeAlerts)
        #expect(engine.lastEventID == AlertEventID(3))

        // The crowd is still critical and the camera still silent: nothing is raised again.
        engine.feed(zone, density: 5.5, from: 905, to: 1000, into: &events)
        engine.tick(at: at(1000), into: &events)
        #expect(events.isEmpty)

        // The crowd thins: the restored alert clears, with the next id and its acknowledgement.
        engine.feed(zone, density: 1.0, from: 1000, to: 1100, into: &events)
        let cleared = try #require(events.last)
        #expect(events.count == 1)
        #expect(cleared.transition == .cleared)
        #expect(cleared.id == AlertEventID(4))
        #expect(cleared.alertID == AlertID(1))
        #expect(cleared.at == at(1060))
        #expect(cleared.peak == 5.5)
        #expect(cleared.acknowledgement?.by == "ops-anna")

        // The camera's next reading clears its offline alert.
        engine.sensorReading(sensor, metric: .people, value: 30, at: at(1100), into: &events)
        #expect(events.last?.transition == .cleared)
        #expect(events.last?.alertID == AlertID(3))
        #expect(events.last?.id == AlertEventID(5))

        // A new condition is a new alert with a new, larger id.
        engine.feed(zone, density: 2.6, from: 1100, to: 1135, into: &events)
        #expect(events.last?.transition == .raised)
        #expect(events.last?.alertID == AlertID(6))
        #expect(engine.refusedTransitions == 0)
    }

    @Test func eventIDsStrictlyIncreaseAcrossAlertsAndRestarts() throws {
        var lastEventID = AlertEventID(0)
        var active: [AlertLifecycle] = []
        var all: [AlertEvent] = []
        for restart in 0..<4 {
            var (engine, zone, _) = freshEngine()
            try engine.restore(activeAlerts: active, lastEventID: lastEventID, at: at(Double(restart * 1000)), into: &all)
            let base = restart * 1000
            engine.feed(zone, density: 2.6, from: base, to: base + 40, into: &all)
            engine.feed(zone, density: 4.0, from: base + 40, to: base + 80, into: &all)
            engine.feed(zone, density: 1.0, from: base + 80, to: base + 300, into: &all)
            engine.feed(zone, density: 3.0, from: base + 300, to: base + 340, into: &all)
            active = engine.activeAlerts
            lastEventID = engine.lastEventID
        }
        let ids = all.map(\.id.rawValue)
        #expect(ids == Array(1...Int64(ids.count)))
        // First run: raised, escalated, cleared, raised. Each restart continues the restored elevated alert:
        // escalated, cleared, raised.
        #expect(all.count == 4 + 3 * 3)
    }

    @Test func sensorReadingsReplayedAtStartUpRebuildTheOfflineDeadlineSilently() throws {
        var (engine, _, sensor) = freshEngine()
        for s in stride(from: 0, through: 1500, by: 150) {
            engine.restoreSensorReading(sensor, metric: .people, value: 40, at: at(Double(s)))
        }
        var events: [AlertEvent] = []
        try engine.restore(activeAlerts: [], lastEventID: AlertEventID(17), at: at(1500), into: &events)
        engine.tick(at: at(1945), into: &events)
        #expect(events.isEmpty)
        engine.tick(at: at(1950), into: &events)
        #expect(events.first?.id == AlertEventID(18))
        #expect(events.first?.rule == .sensorOffline)
    }

    @Test func anAlertWhoseSubjectIsGoneIsCleared() throws {
        let gone = try AlertLifecycle(
            restoringID: AlertID(5), rule: .crowdDensity, subject: .zone("old-zone"), severity: .major, raisedAt: at(0),
            updatedAt: at(10), value: 3.9, peak: 4.2)
        var (engine, _, _) = freshEngine()
        var events: [AlertEvent] = []
        try engine.restore(activeAlerts: [gone], lastEventID: AlertEventID(9), at: at(5), into: &events)
        #expect(events.count == 1)
        #expect(events.first?.transition == .cleared)
        #expect(events.first?.alertID == AlertID(5))
        #expect(events.first?.id == AlertEventID(10))
        #expect(events.first?.at == at(10))  // never before the alert's last transition
        #expect(engine.activeAlerts.isEmpty)
    }

    @Test func inconsistentRestoresAreRefusedWhole() throws {
        func alert(
            _ id: Int64, _ rule: AlertRule = .crowdDensity, _ subject: AlertSubject = .zone(square), metric: Metric? = nil
        ) throws -> AlertLifecycle {
            try AlertLifecycle(
                restoringID: AlertID(id), rule: rule, subject: subject, metric: metric, severity: .warning, raisedAt: at(0),
                updatedAt: at(0), value: 2.6, peak: 2.6)
        }
        func code(_ alerts: [AlertLifecycle], last: Int64 = 100) -> AlertError.Code? {
            var (engine, _, _) = freshEngine()
            var events: [AlertEvent] = []
            do {
                try engine.restore(activeAlerts: alerts, lastEventID: AlertEventID(last), at: at(0), into: &events)
                return nil
            } catch {
                #expect(engine.activeAlerts.isEmpty)
                #expect(events.isEmpty)
                return error.code
            }
        }
        #expect(try code([alert(1), alert(2)]) == .inconsistentRestore)  // one key twice
        #expect(try code([alert(1), alert(1, .buildUp)]) == .inconsistentRestore)  // one id twice
        #expect(try code([alert(101)]) == .inconsistentRestore)  // id beyond the last event
        #expect(try code([alert(1, .sensorOffline, .zone(square))]) == .inconsistentRestore)  // wrong subject kind
        #expect(try code([alert(1, .airQuality, .zone(square))]) == .inconsistentRestore)  // no pollutant
        #expect(try code([alert(1, .airQuality, .zone(square), metric: .pm10), alert(2, .airQuality, .zone(square), metric: .no2)]) == nil)

        var cleared = try alert(1)
        var ids = AlertEventSequence(after: AlertEventID(1))
        _ = try cleared.clear(value: 1, at: at(60), eventIDs: &ids)
        #expect(code([cleared]) == .inconsistentRestore)

        // An engine that already produced events is not fresh.
        var (engine, zone, _) = freshEngine()
        var events: [AlertEvent] = []
        engine.feed(zone, density: 2.6, from: 0, to: 35, into: &events)
        do {
            try engine.restore(activeAlerts: [], lastEventID: AlertEventID(100), at: at(40), into: &events)
            Issue.record("restore into a used engine succeeded")
        } catch {
            #expect(error.code == .engineNotFresh)
        }
    }

    @Test func restoredAirAndFaultAlertsContinue() throws {
        var engine = AlertEngine()
        let sensor = engine.registerSensor(station)
        let air = try AlertLifecycle(
            restoringID: AlertID(3), rule: .airQuality, subject: .sensor(station), metric: .pm10, severity: .major,
            raisedAt: at(0), updatedAt: at(0), value: 120, peak: 120)
        let faulty = try AlertLifecycle(
            restoringID: AlertID(4), rule: .sensorFaulty, subject: .sensor(station), metric: .pm2_5, fault: .errorCode,
            severity: .warning, raisedAt: at(0), updatedAt: at(0), value: 3, peak: 3)
        var events: [AlertEvent] = []
        try engine.restore(activeAlerts: [air, faulty], lastEventID: AlertEventID(4), at: at(0), into: &events)
        // Still very poor: no event. Poor: a de-escalation of the same alert.
        engine.evaluateAirQuality(sensor: sensor, at: at(60), means: AirQualityMeans(pm10: 110), into: &events)
        #expect(events.isEmpty)
        engine.evaluateAirQuality(sensor: sensor, at: at(120), means: AirQualityMeans(pm10: 60), into: &events)
        #expect(events.map(\.transition) == [.deEscalated])
        #expect(events.first?.alertID == AlertID(3))
        #expect(events.first?.id == AlertEventID(5))
        // Another error code counts on the restored faulty alert.
        engine.sensorRejectedValues(sensor, reason: .errorCode, at: at(130), into: &events)
        #expect(engine.alert(id: AlertID(4))?.value == 4)
        #expect(events.count == 1)
    }
}
