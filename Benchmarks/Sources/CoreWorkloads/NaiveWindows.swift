/// The reference for the core rows: the bucketed window a user would write without thinking about memory.
///
/// Per series a struct of four windows (1 min and 5 min of 10 s buckets, 15 min and 1 h of 60 s buckets), each
/// an array of buckets, oldest first, with a running count and sum. Every reading first evicts expired buckets
/// from the front, one by one, then adds to the newest bucket or appends a new one. Series live in a dictionary
/// keyed by the same dense series number the core uses (so the reference pays no string hashing either).
public struct NaiveWindowTable {
    struct Bucket {
        var start: Int64
        var count: Int
        var sum: Double
        var min: Double
        var max: Double
    }

    struct Window {
        let length: Int64
        let width: Int64
        var buckets: [Bucket] = []
        var count = 0
        var sum = 0.0

        init(length: Int64, width: Int64) {
            self.length = length
            self.width = width
        }

        mutating func add(_ time: Int64, _ value: Double) {
            while let first = buckets.first, first.start <= time - length {
                count -= first.count
                sum -= first.sum
                buckets.removeFirst()
            }
            let start = time - time % width
            if let last = buckets.indices.last, buckets[last].start == start {
                buckets[last].count += 1
                buckets[last].sum += value
                buckets[last].min = Swift.min(buckets[last].min, value)
                buckets[last].max = Swift.max(buckets[last].max, value)
            } else {
                buckets.append(Bucket(start: start, count: 1, sum: value, min: value, max: value))
            }
            count += 1
            sum += value
        }
    }

    struct Series {
        var windows = [
            Window(length: 60_000, width: 10_000), Window(length: 300_000, width: 10_000),
            Window(length: 900_000, width: 60_000), Window(length: 3_600_000, width: 60_000),
        ]

        mutating func add(_ time: Int64, _ value: Double) {
            for w in windows.indices { windows[w].add(time, value) }
        }
    }

    var series: [Int32: Series] = [:]

    public init() {}

    /// The number of series.
    public var count: Int { series.count }

    /// Adds a reading to the four windows of a series (created on first sight).
    public mutating func record(_ id: Int32, time: Int64, value: Double) {
        series[id, default: Series()].add(time, value)
    }

    /// The 1-hour count and mean of a series (to check both designs saw the same readings).
    public func hour(_ id: Int32) -> (count: Int, mean: Double)? {
        guard let s = series[id] else { return nil }
        let w = s.windows[3]
        return (w.count, w.count > 0 ? w.sum / Double(w.count) : 0)
    }
}
