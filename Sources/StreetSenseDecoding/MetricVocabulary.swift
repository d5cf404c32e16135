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
    /// An open-addressing table from a hash of (length, first byte, last byte) of a name to 1 + the metric's
    /// index (0: empty slot), so a key is compared with one candidate name, rarely two.
    private let slots: [UInt8]
    private static let slotMask = 63

    private init() {
        let all = Metric.allCases
        // The tables are indexed by raw value; the core numbers its metrics 0, 1, 2, … in declaration order.
        precondition(all.indices.allSatisfy { Int(all[$0].rawValue) == $0 })
        precondition(all.count < MetricVocabulary.slotMask)
        metrics = all
        names = metrics.map { Array($0.name.utf8) }
        canonicalUnits = metrics.map { Array($0.unit.utf8) }
        ranges = metrics.map(\.validRange)
        canonicalUnitAccepted = metrics.map { $0.accepts(unit: $0.unit) }
        var slots = [UInt8](repeating: 0, count: MetricVocabulary.slotMask + 1)
        for (k, name) in names.enumerated() {
            var slot = MetricVocabulary.hash(count: name.count, first: name[0], last: name[name.count - 1])
            while slots[slot] != 0 { slot = (slot + 1) & MetricVocabulary.slotMask }
            slots[slot] = UInt8(k + 1)
        }
        self.slots = slots
    }

    @inline(__always)
    private static func hash(count: Int, first: UInt8, last: UInt8) -> Int {
        (count &* 7 &+ Int(first) &* 3 &+ Int(last)) & slotMask
    }

    /// The metric whose wire name is exactly the bytes of `range`.
    @inline(__always)
    func metric(named b: Span<UInt8>, _ range: Range<Int>) -> Metric? {
        let count = range.count
        guard count > 0 else { return nil }
        var slot = MetricVocabulary.hash(count: count, first: b[range.lowerBound], last: b[range.upperBound - 1])
        while true {
            let entry = Int(slots[slot])
            if entry == 0 { return nil }
            let name = names[entry - 1]
            if name.count == count, MetricVocabulary.equal(b, range.lowerBound, name) { return metrics[entry - 1] }
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
        var text: [UInt8] = []
        for i in range { text.append(b[i]) }
        return metric.accepts(unit: String(decoding: text, as: UTF8.self))
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
