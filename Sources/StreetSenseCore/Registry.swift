/// What a sensor measures and how its readings turn into an estimate of people (DESIGN §3).
public enum SensorKind: String, CaseIterable, Sendable, Hashable, Codable {
    /// A camera counting people in view: people = `people` × factor, over `covered_m2`.
    case occupancy
    /// A gate line counter: zone occupancy = running sum of `people_in` − `people_out`, never below 0.
    case flow
    /// A Wi-Fi/BLE device counter: people ≈ `devices` × factor (factor required).
    case devices
    /// An air-quality station: air metrics only, no density.
    case air

    /// Whether a reading of `metric` is meaningful from a sensor of this kind.
    public func accepts(_ metric: Metric) -> Bool {
        switch self {
        case .occupancy: metric == .people || !metric.isCount
        case .flow: metric == .peopleIn || metric == .peopleOut || !metric.isCount
        case .devices: metric == .devices || !metric.isCount
        case .air: !metric.isCount
        }
    }

    /// Whether this kind contributes to zone density.
    public var estimatesPeople: Bool { self != .air }
}

/// A zone of a testbed: a polygon with a net usable area, the unit that density is reported for.
///
/// Invariant: `areaM2 > 0`; `id` is a valid ``Identifier``.
public struct ZoneDefinition: Sendable, Hashable {
    public var id: String
    public var name: String
    /// Net usable area in m² (given, or computed geodesically from the polygon).
    public var areaM2: Double
    /// The outer ring of the polygon as (longitude, latitude) pairs, closed (first == last); empty if unknown.
    public var polygon: [[Double]]
    /// Density levels for this zone; the configured default if the zone names none.
    public var levels: DensityLevels

    public init(id: String, name: String, areaM2: Double, polygon: [[Double]] = [], levels: DensityLevels = .default) {
        self.id = id
        self.name = name
        self.areaM2 = areaM2
        self.polygon = polygon
        self.levels = levels
    }
}

/// A point on the map in WGS 84 degrees, in GeoJSON's order: longitude first, then latitude.
///
/// Invariants: `longitude` is in -180...180 and `latitude` in -90...90.
public struct GeoPosition: Sendable, Hashable {
    public var longitude: Double
    public var latitude: Double

    public init(longitude: Double, latitude: Double) {
        self.longitude = longitude
        self.latitude = latitude
    }
}

/// A registered sensor: who publishes it, where it is, and how to read its counts.
///
/// Invariants: `address` ids are valid; `zone` names a configured zone; `factor > 0`; `coveredM2`, when set,
/// is > 0. A `devices` sensor always has an explicit factor.
public struct SensorDefinition: Sendable, Hashable {
    public var address: SensorAddress
    public var zone: String
    public var kind: SensorKind
    /// Calibration factor applied to counts (people per counted unit).
    public var factor: Double
    /// The area the sensor's count covers; nil means the whole zone.
    public var coveredM2: Double?
    /// How long after its last reading the sensor drops out of its zone's estimate.
    public var staleAfter: Duration
    /// Where the sensor is mounted, for the map; nil if not configured. It may lie outside its zone's polygon
    /// (a camera on a building looking into a square) and plays no part in any estimate.
    public var position: GeoPosition?

    public init(
        address: SensorAddress, zone: String, kind: SensorKind, factor: Double = 1, coveredM2: Double? = nil,
        staleAfter: Duration = .seconds(300), position: GeoPosition? = nil
    ) {
        self.address = address
        self.zone = zone
        self.kind = kind
        self.factor = factor
        self.coveredM2 = coveredM2
        self.staleAfter = staleAfter
        self.position = position
    }
}

/// The crowd density level of a zone, after G. Keith Still's bands.
public enum DensityLevel: String, CaseIterable, Sendable, Hashable, Comparable, Codable {
    case normal
    case elevated
    case high
    case critical

    public static func < (lhs: DensityLevel, rhs: DensityLevel) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// Density thresholds in persons per m². Invariant: `0 < elevated < high < critical`.
public struct DensityLevels: Sendable, Hashable {
    public var elevated: Double
    public var high: Double
    public var critical: Double

    /// G. Keith Still's capacity (2.5), unstable (3.5) and congested (5.0) bands.
    public static let `default` = DensityLevels(elevated: 2.5, high: 3.5, critical: 5.0)

    public init(elevated: Double, high: Double, critical: Double) {
        self.elevated = elevated
        self.high = high
        self.critical = critical
    }

    /// The level a density falls in, with no hold time or hysteresis (the alert engine adds those).
    public func level(for density: Double) -> DensityLevel {
        if density >= critical { return .critical }
        if density >= high { return .high }
        if density >= elevated { return .elevated }
        return .normal
    }

    /// The lower edge of `level` (0 for normal).
    public func threshold(of level: DensityLevel) -> Double {
        switch level {
        case .normal: 0
        case .elevated: elevated
        case .high: high
        case .critical: critical
        }
    }
}

/// Pipeline settings that shape event-time handling (DESIGN §1).
public struct EventTimePolicy: Sendable, Hashable {
    /// How far behind the newest time of its series a reading may be and still be aggregated.
    public var allowedLateness: Duration
    /// How far ahead of its arrival a timestamp may be before it is rejected `future_timestamp`.
    public var maximumFutureSkew: Duration

    public static let `default` = EventTimePolicy(allowedLateness: .seconds(120), maximumFutureSkew: .seconds(60))

    public init(allowedLateness: Duration, maximumFutureSkew: Duration) {
        self.allowedLateness = allowedLateness
        self.maximumFutureSkew = maximumFutureSkew
    }
}
