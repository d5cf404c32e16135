/// A sensor's usual reporting interval: the median of its last nine intervals between readings, in
/// milliseconds, kept in fixed inline storage (no allocation, ever).
///
/// The median shrugs off the odd long gap (an outage, a reboot) and the odd burst, so one outage does not
/// stretch the offline limit and a reading sent twice in a second does not shrink it.
///
/// Invariant: it holds the `min(added, 9)` most recent positive intervals; ``median`` is nil until the
/// first one.
public struct IntervalEstimator: Hashable, Sendable {
    /// How many intervals the median is taken over.
    public static let capacity = 9

    private var slots = NineSlots()
    /// How many slots hold an interval (0…9).
    public private(set) var count = 0
    /// The slot the next interval goes to.
    private var next = 0

    public init() {}

    /// The median interval in ms: the middle one of an odd count, the mean of the two middle ones (rounded
    /// down) of an even count; nil before the first interval. Kept up to date by ``add(_:)``.
    public private(set) var median: Int64?

    /// Adds an interval (ms). Intervals ≤ 0 (readings stamped at the same time, or out of order) are ignored.
    public mutating func add(_ interval: Int64) {
        guard interval > 0 else { return }
        let replaced: Int64? = count == Self.capacity ? slots[next] : nil
        slots[next] = interval
        next = next == Self.capacity - 1 ? 0 : next + 1
        if count < Self.capacity { count += 1 }
        // A full estimator replacing an interval by an equal one keeps its median: a sensor reporting on a
        // regular schedule (every reading of it) costs no sort.
        if replaced != interval { median = computedMedian }
    }

    private var computedMedian: Int64? {
        guard count > 0 else { return nil }
        // Insertion sort of a copy of the filled slots: at most 36 comparisons, on the stack.
        var sorted = NineSlots()
        for i in 0..<count {
            let value = slots[i]
            var j = i
            while j > 0, sorted[j - 1] > value {
                sorted[j] = sorted[j - 1]
                j -= 1
            }
            sorted[j] = value
        }
        if count % 2 == 1 { return sorted[count / 2] }
        let low = sorted[count / 2 - 1], high = sorted[count / 2]
        return low / 2 + high / 2 + (low % 2 + high % 2) / 2
    }
}

/// Nine Int64 values stored inline (a fixed-size array without heap storage).
struct NineSlots: Hashable, Sendable {
    private var s0: Int64 = 0, s1: Int64 = 0, s2: Int64 = 0, s3: Int64 = 0, s4: Int64 = 0
    private var s5: Int64 = 0, s6: Int64 = 0, s7: Int64 = 0, s8: Int64 = 0

    subscript(index: Int) -> Int64 {
        get {
            switch index {
            case 0: s0
            case 1: s1
            case 2: s2
            case 3: s3
            case 4: s4
            case 5: s5
            case 6: s6
            case 7: s7
            default: s8
            }
        }
        set {
            switch index {
            case 0: s0 = newValue
            case 1: s1 = newValue
            case 2: s2 = newValue
            case 3: s3 = newValue
            case 4: s4 = newValue
            case 5: s5 = newValue
            case 6: s6 = newValue
            case 7: s7 = newValue
            default: s8 = newValue
            }
        }
    }
}
