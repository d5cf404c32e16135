import StreetSenseAlerts
import StreetSenseCore
import StreetSenseStore

/// The pipeline's air-quality stage: the running pollutant means of every registered station
/// (``PollutantMeans``), fed by accepted readings live and by stored readings on restore, and the evaluation of
/// a station's `air_quality` alerts on event time.
///
/// Stations are numbered by their core ``SensorIndex``. A station is evaluated at the newest event time of its
/// pollutant readings, after each message that changed its means.
struct AirQualityFeed {
    private(set) var means: PollutantMeans
    /// Per station: the newest event time (ms) of an averaged reading; `Int64.min` before the first.
    private var newest: [Int64]

    init(stations: Int) {
        means = PollutantMeans(stations: stations)
        newest = [Int64](repeating: .min, count: stations)
    }

    /// Adds an accepted (or replayed) reading; true if it changed the station's means.
    @inline(__always)
    mutating func record(_ sensor: SensorIndex, metric: Metric, value: Double, at time: EventTime) -> Bool {
        guard PollutantMeans.averages(metric) else { return false }
        let station = Int(sensor.rawValue)
        guard means.add(station: station, metric: metric, value: value, at: time) else { return false }
        if time.milliseconds > newest[station] { newest[station] = time.milliseconds }
        return true
    }

    /// Adds a stored 1-minute rollup (restore); true if it changed the station's means.
    mutating func record(_ sensor: SensorIndex, rollup: RollupRecord) -> Bool {
        let station = Int(sensor.rawValue)
        guard means.add(station: station, metric: rollup.metric, sum: rollup.sum, count: Int(rollup.count), at: rollup.minute) else {
            return false
        }
        let end = rollup.minute.milliseconds + 59_999
        if end > newest[station] { newest[station] = end }
        return true
    }

    /// Evaluates the station's air-quality alerts with its means at its newest reading time.
    func evaluate(_ sensor: SensorIndex, handle: AlertEngine.SensorHandle, alerts: inout AlertEngine, into events: inout [AlertEvent]) {
        let station = Int(sensor.rawValue)
        guard station < newest.count, newest[station] != .min else { return }
        let time = EventTime(milliseconds: newest[station])
        alerts.evaluateAirQuality(sensor: handle, at: time, means: means.means(station: station, at: time), into: &events)
    }
}
