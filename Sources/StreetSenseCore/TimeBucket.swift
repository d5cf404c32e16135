/// One time bucket of one series: how many readings fell in it and their sum, minimum and maximum.
///
/// `epoch` is the bucket's number since 1970 (event time ÷ bucket width). A slot in a ring holds the bucket of
/// exactly one epoch; a slot whose epoch is not the one asked for is stale and reads as empty. That tag is
/// what lets a series that was silent for longer than a window reset in O(1): nothing is evicted bucket by
/// bucket, the old slots simply no longer match. 32 bytes, stored contiguously, never boxed.
@frozen
public struct TimeBucket: Sendable, Hashable {
    /// Bucket number since the epoch; `Int32.min` for a slot never written.
    public var epoch: Int32
    public var count: UInt32
    public var sum: Double
    public var min: Double
    public var max: Double

    /// A slot that has never held a bucket.
    public static let unused = TimeBucket(epoch: .min, count: 0, sum: 0, min: .infinity, max: -.infinity)

    @inlinable
    public init(epoch: Int32, count: UInt32, sum: Double, min: Double, max: Double) {
        self.epoch = epoch
        self.count = count
        self.sum = sum
        self.min = min
        self.max = max
    }

    /// Adds a value to a bucket of the given epoch, first resetting the slot if it held another epoch.
    @inlinable @inline(__always)
    public mutating func add(_ value: Double, epoch: Int32) {
        if self.epoch != epoch {
            self = TimeBucket(epoch: epoch, count: 1, sum: value, min: value, max: value)
        } else {
            count &+= 1
            sum += value
            if value < min { min = value }
            if value > max { max = value }
        }
    }
}

/// The fixed geometry of the two rings every series keeps (DESIGN §4): 10-second buckets for the 1- and
/// 5-minute windows, 60-second buckets for the 15-minute and 1-hour windows. Each window length is a multiple
/// of its bucket width, and each ring is exactly as long as the longest window it serves.
public enum RingGeometry {
    /// Width of a fine bucket in milliseconds.
    public static let fineWidth: Int64 = 10_000
    /// Fine buckets per series: 5 minutes of 10 s.
    public static let fineSlots = 30
    /// Width of a coarse bucket in milliseconds (also the rollup period).
    public static let coarseWidth: Int64 = 60_000
    /// Coarse buckets per series: 1 hour of 60 s.
    public static let coarseSlots = 60

    /// Which ring serves a window, and how many of its buckets the window spans.
    @inlinable
    public static func span(of window: WindowLength) -> (coarse: Bool, buckets: Int) {
        switch window {
        case .oneMinute: (false, 6)
        case .fiveMinutes: (false, 30)
        case .fifteenMinutes: (true, 15)
        case .oneHour: (true, 60)
        }
    }

    /// The epoch (bucket number) of a time for a bucket width, rounding toward −∞.
    @inlinable @inline(__always)
    public static func epoch(of milliseconds: Int64, width: Int64) -> Int32 {
        let q = milliseconds / width
        return Int32(truncatingIfNeeded: (milliseconds % width < 0) ? q - 1 : q)
    }

    /// The slot of an epoch in a ring of `slots` slots (non-negative modulo).
    @inlinable @inline(__always)
    public static func slot(of epoch: Int32, slots: Int) -> Int {
        let r = Int(epoch) % slots
        return r < 0 ? r + slots : r
    }
}
