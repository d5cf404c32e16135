import StreetSenseCore

/// The metric vocabulary of StreetSenseCore as byte tables, so that keys and units are matched in place without
/// building a String. Built once from `Metric.allCases`, `Metric.name`, `Metric.unit` and `Metric.validRange`,
/// so it can never disagree with the core.
///
/// Invariant: every table is indexed by the position of the metric in `Metric.allCases`.
struct MetricVocabulary: Sendable {
    static let shared = MetricVocabulary()

    let metrics: [Metric]
    let names: [[UInt8]]
    let canonicalUnits: [[UInt8]]
    let ranges: [ClosedRange<Double>]
    /// Whether the core accepts the canonical unit of each metric (it should; if not, the fast path is off).
    let canonicalUnitAccepted: [Bool]
    /// Each name's bytes packed little-endian into two words (names are at most 16 bytes), so a key is compared
    /// with a candidate in two integer comparisons.
    private let packedLow: [UInt64]
    private let packedHigh: [UInt64]
    /// An open-addressing table from a hash of a packed name to 1 + the metric's index (0: empty slot).
    private let slots: [UInt8]
    private static let slotMask = 63
    private static let longestName = 16

    private init() {
        let all = Metric.allCases
        // The tables are indexed by raw value; the core numbers its metrics 0, 1, 2, … in declaration order.
        precondition(all.indices.allSatisfy { Int(all[$0].rawValue) == $0 })
        precondition(all.count < MetricVocabulary.slotMask)
        metrics = all
        names = metrics.map { Array($0.name.utf8) }
        precondition(names.allSatisfy { !$0.isEmpty && $0.count <= MetricVocabulary.longestName })
        canonicalUnits = metrics.map { Array($0.unit.utf8) }
        ranges = metrics.map(\.validRange)
        canonicalUnitAccepted = metrics.map { $0.accepts(unit: $0.unit) }
        let packed = names.map { MetricVocabulary.pack($0.span, 0..<$0.count) }
        packedLow = packed.map(\.low)
        packedHigh = packed.map(\.high)
        var slots = [UInt8](repeating: 0, count: MetricVocabulary.slotMask + 1)
        for (k, key) in packed.enumerated() {
            var slot = MetricVocabulary.slot(key.low, key.high)
            while slots[slot] != 0 { slot = (slot + 1) & MetricVocabulary.slotMask }
            slots[slot] = UInt8(k + 1)
        }
        self.slots = slots
    }

    /// The bytes of `range` (at most 16) packed little-endian into two words, zero-padded. The length is implied:
    /// names contain no NUL byte, so different lengths pack differently.
    @inline(__always)
    private static func pack(_ b: Span<UInt8>, _ range: Range<Int>) -> (low: UInt64, high: UInt64) {
        var low: UInt64 = 0
        var high: UInt64 = 0
        var shift: UInt64 = 0
        for i in range {
            if shift < 64 {
                low |= UInt64(b[i]) &<< shift
            } else {
                high |= UInt64(b[i]) &<< (shift &- 64)
            }
            shift &+= 8
        }
        return (low, high)
    }

    @inline(__always)
    private static func slot(_ low: UInt64, _ high: UInt64) -> Int {
        Int(truncatingIfNeeded: ((low ^ high &* 31) &* 0x9E37_79B9_7F4A_7C15) >> 58) & slotMask
    }

    /// The metric whose wire name is exactly the bytes of `range`.
    @inline(__always)
    func metric(named b: Span<UInt8>, _ range: Range<Int>) -> Metric? {
        guard range.count > 0, range.count <= MetricVocabulary.longestName else { return nil }
        let key = MetricVocabulary.pack(b, range)
        // A key containing NUL could pack like a shorter name; names have none, so such keys never match below
        // unless the lengths agree too.
        var slot = MetricVocabulary.slot(key.low, key.high)
        while true {
            let entry = Int(slots[slot])
            if entry == 0 { return nil }
            if packedLow[entry - 1] == key.low, packedHigh[entry - 1] == key.high, names[entry - 1].count == range.count {
                return metrics[entry - 1]
            }
            slot = (slot + 1) & MetricVocabulary.slotMask
        }
    }

    /// Whether `metric` accepts the unit spelled by the bytes of `range` (`Metric.accepts(unit:)`). The
    /// canonical spelling is matched in place; any other spelling is handed to the core as a String (units are
    /// short, so that String is stored inline and does not allocate).
    func accepts(_ metric: Metric, unit b: Span<UInt8>, _ range: Range<Int>) -> Bool {
        let k = Int(metric.rawValue)
        if canonicalUnitAccepted[k], canonicalUnits[k].count == range.count,
            MetricVocabulary.equal(b, range.lowerBound, canonicalUnits[k])
        {
            return true
        }
        // The buffer pointer does not leave the closure; a String of up to 15 bytes is stored inline.
        let unit = b.extracting(range).withUnsafeBufferPointer { String(decoding: $0, as: UTF8.self) }
        return metric.accepts(unit: unit)
    }

    func validRange(_ metric: Metric) -> ClosedRange<Double> { ranges[Int(metric.rawValue)] }

    /// Whether the bytes of `b` from `start` begin with all of `word`.
    @inline(__always)
    static func equal(_ b: Span<UInt8>, _ start: Int, _ word: [UInt8]) -> Bool {
        guard start + word.count <= b.count else { return false }
        for k in 0..<word.count where b[start + k] != word[k] { return false }
        return true
    }

    /// Whether the bytes of `range` in `b` equal all of `other`.
    @inline(__always)
    static func equal(_ b: Span<UInt8>, _ range: Range<Int>, _ other: Span<UInt8>) -> Bool {
        guard range.count == other.count else { return false }
        var i = range.lowerBound
        for k in 0..<other.count {
            if b[i] != other[k] { return false }
            i &+= 1
        }
        return true
    }
}
