import CMemoryHints

/// A dense series number, assigned when a (sensor, metric) or zone series is first seen. Index into
/// ``SeriesTable``; never reused while the table lives.
public struct SeriesID: Hashable, Sendable, Comparable {
    public var rawValue: Int32

    @inlinable
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    @inlinable
    public static func < (lhs: SeriesID, rhs: SeriesID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What became of one reading offered to a series.
public enum RecordOutcome: UInt8, Sendable, Hashable {
    /// Added to its buckets.
    case accepted
    /// A reading with the same (series, t) was already accepted: dropped (QoS 1 redelivery, replayed trace).
    case duplicate
    /// Older than the series' newest time minus the allowed lateness: stored by the caller, not aggregated.
    case late
}

/// The time-bucket rings of every series, in contiguous storage: the heart of the aggregation core.
///
/// Each series owns a contiguous slice of one flat bucket array (its 30 fine 10 s buckets, then its 60 coarse
/// 60 s buckets, see ``RingGeometry``), a header (newest time, value at the newest time), and a ring of the 64 most recently
/// accepted timestamps for idempotency. Recording a reading touches O(1) memory and allocates nothing once the
/// table has grown; window summaries are computed on read (≤ 60 buckets), which happens per snapshot, not per
/// reading.
///
/// Invariants:
/// - a slot holds the bucket of exactly one epoch, and the epoch of any slot is the newest epoch mapped to it
///   that received a reading (an older reading never overwrites a newer bucket);
/// - `newest[s]` is the largest accepted t of series s (`Int64.min` before the first), `last[s]` its value;
/// - a reading is a duplicate iff its t equals `newest[s]` or one of the 64 most recent accepted timestamps
///   (checked before lateness, so a redelivered old reading counts as a duplicate, not as late). With the
///   default lateness of 120 s this is exact for sensors publishing at most every 1.9 s; a faster sensor's
///   redelivered copy older than its 64 most recent readings is aggregated again if it is within the lateness,
///   or counted late otherwise. The store keeps raw copies either way;
/// - bit (k, s) of `minuteBits` is set iff coarse slot k of series s took a reading since the drain last handed
///   that slot over, and `minuteRange` bounds the minutes of each slot's marked buckets (drained slots are exact).
///
/// Batches: ``record(count:lateness:reading:outcome:)`` gives the outcomes of one-by-one recording while
/// prefetching the memory of the readings a few places ahead, which is what keeps a city of 100 000 series
/// (320 MB, far beyond the caches) near the speed of one that fits in them.
public struct SeriesTable: Sendable {
    /// Timestamps remembered per series for duplicate detection.
    public static let recentCapacity = 64

    /// Both rings of every series, contiguous per series: the 30 fine buckets, then the 60 coarse ones (so a
    /// reading's two buckets are at most 2.9 KB apart: one or two pages, not two unrelated arrays).
    @usableFromInline var buckets: [TimeBucket] = []
    /// Buckets per series in `buckets`.
    @usableFromInline static let bucketsPerSeries = RingGeometry.fineSlots + RingGeometry.coarseSlots
    @usableFromInline var header: [SeriesHeader] = []
    /// Low 32 bits of recently accepted timestamps (ms). Collisions need two timestamps 49.7 days apart, and
    /// only readings within the allowed lateness of the newest are compared, so they cannot happen.
    @usableFromInline var recent: [UInt32] = []
    /// Which series' 1-minute buckets changed since the last ``drainChangedMinutes(closedBy:_:)``: one bit per
    /// (coarse slot, series), slot-major (`slot * wordsPerSlot + series / 64`).
    @usableFromInline var minuteBits: [UInt64] = Array(repeating: 0, count: RingGeometry.coarseSlots)
    /// Words per slot in `minuteBits` (room for `wordsPerSlot * 64` series; doubled as series are added).
    @usableFromInline var wordsPerSlot = 1
    /// Per coarse slot, the oldest and newest minute (coarse epoch) among its set bits: `[0, 60)` oldest,
    /// `[60, 120)` newest; oldest > newest when the slot has none.
    @usableFromInline var minuteRange: [Int32] = ChangedMinuteRange.empty

    public init() {}

    /// The number of series.
    public var count: Int { header.count }

    /// Bytes of storage one series uses (buckets, header, timestamp ring), excluding array slack.
    public static var bytesPerSeries: Int {
        RingGeometry.fineSlots * MemoryLayout<TimeBucket>.stride
            + RingGeometry.coarseSlots * MemoryLayout<TimeBucket>.stride
            + MemoryLayout<SeriesHeader>.stride + recentCapacity * MemoryLayout<UInt32>.stride
            + RingGeometry.coarseSlots / 8  // the changed-minute bits
    }

    /// Reserves room for `count` series in total.
    public mutating func reserveCapacity(_ count: Int) {
        buckets.reserveCapacity(count * Self.bucketsPerSeries)
        header.reserveCapacity(count)
        recent.reserveCapacity(count * Self.recentCapacity)
    }

    /// Doubles the words per slot of `minuteBits`, keeping every bit.
    mutating func growMinuteBits() {
        let wider = wordsPerSlot * 2
        var bits = [UInt64](repeating: 0, count: RingGeometry.coarseSlots * wider)
        for slot in 0..<RingGeometry.coarseSlots {
            for w in 0..<wordsPerSlot { bits[slot * wider + w] = minuteBits[slot * wordsPerSlot + w] }
        }
        minuteBits = bits
        wordsPerSlot = wider
    }

    /// Adds an empty series and returns its id.
    public mutating func addSeries() -> SeriesID {
        let id = SeriesID(Int32(header.count))
        buckets.append(contentsOf: repeatElement(.unused, count: Self.bucketsPerSeries))
        header.append(SeriesHeader())
        recent.append(contentsOf: repeatElement(0, count: Self.recentCapacity))
        if header.count > wordsPerSlot &* 64 { growMinuteBits() }
        return id
    }

    /// The largest accepted event time of a series, or nil before its first reading.
    public func newest(_ series: SeriesID) -> EventTime? {
        let t = header[Int(series.rawValue)].newest
        return t == .min ? nil : EventTime(milliseconds: t)
    }

    /// The value of the reading with the largest accepted event time, or nil before the first reading.
    public func last(_ series: SeriesID) -> Double? {
        let h = header[Int(series.rawValue)]
        return h.newest == .min ? nil : h.last
    }

    /// A number that changes whenever a reading is accepted into the series (so whenever its buckets change);
    /// equal numbers at two moments mean equal buckets (it wraps after 2³² readings).
    public func version(_ series: SeriesID) -> UInt32 { header[Int(series.rawValue)].version }

    /// Offers a reading to a series: accepted into its buckets, or recognised as a duplicate or as too late.
    ///
    /// - Parameters:
    ///   - time: the reading's event time in ms.
    ///   - lateness: the allowed lateness in ms (a reading more than this behind the series' newest is late).
    @inlinable
    public mutating func record(_ series: SeriesID, time: Int64, value: Double, lateness: Int64) -> RecordOutcome {
        withRows { rows in rows.record(series, time: time, value: value, lateness: lateness) }
    }

    /// How many readings ahead ``record(count:lateness:reading:outcome:)`` starts loading a reading's buckets;
    /// its header is asked for twice as far ahead. Measured (`streetsense-corebench --only core`, 1 000–100 000
    /// series): 8, 16 and 32 were within the noise of each other.
    public static let prefetchDistance = 8

    /// Records `count` readings in order, with exactly the outcomes of calling
    /// ``record(_:time:value:lateness:)`` for each, but overlapping their cache misses: while reading i is
    /// recorded, the header of reading i + 2d and the buckets and timestamp slot of reading i + d
    /// (d = ``prefetchDistance``) are already being loaded. Beyond the caches (10 000 series and more) a reading
    /// otherwise waits for four misses in a row.
    ///
    /// - Parameters:
    ///   - reading: the i-th reading (called up to three times per index, so it should be a cheap lookup).
    ///   - outcome: called once per reading, in order.
    @inlinable @inline(__always)
    public mutating func record(
        count: Int, lateness: Int64,
        reading: (Int) -> (series: SeriesID, time: Int64, value: Double),
        outcome: (Int, RecordOutcome) -> Void
    ) {
        withRows { rows in
            let d = Self.prefetchDistance
            for i in 0..<Swift.min(count, 2 &* d) { rows.prefetchHeader(reading(i).series) }
            for i in 0..<Swift.min(count, d) {
                let r = reading(i)
                rows.prefetchBuckets(r.series, time: r.time)
            }
            for i in 0..<count {
                if i &+ 2 &* d < count { rows.prefetchHeader(reading(i &+ 2 &* d).series) }
                if i &+ d < count {
                    let r = reading(i &+ d)
                    rows.prefetchBuckets(r.series, time: r.time)
                }
                let r = reading(i)
                outcome(i, rows.record(r.series, time: r.time, value: r.value, lateness: lateness))
            }
        }
    }

    /// Runs `body` with the table's storage, the changed-minute bits included, as unchecked pointers (taken once,
    /// so a batch pays for one uniqueness check per array instead of several per reading).
    @inlinable @inline(__always)
    mutating func withRows<R>(_ body: (SeriesRows) -> R) -> R {
        let wordsPerSlot = wordsPerSlot
        return header.withUnsafeMutableBufferPointer { header in
            recent.withUnsafeMutableBufferPointer { recent in
                buckets.withUnsafeMutableBufferPointer { buckets in
                    minuteBits.withUnsafeMutableBufferPointer { minuteBits in
                        minuteRange.withUnsafeMutableBufferPointer { minuteRange in
                            body(SeriesRows(
                                header: header, recent: recent, buckets: buckets,
                                changed: ChangedMinuteRange(bits: minuteBits, wordsPerSlot: wordsPerSlot, range: minuteRange)))
                        }
                    }
                }
            }
        }
    }

    /// Starts loading the header of a series and the buckets a reading at `time` (ms) falls in. A hint only: no
    /// visible effect, never faults.
    public func prefetch(_ series: SeriesID, time: Int64) {
        let s = Int(series.rawValue)
        guard s >= 0, s < header.count else { return }
        header.withUnsafeBufferPointer { streetsense_prefetch_for_write($0.baseAddress! + s) }
        let place = SeriesRows.place(of: time)
        buckets.withUnsafeBufferPointer { buckets in
            let row = buckets.baseAddress! + s &* Self.bucketsPerSeries
            streetsense_prefetch_for_write(row + place.fineSlot)
            streetsense_prefetch_for_write(row + RingGeometry.fineSlots + place.coarseSlot)
        }
    }

    /// Starts loading what ``fineWindows(_:at:)``, ``newest(_:)``, ``last(_:)``, ``version(_:)`` and, with
    /// `coarse`, ``coarseWindows(_:at:)`` read of a series: its header, its fine ring (15 cache lines) and its
    /// coarse ring (30). A hint only: no visible effect, never faults.
    public func prefetchRings(_ series: SeriesID, coarse: Bool = true) {
        let s = Int(series.rawValue)
        guard s >= 0, s < header.count else { return }
        header.withUnsafeBufferPointer { streetsense_prefetch_for_read($0.baseAddress! + s) }
        buckets.withUnsafeBufferPointer { buckets in
            let count = coarse ? Self.bucketsPerSeries : RingGeometry.fineSlots
            streetsense_prefetch_range_for_read(buckets.baseAddress! + s &* Self.bucketsPerSeries, count &* MemoryLayout<TimeBucket>.stride)
        }
    }

    /// The four window summaries of a series at time `now` (ms), indexed by ``WindowLength/rawValue``.
    ///
    /// A window of length w at T holds the buckets from the one containing T back to w / width − 1 before it.
    public func windows(_ series: SeriesID, at now: Int64) -> WindowSummaries {
        let (oneMinute, fiveMinutes) = fineWindows(series, at: now)
        let (fifteenMinutes, oneHour) = coarseWindows(series, at: now)
        return WindowSummaries(oneMinute: oneMinute, fiveMinutes: fiveMinutes, fifteenMinutes: fifteenMinutes, oneHour: oneHour)
    }

    /// The 1- and 5-minute windows of a series at `now` (ms), without allocating.
    public func fineWindows(_ series: SeriesID, at now: Int64) -> (oneMinute: WindowSummary, fiveMinutes: WindowSummary) {
        let s = Int(series.rawValue)
        var fineShort = WindowAccumulator(), fineLong = WindowAccumulator()
        let fineNow = RingGeometry.epoch(of: now, width: RingGeometry.fineWidth)
        // Each bucket's x comes from a table and its mean is worked out once for both windows. Buckets are added
        // oldest first, the one `now` falls in last, as ``fineTrend(_:at:older:)`` adds them.
        let current = RingGeometry.slot(of: fineNow, slots: RingGeometry.fineSlots)
        Self.fineAgeMinutes.withUnsafeBufferPointer { ageMinutes in
            for k in 1...RingGeometry.fineSlots {
                let b = buckets[s * Self.bucketsPerSeries + Self.fineSlot(oldestFirst: k, current: current)]
                let age = Int64(fineNow) - Int64(b.epoch)
                guard b.count > 0, age >= 0, age < Int64(RingGeometry.fineSlots) else { continue }
                let x = ageMinutes[Int(age)]
                let y = b.sum / Double(b.count)
                fineLong.add(b, x: x, y: y)
                if age < 6 { fineShort.add(b, x: x, y: y) }
            }
        }
        return (fineShort.summary, fineLong.summary)
    }

    /// What a zone's crowd rules read of its density series at a sample instant (``fineWindows(_:at:)`` without
    /// min, max and the 1-minute slope). Every zone comes here at every sample instant, so this adds only the
    /// sums those fields need, about half the work; each of them takes the same operations on the same operands in
    /// the same order as in ``fineWindows(_:at:)``, so the fields are equal to its, bit for bit.
    public func fineTrend(_ series: SeriesID, at now: Int64) -> DensityTrend {
        fineTrend(series, at: now, older: fineTrendOlder(series, at: now))
    }

    /// ``fineTrend(_:at:)`` from `older`, the sums ``fineTrendOlder(_:at:)`` gave for the same series in the same
    /// fine bucket as `now`, if no reading was recorded into an older bucket of the series since: only the bucket
    /// `now` falls in is read. A zone is sampled twice per fine bucket, so the second sample reads one bucket, not
    /// thirty.
    func fineTrend(_ series: SeriesID, at now: Int64, older: FineTrendSums) -> DensityTrend {
        let fineNow = RingGeometry.epoch(of: now, width: RingGeometry.fineWidth)
        let b = buckets[Int(series.rawValue) * Self.bucketsPerSeries + RingGeometry.slot(of: fineNow, slots: RingGeometry.fineSlots)]
        var sums = older
        if b.count > 0, b.epoch == fineNow {
            Self.fineAgeMinutes.withUnsafeBufferPointer { sums.add(b, age: 0, x: $0[0]) }
        }
        return sums.trend
    }

    /// The sums ``fineTrend(_:at:)`` adds for every fine bucket of the 5-minute window at `now` but the one `now`
    /// falls in, oldest first.
    func fineTrendOlder(_ series: SeriesID, at now: Int64) -> FineTrendSums {
        let s = Int(series.rawValue)
        let fineNow = RingGeometry.epoch(of: now, width: RingGeometry.fineWidth)
        let current = RingGeometry.slot(of: fineNow, slots: RingGeometry.fineSlots)
        var sums = FineTrendSums()
        Self.fineAgeMinutes.withUnsafeBufferPointer { ageMinutes in
            buckets.withUnsafeBufferPointer { all in
                let start = s * Self.bucketsPerSeries
                precondition(start >= 0 && start + RingGeometry.fineSlots <= all.count, "unknown series")
                let ring = all.baseAddress! + start
                for k in 1..<RingGeometry.fineSlots {
                    let b = ring[Self.fineSlot(oldestFirst: k, current: current)]
                    let age = Int64(fineNow) &- Int64(b.epoch)
                    guard b.count > 0, age > 0, age < Int64(RingGeometry.fineSlots) else { continue }
                    sums.add(b, age: Int(age), x: ageMinutes[Int(age)])
                }
            }
        }
        return sums
    }

    /// The fine slot `k` places after `current` (the slot of the bucket "now" falls in), k in 1…30: with k
    /// counting up, the ring oldest first, `current` itself last.
    @inline(__always)
    static func fineSlot(oldestFirst k: Int, current: Int) -> Int {
        current &+ k < RingGeometry.fineSlots ? current &+ k : current &+ k &- RingGeometry.fineSlots
    }

    /// Minus a fine bucket's age in minutes, by age in buckets: the regression's x.
    static let fineAgeMinutes: [Double] = (0..<RingGeometry.fineSlots).map { age in
        -Double(age) * Double(RingGeometry.fineWidth) / 60_000
    }

    /// The 15-minute and 1-hour windows of a series at `now` (ms), without allocating.
    public func coarseWindows(_ series: SeriesID, at now: Int64) -> (fifteenMinutes: WindowSummary, oneHour: WindowSummary) {
        let s = Int(series.rawValue)
        var coarseShort = WindowAccumulator(), coarseLong = WindowAccumulator()
        let coarseNow = RingGeometry.epoch(of: now, width: RingGeometry.coarseWidth)
        for slot in 0..<RingGeometry.coarseSlots {
            let b = buckets[s * Self.bucketsPerSeries + RingGeometry.fineSlots + slot]
            let age = Int64(coarseNow) - Int64(b.epoch)
            guard b.count > 0, age >= 0, age < Int64(RingGeometry.coarseSlots) else { continue }
            let x = -Double(age)
            let y = b.sum / Double(b.count)
            coarseLong.add(b, x: x, y: y)
            if age < 15 { coarseShort.add(b, x: x, y: y) }
        }
        return (coarseShort.summary, coarseLong.summary)
    }

    /// The 1-minute bucket of a series for a coarse epoch, if the ring still holds it.
    public func minuteBucket(_ series: SeriesID, epoch: Int32) -> TimeBucket? {
        let b = buckets[Int(series.rawValue) * Self.bucketsPerSeries + RingGeometry.fineSlots
            + RingGeometry.slot(of: epoch, slots: RingGeometry.coarseSlots)]
        return b.epoch == epoch && b.count > 0 ? b : nil
    }

    /// Hands every (series, 1-minute bucket) changed since the last call to `body`, once each, and forgets them;
    /// only minutes that ended at or before `cutoff` (ms) are handed over, later ones stay queued. Minutes are
    /// handed over coarse slot by slot, the slot holding the oldest minute first (one slot holds minutes an hour
    /// apart only when no drain ran for that long), each slot's series in id order. Walks only the slots holding a closed
    /// minute (one bit per series each: 16 KB at 1 000 000 series), never the minutes still open, and allocates
    /// nothing.
    public mutating func drainChangedMinutes(closedBy cutoff: Int64 = .max, _ body: (SeriesID, Int32, TimeBucket) -> Void) {
        withRows { rows in
            while let slot = rows.changed.oldestSlot(closedBy: cutoff) { rows.drain(slot: slot, closedBy: cutoff, body) }
        }
    }
}

/// The bookkeeping of changed minutes as pointers (see ``SeriesTable/minuteBits`` and ``SeriesTable/minuteRange``).
@usableFromInline
struct ChangedMinuteRange {
    /// A `minuteRange` with no slot holding anything.
    @usableFromInline static var empty: [Int32] {
        Array(repeating: .max, count: RingGeometry.coarseSlots) + Array(repeating: .min, count: RingGeometry.coarseSlots)
    }

    @usableFromInline let bits: UnsafeMutableBufferPointer<UInt64>
    @usableFromInline let wordsPerSlot: Int
    @usableFromInline let range: UnsafeMutableBufferPointer<Int32>

    @inlinable
    init(bits: UnsafeMutableBufferPointer<UInt64>, wordsPerSlot: Int, range: UnsafeMutableBufferPointer<Int32>) {
        self.bits = bits
        self.wordsPerSlot = wordsPerSlot
        self.range = range
    }

    /// Marks the bucket of `series` in coarse `slot` as changed, now holding `minute`. Idempotent.
    @inlinable @inline(__always)
    func mark(_ series: Int, slot: Int, minute: Int32) {
        bits.baseAddress![slot &* wordsPerSlot &+ series &>> 6] |= 1 &<< UInt64(series & 63)
        let oldest = range.baseAddress! + slot
        if minute < oldest.pointee { oldest.pointee = minute }
        let newest = oldest + RingGeometry.coarseSlots
        if minute > newest.pointee { newest.pointee = minute }
    }

    /// The slot whose oldest marked minute is the oldest of all and ended at or before `cutoff`, if any.
    func oldestSlot(closedBy cutoff: Int64) -> Int? {
        var best: Int?
        for slot in 0..<RingGeometry.coarseSlots {
            let oldest = range[slot]
            guard oldest <= range[slot + RingGeometry.coarseSlots],
                  (Int64(oldest) + 1) * RingGeometry.coarseWidth <= cutoff else { continue }
            if best.map({ oldest < range[$0] }) ?? true { best = slot }
        }
        return best
    }
}

/// The storage of a ``SeriesTable`` as pointers, for the duration of one `withRows` call: what recording a reading
/// and prefetching for one do. Series ids are checked against the count (a bad id traps, as an array index would).
@usableFromInline
struct SeriesRows {
    @usableFromInline let header: UnsafeMutableBufferPointer<SeriesHeader>
    @usableFromInline let recent: UnsafeMutableBufferPointer<UInt32>
    @usableFromInline let buckets: UnsafeMutableBufferPointer<TimeBucket>
    @usableFromInline let changed: ChangedMinuteRange

    @inlinable
    init(header: UnsafeMutableBufferPointer<SeriesHeader>, recent: UnsafeMutableBufferPointer<UInt32>,
         buckets: UnsafeMutableBufferPointer<TimeBucket>, changed: ChangedMinuteRange) {
        self.header = header
        self.recent = recent
        self.buckets = buckets
        self.changed = changed
    }

    /// The body of ``SeriesTable/record(_:time:value:lateness:)``.
    @inlinable @inline(__always)
    func record(_ series: SeriesID, time: Int64, value: Double, lateness: Int64) -> RecordOutcome {
        let s = Int(series.rawValue)
        precondition(UInt(bitPattern: s) < UInt(bitPattern: header.count), "unknown series")
        let h = header.baseAddress! + s
        let newest = h.pointee.newest
        if time > newest {
            h.pointee.newest = time
            h.pointee.last = value
        } else if time == newest {
            return .duplicate
        } else {
            if recentlyAccepted(s, time) { return .duplicate }
            if time < newest &- lateness { return .late }
        }
        let cursor = Int(h.pointee.recentCursor)
        recent.baseAddress![s &* SeriesTable.recentCapacity &+ cursor] = UInt32(truncatingIfNeeded: time)
        h.pointee.recentCursor = UInt8(truncatingIfNeeded: cursor &+ 1 == SeriesTable.recentCapacity ? 0 : cursor &+ 1)

        h.pointee.version &+= 1
        let place = Self.place(of: time)
        fineBucket(s, slot: place.fineSlot).pointee.addIfNotOlder(value, epoch: place.fineEpoch)
        if coarseBucket(s, slot: place.coarseSlot).pointee.addIfNotOlder(value, epoch: place.coarseEpoch) {
            // A slot reused for a newer minute before the old one was drained hands over only the newer one.
            changed.mark(s, slot: place.coarseSlot, minute: place.coarseEpoch)
        }
        return .accepted
    }

    /// Where a reading at `time` (ms) falls in the two rings: each ring's epoch and slot.
    @inlinable @inline(__always)
    static func place(of time: Int64) -> (fineEpoch: Int32, fineSlot: Int, coarseEpoch: Int32, coarseSlot: Int) {
        let fineEpoch = RingGeometry.epoch(of: time, width: RingGeometry.fineWidth)
        let coarseEpoch = RingGeometry.epoch(of: time, width: RingGeometry.coarseWidth)
        return (fineEpoch, RingGeometry.slot(of: fineEpoch, slots: RingGeometry.fineSlots),
                coarseEpoch, RingGeometry.slot(of: coarseEpoch, slots: RingGeometry.coarseSlots))
    }

    /// Series `s`'s bucket in slot `slot` of its fine ring.
    @inlinable @inline(__always)
    func fineBucket(_ s: Int, slot: Int) -> UnsafeMutablePointer<TimeBucket> {
        buckets.baseAddress! + (s &* SeriesTable.bucketsPerSeries &+ slot)
    }

    /// Series `s`'s bucket in slot `slot` of its coarse ring (the rings are contiguous, fine first).
    @inlinable @inline(__always)
    func coarseBucket(_ s: Int, slot: Int) -> UnsafeMutablePointer<TimeBucket> {
        buckets.baseAddress! + (s &* SeriesTable.bucketsPerSeries &+ RingGeometry.fineSlots &+ slot)
    }

    @inlinable
    func recentlyAccepted(_ s: Int, _ time: Int64) -> Bool {
        let key = UInt32(truncatingIfNeeded: time)
        let base = recent.baseAddress! + s &* SeriesTable.recentCapacity
        for i in 0..<SeriesTable.recentCapacity where base[i] == key {
            return true
        }
        return false
    }

    /// Starts loading the header of a series (a hint: no visible effect, never faults).
    @inlinable @inline(__always)
    func prefetchHeader(_ series: SeriesID) {
        let s = Int(series.rawValue)
        guard UInt(bitPattern: s) < UInt(bitPattern: header.count) else { return }
        streetsense_prefetch_for_write(header.baseAddress! + s)
    }

    /// Hands over the marked buckets of one coarse slot whose minute ended at or before `cutoff`, clearing their
    /// bits; a bucket already holding a later, open minute stays marked. Leaves the slot's range exact.
    func drain(slot: Int, closedBy cutoff: Int64, _ body: (SeriesID, Int32, TimeBucket) -> Void) {
        let words = changed.bits.baseAddress! + slot * changed.wordsPerSlot
        let wordCount = (header.count + 63) / 64
        var oldest = Int32.max, newest = Int32.min
        /// Starts loading the buckets of one word's marked series (one word ahead of the one handed over).
        func prefetch(_ w: Int) {
            guard w < wordCount else { return }
            var bits = words[w]
            while bits != 0 {
                let s = w &* 64 &+ bits.trailingZeroBitCount
                streetsense_prefetch_for_write(coarseBucket(s, slot: slot))
                bits &= bits &- 1
            }
        }
        prefetch(0)
        for w in 0..<wordCount where words[w] != 0 {
            prefetch(w + 1)
            var bits = words[w]
            var kept: UInt64 = 0
            while bits != 0 {
                let bit = bits & (0 &- bits)
                bits &= bits &- 1
                let s = w &* 64 &+ bit.trailingZeroBitCount
                let bucket = coarseBucket(s, slot: slot).pointee
                if (Int64(bucket.epoch) + 1) * RingGeometry.coarseWidth > cutoff {
                    kept |= bit
                    oldest = Swift.min(oldest, bucket.epoch)
                    newest = Swift.max(newest, bucket.epoch)
                } else if bucket.count > 0 {
                    body(SeriesID(Int32(s)), bucket.epoch, bucket)
                }
            }
            words[w] = kept
        }
        changed.range[slot] = oldest
        changed.range[slot + RingGeometry.coarseSlots] = newest
    }

    /// Starts loading what recording a reading at `time` will write: the timestamp slot (which reads the
    /// header's cursor, so the header should be on its way already) and the fine and coarse buckets.
    @inlinable @inline(__always)
    func prefetchBuckets(_ series: SeriesID, time: Int64) {
        let s = Int(series.rawValue)
        guard UInt(bitPattern: s) < UInt(bitPattern: header.count) else { return }
        let cursor = Int(header[s].recentCursor)
        streetsense_prefetch_for_write(recent.baseAddress! + (s &* SeriesTable.recentCapacity &+ cursor))
        let place = Self.place(of: time)
        streetsense_prefetch_for_write(fineBucket(s, slot: place.fineSlot))
        streetsense_prefetch_for_write(coarseBucket(s, slot: place.coarseSlot))
    }
}

/// Per-series bookkeeping kept next to the rings.
@usableFromInline
struct SeriesHeader: Sendable {
    @usableFromInline var newest: Int64 = .min
    @usableFromInline var last: Double = 0
    @usableFromInline var recentCursor: UInt8 = 0
    /// Readings accepted so far (wrapping): any change to the series' buckets changes it.
    @usableFromInline var version: UInt32 = 0

    @usableFromInline init() {}
}

extension TimeBucket {
    /// Adds a value unless the slot already holds a newer epoch (a reading older than the ring covers).
    /// Returns whether the value was added.
    @inlinable @inline(__always) @discardableResult
    mutating func addIfNotOlder(_ value: Double, epoch: Int32) -> Bool {
        if self.epoch > epoch { return false }
        add(value, epoch: epoch)
        return true
    }
}

/// The count-weighted least-squares sums of bucket mean (y) on bucket age in minutes (x, ≤ 0), and the slope
/// they give: one piece of code for ``WindowAccumulator`` and ``FineTrendSums``, so that their slopes are the
/// same operations on the same operands (and so equal, bit for bit, given the same buckets in the same order).
struct RegressionSums: Sendable {
    var sw = 0.0, swx = 0.0, swy = 0.0, swxx = 0.0, swxy = 0.0

    /// Adds a bucket of `w` readings at x whose mean is y.
    @inline(__always)
    mutating func add(weight w: Double, x: Double, y: Double) {
        sw += w; swx += w * x; swy += w * y; swxx += w * x * x; swxy += w * x * y
    }

    /// Change of y per minute; nil when the buckets' x do not vary.
    var slope: Double? {
        let denominator = sw * swxx - swx * swx
        return denominator > 0 ? (sw * swxy - swx * swy) / denominator : nil
    }
}

/// The sums behind a ``DensityTrend``, fine bucket by fine bucket (``SeriesTable/fineTrend(_:at:older:)``): the
/// 5-minute window's count and regression sums, the 1-minute window's count and sum. The same operations as
/// ``WindowAccumulator``'s for those fields.
struct FineTrendSums: Sendable {
    var shortCount = 0
    var shortSum = 0.0
    var count = 0
    var buckets = 0
    var regression = RegressionSums()

    /// Adds a bucket `age` fine buckets old, at x (minutes, ≤ 0).
    @inline(__always)
    mutating func add(_ b: TimeBucket, age: Int, x: Double) {
        let y = b.sum / Double(b.count)
        count &+= Int(b.count)
        regression.add(weight: Double(b.count), x: x, y: y)
        buckets &+= 1
        if age < 6 {
            shortCount &+= Int(b.count)
            shortSum += b.sum
        }
    }

    var trend: DensityTrend {
        let rate = count > 0 && buckets >= 2 ? regression.slope : nil
        return DensityTrend(oneMinuteCount: shortCount, oneMinuteSum: shortSum, fiveMinuteCount: count, fiveMinuteRatePerMinute: rate)
    }
}

/// Folds buckets into a window summary, including the least-squares slope of bucket means over time.
struct WindowAccumulator {
    var count = 0
    var sum = 0.0
    var min = Double.infinity
    var max = -Double.infinity
    var regression = RegressionSums()
    var buckets = 0

    /// Adds a bucket at x (minutes, ≤ 0) whose mean is `y` (`b.sum / Double(b.count)`).
    @inline(__always)
    mutating func add(_ b: TimeBucket, x: Double, y: Double) {
        count += Int(b.count)
        sum += b.sum
        if b.min < min { min = b.min }
        if b.max > max { max = b.max }
        regression.add(weight: Double(b.count), x: x, y: y)
        buckets += 1
    }

    var summary: WindowSummary {
        guard count > 0 else { return .empty }
        return WindowSummary(count: count, sum: sum, min: min, max: max, ratePerMinute: buckets >= 2 ? regression.slope : nil)
    }
}
