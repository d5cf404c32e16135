import StreetSenseCore

/// The running means the air-quality index is computed from (DESIGN §5), for many stations at once: the
/// hourly mean of NO2 and O3 and the 24-hour running mean of PM2.5 and PM10, on event time.
///
/// Per station and pollutant a ring of 24 hourly (sum, count) buckets, each tagged with its hour since 1970
/// like the core's `TimeBucket`: a slot whose hour is not one of the 24 asked for is stale and reads as
/// empty, so a station that was silent for a day needs no eviction. All rings live in one contiguous array
/// indexed by station number; ``add(station:metric:value:at:)`` and ``means(station:at:)`` do not allocate
/// (only ``reserve(stations:)`` for a new station does).
///
/// Definitions, at the hour H that holds `time`:
/// - **hourly mean** (NO2, O3): the mean of the readings in H (the current clock hour, complete or not);
///   nil if H has none.
/// - **24-hour running mean** (PM2.5, PM10): the mean of the hourly means of H−23 … H, over the hours that
///   have readings; nil when fewer than `minimumDayHours` of them do (EEA counts a daily mean only with 75 %
///   coverage: 18 of 24 hours, the default).
///
/// Readings older than the 24 hours a ring holds (their slot already holds a newer hour) are dropped; non-
/// finite values and sensor error codes (``FaultAlertRule/isErrorCode(_:metric:)``) are never averaged.
public struct PollutantMeans: Sendable {
    /// Hours in a running day, and slots per ring.
    public static let hoursPerDay = 24
    /// Milliseconds per bucket.
    public static let hourMilliseconds: Int64 = 3_600_000
    /// How many hours of a day must have readings for a 24-hour mean (1…24).
    public let minimumDayHours: Int

    private var buckets: [HourBucket] = []

    /// Rings for `stations` stations (numbered from 0); more are added by ``reserve(stations:)``.
    public init(stations: Int = 0, minimumDayHours: Int = 18) {
        self.minimumDayHours = min(max(minimumDayHours, 1), Self.hoursPerDay)
        reserve(stations: stations)
    }

    /// How many stations have rings.
    public var stationCount: Int { buckets.count / Self.slotsPerStation }

    /// Makes sure stations `0 ..< stations` have rings.
    public mutating func reserve(stations: Int) {
        let needed = stations * Self.slotsPerStation
        if buckets.count < needed { buckets.append(contentsOf: repeatElement(.unused, count: needed - buckets.count)) }
    }

    /// Adds one reading. Returns false (and changes nothing) for a metric that is not an index pollutant, a
    /// station without rings, a non-finite value or an error code, or a reading older than its ring holds.
    @discardableResult
    public mutating func add(station: Int, metric: Metric, value: Double, at time: EventTime) -> Bool {
        guard let p = Self.position(of: metric), station >= 0, station < stationCount, value.isFinite,
            !FaultAlertRule.isErrorCode(value, metric: metric)
        else { return false }
        let hour = Self.hour(of: time)
        let i = Self.slot(station: station, position: p, hour: hour)
        if buckets[i].hour > hour { return false }
        if buckets[i].hour < hour {
            buckets[i] = HourBucket(hour: hour, sum: value, count: 1)
        } else {
            buckets[i].sum += value
            buckets[i].count &+= 1
        }
        return true
    }

    /// Adds the sum and count of `count` readings of one minute (a stored 1-minute rollup) at `time`. Returns
    /// false, changing nothing, in the same cases as ``add(station:metric:value:at:)`` and for `count < 1`.
    @discardableResult
    public mutating func add(station: Int, metric: Metric, sum: Double, count: Int, at time: EventTime) -> Bool {
        guard let p = Self.position(of: metric), station >= 0, station < stationCount, sum.isFinite, count > 0 else { return false }
        let hour = Self.hour(of: time)
        let i = Self.slot(station: station, position: p, hour: hour)
        if buckets[i].hour > hour { return false }
        if buckets[i].hour < hour {
            buckets[i] = HourBucket(hour: hour, sum: sum, count: 0)
        } else {
            buckets[i].sum += sum
        }
        buckets[i].count &+= .init(truncatingIfNeeded: count)
        return true
    }

    /// The means of a station at `time` (nil members: no valid mean; all nil for a station without rings).
    public func means(station: Int, at time: EventTime) -> AirQualityMeans {
        guard station >= 0, station < stationCount else { return AirQualityMeans() }
        let hour = Self.hour(of: time)
        return AirQualityMeans(
            pm2_5: dayMean(station, 0, hour), pm10: dayMean(station, 1, hour), no2: hourMean(station, 2, hour),
            o3: hourMean(station, 3, hour))
    }

    private func hourMean(_ station: Int, _ p: Int, _ hour: Int64) -> Double? {
        let bucket = buckets[Self.slot(station: station, position: p, hour: hour)]
        guard bucket.hour == hour, bucket.count > 0 else { return nil }
        return bucket.sum / Double(bucket.count)
    }

    private func dayMean(_ station: Int, _ p: Int, _ hour: Int64) -> Double? {
        let base = (station * 4 + p) * Self.hoursPerDay
        var total = 0.0
        var hours = 0
        for s in 0..<Self.hoursPerDay {
            let bucket = buckets[base + s]
            // Every slot holds one hour; it counts if that hour is one of H−23 … H.
            guard bucket.count > 0, bucket.hour <= hour, bucket.hour > hour - Int64(Self.hoursPerDay) else { continue }
            total += bucket.sum / Double(bucket.count)
            hours += 1
        }
        return hours >= minimumDayHours ? total / Double(hours) : nil
    }

    // MARK: Geometry

    static let slotsPerStation = 4 * hoursPerDay

    /// The hour since 1970 that holds `time` (floor division, so times before 1970 work too).
    @inline(__always)
    static func hour(of time: EventTime) -> Int64 {
        let ms = time.milliseconds
        let q = ms / hourMilliseconds
        return ms % hourMilliseconds < 0 ? q - 1 : q
    }

    @inline(__always)
    static func slot(station: Int, position: Int, hour: Int64) -> Int {
        var r = Int(hour % Int64(hoursPerDay))
        if r < 0 { r += hoursPerDay }
        return (station * 4 + position) * hoursPerDay + r
    }

    /// The ring of a pollutant: PM2.5, PM10, NO2, O3; nil for other metrics.
    @inline(__always)
    static func position(of metric: Metric) -> Int? {
        switch metric {
        case .pm2_5: 0
        case .pm10: 1
        case .no2: 2
        case .o3: 3
        default: nil
        }
    }

    /// Whether a metric is one of the index pollutants this type averages.
    public static func averages(_ metric: Metric) -> Bool { position(of: metric) != nil }
}

/// One hour of one pollutant of one station: the sum and count of its readings, tagged with its hour.
struct HourBucket: Sendable {
    /// Hours since 1970; `Int64.min` for a slot never written.
    var hour: Int64
    var sum: Double
    var count: UInt32

    static let unused = HourBucket(hour: .min, sum: 0, count: 0)
}
