import StreetSenseCore

/// The alert rules (DESIGN §5), as three layers: the defaults (`rules:` top level), per zone type
/// (`rules.zone_types.<type>`) and per zone (`rules.zones.<zone id>`), each overriding the one above key by key.
/// Sensor rules (`sensor_offline`, `sensor_faulty`, `air_quality`) apply to a sensor through its zone.
///
/// A zone's layers, in order: ``defaults``, its type's entry, the `density_levels` of its GeoJSON feature,
/// its entry in `rules.zones`.
///
/// Invariant: `zoneTypes` and `zones` hold complete rule sets (the layers above already applied), keyed by valid
/// ids; every key of `zones` is a zone of the zones file.
public struct RuleSettings: Sendable, Hashable {
    /// The rules of zones that have no entry in `zoneTypes` or `zones`.
    public var defaults: RuleSet
    /// Rules per zone type (the GeoJSON property `type`).
    public var zoneTypes: [String: RuleSet]
    /// Rules of the zones with their own entry in `rules.zones`.
    public var zones: [String: RuleSet]

    public init(defaults: RuleSet = .default, zoneTypes: [String: RuleSet] = [:], zones: [String: RuleSet] = [:]) {
        self.defaults = defaults
        self.zoneTypes = zoneTypes
        self.zones = zones
    }

    /// The default crowd rules (`defaults.crowd`).
    public var crowd: CrowdRules {
        get { defaults.crowd }
        set { defaults.crowd = newValue }
    }

    /// The rules of a zone of `type` (nil: no type), before any zone's own entry.
    public func rules(forZoneType type: String?) -> RuleSet {
        type.flatMap { zoneTypes[$0] } ?? defaults
    }

    /// The crowd rules of a zone of `type` (nil: no type).
    public func crowdRules(forZoneType type: String?) -> CrowdRules {
        rules(forZoneType: type).crowd
    }
}

/// Every rule family for one zone and the sensors in it.
public struct RuleSet: Sendable, Hashable {
    public var crowd: CrowdRules
    public var airQuality: AirQualityRules
    public var sensorOffline: SensorOfflineRules
    public var sensorFaulty: SensorFaultyRules

    /// The defaults of DESIGN §5.
    public static let `default` = RuleSet(crowd: .default, airQuality: .default, sensorOffline: .default, sensorFaulty: .default)

    public init(crowd: CrowdRules, airQuality: AirQualityRules, sensorOffline: SensorOfflineRules, sensorFaulty: SensorFaultyRules) {
        self.crowd = crowd
        self.airQuality = airQuality
        self.sensorOffline = sensorOffline
        self.sensorFaulty = sensorFaulty
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
    /// Reads the `rules` section: the defaults at its top level, then `zone_types`. The entries of `zones` need
    /// the zones file; they are collected in `zoneEntries` for ``applyZoneEntries(_:zones:zoneTypes:knownIDs:)``.
    init(reading reader: MappingReader, zoneEntries: inout [ZoneRuleEntry]) {
        self.init()
        defaults = RuleSet(reading: reader, over: .default)
        if let types = reader.section("zone_types") {
            for (id, section) in Self.entries(of: types, naming: "zone type") {
                zoneTypes[id] = RuleSet(reading: section, over: defaults)
                section.reportUnknownKeys()
            }
        }
        if let zones = reader.section("zones") {
            for (id, section) in Self.entries(of: zones, naming: "zone id") {
                zoneEntries.append(ZoneRuleEntry(zone: id, section: section))
            }
        }
        reader.reportUnknownKeys()
    }

    /// The mappings of a section keyed by ids; invalid ids and non-mappings are reported and skipped.
    private static func entries(of reader: MappingReader, naming what: String) -> [(String, MappingReader)] {
        var result: [(String, MappingReader)] = []
        for entry in reader.entries {
            let path = reader.keyPath(entry.key)
            guard Identifier.isValid(entry.key) else {
                reader.log.error(at: entry.keyOrigin, key: path, what + " " + ValueType<String>.invalidIdentifierReason(entry.key))
                continue
            }
            guard let section = MappingReader.make(entry.value, path: path, origin: entry.keyOrigin, log: reader.log) else { continue }
            result.append((entry.key, section))
        }
        return result
    }

    /// Reads the `rules.zones` entries over their zone's type rules and GeoJSON levels, and sets those zones'
    /// `levels` to the result. An entry for a zone that is not in `knownIDs` is reported.
    mutating func applyZoneEntries(
        _ entries: [ZoneRuleEntry], zones: inout [ZoneDefinition], zoneTypes types: [String: String], knownIDs: [String]
    ) {
        for entry in entries {
            let section = entry.section
            guard let index = zones.firstIndex(where: { $0.id == entry.zone }) else {
                if !knownIDs.contains(entry.zone) {
                    let hint =
                        closestMatch(to: entry.zone, among: knownIDs).map { " (did you mean \($0)?)" }
                        ?? (knownIDs.isEmpty ? "" : " (known: \(knownIDs.sorted().prefix(10).joined(separator: ", ")))")
                    section.log.error(at: section.origin, key: section.path, "unknown zone \"\(entry.zone)\"\(hint)")
                }
                continue
            }
            var base = rules(forZoneType: types[entry.zone])
            base.crowd.densityLevels = zones[index].levels
            let rules = RuleSet(reading: section, over: base)
            section.reportUnknownKeys()
            self.zones[entry.zone] = rules
            zones[index].levels = rules.crowd.densityLevels
        }
    }
}

/// One `rules.zones.<zone id>` entry, read once the zones are known.
struct ZoneRuleEntry {
    var zone: String
    var section: MappingReader
}

extension RuleSet {
    /// Reads one layer of rules: the crowd keys and the `air_quality`, `sensor_offline` and `sensor_faulty`
    /// sections, each key overriding `base`. Does not report unknown keys of `reader` (the caller's mapping may
    /// hold `zone_types` and `zones`).
    init(reading reader: MappingReader, over base: RuleSet) {
        crowd = CrowdRules(reading: reader, over: base.crowd)
        airQuality = base.airQuality
        sensorOffline = base.sensorOffline
        sensorFaulty = base.sensorFaulty
        if let section = reader.section("air_quality") {
            airQuality = AirQualityRules(reading: section, over: base.airQuality)
            section.reportUnknownKeys()
        }
        if let section = reader.section("sensor_offline") {
            sensorOffline = SensorOfflineRules(reading: section, over: base.sensorOffline)
            section.reportUnknownKeys()
        }
        if let section = reader.section("sensor_faulty") {
            sensorFaulty = SensorFaultyRules(reading: section, over: base.sensorFaulty)
            section.reportUnknownKeys()
        }
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
