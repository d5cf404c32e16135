/// One to three increasing thresholds that split a value into levels 0…`count`, with the hysteresis band
/// below each threshold that a value must cross to leave the level.
///
/// Level k (1…count) is *reached* by a value at or above threshold k (`.atOrAbove`, crowd density:
/// "elevated ≥ 2.5") or strictly above it (`.above`, air-quality band edges: a band is entered when its lower
/// edge is exceeded). A value *leaves* level k only when it is strictly below threshold k × (1 − hysteresis).
///
/// Invariants (the rules that build these check them; a table that breaks them still never traps):
/// `1 ≤ count ≤ 3`, thresholds finite and increasing, `0 ≤ hysteresis < 1`.
public struct LevelThresholds: Hashable, Sendable {
    /// How a value is compared with a threshold to reach its level.
    public enum Comparison: Hashable, Sendable {
        case atOrAbove
        case above
    }

    public let count: Int
    private let first: Double
    private let second: Double
    private let third: Double
    public let comparison: Comparison
    public let hysteresis: Double

    /// One level.
    public init(_ threshold: Double, comparison: Comparison = .atOrAbove, hysteresis: Double) {
        self.count = 1
        self.first = threshold
        self.second = .infinity
        self.third = .infinity
        self.comparison = comparison
        self.hysteresis = hysteresis
    }

    /// Three levels.
    public init(_ first: Double, _ second: Double, _ third: Double, comparison: Comparison = .atOrAbove, hysteresis: Double) {
        self.count = 3
        self.first = first
        self.second = second
        self.third = third
        self.comparison = comparison
        self.hysteresis = hysteresis
    }

    /// Threshold k (1…count); +∞ outside.
    public func threshold(_ level: Int) -> Double {
        switch level {
        case 1: first
        case 2 where count >= 2: second
        case 3 where count >= 3: third
        default: .infinity
        }
    }

    /// Whether `value` reaches level k.
    @inline(__always)
    public func reaches(_ value: Double, level: Int) -> Bool {
        let t = threshold(level)
        return comparison == .atOrAbove ? value >= t : value > t
    }

    /// The value below which level k is left: threshold k × (1 − hysteresis).
    @inline(__always)
    public func clearLine(_ level: Int) -> Double { threshold(level) * (1 - hysteresis) }

    /// The highest level `value` reaches (0 if none), with no hold time and no hysteresis.
    public func level(of value: Double) -> Int {
        var level = 0
        for k in 1...max(1, min(count, 3)) where reaches(value, level: k) { level = k }
        return level
    }
}

/// Turns a sampled value into a debounced level: the hold, clear and hysteresis logic of DESIGN §5, as a
/// pure state machine over event time (milliseconds).
///
/// - A higher level k is confirmed once the value has reached k at every observation for at least `hold`
///   (the run started at the first observation that reached it: with 5 s samples and a 30 s hold, seven
///   samples 0 s … 30 s). If several higher levels qualify at once the highest wins, so one observation moves
///   the level once.
/// - The confirmed level k is left once the value has been below k's clear line (threshold × (1 − hysteresis))
///   at every observation for at least `clear`; it then drops past every level whose own clear condition
///   holds too (so critical can fall straight to elevated, or to 0).
/// - A value between a level's clear line and the next threshold changes nothing: oscillation by less than
///   the hysteresis band never flaps.
/// - A missing or non-finite value (`nil`, NaN, ±∞: no sensor covered the zone) is no evidence either way:
///   both kinds of run restart, the confirmed level stays.
/// - An observation stamped before the previous one is ignored (event time only moves forward).
///
/// Invariant: `0 ≤ level ≤ thresholds.count`; a run start is never after the newest observation.
public struct LevelDebouncer: Hashable, Sendable {
    /// Marks "no run".
    static let noRun = Int64.max

    /// The confirmed level (0: no alert).
    public private(set) var level: Int
    /// For levels 1…3: when the current run of observations reaching the level began.
    private var reachedSince = RunStarts()
    /// For levels 1…3: when the current run of observations below the level's clear line began.
    private var belowSince = RunStarts()
    private var newest = Int64.min

    /// A debouncer at a confirmed level (0, or a level restored after a restart) with no runs in progress.
    public init(level: Int = 0) {
        self.level = max(0, min(level, 3))
    }

    /// Takes one observation and returns the confirmed level after it.
    @discardableResult
    public mutating func observe(
        _ value: Double?, at time: Int64, thresholds: LevelThresholds, hold: Int64, clear: Int64
    ) -> Int {
        guard time >= newest else { return level }
        newest = time
        let count = max(1, min(thresholds.count, 3))
        if level > count { level = count }
        guard let value, value.isFinite else {
            reachedSince = RunStarts()
            belowSince = RunStarts()
            return level
        }
        for k in 1...count {
            if thresholds.reaches(value, level: k) {
                if reachedSince[k] == Self.noRun { reachedSince[k] = time }
            } else {
                reachedSince[k] = Self.noRun
            }
            if value < thresholds.clearLine(k) {
                if belowSince[k] == Self.noRun { belowSince[k] = time }
            } else {
                belowSince[k] = Self.noRun
            }
        }
        // Up: the highest level above the current one whose run has lasted `hold`.
        var k = count
        while k > level {
            let since = reachedSince[k]
            if since != Self.noRun, time &- since >= hold {
                level = k
                return level
            }
            k -= 1
        }
        // Down: leave every level whose below-the-clear-line run has lasted `clear`.
        while level > 0 {
            let since = belowSince[level]
            guard since != Self.noRun, time &- since >= clear else { break }
            level -= 1
        }
        return level
    }
}

/// Three run start times, one per level, without an array.
struct RunStarts: Hashable, Sendable {
    var one = LevelDebouncer.noRun
    var two = LevelDebouncer.noRun
    var three = LevelDebouncer.noRun

    subscript(level: Int) -> Int64 {
        get {
            switch level {
            case 1: one
            case 2: two
            default: three
            }
        }
        set {
            switch level {
            case 1: one = newValue
            case 2: two = newValue
            default: three = newValue
            }
        }
    }
}
