/// A quantity a sensor can report, from the vocabulary of DESIGN §2.
///
/// The raw value is the wire name used in native JSON payloads and SenML names. Each metric has one canonical
/// unit, the SenML units it accepts, and a valid range; a value outside the range is rejected `out_of_range`.
public enum Metric: UInt8, CaseIterable, Sendable, Hashable, Comparable {
    case people = 0
    case peopleIn
    case peopleOut
    case devices
    case pm2_5
    case pm10
    case no2
    case o3
    case co2
    case noise
    case temperature
    case humidity

    /// The number of metrics; series tables are sized with it.
    public static let count = Metric.allCases.count

    /// The wire name, as it appears in payloads and in the API (`pm2_5`, `people_in`).
    public var name: String {
        switch self {
        case .people: "people"
        case .peopleIn: "people_in"
        case .peopleOut: "people_out"
        case .devices: "devices"
        case .pm2_5: "pm2_5"
        case .pm10: "pm10"
        case .no2: "no2"
        case .o3: "o3"
        case .co2: "co2"
        case .noise: "noise"
        case .temperature: "temperature"
        case .humidity: "humidity"
        }
    }

    /// Looks a metric up by its wire name.
    public init?(name: some StringProtocol) {
        switch name {
        case "people": self = .people
        case "people_in": self = .peopleIn
        case "people_out": self = .peopleOut
        case "devices": self = .devices
        case "pm2_5": self = .pm2_5
        case "pm10": self = .pm10
        case "no2": self = .no2
        case "o3": self = .o3
        case "co2": self = .co2
        case "noise": self = .noise
        case "temperature": self = .temperature
        case "humidity": self = .humidity
        default: return nil
        }
    }

    /// The canonical SenML unit (IANA registry name).
    public var unit: String {
        switch self {
        case .people, .peopleIn, .peopleOut, .devices: "count"
        case .pm2_5, .pm10, .no2, .o3: "ug/m3"
        case .co2: "ppm"
        case .noise: "dB"
        case .temperature: "Cel"
        case .humidity: "%RH"
        }
    }

    /// Units a SenML record may carry for this metric. `count` metrics also accept the SenML unit `/`
    /// (unitless ratio) is *not* accepted: counts must say `count` or omit the unit.
    public func accepts(unit: some StringProtocol) -> Bool {
        switch self {
        case .pm2_5, .pm10, .no2, .o3: unit == "ug/m3" || unit == "µg/m3" || unit == "ug/m^3"
        case .noise: unit == "dB" || unit == "dBA" || unit == "dB(A)"
        default: unit == self.unit
        }
    }

    /// The suffix used for this metric's unit in API field names (`pm2_5_ugm3`, `co2_ppm`).
    public var unitSuffix: String {
        switch self {
        case .people, .peopleIn, .peopleOut, .devices: "count"
        case .pm2_5, .pm10, .no2, .o3: "ugm3"
        case .co2: "ppm"
        case .noise: "dba"
        case .temperature: "celsius"
        case .humidity: "percent"
        }
    }

    /// The inclusive valid range of values.
    public var validRange: ClosedRange<Double> {
        switch self {
        case .people: 0...100_000
        case .peopleIn, .peopleOut: 0...100_000
        case .devices: 0...1_000_000
        case .pm2_5, .pm10, .no2, .o3: 0...2_000
        case .co2: 0...10_000
        case .noise: 0...200
        case .temperature: -60...70
        case .humidity: 0...100
        }
    }

    /// Whether this metric is a count of people or devices (as opposed to an air or climate measurement).
    public var isCount: Bool {
        switch self {
        case .people, .peopleIn, .peopleOut, .devices: true
        default: false
        }
    }

    public static func < (lhs: Metric, rhs: Metric) -> Bool { lhs.rawValue < rhs.rawValue }
}
