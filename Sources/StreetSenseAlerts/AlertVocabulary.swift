import StreetSenseCore

/// The number of an alert event: strictly increasing across all alerts of one deployment, never reused.
///
/// It is the SSE event id (`Last-Event-ID` resumes after it) and the key of the `alert_events` table. The
/// ``AlertEngine`` draws ids from one ``AlertEventSequence`` that is restored after a restart, so ids keep
/// increasing across restarts.
public struct AlertEventID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64

    @inlinable
    public init(_ rawValue: Int64) { self.rawValue = rawValue }

    public static func < (lhs: AlertEventID, rhs: AlertEventID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(rawValue) }
}

/// The number of an alert: the ``AlertEventID`` of the event that raised it.
///
/// Because event ids never repeat, neither do alert ids, and one counter serves both. An alert keeps its id
/// through escalation, de-escalation and acknowledgement; a condition that returns after a clear is a new
/// alert with a new id.
public struct AlertID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64

    @inlinable
    public init(_ rawValue: Int64) { self.rawValue = rawValue }

    public static func < (lhs: AlertID, rhs: AlertID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(rawValue) }
}

/// The source of event ids: hands out `last + 1`, `last + 2`, …
///
/// Invariant: every id handed out is greater than every id handed out before, and greater than the id the
/// sequence was started after.
public struct AlertEventSequence: Hashable, Sendable {
    /// The id handed out last (or the one the sequence was started after).
    public private(set) var last: AlertEventID

    /// A sequence whose first id is `last + 1` (after a restart: the newest stored event id).
    public init(after last: AlertEventID = AlertEventID(0)) {
        self.last = last
    }

    /// The next id.
    public mutating func next() -> AlertEventID {
        last = AlertEventID(last.rawValue &+ 1)
        return last
    }
}

/// Which rule an alert belongs to. The raw value is the name used in the API, storage and MQTT topics.
public enum AlertRule: String, CaseIterable, Sendable, Hashable, Codable {
    /// A zone's 1-minute mean density reached `elevated`, `high` or `critical` (one alert per zone).
    case crowdDensity = "crowd_density"
    /// A zone's density is rising faster than the build-up limit (default 1.0 p/m² per 5 minutes).
    case buildUp = "build_up"
    /// A pollutant's mean is `poor` or worse on the European Air Quality Index (one alert per subject and
    /// pollutant).
    case airQuality = "air_quality"
    /// A sensor sent no reading for 3 × its usual interval (at least 5 minutes).
    case sensorOffline = "sensor_offline"
    /// A sensor sends impossible values, error codes or a stuck value.
    case sensorFaulty = "sensor_faulty"

    /// The kind of subject alerts of this rule are about (`nil`: either kind, as for air quality).
    public var subjectKind: AlertSubjectKind? {
        switch self {
        case .crowdDensity, .buildUp: .zone
        case .sensorOffline, .sensorFaulty: .sensor
        case .airQuality: nil
        }
    }

    /// The rule's own name for a severity: `elevated`/`high`/`critical` for crowd density,
    /// `poor`/`very_poor`/`extremely_poor` for air quality, the rule name otherwise.
    public func levelName(for severity: AlertSeverity) -> String {
        switch self {
        case .crowdDensity:
            switch severity {
            case .warning: DensityLevel.elevated.rawValue
            case .major: DensityLevel.high.rawValue
            case .critical: DensityLevel.critical.rawValue
            }
        case .airQuality:
            switch severity {
            case .warning: AirQualityBand.poor.rawValue
            case .major: AirQualityBand.veryPoor.rawValue
            case .critical: AirQualityBand.extremelyPoor.rawValue
            }
        case .buildUp, .sensorOffline, .sensorFaulty:
            rawValue
        }
    }
}

/// Whether an alert is about a zone or a sensor; the raw value is the `{subject_kind}` of the MQTT alert topic.
public enum AlertSubjectKind: String, CaseIterable, Sendable, Hashable, Codable {
    case zone
    case sensor
}

/// What an alert is about: a zone (by id) or a sensor (by address).
public enum AlertSubject: Hashable, Sendable, Comparable, CustomStringConvertible {
    case zone(String)
    case sensor(SensorAddress)

    public var kind: AlertSubjectKind {
        switch self {
        case .zone: .zone
        case .sensor: .sensor
        }
    }

    /// The subject's id: the zone id, or `pilot/sensor` for a sensor (so the MQTT topic
    /// `{prefix}/alerts/sensor/{pilot}/{sensor}` names it).
    public var id: String {
        switch self {
        case .zone(let id): id
        case .sensor(let address): address.description
        }
    }

    public var description: String { kind.rawValue + ":" + id }

    public static func < (lhs: AlertSubject, rhs: AlertSubject) -> Bool {
        switch (lhs, rhs) {
        case (.zone(let a), .zone(let b)): a < b
        case (.sensor(let a), .sensor(let b)): a < b
        case (.zone, .sensor): true
        case (.sensor, .zone): false
        }
    }
}

/// How serious an alert is, on one scale shared by every rule (so the API can filter by severity).
///
/// Each rule names its levels in its own words (``AlertRule/levelName(for:)``): crowd density `elevated`,
/// `high`, `critical` and air quality `poor`, `very_poor`, `extremely_poor` are `warning`, `major`,
/// `critical`. Build-up, offline and faulty alerts are `warning`.
public enum AlertSeverity: String, CaseIterable, Sendable, Hashable, Comparable, Codable {
    case warning
    case major
    case critical

    /// 1, 2 or 3: the level of a three-level rule (crowd density, air quality) this severity stands for.
    public var rank: Int {
        switch self {
        case .warning: 1
        case .major: 2
        case .critical: 3
        }
    }

    /// The severity of level `rank` (1…3) of a three-level rule; nil outside 1…3.
    public init?(rank: Int) {
        switch rank {
        case 1: self = .warning
        case 2: self = .major
        case 3: self = .critical
        default: return nil
        }
    }

    public static func < (lhs: AlertSeverity, rhs: AlertSeverity) -> Bool { lhs.rank < rhs.rank }
}

/// What happened to an alert. The raw value is the name used in the API, storage, SSE and MQTT.
public enum AlertTransition: String, CaseIterable, Sendable, Hashable, Codable {
    /// A new alert (its id is this event's id).
    case raised
    /// The same alert moved to a higher severity.
    case escalated
    /// The same alert moved to a lower, still alerting, severity.
    case deEscalated = "de_escalated"
    /// An operator acknowledged the alert.
    case acknowledged
    /// The condition ended; the alert is closed for good.
    case cleared
}

/// Whether an alert is open.
public enum AlertState: String, CaseIterable, Sendable, Hashable, Codable {
    case active
    case cleared
}

/// An operator's acknowledgement of an alert: who, when (event time), and an optional note.
///
/// Invariant: `by` is 1…``maximumOperatorBytes`` UTF-8 bytes and not only spaces; `note`, when present, is at
/// most ``maximumNoteBytes`` bytes.
public struct Acknowledgement: Hashable, Sendable {
    public static let maximumOperatorBytes = 128
    public static let maximumNoteBytes = 1024

    public var by: String
    public var at: EventTime
    public var note: String?

    /// An acknowledgement, or nil if `by` or `note` breaks the invariant (``AlertLifecycle`` turns that into
    /// an `invalid_acknowledgement` error).
    public init?(by: String, at: EventTime, note: String?) {
        guard Self.problem(by: by, note: note) == nil else { return nil }
        self.by = by
        self.at = at
        self.note = note
    }

    /// What is wrong with these values, or nil if they make a valid acknowledgement.
    static func problem(by: String, note: String?) -> String? {
        let bytes = by.utf8.count
        if bytes == 0 || by.utf8.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) {
            return "the operator name is empty"
        }
        if bytes > maximumOperatorBytes {
            return "the operator name is \(bytes) bytes, more than \(maximumOperatorBytes)"
        }
        if let note, note.utf8.count > maximumNoteBytes {
            return "the note is \(note.utf8.count) bytes, more than \(maximumNoteBytes)"
        }
        return nil
    }
}

/// Why a sensor is considered faulty. The raw value is the name used in the API and storage.
public enum SensorFault: String, CaseIterable, Sendable, Hashable, Codable {
    /// Values outside the metric's valid range, or not finite (reported by the caller as reject counts).
    case impossibleValue = "impossible_value"
    /// A known error code, such as the SDS011's 999.9 and 1999.9 µg/m³.
    case errorCode = "error_code"
    /// The same value, identically, for at least the stuck limit (default 1 hour).
    case stuckValue = "stuck_value"

    /// The fault a decoder's reject reason stands for: `out_of_range` and `not_finite` are impossible values,
    /// `error_code` an error code; other reasons (bad JSON, unknown metric, …) are not sensor faults.
    public init?(rejectReason: RejectReason) {
        switch rejectReason {
        case .outOfRange, .notFinite: self = .impossibleValue
        case .errorCode: self = .errorCode
        default: return nil
        }
    }
}

/// One transition of one alert: what the store appends to `alert_events`, the SSE feed sends, and MQTT
/// publishes.
///
/// `value` is the alert's current value in the rule's unit (crowd density: p/m², 1-minute mean; build-up: p/m²
/// per 5 minutes; air quality: µg/m³ of `metric`; offline: seconds of silence; faulty: faulty observations
/// since raised) and `peak` the largest value seen since the alert was raised. `acknowledgement` is the
/// alert's acknowledgement after this transition (it survives escalation), so the store can keep the
/// `alerts` row current from events alone.
public struct AlertEvent: Hashable, Sendable {
    public var id: AlertEventID
    public var alertID: AlertID
    public var rule: AlertRule
    public var subject: AlertSubject
    /// The pollutant of an air-quality alert; the metric that showed the fault of a faulty alert, if known.
    public var metric: Metric?
    public var severity: AlertSeverity
    public var transition: AlertTransition
    /// Event time of the transition.
    public var at: EventTime
    public var value: Double
    public var peak: Double
    public var acknowledgement: Acknowledgement?
    /// The fault that raised a `sensor_faulty` alert.
    public var fault: SensorFault?

    public init(
        id: AlertEventID, alertID: AlertID, rule: AlertRule, subject: AlertSubject, metric: Metric?,
        severity: AlertSeverity, transition: AlertTransition, at: EventTime, value: Double, peak: Double,
        acknowledgement: Acknowledgement?, fault: SensorFault?
    ) {
        self.id = id
        self.alertID = alertID
        self.rule = rule
        self.subject = subject
        self.metric = metric
        self.severity = severity
        self.transition = transition
        self.at = at
        self.value = value
        self.peak = peak
        self.acknowledgement = acknowledgement
        self.fault = fault
    }

    /// The rule's name for the severity (`elevated`, `very_poor`, …).
    public var level: String { rule.levelName(for: severity) }
}
