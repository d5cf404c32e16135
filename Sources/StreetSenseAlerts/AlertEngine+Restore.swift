import StreetSenseCore

extension AlertEngine {
    /// Puts back the alerts that were active when the service stopped, and continues event ids after
    /// `lastEventID` (the newest stored event id). Call it once at start-up, after registering zones and sensors
    /// (and after ``restoreSensorReading(_:metric:value:at:)``), before evaluating anything.
    ///
    /// A restored alert keeps its id, severity, acknowledgement, times, value and peak. Its rule continues
    /// from the restored severity: the condition must clear (for the rule's clear time) before the alert
    /// clears, and a condition that still holds is not raised again. The hold and clear runs in progress at
    /// the stop are not stored, so they start again. A restored `sensor_offline` alert clears at the sensor's
    /// next reading; a `sensor_faulty` one after `clear` of good readings.
    ///
    /// An alert whose subject is no longer registered can never be evaluated again: it is cleared, with a
    /// `cleared` event at `time` (or its last transition, if later) appended to `events`.
    ///
    /// All or nothing: throws `engine_not_fresh` if the engine already holds alerts or has handed out ids
    /// beyond `lastEventID`, and `inconsistent_restore` for a cleared alert, an id beyond `lastEventID`, two
    /// alerts with one id or one key, a rule about the wrong kind of subject, or an air-quality alert without
    /// an index pollutant; nothing changes then.
    public mutating func restore(
        activeAlerts: [AlertLifecycle], lastEventID: AlertEventID, at time: EventTime, into events: inout [AlertEvent]
    ) throws(AlertError) {
        guard slotByID.isEmpty, eventIDs.last <= lastEventID else {
            throw AlertError(
                .engineNotFresh, alertID: nil,
                "restore needs an engine without alerts whose ids are not past \(lastEventID) "
                    + "(it holds \(slotByID.count) alerts, last id \(eventIDs.last))")
        }
        var ids = Set<AlertID>()
        var keys = Set<AlertKey>()
        for alert in activeAlerts {
            func inconsistent(_ message: String) -> AlertError { AlertError(.inconsistentRestore, alertID: alert.id, message) }
            guard alert.state == .active else { throw inconsistent("the alert is cleared; only active alerts are restored") }
            guard alert.id.rawValue <= lastEventID.rawValue else {
                throw inconsistent("the alert id is after the last event id \(lastEventID)")
            }
            guard ids.insert(alert.id).inserted else { throw inconsistent("two alerts have this id") }
            guard keys.insert(alert.key).inserted else {
                throw inconsistent("two active alerts of rule \(alert.rule.rawValue) for \(alert.subject)")
            }
            if let kind = alert.rule.subjectKind, kind != alert.subject.kind {
                throw inconsistent("rule \(alert.rule.rawValue) is about a \(kind.rawValue), not a \(alert.subject.kind.rawValue)")
            }
            if alert.rule == .airQuality, alert.metric.flatMap(AirAlertState.position(of:)) == nil {
                throw inconsistent("an air-quality alert names no index pollutant")
            }
        }

        eventIDs = AlertEventSequence(after: lastEventID)
        for alert in activeAlerts.sorted(by: { $0.id < $1.id }) {
            if !place(alert) {
                var orphan = alert
                do {
                    events.append(try orphan.clear(value: alert.value, at: Swift.max(time, alert.updatedAt), eventIDs: &eventIDs))
                } catch {
                    refusedTransitions += 1
                }
            }
        }
    }

    /// Puts a restored alert where its rule keeps it; false if its subject is not registered.
    private mutating func place(_ alert: AlertLifecycle) -> Bool {
        switch alert.subject {
        case .zone(let id):
            guard let z = zoneByID[id].map(Int.init) else { return false }
            switch alert.rule {
            case .crowdDensity:
                zones[z].density = LevelDebouncer(level: alert.severity.rank)
                zones[z].densityAlert = store(alert)
            case .buildUp:
                zones[z].buildUp = LevelDebouncer(level: 1)
                zones[z].buildUpAlert = store(alert)
            case .airQuality:
                if zones[z].air < 0 { zones[z].air = addAirState(alert.subject) }
                placeAir(alert, in: Int(zones[z].air))
            case .sensorOffline, .sensorFaulty:
                return false  // excluded by the checks in restore
            }
        case .sensor(let address):
            guard let s = sensorByAddress[address].map(Int.init) else { return false }
            switch alert.rule {
            case .sensorOffline:
                sensors[s].offlineAlert = store(alert)
            case .sensorFaulty:
                sensors[s].faultyAlert = store(alert)
                sensors[s].faultObservations = alert.value
                sensors[s].goodSince = .min
                if alert.updatedAt.milliseconds > sensors[s].lastFault { sensors[s].lastFault = alert.updatedAt.milliseconds }
            case .airQuality:
                if sensors[s].air < 0 { sensors[s].air = addAirState(alert.subject) }
                placeAir(alert, in: Int(sensors[s].air))
            case .crowdDensity, .buildUp:
                return false  // excluded by the checks in restore
            }
        }
        return true
    }

    private mutating func placeAir(_ alert: AlertLifecycle, in a: Int) {
        guard let p = alert.metric.flatMap(AirAlertState.position(of:)) else { return }
        air[a].debouncers[p] = LevelDebouncer(level: alert.severity.rank)
        air[a].alerts[p] = store(alert)
    }
}
