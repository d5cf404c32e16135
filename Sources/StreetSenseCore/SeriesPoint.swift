/// One bucket of a stored series aggregated from 1-minute rollups: what the store returns and the `series`
/// endpoints of the API print.
///
/// Invariant: `count > 0` (empty buckets are not returned); `min ≤ mean ≤ max`.
public struct SeriesPoint: Sendable, Hashable {
    /// The start of the bucket: a multiple of the step since the epoch.
    public var start: EventTime
    public var count: Int
    public var sum: Double
    public var min: Double
    public var max: Double

    public var mean: Double { sum / Double(count) }

    public init(start: EventTime, count: Int, sum: Double, min: Double, max: Double) {
        self.start = start
        self.count = count
        self.sum = sum
        self.min = min
        self.max = max
    }
}
