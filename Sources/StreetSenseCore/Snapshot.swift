/// The window lengths every series reports (DESIGN §4).
public enum WindowLength: Int, CaseIterable, Sendable, Hashable {
    case oneMinute = 0
    case fiveMinutes
    case fifteenMinutes
    case oneHour

    /// The label used in the API and reports: `1m`, `5m`, `15m`, `1h`.
    public var label: String {
        switch self {
        case .oneMinute: "1m"
        case .fiveMinutes: "5m"
        case .fifteenMinutes: "15m"
        case .oneHour: "1h"
        }
    }

    /// The window length in milliseconds.
    public var milliseconds: Int64 {
        switch self {
        case .oneMinute: 60_000
        case .fiveMinutes: 300_000
        case .fifteenMinutes: 900_000
        case .oneHour: 3_600_000
        }
    }
}

/// The aggregate of one series over one window at one moment.
///
/// Invariant: when `count == 0`, `mean`, `min`, `max` and `ratePerMinute` are nil and `sum == 0`.
public struct WindowSummary: Sendable, Hashable {
    public var count: Int
    public var sum: Double
    public var min: Double?
    public var max: Double?
    /// Change per minute: the count-weighted least-squares slope of bucket means against bucket time;
    /// nil with fewer than two non-empty buckets.
    public var ratePerMinute: Double?

    public var mean: Double? { count > 0 ? sum / Double(count) : nil }

    public static let empty = WindowSummary(count: 0, sum: 0, min: nil, max: nil, ratePerMinute: nil)

    public init(count: Int, sum: Double, min: Double?, max: Double?, ratePerMinute: Double?) {
        self.count = count
        self.sum = sum
        self.min = min
        self.max = max
        self.ratePerMinute = ratePerMinute
    }
}

/// The part of a zone density series' 1- and 5-minute windows that the crowd rules read at a sample instant
/// (``SeriesTable/fineTrend(_:at:)``): the 1-minute window's count and sum, the 5-minute window's count and slope.
/// Each field equals the same field of ``SeriesTable/fineWindows(_:at:)`` at the same instant.
public struct DensityTrend: Sendable, Hashable {
    public var oneMinuteCount: Int
    public var oneMinuteSum: Double
    public var fiveMinuteCount: Int
    /// The 5-minute window's ``WindowSummary/ratePerMinute``: nil with fewer than two non-empty buckets.
    public var fiveMinuteRatePerMinute: Double?

    /// The 1-minute window's mean (``WindowSummary/mean``); nil when it is empty.
    public var oneMinuteMean: Double? { oneMinuteCount > 0 ? oneMinuteSum / Double(oneMinuteCount) : nil }

    /// No samples in either window.
    public static let empty = DensityTrend(oneMinuteCount: 0, oneMinuteSum: 0, fiveMinuteCount: 0, fiveMinuteRatePerMinute: nil)

    public init(oneMinuteCount: Int, oneMinuteSum: Double, fiveMinuteCount: Int, fiveMinuteRatePerMinute: Double?) {
        self.oneMinuteCount = oneMinuteCount
        self.oneMinuteSum = oneMinuteSum
        self.fiveMinuteCount = fiveMinuteCount
        self.fiveMinuteRatePerMinute = fiveMinuteRatePerMinute
    }

    /// The trend part of two windows (for callers that computed them in full).
    public init(oneMinute: WindowSummary, fiveMinutes: WindowSummary) {
        self.init(oneMinuteCount: oneMinute.count, oneMinuteSum: oneMinute.sum, fiveMinuteCount: fiveMinutes.count,
                  fiveMinuteRatePerMinute: fiveMinutes.ratePerMinute)
    }
}

/// The four windows of one series at one moment (1, 5 and 15 minutes, 1 hour), held inline: a picture
/// carries them without an allocation of their own (an array here cost every rebuilt picture one `malloc` per
/// metric on the pipeline thread and one `free` on the snapshot publisher's). Indexed by
/// ``WindowLength/rawValue`` or by ``WindowLength``.
///
/// Invariant: exactly four elements, in ``WindowLength/allCases`` order.
public struct WindowSummaries: Sendable, Hashable, RandomAccessCollection, MutableCollection {
    public var oneMinute: WindowSummary
    public var fiveMinutes: WindowSummary
    public var fifteenMinutes: WindowSummary
    public var oneHour: WindowSummary

    /// Four empty windows.
    public static let empty = WindowSummaries(oneMinute: .empty, fiveMinutes: .empty, fifteenMinutes: .empty, oneHour: .empty)

    public init(oneMinute: WindowSummary, fiveMinutes: WindowSummary, fifteenMinutes: WindowSummary, oneHour: WindowSummary) {
        self.oneMinute = oneMinute
        self.fiveMinutes = fiveMinutes
        self.fifteenMinutes = fifteenMinutes
        self.oneHour = oneHour
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { 4 }

    public subscript(position: Int) -> WindowSummary {
        get {
            switch position {
            case 0: oneMinute
            case 1: fiveMinutes
            case 2: fifteenMinutes
            case 3: oneHour
            default: preconditionFailure("window index \(position) is outside 0..<4")
            }
        }
        set {
            switch position {
            case 0: oneMinute = newValue
            case 1: fiveMinutes = newValue
            case 2: fifteenMinutes = newValue
            case 3: oneHour = newValue
            default: preconditionFailure("window index \(position) is outside 0..<4")
            }
        }
    }

    public subscript(length: WindowLength) -> WindowSummary {
        get { self[length.rawValue] }
        set { self[length.rawValue] = newValue }
    }
}

extension WindowSummaries: ExpressibleByArrayLiteral {
    /// Exactly four windows, in ``WindowLength/allCases`` order.
    public init(arrayLiteral windows: WindowSummary...) {
        precondition(windows.count == 4, "WindowSummaries holds exactly four windows, not \(windows.count)")
        self.init(oneMinute: windows[0], fiveMinutes: windows[1], fifteenMinutes: windows[2], oneHour: windows[3])
    }
}

/// One metric of one sensor at snapshot time: its newest value and the four windows.
public struct MetricSnapshot: Sendable, Hashable {
    public var metric: Metric
    /// The value with the newest event time.
    public var last: Double
    public var lastTime: EventTime
    public var windows: WindowSummaries

    public init(metric: Metric, last: Double, lastTime: EventTime, windows: WindowSummaries) {
        self.metric = metric
        self.last = last
        self.lastTime = lastTime
        self.windows = windows
    }
}

/// Whether a sensor currently feeds its zone.
public enum SensorStatus: String, Sendable, Hashable, CaseIterable, Codable {
    /// Registered and reporting within its staleness limit.
    case active
    /// Registered, but silent past its staleness limit: dropped from its zone's estimate.
    case stale
    /// Registered, never heard from.
    case waiting
    /// Publishing, but not in the registry: kept and listed, never put into a zone.
    case unregistered
}

/// Counts of what happened to one sensor's (or the whole pipeline's) messages and readings.
public struct IngestCounts: Sendable, Hashable {
    public var messages: Int = 0
    public var accepted: Int = 0
    public var rejected: Int = 0
    public var duplicate: Int = 0
    public var late: Int = 0
    /// Indexed by the reason's position in ``RejectReason/allCases``.
    public var rejectsByReason: [Int] = Array(repeating: 0, count: RejectReason.allCases.count)

    public init() {}

    public mutating func countReject(_ reason: RejectReason) {
        rejected += 1
        rejectsByReason[RejectReason.allCases.firstIndex(of: reason)!] += 1
    }

    /// The non-zero reject counts by reason name.
    public var rejectsByReasonName: [(RejectReason, Int)] {
        zip(RejectReason.allCases, rejectsByReason).filter { $0.1 > 0 }
    }
}

/// One sensor at snapshot time.
public struct SensorSnapshot: Sendable, Hashable {
    public var address: SensorAddress
    /// nil for unregistered sensors.
    public var definition: SensorDefinition?
    public var status: SensorStatus
    /// Event time of the newest accepted reading.
    public var lastSeen: EventTime?
    /// The metrics this sensor has reported, in vocabulary order.
    public var metrics: [MetricSnapshot]
    /// For flow sensors: the running occupancy (Σ in − out, never below 0).
    public var flowOccupancy: Double?
    /// The sensor's current estimate of people in what it covers (nil for air sensors and silent sensors).
    public var people: Double?
    public var counts: IngestCounts

    public init(
        address: SensorAddress, definition: SensorDefinition?, status: SensorStatus, lastSeen: EventTime?,
        metrics: [MetricSnapshot], flowOccupancy: Double?, people: Double?, counts: IngestCounts
    ) {
        self.address = address
        self.definition = definition
        self.status = status
        self.lastSeen = lastSeen
        self.metrics = metrics
        self.flowOccupancy = flowOccupancy
        self.people = people
        self.counts = counts
    }
}

extension SensorSnapshot {
    /// An empty picture, left behind where a picture is moved out of a list.
    static let placeholder = SensorSnapshot(
        address: SensorAddress(pilot: "", sensor: ""), definition: nil, status: .waiting, lastSeen: nil, metrics: [],
        flowOccupancy: nil, people: nil, counts: IngestCounts())
}

/// Which sensors a zone's estimate used.
public struct ZoneCoverage: Sendable, Hashable {
    public var sensorsUsed: Int
    public var sensorsStale: Int
    /// The area covered by the sensors used, capped at the zone's area.
    public var coveredM2: Double

    public init(sensorsUsed: Int, sensorsStale: Int, coveredM2: Double) {
        self.sensorsUsed = sensorsUsed
        self.sensorsStale = sensorsStale
        self.coveredM2 = coveredM2
    }
}

/// One zone at snapshot time.
public struct ZoneSnapshot: Sendable, Hashable {
    public var definition: ZoneDefinition
    /// Estimated people in the zone (density × area); nil when no sensor covers it.
    public var people: Double?
    /// People per m²; nil when no sensor covers it.
    public var densityPPM2: Double?
    /// The level of the current density (without hold or hysteresis; alerts add those).
    public var level: DensityLevel
    /// Event time of the newest reading that changed the estimate.
    public var updatedAt: EventTime?
    /// Windows over the zone's density series, indexed by ``WindowLength/rawValue``.
    public var windows: WindowSummaries
    /// Median and 95th percentile of the density over 15 minutes, when known.
    public var p50Density15m: Double?
    public var p95Density15m: Double?
    public var coverage: ZoneCoverage
    /// The sensors registered to this zone.
    public var sensors: [SensorAddress]
    /// Latest mean of each air metric over the zone's fresh sensors that report it, in vocabulary order.
    public var air: [(metric: Metric, value: Double)]

    public init(
        definition: ZoneDefinition, people: Double?, densityPPM2: Double?, level: DensityLevel, updatedAt: EventTime?,
        windows: WindowSummaries, p50Density15m: Double?, p95Density15m: Double?, coverage: ZoneCoverage,
        sensors: [SensorAddress], air: [(metric: Metric, value: Double)]
    ) {
        self.definition = definition
        self.people = people
        self.densityPPM2 = densityPPM2
        self.level = level
        self.updatedAt = updatedAt
        self.windows = windows
        self.p50Density15m = p50Density15m
        self.p95Density15m = p95Density15m
        self.coverage = coverage
        self.sensors = sensors
        self.air = air
    }

    public static func == (lhs: ZoneSnapshot, rhs: ZoneSnapshot) -> Bool {
        lhs.definition == rhs.definition && lhs.people == rhs.people && lhs.densityPPM2 == rhs.densityPPM2
            && lhs.level == rhs.level && lhs.updatedAt == rhs.updatedAt && lhs.windows == rhs.windows
            && lhs.coverage == rhs.coverage && lhs.sensors == rhs.sensors
            && lhs.air.map(\.metric) == rhs.air.map(\.metric) && lhs.air.map(\.value) == rhs.air.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(definition.id)
        hasher.combine(updatedAt)
    }
}

extension ZoneSnapshot {
    /// An empty zone, left behind where a zone is moved out of a list.
    static let placeholder = ZoneSnapshot(
        definition: ZoneDefinition(id: "", name: "", areaM2: 0), people: nil, densityPPM2: nil, level: .normal,
        updatedAt: nil, windows: .empty, p50Density15m: nil, p95Density15m: nil,
        coverage: ZoneCoverage(sensorsUsed: 0, sensorsStale: 0, coveredM2: 0), sensors: [], air: [])
}

/// An immutable picture of all live state, published by the aggregation core's owner (every 250 ms by
/// default) for HTTP handlers and reports. Readers never touch live state.
public struct Snapshot: Sendable {
    /// The event time this snapshot describes (the pipeline's "now").
    public var asOf: EventTime
    /// Zones in configuration order.
    public var zones: [ZoneSnapshot]
    /// Sensors sorted by address; registered and unregistered.
    public var sensors: [SensorSnapshot]
    /// Whole-pipeline counts.
    public var totals: IngestCounts
    /// Messages whose topic did not name a sensor (`bad_topic`), per pilot where the pilot level was readable.
    public var zoneIndex: [String: Int]
    public var sensorIndex: [SensorAddress: Int]
    /// Every active alert at snapshot time, oldest first (filled by the pipeline from its alert engine).
    public var activeAlerts: [ActiveAlertSummary] = []

    public init(asOf: EventTime, zones: [ZoneSnapshot], sensors: [SensorSnapshot], totals: IngestCounts) {
        self.init(
            asOf: asOf, zones: zones, sensors: sensors, totals: totals,
            zoneIndex: Dictionary(uniqueKeysWithValues: zones.enumerated().map { ($1.definition.id, $0) }),
            sensorIndex: Dictionary(uniqueKeysWithValues: sensors.enumerated().map { ($1.address, $0) }))
    }

    /// A snapshot whose lookup tables are already built (they must agree with `zones` and `sensors`).
    init(asOf: EventTime, zones: [ZoneSnapshot], sensors: [SensorSnapshot], totals: IngestCounts,
         zoneIndex: [String: Int], sensorIndex: [SensorAddress: Int]) {
        self.asOf = asOf
        self.zones = zones
        self.sensors = sensors
        self.totals = totals
        self.zoneIndex = zoneIndex
        self.sensorIndex = sensorIndex
    }

    /// An empty snapshot at the epoch.
    public static let empty = Snapshot(asOf: EventTime(milliseconds: 0), zones: [], sensors: [], totals: IngestCounts())

    public func zone(id: String) -> ZoneSnapshot? { zoneIndex[id].map { zones[$0] } }
    public func sensor(_ address: SensorAddress) -> SensorSnapshot? { sensorIndex[address].map { sensors[$0] } }

    /// The active alerts of one zone, oldest first.
    public func activeAlerts(zone id: String) -> [ActiveAlertSummary] {
        activeAlerts.filter { $0.subjectKind == "zone" && $0.subjectID == id }
    }

    /// The active alerts of one sensor, oldest first.
    public func activeAlerts(sensor address: SensorAddress) -> [ActiveAlertSummary] {
        let id = address.pilot + "/" + address.sensor
        return activeAlerts.filter { $0.subjectKind == "sensor" && $0.subjectID == id }
    }
}

/// An active alert as a snapshot carries it: enough for a zone or sensor listing to show what is wrong, with
/// the alert's id for the alerts API. Names are the API's (`crowd_density`, `major`, `high`, …); the core
/// knows no alert types, so they are plain strings here.
public struct ActiveAlertSummary: Sendable, Hashable {
    public var id: Int64
    public var rule: String
    /// `zone` or `sensor`.
    public var subjectKind: String
    /// A zone id, or `pilot/sensor`.
    public var subjectID: String
    /// The pollutant of an air-quality alert.
    public var metric: Metric?
    public var severity: String
    /// The rule's name for the severity (`elevated`, `poor`, …).
    public var level: String
    public var acknowledged: Bool
    public var raisedAt: EventTime
    public var updatedAt: EventTime
    public var value: Double
    public var peak: Double

    public init(
        id: Int64, rule: String, subjectKind: String, subjectID: String, metric: Metric?, severity: String, level: String,
        acknowledged: Bool, raisedAt: EventTime, updatedAt: EventTime, value: Double, peak: Double
    ) {
        self.id = id
        self.rule = rule
        self.subjectKind = subjectKind
        self.subjectID = subjectID
        self.metric = metric
        self.severity = severity
        self.level = level
        self.acknowledged = acknowledged
        self.raisedAt = raisedAt
        self.updatedAt = updatedAt
        self.value = value
        self.peak = peak
    }
}
