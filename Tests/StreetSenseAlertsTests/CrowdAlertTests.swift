import StreetSenseAlerts
import StreetSenseCore
import Testing

@Suite struct CrowdAlertTests {
    /// An oscillation around elevated (2.5) between 2.3 and 2.7 (in two-minute phases) stays inside the
    /// hysteresis band (cleared only below 2.5 × 0.9 = 2.25): one alert, raised once and cleared once.
    @Test func oscillationInsideTheHysteresisRaisesExactlyOneAlert() throws {
        var engine = AlertEngine()
        let zone = engine.registerZone(id: square)
        var events: [AlertEvent] = []
        oscillate(&engine, zone, &events)
        #expect(events.map(\.transition) == [.raised, .cleared])
        let raised = events[0], cleared = events[1]
        #expect(raised.at == at(90))  // 2.6 from 60 s, held 30 s
        #expect(raised.value == 2.6)
        #expect(raised.severity == .warning)
        #expect(cleared.alertID == raised.alertID)
        #expect(cleared.at == at(1380))  // 1.0 from 1320 s, below 2.25 for 60 s
        #expect(cleared.value == 1.0)
        #expect(cleared.peak == 2.7)
        #expect(engine.activeAlerts.isEmpty)
        #expect(engine.refusedTransitions == 0)
    }

    /// The same trace without hysteresis flaps: every 2.3 phase clears (below 2.5 for 60 s) and every 2.7
    /// phase raises a new alert: 1 + 5 raises, 5 + 1 clears.
    @Test func withoutHysteresisTheSameOscillationFlaps() {
        var engine = AlertEngine()
        var rules = ZoneAlertRules.default
        rules.density.hysteresis = 0
        let zone = engine.registerZone(id: square, rules: rules)
        var events: [AlertEvent] = []
        oscillate(&engine, zone, &events)
        #expect(events.filter { $0.transition == .raised }.count == 6)
        #expect(events.filter { $0.transition == .cleared }.count == 6)
        #expect(Set(events.map(\.alertID)).count == 6)
    }

    /// 1.0 for a minute, 2.6 for a minute, then ten two-minute phases alternating 2.3 and 2.7, then 1.0.
    private func oscillate(_ engine: inout AlertEngine, _ zone: AlertEngine.ZoneHandle, _ events: inout [AlertEvent]) {
        engine.feed(zone, density: 1.0, from: 0, to: 60, into: &events)
        engine.feed(zone, density: 2.6, from: 60, to: 120, into: &events)
        for phase in 0..<10 {
            let start = 120 + phase * 120
            engine.feed(zone, density: phase % 2 == 0 ? 2.3 : 2.7, from: start, to: start + 120, into: &events)
        }
        engine.feed(zone, density: 1.0, from: 1320, to: 1500, into: &events)
    }

    @Test func aLevelHeldForLessThanTheHoldRaisesNothing() {
        var engine = AlertEngine()
        let zone = engine.registerZone(id: square)
        var events: [AlertEvent] = []
        // Above critical at 0 … 25 s: six samples, 25 s, short of the 30 s hold.
        engine.feed(zone, density: 6.0, from: 0, to: 30, into: &events)
        engine.feed(zone, density: 1.0, from: 30, to: 100, into: &events)
        #expect(events.isEmpty)
        // The other side of the edge: 100 … 130 s is seven samples, 30 s.
        engine.feed(zone, density: 6.0, from: 100, to: 135, into: &events)
        #expect(events.map(\.transition) == [.raised])
        #expect(events.first?.at == at(130))
        #expect(events.first?.severity == .critical)
    }

    /// Elevated → high → critical → back down → clear is ONE alert with exactly five events:
    /// 1. raised (elevated) at 30 s: 2.6 from 0 s held 30 s;
    /// 2. escalated (high) at 70 s: 3.8 from 40 s held 30 s;
    /// 3. escalated (critical) at 110 s: 5.5 from 80 s held 30 s;
    /// 4. de-escalated (elevated) at 180 s: 3.0 from 120 s is below critical's line (4.5) and high's (3.15)
    ///    but not elevated's (2.25); both clear times end at 180 s, so the alert drops two levels in ONE event;
    /// 5. cleared at 260 s: 1.0 from 200 s, below 2.25 for 60 s.
    @Test func escalationAndDeEscalationAreFiveEventsOfOneAlert() throws {
        var engine = AlertEngine()
        let zone = engine.registerZone(id: square)
        var events: [AlertEvent] = []
        engine.feed(zone, density: 2.6, from: 0, to: 40, into: &events)
        engine.feed(zone, density: 3.8, from: 40, to: 80, into: &events)
        engine.feed(zone, density: 5.5, from: 80, to: 120, into: &events)
        engine.feed(zone, density: 3.0, from: 120, to: 200, into: &events)
        engine.feed(zone, density: 1.0, from: 200, to: 300, into: &events)

        #expect(events.count == 5)
        #expect(events.map(\.transition) == [.raised, .escalated, .escalated, .deEscalated, .cleared])
        #expect(events.map(\.severity) == [.warning, .major, .critical, .warning, .warning])
        #expect(events.map(\.level) == ["elevated", "high", "critical", "elevated", "elevated"])
        #expect(events.map(\.at) == [at(30), at(70), at(110), at(180), at(260)])
        #expect(events.map(\.value) == [2.6, 3.8, 5.5, 3.0, 1.0])
        #expect(events.map(\.peak) == [2.6, 3.8, 5.5, 5.5, 5.5])
        #expect(events.map(\.id) == (1...5).map { AlertEventID(Int64($0)) })
        #expect(Set(events.map(\.alertID)) == [AlertID(1)])
        #expect(events.allSatisfy { $0.rule == .crowdDensity && $0.subject == .zone(square) })
    }

    @Test func acknowledgementSurvivesEscalationAndAckAfterClearIsAnError() throws {
        var engine = AlertEngine()
        let zone = engine.registerZone(id: square)
        var events: [AlertEvent] = []
        engine.feed(zone, density: 2.6, from: 0, to: 40, into: &events)
        let id = try #require(events.first?.alertID)
        let ack = try engine.acknowledge(alertID: id, by: "ops-anna", note: "stewards on their way", at: at(40))
        #expect(ack.transition == .acknowledged)
        #expect(ack.id == AlertEventID(2))
        #expect(ack.at == at(40))
        engine.feed(zone, density: 5.5, from: 40, to: 80, into: &events)
        let escalated = try #require(events.last)
        #expect(escalated.transition == .escalated)
        #expect(escalated.alertID == id)
        #expect(escalated.acknowledgement?.by == "ops-anna")
        #expect(escalated.acknowledgement?.note == "stewards on their way")
        #expect(engine.alert(id: id)?.acknowledgement?.at == at(40))
        // A second acknowledgement is refused.
        #expect(throws: AlertError.self) { try engine.acknowledge(alertID: id, by: "ops-ben", at: at(80)) }

        engine.feed(zone, density: 1.0, from: 80, to: 200, into: &events)
        #expect(events.last?.transition == .cleared)
        do {
            _ = try engine.acknowledge(alertID: id, by: "ops-anna", at: at(200))
            Issue.record("acknowledging a cleared alert succeeded")
        } catch {
            #expect(error.code == .alertNotActive)
            #expect(error.alertID == id)
        }
        do {
            _ = try engine.acknowledge(alertID: AlertID(999), by: "ops-anna", at: at(200))
            Issue.record("acknowledging an unknown alert succeeded")
        } catch {
            #expect(error.code == .alertNotActive)
        }
    }

    @Test func aReRaiseAfterClearIsANewAlert() throws {
        var engine = AlertEngine()
        let zone = engine.registerZone(id: square)
        var events: [AlertEvent] = []
        engine.feed(zone, density: 3.6, from: 0, to: 40, into: &events)
        engine.feed(zone, density: 1.0, from: 40, to: 110, into: &events)
        engine.feed(zone, density: 3.6, from: 110, to: 150, into: &events)
        #expect(events.map(\.transition) == [.raised, .cleared, .raised])
        #expect(events[0].alertID == AlertID(1))
        #expect(events[1].alertID == AlertID(1))
        #expect(events[2].alertID == AlertID(3))
        #expect(events[2].id == AlertEventID(3))
        #expect(events[2].peak == 3.6)
        #expect(engine.activeAlerts.map(\.id) == [AlertID(3)])
        #expect(engine.activeAlerts.first?.acknowledgement == nil)
    }

    @Test func missingDensityKeepsTheAlertAndRestartsTheRuns() {
        var engine = AlertEngine()
        let zone = engine.registerZone(id: square)
        var events: [AlertEvent] = []
        engine.feed(zone, density: 2.6, from: 0, to: 40, into: &events)
        // No sensor covers the zone for ten minutes: no value, no clear.
        engine.feed(zone, density: nil, from: 40, to: 640, into: &events)
        engine.feed(zone, density: .nan, from: 640, to: 700, into: &events)
        #expect(events.map(\.transition) == [.raised])
        #expect(engine.activeAlertCount == 1)
    }

    @Test func buildUpRaisesAfterItsHoldAndClearsBelowItsHysteresis() {
        var engine = AlertEngine()
        let zone = engine.registerZone(id: square)
        var events: [AlertEvent] = []
        for s in stride(from: 0, to: 40, by: 5) {
            engine.evaluateZone(zone, at: at(Double(s)), density1m: 1.0, buildUpPer5Min: 1.2, into: &events)
        }
        #expect(events.map(\.transition) == [.raised])
        #expect(events.first?.rule == .buildUp)
        #expect(events.first?.at == at(30))
        #expect(events.first?.value == 1.2)
        // 0.95 is above the clear line (1.0 × 0.9): stays raised.
        for s in stride(from: 40, to: 400, by: 5) {
            engine.evaluateZone(zone, at: at(Double(s)), density1m: 1.5, buildUpPer5Min: 0.95, into: &events)
        }
        #expect(events.count == 1)
        for s in stride(from: 400, to: 465, by: 5) {
            engine.evaluateZone(zone, at: at(Double(s)), density1m: 1.6, buildUpPer5Min: 0.5, into: &events)
        }
        #expect(events.map(\.transition) == [.raised, .cleared])
        #expect(events.last?.at == at(460))
        #expect(events.last?.peak == 1.2)
    }

    @Test func windowsGiveTheOneMinuteMeanAndTheFiveMinuteRateTimesFive() throws {
        var engine = AlertEngine()
        let zone = engine.registerZone(id: square)
        var events: [AlertEvent] = []
        let oneMinute = WindowSummary(count: 12, sum: 31.2, min: 2.4, max: 2.8, ratePerMinute: 0.1)
        let fiveMinutes = WindowSummary(count: 60, sum: 120, min: 1.0, max: 2.8, ratePerMinute: 0.3)
        let windows: WindowSummaries = [oneMinute, fiveMinutes, .empty, .empty]
        for s in stride(from: 0, to: 35, by: 5) {
            engine.evaluateZone(zone, at: at(Double(s)), windows: windows, into: &events)
        }
        #expect(events.count == 2)
        let density = try #require(events.first { $0.rule == .crowdDensity })
        #expect(density.value == 31.2 / 12)
        let buildUp = try #require(events.first { $0.rule == .buildUp })
        #expect(buildUp.value == 0.3 * 5)
        // An empty window set is "no value".
        engine.evaluateZone(zone, at: at(35), windows: .empty, into: &events)
        #expect(events.count == 2)
    }

    /// The build-up slope counts only once the 5-minute window holds 80 % of its samples (48 of 60 at one
    /// every 5 s): a steep slope over a few samples is no value, however long it lasts.
    @Test func buildUpNeedsACoveredFiveMinuteWindow() throws {
        var engine = AlertEngine()
        let zone = engine.registerZone(id: square)
        var events: [AlertEvent] = []
        for (i, s) in stride(from: 0, to: 120, by: 5).enumerated() {
            let warmingUp = WindowSummary(count: min(i + 1, 47), sum: 1.1 * Double(min(i + 1, 47)), min: 1.0, max: 1.2, ratePerMinute: 1.2)
            engine.evaluateZone(zone, at: at(Double(s)), density1m: 1.1, fiveMinutes: warmingUp, into: &events)
        }
        #expect(events.isEmpty)
        let covered = WindowSummary(count: 48, sum: 52.8, min: 1.0, max: 1.2, ratePerMinute: 1.2)
        for s in stride(from: 120, to: 155, by: 5) {
            engine.evaluateZone(zone, at: at(Double(s)), density1m: 1.1, fiveMinutes: covered, into: &events)
        }
        let raised = try #require(events.first)
        #expect(raised.rule == .buildUp && raised.transition == .raised)
        #expect(raised.at == at(150))  // covered from 120 s, held 30 s
        #expect(raised.value == 1.2 * 5)
        #expect(ZoneAlertRules.default.buildUp.risePer5Minutes(of: .empty) == nil)
        #expect(ZoneAlertRules.default.buildUp.risePer5Minutes(of: covered, sampleInterval: .seconds(10)) == 6)
        #expect(ZoneAlertRules.default.buildUp.risePer5Minutes(of: WindowSummary(count: 23, sum: 23, min: 1, max: 1, ratePerMinute: 1), sampleInterval: .seconds(10)) == nil)
    }

    @Test func perZoneRulesApply() {
        var engine = AlertEngine()
        let strict = ZoneAlertRules(
            density: DensityAlertRule(
                levels: DensityLevels(elevated: 1.5, high: 2.0, critical: 3.0), hold: .seconds(10), clear: .seconds(20), hysteresis: 0.1),
            buildUp: .default)
        let stairs = engine.registerZone(id: "stairs", rules: strict)
        let plaza = engine.registerZone(id: square)
        var events: [AlertEvent] = []
        for s in stride(from: 0, to: 15, by: 5) {
            engine.evaluateZone(stairs, at: at(Double(s)), density1m: 2.1, buildUpPer5Min: nil, into: &events)
            engine.evaluateZone(plaza, at: at(Double(s)), density1m: 2.1, buildUpPer5Min: nil, into: &events)
        }
        #expect(events.count == 1)
        #expect(events.first?.subject == .zone("stairs"))
        #expect(events.first?.severity == .major)
        #expect(events.first?.at == at(10))
        #expect(engine.registerZone(id: "stairs") == stairs)
    }
}
