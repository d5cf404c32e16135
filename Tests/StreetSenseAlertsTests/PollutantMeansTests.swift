import StreetSenseAlerts
import StreetSenseCore
import Testing

/// ``PollutantMeans`` against worked examples and, on random traces, against a brute-force model that keeps
/// every reading and averages from scratch.
@Suite struct PollutantMeansTests {
    static let hour: Int64 = 3_600_000

    func time(hours: Double) -> EventTime { t0 + .milliseconds(Int64((hours * Double(Self.hour)).rounded())) }

    @Test("hourly NO2 and O3 are the mean of the current clock hour; other metrics and error codes are ignored")
    func hourlyMeans() {
        var means = PollutantMeans(stations: 2)
        let added1 = means.add(station: 1, metric: .no2, value: 30, at: time(hours: 0.1))
        #expect(added1)
        let added2 = means.add(station: 1, metric: .no2, value: 60, at: time(hours: 0.9))
        #expect(added2)
        let added3 = means.add(station: 1, metric: .o3, value: 80, at: time(hours: 0.5))
        #expect(added3)
        let added4 = means.add(station: 1, metric: .temperature, value: 20, at: time(hours: 0.5))
        #expect(!added4)
        let added5 = means.add(station: 1, metric: .pm10, value: 999.9, at: time(hours: 0.5))
        #expect(!added5)
        let added6 = means.add(station: 1, metric: .no2, value: .nan, at: time(hours: 0.5))
        #expect(!added6)
        let added7 = means.add(station: 2, metric: .no2, value: 10, at: time(hours: 0.5))
        #expect(!added7)  // no rings
        let now = means.means(station: 1, at: time(hours: 0.95))
        #expect(now.no2 == 45)
        #expect(now.o3 == 80)
        #expect(now.pm10 == nil)
        // The next hour starts empty; station 0 has nothing.
        #expect(means.means(station: 1, at: time(hours: 1.0)).no2 == nil)
        #expect(means.means(station: 0, at: time(hours: 0.5)) == AirQualityMeans())
    }

    @Test("the 24-hour PM mean averages hourly means and needs the configured coverage")
    func dailyMeans() {
        var means = PollutantMeans(stations: 1, minimumDayHours: 3)
        // Hour 0: 10 and 30 (mean 20); hour 1: 40; hour 2: 60 three times.
        means.add(station: 0, metric: .pm2_5, value: 10, at: time(hours: 0.2))
        means.add(station: 0, metric: .pm2_5, value: 30, at: time(hours: 0.7))
        means.add(station: 0, metric: .pm2_5, value: 40, at: time(hours: 1.5))
        #expect(means.means(station: 0, at: time(hours: 1.6)).pm2_5 == nil)  // 2 of the 3 hours needed
        for m in [0.1, 0.2, 0.3] { means.add(station: 0, metric: .pm2_5, value: 60, at: time(hours: 2 + m)) }
        #expect(means.means(station: 0, at: time(hours: 2.5)).pm2_5 == 40)  // (20 + 40 + 60) / 3
        // At hour 24 hour 0 has left the day: (40 + 60) / 2 hours < 3 → none; one more hour brings it back.
        #expect(means.means(station: 0, at: time(hours: 23.99)).pm2_5 == 40)
        #expect(means.means(station: 0, at: time(hours: 24.0)).pm2_5 == nil)
        means.add(station: 0, metric: .pm2_5, value: 20, at: time(hours: 24.5))
        #expect(means.means(station: 0, at: time(hours: 24.5)).pm2_5 == 40)  // (40 + 60 + 20) / 3
        // A reading 24 hours older than what its slot holds is dropped.
        let added8 = means.add(station: 0, metric: .pm2_5, value: 500, at: time(hours: 0.5))
        #expect(!added8)
        #expect(means.means(station: 0, at: time(hours: 24.5)).pm2_5 == 40)
    }

    @Test("random traces match a brute-force model", arguments: 0..<6)
    func matchesBruteForce(seed: Int) {
        var rng = SplitMix64(seed: UInt64(seed) &* 0x9E37_79B9 &+ 17)
        let minimumHours = [1, 6, 18][seed % 3]
        var means = PollutantMeans(stations: 3, minimumDayHours: minimumHours)
        var model = BruteForceMeans(minimumDayHours: minimumHours)
        var now: Int64 = t0.milliseconds
        let metrics: [Metric] = [.pm2_5, .pm10, .no2, .o3, .temperature]
        for _ in 0..<800 {
            // Mostly forward, sometimes a silence of many hours, sometimes a late reading up to 30 hours back.
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<3: now += Int64.random(in: 0...(40 * Self.hour), using: &rng)
            default: now += Int64.random(in: 0...(20 * 60_000), using: &rng)
            }
            let late = Int.random(in: 0..<10, using: &rng) == 0
            let readingTime = late ? now - Int64.random(in: 0...(30 * Self.hour), using: &rng) : now
            let station = Int.random(in: 0..<3, using: &rng)
            let metric = metrics.randomElement(using: &rng)!
            let value = Double(Int.random(in: 0...2000, using: &rng)) / 10  // 0 … 200: never an error code
            let accepted = means.add(station: station, metric: metric, value: value, at: EventTime(milliseconds: readingTime))
            let expected = model.add(station: station, metric: metric, value: value, at: readingTime)
            #expect(accepted == expected)
            let evaluateAt = now - Int64.random(in: 0...Self.hour, using: &rng)
            let got = means.means(station: station, at: EventTime(milliseconds: evaluateAt))
            let want = model.means(station: station, at: evaluateAt)
            for metric in [Metric.pm2_5, .pm10, .no2, .o3] {
                #expect(close(got[metric], want[metric]), "station \(station) \(metric.name) at \(evaluateAt)")
            }
        }
    }

    func close(_ a: Double?, _ b: Double?) -> Bool {
        switch (a, b) {
        case (nil, nil): true
        case (let x?, let y?): abs(x - y) <= 1e-9 * max(1, abs(y))
        default: false
        }
    }
}

/// Keeps every accepted reading; means are computed from scratch. A reading is accepted unless a reading at
/// least 24 hours newer of the same station, pollutant and hour-of-day slot was accepted before it (that is
/// what "older than its ring holds" means).
struct BruteForceMeans {
    let minimumDayHours: Int
    var readings: [(station: Int, metric: Metric, hour: Int64, value: Double)] = []

    static func hour(_ ms: Int64) -> Int64 { Int64((Double(ms) / 3_600_000).rounded(.down)) }

    mutating func add(station: Int, metric: Metric, value: Double, at ms: Int64) -> Bool {
        guard [Metric.pm2_5, .pm10, .no2, .o3].contains(metric) else { return false }
        let hour = Self.hour(ms)
        let newestInSlot = readings.filter { $0.station == station && $0.metric == metric && (($0.hour - hour) % 24 == 0) }
            .map(\.hour).max()
        if let newest = newestInSlot, newest > hour { return false }
        // A newer hour in the slot replaced older ones: forget them.
        readings.removeAll { $0.station == station && $0.metric == metric && $0.hour < hour && ($0.hour - hour) % 24 == 0 }
        readings.append((station, metric, hour, value))
        return true
    }

    func means(station: Int, at ms: Int64) -> AirQualityMeans {
        let hour = Self.hour(ms)
        func values(_ metric: Metric, _ h: Int64) -> [Double] {
            readings.filter { $0.station == station && $0.metric == metric && $0.hour == h }.map(\.value)
        }
        func hourly(_ metric: Metric) -> Double? {
            let v = values(metric, hour)
            return v.isEmpty ? nil : v.reduce(0, +) / Double(v.count)
        }
        func daily(_ metric: Metric) -> Double? {
            let hourMeans = (hour - 23...hour).compactMap { h -> Double? in
                let v = values(metric, h)
                return v.isEmpty ? nil : v.reduce(0, +) / Double(v.count)
            }
            return hourMeans.count >= minimumDayHours ? hourMeans.reduce(0, +) / Double(hourMeans.count) : nil
        }
        return AirQualityMeans(pm2_5: daily(.pm2_5), pm10: daily(.pm10), no2: hourly(.no2), o3: hourly(.o3))
    }
}
