import GRDB
import StreetSenseAlerts
import StreetSenseCore

// Alerts: written by the batch writer from AlertEvents, read by the HTTP API and at start-up. See
// StoreSchema.createVersion2 for the tables and the triggers that keep their invariants.

extension SQLiteStore {
    // MARK: Writing

    static let insertAlertSQL = """
        INSERT INTO alerts (id, rule, subject_kind, subject_id, metric, fault, severity, state, acknowledged_by,
        acknowledged_at, ack_note, raised_at, updated_at, cleared_at, peak_value, last_value, last_event_id)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    /// Sets the identity columns too, so that the `alerts_keep_their_identity` trigger refuses an event that
    /// names another rule or subject than the alert it belongs to.
    static let updateAlertSQL = """
        UPDATE alerts SET rule = ?, subject_kind = ?, subject_id = ?, metric = ?, fault = ?, severity = ?, state = ?,
        acknowledged_by = ?, acknowledged_at = ?, ack_note = ?, updated_at = ?, cleared_at = ?, peak_value = ?,
        last_value = ?, last_event_id = ?
        WHERE id = ?
        """

    static let insertAlertEventSQL = """
        INSERT INTO alert_events (id, alert_id, transition, severity, at, value, peak, acknowledged_by,
        acknowledged_at, ack_note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    /// Appends each event to `alert_events` and brings its `alerts` row up to date, in order: a `raised`
    /// event inserts the row, any other event updates it. Throws (and the caller's transaction rolls back)
    /// for an event of an alert that was never raised here, and for anything the schema refuses (an event id
    /// not above every stored one, a change to a cleared alert, …).
    static func writeAlertEvents(_ events: [AlertEvent], _ db: Database) throws {
        let insertAlert = try db.cachedStatement(sql: insertAlertSQL)
        let updateAlert = try db.cachedStatement(sql: updateAlertSQL)
        let insertEvent = try db.cachedStatement(sql: insertAlertEventSQL)
        for event in events {
            let state: AlertState = event.transition == .cleared ? .cleared : .active
            let clearedAt = state == .cleared ? event.at.milliseconds : nil
            let ack = event.acknowledgement
            let identity: StatementArguments = [
                event.rule.rawValue, event.subject.kind.rawValue, event.subject.id, event.metric.map { Int64($0.rawValue) },
                event.fault?.rawValue,
            ]
            let acknowledgement: StatementArguments = [ack?.by, ack?.at.milliseconds, ack?.note]
            if event.transition == .raised {
                try insertAlert.execute(
                    arguments: [event.alertID.rawValue] + identity + [event.severity.rawValue, state.rawValue]
                        + acknowledgement
                        + [event.at.milliseconds, event.at.milliseconds, clearedAt, event.peak, event.value, event.id.rawValue])
            } else {
                try updateAlert.execute(
                    arguments: identity + [event.severity.rawValue, state.rawValue] + acknowledgement
                        + [event.at.milliseconds, clearedAt, event.peak, event.value, event.id.rawValue, event.alertID.rawValue])
                guard db.changesCount == 1 else {
                    throw StoreError(
                        .constraintViolation, operation: "write alert event \(event.id)",
                        message: "alert \(event.alertID) has no stored raised event, so its \(event.transition.rawValue) "
                            + "event cannot be stored")
                }
            }
            try insertEvent.execute(
                arguments: [
                    event.id.rawValue, event.alertID.rawValue, event.transition.rawValue, event.severity.rawValue,
                    event.at.milliseconds, event.value, event.peak,
                ] + acknowledgement)
        }
    }

    // MARK: Reading

    static let alertColumns = """
        id, rule, subject_kind, subject_id, metric, fault, severity, state, acknowledged_by, acknowledged_at, ack_note,
        raised_at, updated_at, cleared_at, peak_value, last_value, last_event_id
        """

    /// An event row joined with its alert's identity, events driving the join (CROSS JOIN keeps that order).
    static let alertEventSelect = """
        SELECT e.id, e.alert_id, a.rule, a.subject_kind, a.subject_id, a.metric, a.fault, e.transition, e.severity,
        e.at, e.value, e.peak, e.acknowledged_by, e.acknowledged_at, e.ack_note
        FROM alert_events e CROSS JOIN alerts a ON a.id = e.alert_id
        """

    public func alerts(filter: AlertFilter, before cursor: AlertID?, limit: Int) throws(StoreError) -> [StoredAlert] {
        try run("read alerts") {
            guard limit > 0 else { return [] }
            var conditions = ["id < ?"]
            var arguments: StatementArguments = [cursor?.rawValue ?? Int64.max]
            func require(_ condition: String, _ value: some DatabaseValueConvertible) {
                conditions.append(condition)
                _ = arguments.append(contentsOf: [value])
            }
            if let state = filter.state { require("state = ?", state.rawValue) }
            if let severity = filter.severity { require("severity = ?", severity.rawValue) }
            if let rule = filter.rule { require("rule = ?", rule.rawValue) }
            if let kind = filter.subjectKind { require("subject_kind = ?", kind.rawValue) }
            if let id = filter.subjectID { require("subject_id = ?", id) }
            if let since = filter.since { require("updated_at >= ?", since.milliseconds) }
            _ = arguments.append(contentsOf: [limit])
            let sql = """
                SELECT \(Self.alertColumns) FROM alerts
                WHERE \(conditions.joined(separator: " AND ")) ORDER BY id DESC LIMIT ?
                """
            return try pool.read { db in
                try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments).map(Self.decodeAlert)
            }
        }
    }

    public func alert(id: AlertID) throws(StoreError) -> StoredAlert? {
        try run("read alert \(id)") {
            try pool.read { db in
                try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.alertColumns) FROM alerts WHERE id = ?"), arguments: [id.rawValue])
                    .map(Self.decodeAlert)
            }
        }
    }

    public func alertEvents(alertID: AlertID) throws(StoreError) -> [AlertEvent] {
        try run("read events of alert \(alertID)") {
            try pool.read { db in
                try Row.fetchAll(
                    db.cachedStatement(sql: "\(Self.alertEventSelect) WHERE e.alert_id = ? ORDER BY e.id"),
                    arguments: [alertID.rawValue]
                ).map(Self.decodeAlertEvent)
            }
        }
    }

    public func alertEvents(after eventID: AlertEventID, limit: Int) throws(StoreError) -> [AlertEvent] {
        try run("read alert events after \(eventID)") {
            guard limit > 0 else { return [] }
            return try pool.read { db in
                try Row.fetchAll(
                    db.cachedStatement(sql: "\(Self.alertEventSelect) WHERE e.id > ? ORDER BY e.id LIMIT ?"),
                    arguments: [eventID.rawValue, limit]
                ).map(Self.decodeAlertEvent)
            }
        }
    }

    public func activeAlerts() throws(StoreError) -> [AlertLifecycle] {
        let operation = "read active alerts"
        return try run(operation) {
            let stored = try pool.read { db in
                try Row.fetchAll(
                    db.cachedStatement(sql: "SELECT \(Self.alertColumns) FROM alerts WHERE state = 'active' ORDER BY id")
                ).map(Self.decodeAlert)
            }
            return try stored.map { alert throws(StoreError) in
                do {
                    return try AlertLifecycle(
                        restoringID: alert.id, rule: alert.rule, subject: alert.subject, metric: alert.metric,
                        fault: alert.fault, severity: alert.severity, raisedAt: alert.raisedAt, updatedAt: alert.updatedAt,
                        value: alert.value, peak: alert.peak, acknowledgement: alert.acknowledgement)
                } catch {
                    throw StoreError(.corrupt, operation: operation, message: "stored alert cannot be restored: \(error)")
                }
            }
        }
    }

    public func lastAlertEventID() throws(StoreError) -> AlertEventID? {
        try run("read the last alert event id") {
            try pool.read { db in
                try Int64.fetchOne(db, sql: "SELECT max(id) FROM alert_events").map(AlertEventID.init)
            }
        }
    }

    // MARK: Decoding

    static func decodeAlert(_ row: Row) throws -> StoredAlert {
        let id: Int64 = row[0]
        let operation = "read alert \(id)"
        let clearedAt: Int64? = row[13]
        return StoredAlert(
            id: AlertID(id), rule: try decode(row[1], as: AlertRule.self, operation),
            subject: try decodeSubject(kind: row[2], id: row[3], operation), metric: try decodeMetric(row[4], operation),
            fault: try decodeOptional(row[5], as: SensorFault.self, operation),
            severity: try decode(row[6], as: AlertSeverity.self, operation),
            state: try decode(row[7], as: AlertState.self, operation),
            acknowledgement: try decodeAcknowledgement(by: row[8], at: row[9], note: row[10], operation),
            raisedAt: EventTime(milliseconds: row[11]), updatedAt: EventTime(milliseconds: row[12]),
            clearedAt: clearedAt.map(EventTime.init(milliseconds:)), peak: row[14], value: row[15],
            lastEventID: AlertEventID(row[16]))
    }

    static func decodeAlertEvent(_ row: Row) throws -> AlertEvent {
        let id: Int64 = row[0]
        let operation = "read alert event \(id)"
        return AlertEvent(
            id: AlertEventID(id), alertID: AlertID(row[1]), rule: try decode(row[2], as: AlertRule.self, operation),
            subject: try decodeSubject(kind: row[3], id: row[4], operation), metric: try decodeMetric(row[5], operation),
            severity: try decode(row[8], as: AlertSeverity.self, operation),
            transition: try decode(row[7], as: AlertTransition.self, operation), at: EventTime(milliseconds: row[9]),
            value: row[10], peak: row[11],
            acknowledgement: try decodeAcknowledgement(by: row[12], at: row[13], note: row[14], operation),
            fault: try decodeOptional(row[6], as: SensorFault.self, operation))
    }

    private static func decode<Value: RawRepresentable<String>>(
        _ name: String, as type: Value.Type, _ operation: String
    ) throws(StoreError) -> Value {
        guard let value = Value(rawValue: name) else {
            throw StoreError(.corrupt, operation: operation, message: "unknown \(Value.self) '\(name)'")
        }
        return value
    }

    private static func decodeOptional<Value: RawRepresentable<String>>(
        _ name: String?, as type: Value.Type, _ operation: String
    ) throws(StoreError) -> Value? {
        guard let name else { return nil }
        return try decode(name, as: type, operation)
    }

    private static func decodeMetric(_ id: Int64?, _ operation: String) throws(StoreError) -> Metric? {
        guard let id else { return nil }
        guard let metric = Metric(rawValue: UInt8(truncatingIfNeeded: id)), Int64(metric.rawValue) == id else {
            throw StoreError(.corrupt, operation: operation, message: "unknown metric id \(id)")
        }
        return metric
    }

    private static func decodeSubject(kind: String, id: String, _ operation: String) throws(StoreError) -> AlertSubject {
        switch try decode(kind, as: AlertSubjectKind.self, operation) {
        case .zone:
            return .zone(id)
        case .sensor:
            let parts = id.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw StoreError(.corrupt, operation: operation, message: "sensor subject '\(id)' is not pilot/sensor")
            }
            return .sensor(SensorAddress(pilot: String(parts[0]), sensor: String(parts[1])))
        }
    }

    private static func decodeAcknowledgement(
        by: String?, at: Int64?, note: String?, _ operation: String
    ) throws(StoreError) -> Acknowledgement? {
        guard let by, let at else { return nil }
        guard let acknowledgement = Acknowledgement(by: by, at: EventTime(milliseconds: at), note: note) else {
            throw StoreError(.corrupt, operation: operation, message: "stored acknowledgement by '\(by)' is invalid")
        }
        return acknowledgement
    }
}
