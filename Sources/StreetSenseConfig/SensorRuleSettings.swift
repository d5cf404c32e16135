/// When air-quality means raise `air_quality` alerts (`rules.…air_quality`): which versioned band table rates
/// them and from which band up an alert is raised.
///
/// Invariant: `index` is one of ``knownIndexes``.
public struct AirQualityRules: Sendable, Hashable {
    /// The band table's version name (`eea-2024`).
    public var index: String
    /// The best band that alerts.
    public var alertFrom: AirQualityAlertBand
    public var isEnabled: Bool

    /// The band tables this build knows, by version name.
    public static let knownIndexes = ["eea-2024"]

    /// `eea-2024`, from `poor`, enabled.
    public static let `default` = AirQualityRules(index: "eea-2024", alertFrom: .poor, isEnabled: true)

    public init(index: String, alertFrom: AirQualityAlertBand, isEnabled: Bool) {
        self.index = index
        self.alertFrom = alertFrom
        self.isEnabled = isEnabled
    }
}

/// The air-quality bands an alert can start from. The raw value is the configuration and API name.
public enum AirQualityAlertBand: String, CaseIterable, Sendable, Hashable {
    case poor
    case veryPoor = "very_poor"
    case extremelyPoor = "extremely_poor"
}

/// When a silent sensor raises `sensor_offline` (`rules.…sensor_offline`): no reading for `factor` × its usual
/// interval, and never sooner than `minimum`.
///
/// Invariants: `factor ≥ 1`, `minimum > 0`.
public struct SensorOfflineRules: Sendable, Hashable {
    public var factor: Double
    public var minimum: Duration
    public var isEnabled: Bool

    /// 3 × the usual interval, at least 300 s, enabled.
    public static let `default` = SensorOfflineRules(factor: 3, minimum: .seconds(300), isEnabled: true)

    public init(factor: Double, minimum: Duration, isEnabled: Bool) {
        self.factor = factor
        self.minimum = minimum
        self.isEnabled = isEnabled
    }
}

/// When a sensor raises and clears `sensor_faulty` (`rules.…sensor_faulty`): a value identical for `stuckAfter`
/// counts as stuck; good readings for `clear` clear the alert.
///
/// Invariants: `stuckAfter > 0`, `clear ≥ 0`.
public struct SensorFaultyRules: Sendable, Hashable {
    public var stuckAfter: Duration
    public var clear: Duration
    public var isEnabled: Bool

    /// Stuck after 3600 s, cleared after 600 s of good readings, enabled.
    public static let `default` = SensorFaultyRules(stuckAfter: .seconds(3600), clear: .seconds(600), isEnabled: true)

    public init(stuckAfter: Duration, clear: Duration, isEnabled: Bool) {
        self.stuckAfter = stuckAfter
        self.clear = clear
        self.isEnabled = isEnabled
    }
}

extension ValueType where Value == String {
    /// One of `names`, exactly; anything else is reported with the list.
    static func oneOf(_ names: [String], what: String) -> ValueType {
        string.checked { value in
            names.contains(value)
                ? nil : "unknown \(what) \"\(value.prefix(80))\" (known: \(names.joined(separator: ", ")))"
        }
    }
}

extension AirQualityRules {
    /// Reads `index`, `alert_from` and `enabled`, each overriding `base`.
    init(reading reader: MappingReader, over base: AirQualityRules) {
        index = reader.value("index", .oneOf(Self.knownIndexes, what: "index"), default: base.index)
        let band = reader.optional("alert_from", .oneOf(AirQualityAlertBand.allCases.map(\.rawValue), what: "band"))
        alertFrom = band.flatMap(AirQualityAlertBand.init(rawValue:)) ?? base.alertFrom
        isEnabled = reader.value("enabled", .bool, default: base.isEnabled)
    }
}

extension SensorOfflineRules {
    /// Reads `factor`, `minimum_s` and `enabled`, each overriding `base`.
    init(reading reader: MappingReader, over base: SensorOfflineRules) {
        factor = reader.value(
            "factor", ValueType.number.checked { $0 >= 1 ? nil : "must be at least 1, got \(formatNumber($0))" }, default: base.factor)
        minimum = reader.value("minimum_s", .seconds(positive: true), default: base.minimum)
        isEnabled = reader.value("enabled", .bool, default: base.isEnabled)
    }
}

extension SensorFaultyRules {
    /// Reads `stuck_s`, `clear_s` and `enabled`, each overriding `base`.
    init(reading reader: MappingReader, over base: SensorFaultyRules) {
        stuckAfter = reader.value("stuck_s", .seconds(positive: true), default: base.stuckAfter)
        clear = reader.value("clear_s", .seconds(positive: false), default: base.clear)
        isEnabled = reader.value("enabled", .bool, default: base.isEnabled)
    }
}
