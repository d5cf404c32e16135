import StreetSenseAlerts
import StreetSenseCore
import Testing

@Suite struct AlertLifecycleTests {
    let subject = AlertSubject.zone(square)

    func raised(
        _ severity: AlertSeverity = .warning, value: Double = 2.6, at time: EventTime = at(30),
        ids: inout AlertEventSequence
    ) throws -> AlertLifecycle {
        try AlertLifecycle.raise(rule: .crowdDensity, subject: subject, severity: severity, value: value, at: time, eventIDs: &ids).alert
    }

    @Test func raisingGivesTheAlertTheIdOfItsRaisedEvent() throws {
        var ids = AlertEventSequence(after: AlertEventID(41))
        let (alert, event) = try AlertLifecycle.raise(
            rule: .crowdDensity, subject: subject, severity: .warning, value: 2.6, at: at(30), eventIDs: &ids)
        #expect(event.id == AlertEventID(42))
        #expect(alert.id == AlertID(42))
        #expect(event.alertID == alert.id)
        #expect(event.transition == .raised)
        #expect(event.rule == .crowdDensity)
        #expect(event.subject == .zone(square))
        #expect(event.severity == .warning)
        #expect(event.level == "elevated")
        #expect(event.at == at(30))
        #expect(event.value == 2.6)
        #expect(event.peak == 2.6)
        #expect(event.acknowledgement == nil)
        #expect(alert.state == .active)
        #expect(alert.raisedAt == at(30))
        #expect(alert.updatedAt == at(30))
        #expect(alert.clearedAt == nil)
        #expect(ids.last == AlertEventID(42))
    }

    @Test func escalationAndDeEscalationMoveOneAlertAndTrackThePeak() throws {
        var ids = AlertEventSequence()
        var alert = try raised(ids: &ids)
        let up = try alert.escalate(to: .critical, value: 5.4, at: at(60), eventIDs: &ids)
        #expect(up.transition == .escalated)
        #expect(up.severity == .critical)
        #expect(up.level == "critical")
        #expect(up.id == AlertEventID(2))
        #expect(up.alertID == AlertID(1))
        #expect(up.peak == 5.4)
        let down = try alert.deEscalate(to: .major, value: 4.0, at: at(120), eventIDs: &ids)
        #expect(down.transition == .deEscalated)
        #expect(down.severity == .major)
        #expect(down.value == 4.0)
        #expect(down.peak == 5.4)
        #expect(alert.severity == .major)
        #expect(alert.updatedAt == at(120))
        #expect(alert.id == AlertID(1))
    }

    @Test func acknowledgementSurvivesEscalationAndIsCarriedByLaterEvents() throws {
        var ids = AlertEventSequence()
        var alert = try raised(ids: &ids)
        let ack = try alert.acknowledge(by: "ops-anna", note: "stewards sent", at: at(40), eventIDs: &ids)
        #expect(ack.transition == .acknowledged)
        #expect(ack.at == at(40))
        let expected = try #require(Acknowledgement(by: "ops-anna", at: at(40), note: "stewards sent"))
        #expect(ack.acknowledgement == expected)
        let up = try alert.escalate(to: .critical, value: 5.1, at: at(70), eventIDs: &ids)
        #expect(up.acknowledgement == expected)
        #expect(alert.acknowledgement == expected)
        let cleared = try alert.clear(value: 1.0, at: at(200), eventIDs: &ids)
        #expect(cleared.acknowledgement == expected)
    }

    @Test func aClearedAlertRefusesEverythingWithATypedErrorAndDrawsNoId() throws {
        var ids = AlertEventSequence()
        var alert = try raised(ids: &ids)
        _ = try alert.clear(value: 1.0, at: at(100), eventIDs: &ids)
        #expect(alert.state == .cleared)
        #expect(alert.clearedAt == at(100))
        let before = alert
        #expect(throws: AlertError.self) { _ = try alert.acknowledge(by: "ops", note: nil, at: at(110), eventIDs: &ids) }
        do {
            _ = try alert.acknowledge(by: "ops", note: nil, at: at(110), eventIDs: &ids)
        } catch {
            #expect(error.code == .alreadyCleared)
            #expect(error.alertID == AlertID(1))
        }
        do {
            _ = try alert.escalate(to: .critical, value: 6, at: at(120), eventIDs: &ids)
            Issue.record("a cleared alert accepted an escalation")
        } catch {
            #expect(error.code == .alreadyCleared)
        }
        do {
            _ = try alert.clear(value: 1, at: at(120), eventIDs: &ids)
            Issue.record("a cleared alert was cleared again")
        } catch {
            #expect(error.code == .alreadyCleared)
        }
        #expect(alert == before)
        #expect(ids.last == AlertEventID(2))
        let observed = alert.observe(9)
        #expect(observed == false)
        #expect(alert.peak == 2.6)
    }

    @Test func invalidTransitionsAreTypedErrors() throws {
        var ids = AlertEventSequence()
        var alert = try raised(.major, value: 4.0, ids: &ids)
        let invalid = AlertError.Code.invalidAcknowledgement
        func code(_ body: (inout AlertLifecycle, inout AlertEventSequence) throws(AlertError) -> Void) -> AlertError.Code? {
            do {
                try body(&alert, &ids)
                return nil
            } catch {
                return error.code
            }
        }
        #expect(code { a, i throws(AlertError) in _ = try a.escalate(to: .major, value: 4, at: at(40), eventIDs: &i) } == .severityNotHigher)
        #expect(code { a, i throws(AlertError) in _ = try a.escalate(to: .warning, value: 4, at: at(40), eventIDs: &i) } == .severityNotHigher)
        #expect(code { a, i throws(AlertError) in _ = try a.deEscalate(to: .major, value: 4, at: at(40), eventIDs: &i) } == .severityNotLower)
        #expect(code { a, i throws(AlertError) in _ = try a.deEscalate(to: .critical, value: 4, at: at(40), eventIDs: &i) } == .severityNotLower)
        #expect(code { a, i throws(AlertError) in _ = try a.clear(value: 1, at: at(29), eventIDs: &i) } == .timeWentBackwards)
        #expect(code { a, i throws(AlertError) in _ = try a.escalate(to: .critical, value: .nan, at: at(40), eventIDs: &i) } == .invalidValue)
        #expect(code { a, i throws(AlertError) in _ = try a.acknowledge(by: "  ", note: nil, at: at(40), eventIDs: &i) } == invalid)
        let longName = String(repeating: "x", count: 129), longNote = String(repeating: "n", count: 1025)
        #expect(code { a, i throws(AlertError) in _ = try a.acknowledge(by: longName, note: nil, at: at(40), eventIDs: &i) } == invalid)
        #expect(code { a, i throws(AlertError) in _ = try a.acknowledge(by: "ops", note: longNote, at: at(40), eventIDs: &i) } == invalid)
        #expect(code { a, i throws(AlertError) in _ = try a.acknowledge(by: "ops", note: nil, at: at(40), eventIDs: &i) } == nil)
        #expect(code { a, i throws(AlertError) in _ = try a.acknowledge(by: "other", note: nil, at: at(50), eventIDs: &i) } == .alreadyAcknowledged)
        // Only the one successful acknowledgement drew an id.
        #expect(ids.last == AlertEventID(2))
        #expect(alert.severity == .major)
        #expect(alert.acknowledgement?.by == "ops")
        #expect(throws: AlertError.self) {
            try AlertLifecycle.raise(rule: .crowdDensity, subject: subject, severity: .warning, value: .infinity, at: at(0), eventIDs: &ids)
        }
    }

    @Test func observingUpdatesValueAndPeakWithoutAnEvent() throws {
        var ids = AlertEventSequence()
        var alert = try raised(value: 2.6, ids: &ids)
        let first = alert.observe(3.1)
        let second = alert.observe(2.7)
        #expect(first && second)
        #expect(alert.value == 2.7)
        #expect(alert.peak == 3.1)
        let notANumber = alert.observe(.nan)
        #expect(notANumber == false)
        #expect(alert.value == 2.7)
        #expect(ids.last == AlertEventID(1))
    }

    @Test func restoringKeepsEverythingAndChecksTheStoredValues() throws {
        let ack = try #require(Acknowledgement(by: "ops", at: at(50), note: nil))
        let alert = try AlertLifecycle(
            restoringID: AlertID(7), rule: .crowdDensity, subject: subject, severity: .critical, raisedAt: at(30),
            updatedAt: at(60), value: 5.2, peak: 5.6, acknowledgement: ack)
        #expect(alert.state == .active)
        #expect(alert.id == AlertID(7))
        #expect(alert.peak == 5.6)
        #expect(alert.acknowledgement == ack)
        #expect(throws: AlertError.self) {
            try AlertLifecycle(
                restoringID: AlertID(7), rule: .crowdDensity, subject: subject, severity: .critical, raisedAt: at(60),
                updatedAt: at(30), value: 5.2, peak: 5.6)
        }
        #expect(throws: AlertError.self) {
            try AlertLifecycle(
                restoringID: AlertID(7), rule: .crowdDensity, subject: subject, severity: .critical, raisedAt: at(30),
                updatedAt: at(60), value: .nan, peak: 5.6)
        }
        let raisedPeak = try AlertLifecycle(
            restoringID: AlertID(8), rule: .crowdDensity, subject: subject, severity: .warning, raisedAt: at(30),
            updatedAt: at(30), value: 3.0, peak: 2.0)
        #expect(raisedPeak.peak == 3.0)
    }

    @Test func levelNamesFollowEachRule() {
        #expect(AlertRule.crowdDensity.levelName(for: .warning) == "elevated")
        #expect(AlertRule.crowdDensity.levelName(for: .major) == "high")
        #expect(AlertRule.airQuality.levelName(for: .warning) == "poor")
        #expect(AlertRule.airQuality.levelName(for: .major) == "very_poor")
        #expect(AlertRule.airQuality.levelName(for: .critical) == "extremely_poor")
        #expect(AlertRule.sensorOffline.levelName(for: .warning) == "sensor_offline")
        #expect(AlertSubject.sensor(camera).id == "helsinki-lab/cam-01")
        #expect(AlertSubject.sensor(camera).kind.rawValue == "sensor")
        #expect(AlertTransition.deEscalated.rawValue == "de_escalated")
    }
}
