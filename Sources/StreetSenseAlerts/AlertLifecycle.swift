import StreetSenseCore

/// One alert and the state machine it follows (DESIGN §5): a pure value, no clock, no I/O.
///
/// ```
///            raise                escalate / de-escalate (one alert moves between severities)
///   (none) ────────▶ active ◀──────────────────────────────────────────────────┐
///                     │  └──────────────────────────────────────────────────────┘
///                     │  acknowledge (once, at any severity; survives escalation)
///                     │ clear
///                     ▼
///                  cleared  (final: nothing changes a cleared alert; a returning condition is a NEW alert)
/// ```
///
/// Every transition returns the ``AlertEvent`` that records it, with an id drawn from the caller's
/// ``AlertEventSequence``; an alert's id is the id of its `raised` event. A refused operation (acknowledging a
/// cleared alert, escalating to a lower severity, a transition stamped before the previous one, a non-finite
/// value) throws an ``AlertError``, draws no id and leaves the alert unchanged.
///
/// Invariants: `raisedAt ≤ updatedAt`; `peak ≥ value` and `peak` is the largest value seen since raised;
/// `clearedAt` is set exactly when `state == .cleared`; the acknowledgement, once set, never changes.
public struct AlertLifecycle: Hashable, Sendable {
    public let id: AlertID
    public let rule: AlertRule
    public let subject: AlertSubject
    /// The pollutant of an air-quality alert; for a faulty sensor, the metric that raised it, if known.
    public let metric: Metric?
    /// The fault that raised a `sensor_faulty` alert.
    public let fault: SensorFault?
    public private(set) var state: AlertState
    public private(set) var severity: AlertSeverity
    public private(set) var acknowledgement: Acknowledgement?
    public let raisedAt: EventTime
    /// Event time of the latest transition.
    public private(set) var updatedAt: EventTime
    public private(set) var clearedAt: EventTime?
    /// The latest value (see ``AlertEvent`` for each rule's unit).
    public private(set) var value: Double
    /// The largest value since the alert was raised.
    public private(set) var peak: Double

    private init(
        id: AlertID, rule: AlertRule, subject: AlertSubject, metric: Metric?, fault: SensorFault?,
        severity: AlertSeverity, raisedAt: EventTime, updatedAt: EventTime, value: Double, peak: Double,
        acknowledgement: Acknowledgement?
    ) {
        self.id = id
        self.rule = rule
        self.subject = subject
        self.metric = metric
        self.fault = fault
        self.state = .active
        self.severity = severity
        self.acknowledgement = acknowledgement
        self.raisedAt = raisedAt
        self.updatedAt = updatedAt
        self.clearedAt = nil
        self.value = value
        self.peak = peak
    }

    /// The rule's name for the current severity (`elevated`, `very_poor`, …).
    public var level: String { rule.levelName(for: severity) }

    // MARK: Transitions

    /// Raises a new alert; its id is the id of the `raised` event.
    public static func raise(
        rule: AlertRule, subject: AlertSubject, metric: Metric? = nil, fault: SensorFault? = nil,
        severity: AlertSeverity, value: Double, at time: EventTime, eventIDs: inout AlertEventSequence
    ) throws(AlertError) -> (alert: AlertLifecycle, event: AlertEvent) {
        guard value.isFinite else { throw AlertError(.invalidValue, alertID: nil, "cannot raise with value \(value)") }
        let eventID = eventIDs.next()
        let alert = AlertLifecycle(
            id: AlertID(eventID.rawValue), rule: rule, subject: subject, metric: metric, fault: fault,
            severity: severity, raisedAt: time, updatedAt: time, value: value, peak: value, acknowledgement: nil)
        return (alert, alert.event(eventID, .raised))
    }

    /// Moves the alert to a higher severity.
    public mutating func escalate(
        to severity: AlertSeverity, value: Double, at time: EventTime, eventIDs: inout AlertEventSequence
    ) throws(AlertError) -> AlertEvent {
        try checkActive(at: time, value: value)
        guard severity > self.severity else {
            throw AlertError(.severityNotHigher, alertID: id, "cannot escalate from \(self.severity.rawValue) to \(severity.rawValue)")
        }
        return record(.escalated, severity: severity, value: value, at: time, eventIDs: &eventIDs)
    }

    /// Moves the alert to a lower severity (it stays active: clearing is ``clear(value:at:eventIDs:)``).
    public mutating func deEscalate(
        to severity: AlertSeverity, value: Double, at time: EventTime, eventIDs: inout AlertEventSequence
    ) throws(AlertError) -> AlertEvent {
        try checkActive(at: time, value: value)
        guard severity < self.severity else {
            throw AlertError(.severityNotLower, alertID: id, "cannot de-escalate from \(self.severity.rawValue) to \(severity.rawValue)")
        }
        return record(.deEscalated, severity: severity, value: value, at: time, eventIDs: &eventIDs)
    }

    /// Records an operator's acknowledgement. Allowed once, while the alert is active; it is kept through
    /// escalation and de-escalation.
    public mutating func acknowledge(
        by operatorName: String, note: String?, at time: EventTime, eventIDs: inout AlertEventSequence
    ) throws(AlertError) -> AlertEvent {
        try checkActive(at: time, value: value)
        if let existing = acknowledgement {
            throw AlertError(.alreadyAcknowledged, alertID: id, "already acknowledged by \(existing.by) at \(existing.at)")
        }
        guard let acknowledgement = Acknowledgement(by: operatorName, at: time, note: note) else {
            throw AlertError(.invalidAcknowledgement, alertID: id, Acknowledgement.problem(by: operatorName, note: note) ?? "invalid")
        }
        self.acknowledgement = acknowledgement
        updatedAt = time
        return event(eventIDs.next(), .acknowledged)
    }

    /// Clears the alert for good.
    public mutating func clear(value: Double, at time: EventTime, eventIDs: inout AlertEventSequence) throws(AlertError) -> AlertEvent {
        try checkActive(at: time, value: value)
        state = .cleared
        clearedAt = time
        return record(.cleared, severity: severity, value: value, at: time, eventIDs: &eventIDs)
    }

    /// Updates the latest value (and the peak) without a transition: no event. Returns false, changing
    /// nothing, for a cleared alert or a non-finite value.
    @discardableResult
    public mutating func observe(_ value: Double) -> Bool {
        guard state == .active, value.isFinite else { return false }
        self.value = value
        if value > peak { peak = value }
        return true
    }

    // MARK: Restore

    /// An active alert as it was stored before a restart.
    ///
    /// Throws `invalid_value` for non-finite values and `time_went_backwards` if `updatedAt < raisedAt`. A
    /// stored peak below the value is raised to the value.
    public init(
        restoringID id: AlertID, rule: AlertRule, subject: AlertSubject, metric: Metric? = nil, fault: SensorFault? = nil,
        severity: AlertSeverity, raisedAt: EventTime, updatedAt: EventTime, value: Double, peak: Double,
        acknowledgement: Acknowledgement? = nil
    ) throws(AlertError) {
        guard value.isFinite, peak.isFinite else {
            throw AlertError(.invalidValue, alertID: id, "stored value \(value) or peak \(peak) is not finite")
        }
        guard updatedAt >= raisedAt else {
            throw AlertError(.timeWentBackwards, alertID: id, "stored updated_at \(updatedAt) is before raised_at \(raisedAt)")
        }
        self.init(
            id: id, rule: rule, subject: subject, metric: metric, fault: fault, severity: severity, raisedAt: raisedAt,
            updatedAt: updatedAt, value: value, peak: Swift.max(peak, value), acknowledgement: acknowledgement)
    }

    // MARK: Internals

    private func checkActive(at time: EventTime, value: Double) throws(AlertError) {
        guard state == .active else {
            throw AlertError(.alreadyCleared, alertID: id, "the alert was cleared at \(clearedAt ?? updatedAt)")
        }
        guard time >= updatedAt else {
            throw AlertError(.timeWentBackwards, alertID: id, "\(time) is before the previous transition at \(updatedAt)")
        }
        guard value.isFinite else { throw AlertError(.invalidValue, alertID: id, "value \(value) is not finite") }
    }

    private mutating func record(
        _ transition: AlertTransition, severity: AlertSeverity, value: Double, at time: EventTime,
        eventIDs: inout AlertEventSequence
    ) -> AlertEvent {
        self.severity = severity
        self.value = value
        if value > peak { peak = value }
        updatedAt = time
        return event(eventIDs.next(), transition)
    }

    private func event(_ eventID: AlertEventID, _ transition: AlertTransition) -> AlertEvent {
        AlertEvent(
            id: eventID, alertID: id, rule: rule, subject: subject, metric: metric, severity: severity,
            transition: transition, at: updatedAt, value: value, peak: peak, acknowledgement: acknowledgement, fault: fault)
    }
}
