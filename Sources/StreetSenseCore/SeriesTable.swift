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
///   or counted late otherwise. The store keeps raw copies either way.
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
    /// (series, coarse epoch) pairs whose 1-minute bucket changed since the last ``drainChangedMinutes(_:)``,
    /// in the order they first changed; at most one entry per (series, minute) (see `SeriesHeader.queuedMinutes`).
    @usableFromInline var changedMinutes: [(SeriesID, Int32)] = []

    public init() {}

    /// The number of series.
    public var count: Int { header.count }

    /// Bytes of storage one series uses (buckets, header, timestamp ring), excluding array slack.
    public static var bytesPerSeries: Int {
        RingGeometry.fineSlots * MemoryLayout<TimeBucket>.stride
            + RingGeometry.coarseSlots * MemoryLayout<TimeBucket>.stride
            + MemoryLayout<SeriesHeader>.stride + recentCapacity * MemoryLayout<UInt32>.stride
    }

    /// Reserves room for `count` series in total.
    public mutating func reserveCapacity(_ count: Int) {
        buckets.reserveCapacity(count * Self.bucketsPerSeries)
        header.reserveCapacity(count)
        recent.reserveCapacity(count * Self.recentCapacity)
    }

    /// Adds an empty series and returns its id.
    public mutating func addSeries() -> SeriesID {
        let id = SeriesID(Int32(header.count))
        buckets.append(contentsOf: repeatElement(.unused, count: Self.bucketsPerSeries))
        header.append(SeriesHeader())
        recent.append(contentsOf: repeatElement(0, count: Self.recentCapacity))
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

    /// Offers a reading to a series: accepted into its buckets, or recognised as a duplicate or as too late.
    ///
    /// - Parameters:
    ///   - time: the reading's event time in ms.
    ///   - lateness: the allowed lateness in ms (a reading more than this behind the series' newest is late).
    @inlinable
    public mutating func record(_ series: SeriesID, time: Int64, value: Double, lateness: Int64) -> RecordOutcome {
        let s = Int(series.rawValue)
        let newest = header[s].newest
        if time > newest {
            header[s].newest = time
            header[s].last = value
        } else if time == newest {
            return .duplicate
        } else {
            if recentlyAccepted(s, time) { return .duplicate }
            if time < newest &- lateness { return .late }
        }
        let cursor = Int(header[s].recentCursor)
        recent[s &* Self.recentCapacity &+ cursor] = UInt32(truncatingIfNeeded: time)
        header[s].recentCursor = UInt8(truncatingIfNeeded: cursor &+ 1 == Self.recentCapacity ? 0 : cursor &+ 1)

        let fineEpoch = RingGeometry.epoch(of: time, width: RingGeometry.fineWidth)
        buckets[s &* Self.bucketsPerSeries &+ RingGeometry.slot(of: fineEpoch, slots: RingGeometry.fineSlots)]
            .addIfNotOlder(value, epoch: fineEpoch)
        let coarseEpoch = RingGeometry.epoch(of: time, width: RingGeometry.coarseWidth)
        let coarseSlot = RingGeometry.slot(of: coarseEpoch, slots: RingGeometry.coarseSlots)
        let coarseIndex = s &* Self.bucketsPerSeries &+ RingGeometry.fineSlots &+ coarseSlot
        let heldEpoch = buckets[coarseIndex].epoch
        if buckets[coarseIndex].addIfNotOlder(value, epoch: coarseEpoch) {
            // Queue the minute once: unless an entry for this slot is pending and the slot still holds the
            // same minute (a slot reused for a newer minute needs its own entry; the old one is skipped).
            let bit: UInt64 = 1 &<< UInt64(coarseSlot)
            if header[s].queuedMinutes & bit == 0 || heldEpoch != coarseEpoch {
                header[s].queuedMinutes |= bit
                changedMinutes.append((series, coarseEpoch))
            }
        }
        return .accepted
    }

    @inlinable
    func recentlyAccepted(_ s: Int, _ time: Int64) -> Bool {
        let key = UInt32(truncatingIfNeeded: time)
        let base = s &* Self.recentCapacity
        for i in 0..<Self.recentCapacity where recent[base &+ i] == key {
            return true
        }
        return false
    }

    /// The four window summaries of a series at time `now` (ms), indexed by ``WindowLength/rawValue``.
    ///
    /// A window of length w at T holds the buckets from the one containing T back to w / width − 1 before it.
    public func windows(_ series: SeriesID, at now: Int64) -> [WindowSummary] {
        let (oneMinute, fiveMinutes) = fineWindows(series, at: now)
        let (fifteenMinutes, oneHour) = coarseWindows(series, at: now)
        return [oneMinute, fiveMinutes, fifteenMinutes, oneHour]
    }

    /// The 1- and 5-minute windows of a series at `now` (ms), without allocating.
    public func fineWindows(_ series: SeriesID, at now: Int64) -> (oneMinute: WindowSummary, fiveMinutes: WindowSummary) {
        let s = Int(series.rawValue)
        var fineShort = WindowAccumulator(), fineLong = WindowAccumulator()
        let fineNow = RingGeometry.epoch(of: now, width: RingGeometry.fineWidth)
        for slot in 0..<RingGeometry.fineSlots {
            let b = buckets[s * Self.bucketsPerSeries + slot]
            let age = Int64(fineNow) - Int64(b.epoch)
            guard b.count > 0, age >= 0, age < Int64(RingGeometry.fineSlots) else { continue }
            let x = -Double(age) * Double(RingGeometry.fineWidth) / 60_000
            fineLong.add(b, x: x)
            if age < 6 { fineShort.add(b, x: x) }
        }
        return (fineShort.summary, fineLong.summary)
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
            coarseLong.add(b, x: x)
            if age < 15 { coarseShort.add(b, x: x) }
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
    /// handed over in the order they were first changed. O(queued), and allocates nothing.
    public mutating func drainChangedMinutes(closedBy cutoff: Int64 = .max, _ body: (SeriesID, Int32, TimeBucket) -> Void) {
        guard !changedMinutes.isEmpty else { return }
        var kept = 0
        for i in changedMinutes.indices {
            let (series, epoch) = changedMinutes[i]
            let end = (Int64(epoch) + 1) * RingGeometry.coarseWidth
            if end > cutoff {
                changedMinutes[kept] = (series, epoch)
                kept += 1
                continue
            }
            let s = Int(series.rawValue)
            let slot = RingGeometry.slot(of: epoch, slots: RingGeometry.coarseSlots)
            let bucket = buckets[s * Self.bucketsPerSeries + RingGeometry.fineSlots + slot]
            // A slot that moved on to a newer minute has that minute's own entry (and owns the queued bit).
            guard bucket.epoch == epoch else { continue }
            header[s].queuedMinutes &= ~(1 &<< UInt64(slot))
            if bucket.count > 0 { body(series, epoch, bucket) }
        }
        changedMinutes.removeSubrange(kept...)
    }
}

/// Per-series bookkeeping kept next to the rings.
@usableFromInline
struct SeriesHeader: Sendable {
    @usableFromInline var newest: Int64 = .min
    @usableFromInline var last: Double = 0
    /// Bit k set: slot k of the coarse ring has an entry in `changedMinutes` not yet drained (so a minute is
    /// queued once however many readings change it, even when late readings alternate between minutes).
    @usableFromInline var queuedMinutes: UInt64 = 0
    @usableFromInline var recentCursor: UInt8 = 0

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

/// Folds buckets into a window summary, including the least-squares slope of bucket means over time.
struct WindowAccumulator {
    var count = 0
    var sum = 0.0
    var min = Double.infinity
    var max = -Double.infinity
    // Count-weighted regression of bucket mean (y) on bucket age in minutes (x, ≤ 0).
    var sw = 0.0, swx = 0.0, swy = 0.0, swxx = 0.0, swxy = 0.0
    var buckets = 0

    mutating func add(_ b: TimeBucket, x: Double) {
        count += Int(b.count)
        sum += b.sum
        if b.min < min { min = b.min }
        if b.max > max { max = b.max }
        let w = Double(b.count), y = b.sum / w
        sw += w; swx += w * x; swy += w * y; swxx += w * x * x; swxy += w * x * y
        buckets += 1
    }

    var summary: WindowSummary {
        guard count > 0 else { return .empty }
        var rate: Double?
        if buckets >= 2 {
            let denominator = sw * swxx - swx * swx
            if denominator > 0 { rate = (sw * swxy - swx * swy) / denominator }
        }
        return WindowSummary(count: count, sum: sum, min: min, max: max, ratePerMinute: rate)
    }
}
