import StreetSenseCore

/// One guideline level: a pollutant's mean over a period should not exceed `value` µg/m³.
public struct AirQualityGuideline: Hashable, Sendable {
    public var metric: Metric
    public var averaging: AveragingPeriod
    public var value: Double

    public init(metric: Metric, averaging: AveragingPeriod, value: Double) {
        self.metric = metric
        self.averaging = averaging
        self.value = value
    }
}

/// A pollutant's mean over a period, as the caller computed it.
public struct PollutantMean: Hashable, Sendable {
    public var metric: Metric
    public var averaging: AveragingPeriod
    public var value: Double

    public init(metric: Metric, averaging: AveragingPeriod, value: Double) {
        self.metric = metric
        self.averaging = averaging
        self.value = value
    }
}

/// A mean above a guideline: reported in the API as data, never alerted (DESIGN §5).
public struct GuidelineExceedance: Hashable, Sendable {
    public var guideline: AirQualityGuideline
    public var value: Double
    /// `value / guideline.value` (2.0: twice the guideline).
    public var ratio: Double { value / guideline.value }
    /// The ``AirQualityGuidelines/version`` that defined the guideline.
    public var version: String
}

/// A versioned set of air quality guideline levels, as data, and the exceedances of a set of means.
///
/// A mean exceeds a guideline when it is strictly above it; a mean only counts against a guideline of the
/// same pollutant and averaging period.
public struct AirQualityGuidelines: Hashable, Sendable {
    public let version: String
    public let guidelines: [AirQualityGuideline]

    public init(version: String, guidelines: [AirQualityGuideline]) {
        self.version = version
        self.guidelines = guidelines
    }

    /// WHO global air quality guidelines 2021 (REFERENCES), µg/m³: PM2.5 5 annual and 15 over 24 h, PM10 15
    /// and 45, NO2 10 and 25, O3 100 over 8 h.
    public static let who2021 = AirQualityGuidelines(
        version: "who-2021",
        guidelines: [
            AirQualityGuideline(metric: .pm2_5, averaging: .year, value: 5),
            AirQualityGuideline(metric: .pm2_5, averaging: .day, value: 15),
            AirQualityGuideline(metric: .pm10, averaging: .year, value: 15),
            AirQualityGuideline(metric: .pm10, averaging: .day, value: 45),
            AirQualityGuideline(metric: .no2, averaging: .year, value: 10),
            AirQualityGuideline(metric: .no2, averaging: .day, value: 25),
            AirQualityGuideline(metric: .o3, averaging: .eightHours, value: 100),
        ])

    /// The guideline for a pollutant and period, if there is one.
    public func guideline(for metric: Metric, averaging: AveragingPeriod) -> AirQualityGuideline? {
        guidelines.first { $0.metric == metric && $0.averaging == averaging }
    }

    /// The means that exceed their guideline, in the order given. Means with no matching guideline, and NaN
    /// means, are skipped.
    public func exceedances(of means: [PollutantMean]) -> [GuidelineExceedance] {
        var out: [GuidelineExceedance] = []
        for mean in means {
            guard let guideline = guideline(for: mean.metric, averaging: mean.averaging), mean.value > guideline.value else { continue }
            out.append(GuidelineExceedance(guideline: guideline, value: mean.value, version: version))
        }
        return out
    }
}
