import StreetSenseCore

/// One row of the `alerts` table: an alert as its newest stored event left it (DESIGN §5).
///
/// The store keeps this row current from ``StoreBatch/alertEvents`` alone: the `raised` event inserts it and
/// every later event of the alert overwrites what changes (severity, state, acknowledgement, times, values).
///
/// Invariants (held by the schema, whoever writes): `id` is the id of the alert's `raised` event and
/// `lastEventID ≥ id` is the newest event it reflects; `rule`, `subject`, `metric`, `fault` and `raisedAt`
/// never change; `raisedAt ≤ updatedAt`; `clearedAt` is set exactly when `state == .cleared`, and a cleared
/// alert never changes again; the acknowledgement, once set, is never replaced. Alerts are never deleted by
/// retention.
public struct StoredAlert: Sendable, Hashable {
    /// The alert's id: the ``AlertEventID`` of its `raised` event (`alerts.id`).
    public var id: AlertID
    public var rule: AlertRule
    /// `alerts.subject_kind` and `alerts.subject_id` (a zone id, or `pilot/sensor`).
    public var subject: AlertSubject
    /// The pollutant of an air-quality alert; the metric that showed the fault of a faulty alert, if known.
    public var metric: Metric?
    /// The fault that raised a `sensor_faulty` alert.
    public var fault: SensorFault?
    public var severity: AlertSeverity
    public var state: AlertState
    /// Who acknowledged the alert, when (event time) and with which note (`acknowledged_by`,
    /// `acknowledged_at`, `ack_note`).
    public var acknowledgement: Acknowledgement?
    /// Event time of the `raised` event.
    public var raisedAt: EventTime
    /// Event time of the newest event.
    public var updatedAt: EventTime
    /// Event time of the `cleared` event, if the alert is cleared.
    public var clearedAt: EventTime?
    /// The largest value since the alert was raised (`peak_value`), in the rule's unit (see ``AlertEvent``).
    public var peak: Double
    /// The value of the newest event (`last_value`).
    public var value: Double
    /// The id of the newest event of this alert (`last_event_id`).
    public var lastEventID: AlertEventID

    public init(
        id: AlertID, rule: AlertRule, subject: AlertSubject, metric: Metric?, fault: SensorFault?, severity: AlertSeverity,
        state: AlertState, acknowledgement: Acknowledgement?, raisedAt: EventTime, updatedAt: EventTime,
        clearedAt: EventTime?, peak: Double, value: Double, lastEventID: AlertEventID
    ) {
        self.id = id
        self.rule = rule
        self.subject = subject
        self.metric = metric
        self.fault = fault
        self.severity = severity
        self.state = state
        self.acknowledgement = acknowledgement
        self.raisedAt = raisedAt
        self.updatedAt = updatedAt
        self.clearedAt = clearedAt
        self.peak = peak
        self.value = value
        self.lastEventID = lastEventID
    }

    /// The rule's name for the severity (`elevated`, `very_poor`, …).
    public var level: String { rule.levelName(for: severity) }
}

/// Which alerts ``ReadingStore/alerts(filter:before:limit:)`` returns: every condition that is set must hold.
///
/// The default filter (nothing set) matches every alert.
public struct AlertFilter: Sendable, Hashable {
    public var state: AlertState?
    public var severity: AlertSeverity?
    public var rule: AlertRule?
    public var subjectKind: AlertSubjectKind?
    /// A zone id or `pilot/sensor` (``AlertSubject/id``); combine with ``subjectKind`` to name one subject.
    public var subjectID: String?
    /// Alerts raised or updated at or after this event time (that is, `updatedAt ≥ since`, since an alert's
    /// `updatedAt` is never before its `raisedAt`).
    public var since: EventTime?

    public init(
        state: AlertState? = nil, severity: AlertSeverity? = nil, rule: AlertRule? = nil,
        subjectKind: AlertSubjectKind? = nil, subjectID: String? = nil, since: EventTime? = nil
    ) {
        self.state = state
        self.severity = severity
        self.rule = rule
        self.subjectKind = subjectKind
        self.subjectID = subjectID
        self.since = since
    }

    /// A filter for one subject's alerts.
    public init(subject: AlertSubject, state: AlertState? = nil) {
        self.init(state: state, subjectKind: subject.kind, subjectID: subject.id)
    }
}
