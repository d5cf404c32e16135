import StreetSenseCore

/// A band of the European Air Quality Index, from best to worst. The raw value is the API name.
public enum AirQualityBand: String, CaseIterable, Sendable, Hashable, Comparable, Codable {
    case good
    case fair
    case moderate
    case poor
    case veryPoor = "very_poor"
    case extremelyPoor = "extremely_poor"

    /// 0 (good) … 5 (extremely poor).
    public var rank: Int {
        switch self {
        case .good: 0
        case .fair: 1
        case .moderate: 2
        case .poor: 3
        case .veryPoor: 4
        case .extremelyPoor: 5
        }
    }

    public static func < (lhs: AirQualityBand, rhs: AirQualityBand) -> Bool { lhs.rank < rhs.rank }

    /// The alert severity of a band (`poor` → warning, `very_poor` → major, `extremely_poor` → critical);
    /// nil for the bands that do not alert.
    public var alertSeverity: AlertSeverity? { AlertSeverity(rank: rank - 2) }
}

/// The time a pollutant concentration is averaged over. The raw value is the API name.
public enum AveragingPeriod: String, CaseIterable, Sendable, Hashable, Codable {
    case hour = "1h"
    case eightHours = "8h"
    case day = "24h"
    case year = "1y"
}

/// One pollutant's row of an index table: the averaging period its mean must cover, and the five upper
/// edges of good, fair, moderate, poor and very poor in µg/m³ (extremely poor is everything above the last).
///
/// Invariant (checked by ``AirQualityIndex/init(version:pollutants:)``): five finite edges, > 0, strictly
/// increasing.
public struct PollutantBands: Hashable, Sendable {
    public var metric: Metric
    public var averaging: AveragingPeriod
    public var upperEdges: [Double]

    public init(metric: Metric, averaging: AveragingPeriod, upperEdges: [Double]) {
        self.metric = metric
        self.averaging = averaging
        self.upperEdges = upperEdges
    }

    /// The band of a concentration. **A band's upper edge belongs to it**: with PM2.5 edges 10/20/…, 10.0 is
    /// `good` and the next representable value above 10.0 is `fair`. A band is entered when the edge below
    /// it is *exceeded*, as "poor" means "exceeds the EU limit value" and a WHO guideline is exceeded by a
    /// value above it. Negative values are `good`; NaN has no band.
    public func band(for value: Double) -> AirQualityBand? {
        guard !value.isNaN else { return nil }
        for (i, edge) in upperEdges.enumerated() where value <= edge {
            return AirQualityBand(rank: i)
        }
        return .extremelyPoor
    }
}

extension AirQualityBand {
    init?(rank: Int) {
        guard let band = AirQualityBand.allCases.first(where: { $0.rank == rank }) else { return nil }
        self = band
    }
}

/// The concentrations an index is computed from, each already averaged over its pollutant's period
/// (DESIGN §5: 24-hour running means for PM2.5 and PM10, hourly means for NO2 and O3). `nil`: not measured,
/// or not enough data for a valid mean (EEA counts a mean only with at least 75 % of its period covered;
/// the caller decides).
public struct AirQualityMeans: Hashable, Sendable {
    public var pm2_5: Double?
    public var pm10: Double?
    public var no2: Double?
    public var o3: Double?

    public init(pm2_5: Double? = nil, pm10: Double? = nil, no2: Double? = nil, o3: Double? = nil) {
        self.pm2_5 = pm2_5
        self.pm10 = pm10
        self.no2 = no2
        self.o3 = o3
    }

    /// The mean of an index pollutant; nil for other metrics.
    public subscript(metric: Metric) -> Double? {
        switch metric {
        case .pm2_5: pm2_5
        case .pm10: pm10
        case .no2: no2
        case .o3: o3
        default: nil
        }
    }
}

/// The index of one place at one time: the worst band over the pollutants measured, which pollutant set
/// it, and which table version rated it.
public struct AirQualityIndexValue: Hashable, Sendable {
    public var band: AirQualityBand
    /// The pollutant whose band is the index (the first in table order on a tie).
    public var pollutant: Metric
    /// That pollutant's mean, µg/m³.
    public var value: Double
    /// How many pollutants had a mean.
    public var pollutantsRated: Int
    /// The ``AirQualityIndex/version`` of the table.
    public var version: String
}

/// A versioned European Air Quality Index band table, as data: the bands of each pollutant and the rule
/// that the index is the worst pollutant's band (EEA).
///
/// ``eea2024`` is the table of DESIGN §5 and REFERENCES; the WHO-aligned revision (PM2.5 5/15/50/90/140, …)
/// can be added as another value with its own version string, and the version is reported with every index.
///
/// Invariant: at most one row per metric, every row valid (see ``PollutantBands``).
public struct AirQualityIndex: Hashable, Sendable {
    /// Names the table (`eea-2024`), reported with every index value.
    public let version: String
    /// One row per pollutant, in the order ties are broken.
    public let pollutants: [PollutantBands]

    /// A table, or an `AirQualityTableError` naming the first bad row.
    public init(version: String, pollutants: [PollutantBands]) throws(AirQualityTableError) {
        guard !version.isEmpty else { throw AirQualityTableError(version: version, metric: nil, "the version is empty") }
        var seen: [Metric] = []
        for row in pollutants {
            if seen.contains(row.metric) {
                throw AirQualityTableError(version: version, metric: row.metric, "\(row.metric.name) has two rows")
            }
            seen.append(row.metric)
            guard row.upperEdges.count == 5 else {
                throw AirQualityTableError(
                    version: version, metric: row.metric, "\(row.metric.name) has \(row.upperEdges.count) edges, not 5")
            }
            var previous = 0.0
            for edge in row.upperEdges {
                guard edge.isFinite, edge > previous else {
                    throw AirQualityTableError(
                        version: version, metric: row.metric,
                        "\(row.metric.name) edges must be finite, positive and increasing, got \(row.upperEdges)")
                }
                previous = edge
            }
        }
        self.version = version
        self.pollutants = pollutants
    }

    private init(checked version: String, _ pollutants: [PollutantBands]) {
        self.version = version
        self.pollutants = pollutants
    }

    /// The table of DESIGN §5 (REFERENCES, "European Air Quality Index"), in µg/m³: PM2.5 10/20/25/50/75 and
    /// PM10 20/40/50/100/150 on 24-hour running means, NO2 40/90/120/230/340 and O3 50/100/130/240/380 on
    /// hourly means.
    public static let eea2024 = AirQualityIndex(
        checked: "eea-2024",
        [
            PollutantBands(metric: .pm2_5, averaging: .day, upperEdges: [10, 20, 25, 50, 75]),
            PollutantBands(metric: .pm10, averaging: .day, upperEdges: [20, 40, 50, 100, 150]),
            PollutantBands(metric: .no2, averaging: .hour, upperEdges: [40, 90, 120, 230, 340]),
            PollutantBands(metric: .o3, averaging: .hour, upperEdges: [50, 100, 130, 240, 380]),
        ])

    /// The row of a pollutant, or nil if the table does not rate it.
    public func bands(for metric: Metric) -> PollutantBands? {
        for row in pollutants where row.metric == metric { return row }
        return nil
    }

    /// The band of one pollutant's mean (upper edges inclusive, see ``PollutantBands/band(for:)``); nil if the
    /// table does not rate the metric or the value is NaN.
    public func band(for metric: Metric, value: Double) -> AirQualityBand? {
        bands(for: metric)?.band(for: value)
    }

    /// The index: the worst band over the pollutants with a mean; nil if none has one.
    public func index(of means: AirQualityMeans) -> AirQualityIndexValue? {
        var worst: AirQualityIndexValue?
        var rated = 0
        for row in pollutants {
            guard let value = means[row.metric], let band = row.band(for: value) else { continue }
            rated += 1
            if worst == nil || band > worst!.band {
                worst = AirQualityIndexValue(band: band, pollutant: row.metric, value: value, pollutantsRated: 0, version: version)
            }
        }
        worst?.pollutantsRated = rated
        return worst
    }

    /// The alert thresholds of a pollutant: poor, very poor and extremely poor begin above the upper edges of
    /// moderate, poor and very poor.
    func alertThresholds(for row: PollutantBands, hysteresis: Double) -> LevelThresholds {
        LevelThresholds(row.upperEdges[2], row.upperEdges[3], row.upperEdges[4], comparison: .above, hysteresis: hysteresis)
    }
}

/// A band table that cannot be used: which version, which pollutant, and why.
public struct AirQualityTableError: Error, Hashable, Sendable, CustomStringConvertible {
    public var version: String
    public var metric: Metric?
    public var message: String

    public init(version: String, metric: Metric?, _ message: String) {
        self.version = version
        self.metric = metric
        self.message = message
    }

    public var description: String { "air quality table \(version): \(message)" }
}
