import StreetSenseCore

/// The alert rules (DESIGN §5). Crowd rules have defaults and per-zone-type overrides; further rule families (air
/// quality, silent sensors) belong here as their own fields, each read from its own key of `rules`.
///
/// Invariant: `zoneTypes` holds complete rules (the defaults with the type's overrides applied), keyed by valid ids.
public struct RuleSettings: Sendable, Hashable {
    /// The crowd rules of zones whose type has no entry in `zoneTypes`.
    public var crowd: CrowdRules
    /// Crowd rules per zone type (the GeoJSON property `type`).
    public var zoneTypes: [String: CrowdRules]

    public init(crowd: CrowdRules = .default, zoneTypes: [String: CrowdRules] = [:]) {
        self.crowd = crowd
        self.zoneTypes = zoneTypes
    }

    /// The crowd rules of a zone of `type` (nil: no type).
    public func crowdRules(forZoneType type: String?) -> CrowdRules {
        type.flatMap { zoneTypes[$0] } ?? crowd
    }
}

/// When a zone's density raises, escalates and clears a crowd alert, and what counts as a dangerous build-up.
///
/// Invariants: `densityLevels` increase; `hold` and `clear` are ≥ 0; `0 ≤ hysteresis < 1`.
public struct CrowdRules: Sendable, Hashable {
    /// The bands, on the 1-minute mean density.
    public var densityLevels: DensityLevels
    /// How long a level must hold before it is raised.
    public var hold: Duration
    /// How long the density must stay below threshold × (1 − hysteresis) before a level clears.
    public var clear: Duration
    /// The hysteresis band as a fraction of the threshold (0.1 = 10 %).
    public var hysteresis: Double
    public var buildUp: BuildUpRule

    /// Still's bands, hold 30 s, clear 60 s, hysteresis 10 %, build-up 1.0 p/m² per 5 minutes.
    public static let `default` = CrowdRules(
        densityLevels: .default, hold: .seconds(30), clear: .seconds(60), hysteresis: 0.1, buildUp: .default)

    public init(densityLevels: DensityLevels, hold: Duration, clear: Duration, hysteresis: Double, buildUp: BuildUpRule) {
        self.densityLevels = densityLevels
        self.hold = hold
        self.clear = clear
        self.hysteresis = hysteresis
        self.buildUp = buildUp
    }
}

/// A density rising faster than `ppm2Per5Min` persons/m² per 5 minutes raises a build-up alert. Invariant: > 0.
public struct BuildUpRule: Sendable, Hashable {
    public var ppm2Per5Min: Double

    public static let `default` = BuildUpRule(ppm2Per5Min: 1.0)

    public init(ppm2Per5Min: Double) {
        self.ppm2Per5Min = ppm2Per5Min
    }
}

extension RuleSettings {
    /// Reads the `rules` section: the default crowd rules at its top level, then `zone_types`.
    init(reading reader: MappingReader) {
        self.init()
        crowd = CrowdRules(reading: reader, over: .default)
        if let types = reader.section("zone_types") {
            for entry in types.entries {
                let path = types.keyPath(entry.key)
                guard Identifier.isValid(entry.key) else {
                    types.log.error(
                        at: entry.keyOrigin, key: path, "zone type " + ValueType<String>.invalidIdentifierReason(entry.key))
                    continue
                }
                guard let section = MappingReader.make(entry.value, path: path, origin: entry.keyOrigin, log: types.log)
                else { continue }
                zoneTypes[entry.key] = CrowdRules(reading: section, over: crowd)
                section.reportUnknownKeys()
            }
        }
        reader.reportUnknownKeys()
    }
}

extension CrowdRules {
    /// Reads the crowd keys of `reader` (`density_levels`, `hold_s`, `clear_s`, `hysteresis`, `build_up`), each
    /// overriding `base`. Does not report unknown keys: the caller's mapping may hold other rules.
    init(reading reader: MappingReader, over base: CrowdRules) {
        self = base
        if let levels = reader.section("density_levels") {
            densityLevels = DensityLevelsOverride(reading: levels).applied(to: base.densityLevels, reportingTo: levels)
            levels.reportUnknownKeys()
        }
        hold = reader.value("hold_s", .seconds(positive: false), default: base.hold)
        clear = reader.value("clear_s", .seconds(positive: false), default: base.clear)
        hysteresis = reader.value(
            "hysteresis",
            ValueType.number.checked {
                (0..<1).contains($0) ? nil : "must be at least 0 and below 1 (a fraction: 0.1 is 10 %), got \(formatNumber($0))"
            },
            default: base.hysteresis)
        if let buildUp = reader.section("build_up") {
            self.buildUp.ppm2Per5Min = buildUp.value("ppm2_per_5min", .positiveNumber, default: base.buildUp.ppm2Per5Min)
            buildUp.reportUnknownKeys()
        }
    }
}

/// Some or all of `elevated`, `high`, `critical`, laid over other levels (a zone type's or a zone's own).
struct DensityLevelsOverride {
    var elevated: Double?
    var high: Double?
    var critical: Double?

    init(reading reader: MappingReader) {
        elevated = reader.optional("elevated", .positiveNumber)
        high = reader.optional("high", .positiveNumber)
        critical = reader.optional("critical", .positiveNumber)
    }

    /// `base` with these values; reports (at the mapping) levels that do not increase, and then returns `base`.
    func applied(to base: DensityLevels, reportingTo reader: MappingReader) -> DensityLevels {
        let levels = DensityLevels(
            elevated: elevated ?? base.elevated, high: high ?? base.high, critical: critical ?? base.critical)
        guard levels.elevated < levels.high, levels.high < levels.critical else {
            reader.log.error(
                at: reader.origin, key: reader.path,
                "levels must increase (elevated < high < critical), got elevated \(formatNumber(levels.elevated)), "
                    + "high \(formatNumber(levels.high)), critical \(formatNumber(levels.critical))")
            return base
        }
        return levels
    }
}
