import StreetSenseCore

/// When a zone's 1-minute mean density raises, escalates, de-escalates and clears its `crowd_density` alert
/// (DESIGN §5): the level thresholds (G. Keith Still's bands by default), the hold before a level is
/// confirmed, and the clear time and hysteresis before it is left.
///
/// Severity: elevated = warning, high = major, critical = critical. See ``LevelDebouncer`` for the exact
/// timing rules. Invariants (the configuration checks them): levels increase, `hold`/`clear` ≥ 0,
/// `0 ≤ hysteresis < 1`.
public struct DensityAlertRule: Hashable, Sendable {
    public var levels: DensityLevels
    public var hold: Duration
    public var clear: Duration
    /// The band below each threshold, as a fraction of it (0.1: elevated at 2.5 is left below 2.25).
    public var hysteresis: Double

    /// Elevated 2.5, high 3.5, critical 5.0 p/m²; hold 30 s; clear 60 s; hysteresis 10 %.
    public static let `default` = DensityAlertRule(levels: .default, hold: .seconds(30), clear: .seconds(60), hysteresis: 0.1)

    public init(levels: DensityLevels, hold: Duration, clear: Duration, hysteresis: Double) {
        self.levels = levels
        self.hold = hold
        self.clear = clear
        self.hysteresis = hysteresis
    }

    public var thresholds: LevelThresholds {
        LevelThresholds(levels.elevated, levels.high, levels.critical, comparison: .atOrAbove, hysteresis: hysteresis)
    }
}

/// When a zone's density rising too fast raises its `build_up` alert (a `warning`).
///
/// The value is the rise in p/m² per 5 minutes. ``AlertEngine/evaluateZone(_:at:windows:into:)`` and
/// ``AlertEngine/evaluateZone(_:at:density1m:fiveMinutes:into:)`` take it as the 5-minute window's
/// `rate_per_minute` × 5 (the least-squares slope of the zone's density samples over the last 5 minutes),
/// once that window is covered (``minimumCoverage``); a caller with its own estimate passes it to
/// ``AlertEngine/evaluateZone(_:at:density1m:buildUpPer5Min:into:)``. Hold, clear and hysteresis work as for
/// density levels: raised once the rise has been ≥ the limit for `hold`, cleared once it has been below
/// limit × (1 − hysteresis) for `clear`.
public struct BuildUpAlertRule: Hashable, Sendable {
    /// The limit, p/m² per 5 minutes (> 0).
    public var ppm2Per5Min: Double
    public var hold: Duration
    public var clear: Duration
    public var hysteresis: Double
    /// The fraction of a full 5-minute window's density samples the window must hold before its slope counts
    /// (0…1). A slope fitted to a zone's first few samples (start-up, sensors coming on one by one, coverage
    /// returning after a gap) is a step, not a build-up: with two samples 5 s apart a rise of 0.1 p/m² reads
    /// as 6 p/m² per 5 minutes. Until the window is covered the rule has no value: no run progresses.
    public var minimumCoverage: Double

    /// 1.0 p/m² per 5 minutes; hold 30 s; clear 60 s; hysteresis 10 %; the window 80 % covered (4 of 5 minutes).
    public static let `default` = BuildUpAlertRule(ppm2Per5Min: 1.0, hold: .seconds(30), clear: .seconds(60), hysteresis: 0.1)

    public init(ppm2Per5Min: Double, hold: Duration, clear: Duration, hysteresis: Double, minimumCoverage: Double = 0.8) {
        self.ppm2Per5Min = ppm2Per5Min
        self.hold = hold
        self.clear = clear
        self.hysteresis = hysteresis
        self.minimumCoverage = minimumCoverage
    }

    /// The rise per 5 minutes that a zone's 5-minute density window shows, or nil (no value) when it has no
    /// slope or holds fewer than ``minimumCoverage`` of the samples a full window holds at one sample every
    /// `sampleInterval`.
    public func risePer5Minutes(
        of fiveMinutes: WindowSummary, sampleInterval: Duration = .milliseconds(AggregationCore.zoneSampleInterval)
    ) -> Double? {
        Self.risePer5Minutes(of: fiveMinutes, minimumSamples: minimumSamples(sampleInterval: sampleInterval.wholeMilliseconds))
    }

    /// The samples a 5-minute window must hold before its slope counts: ``minimumCoverage`` of a full window at
    /// one sample every `sampleInterval` ms.
    func minimumSamples(sampleInterval: Int64) -> Double {
        minimumCoverage * (Double(WindowLength.fiveMinutes.milliseconds) / Double(sampleInterval))
    }

    /// ``risePer5Minutes(of:sampleInterval:)`` with ``minimumSamples(sampleInterval:)`` already worked out.
    static func risePer5Minutes(of fiveMinutes: WindowSummary, minimumSamples: Double) -> Double? {
        risePer5Minutes(count: fiveMinutes.count, ratePerMinute: fiveMinutes.ratePerMinute, minimumSamples: minimumSamples)
    }

    /// The same from a 5-minute window's sample count and slope.
    static func risePer5Minutes(count: Int, ratePerMinute: Double?, minimumSamples: Double) -> Double? {
        guard let rate = ratePerMinute, Double(count) + 1e-9 >= minimumSamples else { return nil }
        return risePer5Minutes(ratePerMinute: rate)
    }

    public var thresholds: LevelThresholds {
        LevelThresholds(ppm2Per5Min, comparison: .atOrAbove, hysteresis: hysteresis)
    }

    /// The rise per 5 minutes of a rate per minute.
    public static func risePer5Minutes(ratePerMinute: Double) -> Double { ratePerMinute * 5 }
}

/// The alert rules of one zone (the defaults, or its zone type's; the caller resolves overrides).
public struct ZoneAlertRules: Hashable, Sendable {
    public var density: DensityAlertRule
    public var buildUp: BuildUpAlertRule
    /// The zone's own air-quality rule; nil: the engine's ``AlertEngine/airQuality``.
    public var airQuality: AirQualityAlertRule?

    public static let `default` = ZoneAlertRules(density: .default, buildUp: .default)

    public init(density: DensityAlertRule, buildUp: BuildUpAlertRule, airQuality: AirQualityAlertRule? = nil) {
        self.density = density
        self.buildUp = buildUp
        self.airQuality = airQuality
    }
}

/// When a silent sensor raises `sensor_offline` (a `warning`): no reading for `factor` × its median interval
/// (``IntervalEstimator``), and never sooner than `minimum`. Before a sensor has shown an interval (one
/// reading so far) its interval is taken to be `assumedInterval`, so a new sensor that reports every 10
/// minutes is not called offline 5 minutes after its first reading (the deadman false positives users of
/// comparable systems complain about).
///
/// With `isEnabled` false the sensor is never called offline.
///
/// Invariants: `factor ≥ 1`, `minimum > 0`, `assumedInterval > 0`.
public struct OfflineAlertRule: Hashable, Sendable {
    public var factor: Double
    public var minimum: Duration
    public var assumedInterval: Duration
    public var isEnabled: Bool

    /// 3 × the median interval, at least 5 minutes; 5 minutes assumed until an interval is seen (limit 15 min).
    public static let `default` = OfflineAlertRule(factor: 3, minimum: .seconds(300), assumedInterval: .seconds(300))

    public init(factor: Double, minimum: Duration, assumedInterval: Duration, isEnabled: Bool = true) {
        self.factor = factor
        self.minimum = minimum
        self.assumedInterval = assumedInterval
        self.isEnabled = isEnabled
    }

    /// The silence (ms) after which a sensor with this median interval (ms; nil: none seen yet) is offline.
    public func limit(medianInterval: Int64?) -> Int64 {
        limit(medianInterval: medianInterval, assumedInterval: assumedInterval.wholeMilliseconds, minimum: minimum.wholeMilliseconds)
    }

    /// ``limit(medianInterval:)`` with `assumedInterval` and `minimum` already in milliseconds.
    func limit(medianInterval: Int64?, assumedInterval: Int64, minimum: Int64) -> Int64 {
        let interval = medianInterval ?? assumedInterval
        let scaled = factor * Double(interval)
        // Clamp before converting: a huge or NaN product must not trap.
        let limit: Int64 = scaled.isNaN ? 0 : scaled >= 9.0e18 ? 9_000_000_000_000_000_000 : scaled <= 0 ? 0 : Int64(scaled)
        return Swift.max(minimum, limit)
    }
}

/// A set of metrics, as a bit mask (no allocation).
public struct MetricSet: Hashable, Sendable {
    public var bits: UInt32

    public init(_ metrics: [Metric]) {
        bits = 0
        for metric in metrics { bits |= 1 << UInt32(metric.rawValue) }
    }

    public func contains(_ metric: Metric) -> Bool { bits & (1 << UInt32(metric.rawValue)) != 0 }

    /// Every metric that is not a count: air quality and climate.
    public static let measurements = MetricSet(Metric.allCases.filter { !$0.isCount })
}

/// When a sensor raises `sensor_faulty` (a `warning`) and when it clears.
///
/// Faults: impossible values (out of range, not finite: the caller reports decoder rejects), error codes
/// (the SDS011's 999.9 and 1999.9 µg/m³ for PM, whether the decoder rejected them or they reached the engine
/// as readings), and a stuck value: the same value, identically, at every reading of a metric for at least
/// `stuckAfter`. Stuck detection covers `stuckMetrics` (by default the measurements, not counts: an empty
/// street really does count 0 for hours), and a humidity of exactly 100 % never counts as stuck (it saturates
/// for hours in fog and rain). The alert is raised at the first fault and cleared by a good reading once good
/// readings have been arriving, with no fault and no metric stuck, for `clear`. With `isEnabled` false no `sensor_faulty` alert is raised.
public struct FaultAlertRule: Hashable, Sendable {
    public var stuckAfter: Duration
    public var clear: Duration
    public var stuckMetrics: MetricSet
    public var isEnabled: Bool

    /// Stuck after 1 hour; cleared after 10 minutes of good readings (long enough that a sensor emitting the
    /// odd error code between good readings does not flap).
    public static let `default` = FaultAlertRule(stuckAfter: .seconds(3600), clear: .seconds(600), stuckMetrics: .measurements)

    public init(stuckAfter: Duration, clear: Duration, stuckMetrics: MetricSet, isEnabled: Bool = true) {
        self.stuckAfter = stuckAfter
        self.clear = clear
        self.stuckMetrics = stuckMetrics
        self.isEnabled = isEnabled
    }

    /// Whether a value is a known sensor error code (SDS011: 999.9 and 1999.9 µg/m³ for PM2.5 and PM10).
    public static func isErrorCode(_ value: Double, metric: Metric) -> Bool {
        (metric == .pm2_5 || metric == .pm10) && (value == 999.9 || value == 1999.9)
    }

    /// Whether a run of this value may count as stuck.
    func mayStick(_ metric: Metric, _ value: Double) -> Bool {
        stuckMetrics.contains(metric) && !(metric == .humidity && value == 100)
    }
}

/// The alert rules of one sensor.
public struct SensorAlertRules: Hashable, Sendable {
    public var offline: OfflineAlertRule
    public var faults: FaultAlertRule
    /// The station's own air-quality rule; nil: the engine's ``AlertEngine/airQuality``.
    public var airQuality: AirQualityAlertRule?

    public static let `default` = SensorAlertRules(offline: .default, faults: .default)

    public init(offline: OfflineAlertRule, faults: FaultAlertRule, airQuality: AirQualityAlertRule? = nil) {
        self.offline = offline
        self.faults = faults
        self.airQuality = airQuality
    }
}

/// When a pollutant's mean raises `air_quality`: from `alertFrom` up (`poor` by default), severity by band
/// (poor = warning, very poor = major, extremely poor = critical), one alert per subject and pollutant. A
/// band below `alertFrom` clears the alert. With `isEnabled` false nothing is evaluated.
///
/// Invariant: `alertFrom` is `poor` or worse.
///
/// The means are already averaged over an hour or a day, so there is no hold and no clear time by default;
/// the hysteresis keeps a mean hovering at a band edge from flapping: a band is left only when the mean falls
/// below its lower edge × (1 − hysteresis).
public struct AirQualityAlertRule: Hashable, Sendable {
    public var index: AirQualityIndex
    public var hold: Duration
    public var clear: Duration
    public var hysteresis: Double
    /// The best band that alerts.
    public var alertFrom: AirQualityBand
    public var isEnabled: Bool

    /// The `eea-2024` table; no hold, no clear time; hysteresis 10 %; alerts from `poor`.
    public static let `default` = AirQualityAlertRule(index: .eea2024, hold: .zero, clear: .zero, hysteresis: 0.1)

    public init(
        index: AirQualityIndex, hold: Duration, clear: Duration, hysteresis: Double, alertFrom: AirQualityBand = .poor,
        isEnabled: Bool = true
    ) {
        self.index = index
        self.hold = hold
        self.clear = clear
        self.hysteresis = hysteresis
        self.alertFrom = max(alertFrom, .poor)
        self.isEnabled = isEnabled
    }

    /// The severity of a debounced level (0 none, 1 poor … 3 extremely poor) under this rule: nil below
    /// `alertFrom`.
    func severity(level: Int) -> AlertSeverity? {
        level + 2 >= alertFrom.rank ? AlertSeverity(rank: level) : nil
    }
}
