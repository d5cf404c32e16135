import StreetSenseCore
import StreetSenseSimulation

/// Readings for the core rows, in trace order: every series reports once per `interval`, each at its own phase,
/// and the order of series within an interval is a seeded shuffle (what a broker delivers from a city of
/// independent sensors), so consecutive readings hit unrelated series. Struct of arrays, 20 bytes a reading.
public struct CoreTrace: Sendable {
    public let seriesCount: Int
    public let rounds: Int
    public let interval: Int64
    public let series: [Int32]
    public let times: [Int64]
    public let values: [Double]

    /// The event time of the first reading.
    public static let start: Int64 = 1_795_996_800_000  // 2026-11-29T00:00:00Z

    /// - Parameters:
    ///   - seriesCount: how many series report.
    ///   - rounds: readings per series.
    ///   - interval: ms between two readings of one series (the `city-scale` scenario's 60 s by default).
    public init(seriesCount: Int, rounds: Int, interval: Int64 = 60_000, seed: UInt64 = 42) {
        self.seriesCount = seriesCount
        self.rounds = rounds
        self.interval = interval
        var random = SeededGenerator(seed: seed)
        var order = (0..<seriesCount).map { Int32($0) }
        for i in stride(from: order.count - 1, to: 0, by: -1) {
            order.swapAt(i, Int(random.next() % UInt64(i + 1)))
        }
        var series: [Int32] = []
        var times: [Int64] = []
        var values: [Double] = []
        let total = seriesCount * rounds
        series.reserveCapacity(total)
        times.reserveCapacity(total)
        values.reserveCapacity(total)
        for round in 0..<rounds {
            let roundStart = Self.start + Int64(round) * interval
            for (rank, id) in order.enumerated() {
                series.append(id)
                times.append(roundStart + Int64(rank) * interval / Int64(seriesCount))
                values.append(Double(random.next() % 50_000) / 100)
            }
        }
        self.series = series
        self.times = times
        self.values = values
    }

    /// Readings in the trace.
    public var count: Int { series.count }

    /// Event time covered by one pass: a pass replayed `k` passes later is shifted by `k × span`.
    public var span: Int64 { Int64(rounds) * interval }
}

/// The aggregation core's series table driven as the pipeline drives it: every reading recorded, and every
/// `flushEvery` readings the closed 1-minute rollups drained (what ``Pipeline/flush(final:)`` does once per store
/// batch of 10 000 rows), so the changed-minute queue stays bounded as it does live.
public struct CoreRun {
    public var table = SeriesTable()
    /// Passes of the trace recorded so far (each later pass is shifted forward in event time).
    public private(set) var passes = 0
    public private(set) var accepted = 0
    public private(set) var rollups = 0
    public static let flushEvery = 10_000
    public static let lateness: Int64 = 120_000

    public init(seriesCount: Int) {
        table.reserveCapacity(seriesCount)
        for _ in 0..<seriesCount { _ = table.addSeries() }
    }

    /// Records one pass of the trace; returns the readings recorded.
    @discardableResult
    public mutating func recordPass(_ trace: CoreTrace) -> Int {
        let offset = Int64(passes) * trace.span
        passes += 1
        var accepted = 0
        var rollups = 0
        var index = 0
        let count = trace.count
        trace.series.withUnsafeBufferPointer { series in
            trace.times.withUnsafeBufferPointer { times in
                trace.values.withUnsafeBufferPointer { values in
                    while index < count {
                        let end = Swift.min(index + Self.flushEvery, count)
                        let first = index
                        table.record(count: end &- first, lateness: Self.lateness) { i in
                            (SeriesID(series[first &+ i]), times[first &+ i] &+ offset, values[first &+ i])
                        } outcome: { _, outcome in
                            if outcome == .accepted { accepted &+= 1 }
                        }
                        table.drainChangedMinutes(closedBy: times[end - 1] &+ offset &- Self.lateness) { _, _, bucket in
                            rollups &+= Int(bucket.count)
                        }
                        index = end
                    }
                }
            }
        }
        self.accepted += accepted
        self.rollups += rollups
        return count
    }
}

/// The naive reference driven with the same trace.
public struct NaiveRun {
    public var table = NaiveWindowTable()
    public private(set) var passes = 0

    public init() {}

    @discardableResult
    public mutating func recordPass(_ trace: CoreTrace) -> Int {
        let offset = Int64(passes) * trace.span
        passes += 1
        trace.series.withUnsafeBufferPointer { series in
            trace.times.withUnsafeBufferPointer { times in
                trace.values.withUnsafeBufferPointer { values in
                    for i in 0..<series.count {
                        table.record(series[i], time: times[i] &+ offset, value: values[i])
                    }
                }
            }
        }
        return trace.count
    }
}
