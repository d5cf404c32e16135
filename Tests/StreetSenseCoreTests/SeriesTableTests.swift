import Foundation
import Testing
@testable import StreetSenseCore

/// Readings in ms since an arbitrary aligned origin (a multiple of one hour).
private let origin: Int64 = 1_795_341_600_000
private let lateness: Int64 = 120_000

@Suite struct SeriesTableTests {
    @Test func windowHoldsReadingsWithinItsLengthAtBucketResolution() {
        var table = SeriesTable()
        let s = table.addSeries()
        // One reading every 10 s from origin to origin + 10 min, value = minute index.
        for i in 0...60 {
            _ = table.record(s, time: origin + Int64(i) * 10_000, value: Double(i), lateness: lateness)
        }
        let now = origin + 600_000
        let w = table.windows(s, at: now)
        // 1m at T = origin+600 s holds t in (540, 600] on bucket boundaries: i = 55...60.
        #expect(w[WindowLength.oneMinute.rawValue].count == 6)
        #expect(w[WindowLength.oneMinute.rawValue].sum == Double((55...60).reduce(0, +)))
        #expect(w[WindowLength.oneMinute.rawValue].min == 55)
        #expect(w[WindowLength.oneMinute.rawValue].max == 60)
        // 5m: i = 31...60.
        #expect(w[WindowLength.fiveMinutes.rawValue].count == 30)
        #expect(w[WindowLength.fiveMinutes.rawValue].min == 31)
        // 15m and 1h: 60 s buckets; minute 10 holds only i = 60; all 61 readings are within 15 min.
        #expect(w[WindowLength.fifteenMinutes.rawValue].count == 61)
        #expect(w[WindowLength.oneHour.rawValue].count == 61)
        #expect(w[WindowLength.oneHour.rawValue].mean == 30)
    }

    @Test func rateIsTheSlopePerMinuteOfALinearRamp() throws {
        var table = SeriesTable()
        let s = table.addSeries()
        // Value rises 2.0 per minute, one reading every 5 s.
        for i in 0..<(12 * 20) {
            let t = origin + Int64(i) * 5_000
            _ = table.record(s, time: t, value: 2.0 * Double(i) * 5 / 60, lateness: lateness)
        }
        let now = origin + Int64(12 * 20 - 1) * 5_000
        let w = table.windows(s, at: now)
        for window in WindowLength.allCases {
            let rate = try #require(w[window.rawValue].ratePerMinute)
            #expect(abs(rate - 2.0) < 1e-9, "window \(window.label)")
        }
    }

    /// The zone rules' cut of the fine windows equals the full windows' fields bit for bit: random values (some
    /// irregular), gaps, late readings into older buckets, and instants that move on past readings.
    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func densityTrendEqualsTheFineWindowsFields(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var table = SeriesTable()
        let s = table.addSeries()
        var t = origin
        var checked = 0
        for _ in 0..<600 {
            t += Int64.random(in: 1...9_000, using: &rng) + (Int64.random(in: 0..<20, using: &rng) == 0 ? 200_000 : 0)
            let late = Int64.random(in: 0..<8, using: &rng) == 0 ? Int64.random(in: 0..<110_000, using: &rng) : 0
            let value = Double.random(in: -1...1, using: &rng) * pow(10, Double(Int.random(in: -3...4, using: &rng)))
            _ = table.record(s, time: t - late, value: value, lateness: lateness)
            for now in [t, t + Int64.random(in: 0..<400_000, using: &rng)] {
                let (oneMinute, fiveMinutes) = table.fineWindows(s, at: now)
                let trend = table.fineTrend(s, at: now)
                #expect(trend == DensityTrend(oneMinute: oneMinute, fiveMinutes: fiveMinutes))
                #expect(trend.oneMinuteMean == oneMinute.mean)
                if fiveMinutes.ratePerMinute != nil { checked += 1 }
            }
        }
        #expect(checked > 500)
    }

    @Test func silenceLongerThanTheWindowEmptiesIt() {
        var table = SeriesTable()
        let s = table.addSeries()
        _ = table.record(s, time: origin, value: 5, lateness: lateness)
        #expect(table.windows(s, at: origin)[0].count == 1)
        // 59.999 s later still inside the 1m window (bucket containing T and the 5 before it).
        #expect(table.windows(s, at: origin + 59_999)[0].count == 1)
        #expect(table.windows(s, at: origin + 60_000)[0].count == 0)
        #expect(table.windows(s, at: origin + 60_000)[1].count == 1)
        // Two hours of silence, then one reading: every window holds only the new one.
        _ = table.record(s, time: origin + 7_200_000, value: 9, lateness: lateness)
        let w = table.windows(s, at: origin + 7_200_000)
        #expect(w.map(\.count) == [1, 1, 1, 1])
        #expect(w.map(\.sum) == [9, 9, 9, 9])
    }

    @Test func lateAndOutOfOrderReadings() {
        var table = SeriesTable()
        let s = table.addSeries()
        #expect(table.record(s, time: origin + 300_000, value: 1, lateness: lateness) == .accepted)
        // 119.999 s behind the newest: still aggregated.
        #expect(table.record(s, time: origin + 180_001, value: 2, lateness: lateness) == .accepted)
        // Exactly the lateness behind: aggregated; 1 ms more: late.
        #expect(table.record(s, time: origin + 180_000, value: 3, lateness: lateness) == .accepted)
        #expect(table.record(s, time: origin + 179_999, value: 4, lateness: lateness) == .late)
        // The newest value stays the one with the largest t, not the last to arrive.
        #expect(table.last(s) == 1)
        let w = table.windows(s, at: origin + 300_000)
        #expect(w[WindowLength.fiveMinutes.rawValue].count == 3)
        #expect(w[WindowLength.fiveMinutes.rawValue].sum == 6)
    }

    @Test func duplicatesAreRecognisedInAndOutOfOrder() {
        var table = SeriesTable()
        let s = table.addSeries()
        for i in 0..<10 { _ = table.record(s, time: origin + Int64(i) * 1_000, value: 1, lateness: lateness) }
        #expect(table.record(s, time: origin + 9_000, value: 1, lateness: lateness) == .duplicate)
        #expect(table.record(s, time: origin + 3_000, value: 7, lateness: lateness) == .duplicate)
        #expect(table.record(s, time: origin + 3_500, value: 7, lateness: lateness) == .accepted)
        #expect(table.windows(s, at: origin + 9_000)[0].count == 11)
    }

    @Test func changedMinutesAreDrainedOncePerBucket() {
        var table = SeriesTable()
        let a = table.addSeries(), b = table.addSeries()
        _ = table.record(a, time: origin + 1_000, value: 1, lateness: lateness)
        _ = table.record(a, time: origin + 61_000, value: 2, lateness: lateness)
        _ = table.record(a, time: origin + 2_000, value: 3, lateness: lateness)  // late into minute 0
        _ = table.record(a, time: origin + 62_000, value: 4, lateness: lateness)
        _ = table.record(b, time: origin + 5_000, value: 5, lateness: lateness)
        var drained: [(Int32, Int32, UInt32, Double)] = []
        table.drainChangedMinutes { drained.append(($0.rawValue, $1, $2.count, $2.sum)) }
        let minute0 = Int32(origin / 60_000)
        #expect(drained.count == 3)
        // Oldest minute first, and within a minute in the order its series first changed it.
        #expect(drained[0] == (0, minute0, 2, 4))
        #expect(drained[1] == (1, minute0, 1, 5))
        #expect(drained[2] == (0, minute0 + 1, 2, 6))
        var again = 0
        table.drainChangedMinutes { _, _, _ in again += 1 }
        #expect(again == 0)
    }

    /// The batched `record(count:…)` prefetches ahead; its outcomes, windows and drained minutes must be those of
    /// recording the same readings one by one, including batches shorter than the prefetch distance and readings
    /// that repeat, go back in time or hit the same series back to back.
    @Test(arguments: [1, 2, 3])
    func batchedRecordingMatchesOneByOne(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let seriesCount = 40
        var single = SeriesTable(), batched = SeriesTable()
        for _ in 0..<seriesCount {
            _ = single.addSeries()
            _ = batched.addSeries()
        }
        var clock = origin
        for batchSize in [0, 1, 3, SeriesTable.prefetchDistance, 2 * SeriesTable.prefetchDistance + 1, 500, 4_000] {
            var readings: [(series: SeriesID, time: Int64, value: Double)] = []
            for _ in 0..<batchSize {
                let series = SeriesID(Int32(rng.next() % UInt64(seriesCount)))
                let r = rng.next() % 10
                if r < 7 {
                    clock += Int64(rng.next() % 3_000)
                    readings.append((series, clock, Double(rng.next() % 1_000)))
                } else if r < 9 {
                    readings.append((series, clock - Int64(rng.next() % 200_000), Double(rng.next() % 1_000)))
                } else if let previous = readings.last {
                    readings.append(previous)  // a redelivery
                }
            }
            let expected = readings.map { single.record($0.series, time: $0.time, value: $0.value, lateness: lateness) }
            var outcomes: [RecordOutcome] = []
            batched.record(count: readings.count, lateness: lateness) { readings[$0] } outcome: { i, outcome in
                #expect(i == outcomes.count)
                outcomes.append(outcome)
            }
            #expect(outcomes == expected, "batch of \(batchSize)")
            #expect(Set(expected).count > 1 || batchSize < 10, "the readings exercise more than one outcome")
            for series in 0..<seriesCount {
                let id = SeriesID(Int32(series))
                #expect(single.windows(id, at: clock) == batched.windows(id, at: clock))
                #expect(single.newest(id) == batched.newest(id))
            }
            var drainedSingle: [String] = [], drainedBatched: [String] = []
            single.drainChangedMinutes(closedBy: clock - lateness) { drainedSingle.append("\($0.rawValue) \($1) \($2)") }
            batched.drainChangedMinutes(closedBy: clock - lateness) { drainedBatched.append("\($0.rawValue) \($1) \($2)") }
            #expect(drainedSingle == drainedBatched)
        }
    }

    /// The changed-minute bits against a model: after every drain, exactly the (series, minute) pairs that took a
    /// reading since they were last handed over, whose minute closed by the cutoff and whose slot still holds it,
    /// are handed over, once, with the minute's totals. 300 series (the bits grow from one word per slot to
    /// eight), late readings into minutes already handed over, and silences of over an hour (a slot reused
    /// before its old minute was drained).
    @Test(arguments: [11, 12, 13])
    func drainsEveryClosedMinuteOnceAgainstAModel(seed: UInt64) {
        struct Key: Hashable { var series: Int32; var minute: Int32 }
        var rng = SplitMix64(seed: seed)
        var table = SeriesTable()
        var dirty: Set<Key> = []
        var totals: [Key: (count: UInt32, sum: Double)] = [:]
        var slotMinute: [Int32: [Int: Int32]] = [:]  // series → slot → newest minute it holds
        var clock = origin
        var handedOver = 0
        for round in 0..<60 {
            while table.count < min(300, 20 + round * 10) { _ = table.addSeries() }
            for _ in 0..<400 {
                let series = SeriesID(Int32(rng.next() % UInt64(table.count)))
                clock += Int64(rng.next() % 500)
                if rng.next() % 200 == 0 { clock += 3_700_000 }  // a silence longer than the coarse ring
                let time = rng.next() % 5 == 0 ? clock - Int64(rng.next() % 110_000) : clock
                let value = Double(rng.next() % 100)
                guard table.record(series, time: time, value: value, lateness: lateness) == .accepted else { continue }
                let minute = Int32(time / 60_000)
                let key = Key(series: series.rawValue, minute: minute)
                let slot = RingGeometry.slot(of: minute, slots: RingGeometry.coarseSlots)
                if let held = slotMinute[series.rawValue]?[slot], held > minute { continue }  // older than its slot
                if slotMinute[series.rawValue]?[slot] != minute { totals[key] = nil }
                slotMinute[series.rawValue, default: [:]][slot] = minute
                dirty.insert(key)
                let total = totals[key] ?? (0, 0)
                totals[key] = (total.count + 1, total.sum + value)
            }
            let cutoff = round == 59 ? Int64.max : clock - lateness
            var drained: [Key] = []
            table.drainChangedMinutes(closedBy: cutoff) { series, minute, bucket in
                let key = Key(series: series.rawValue, minute: minute)
                drained.append(key)
                #expect(bucket.count == totals[key]?.count, "round \(round)")
                #expect(bucket.sum == totals[key]?.sum)
            }
            let expected = dirty.filter { key in
                (Int64(key.minute) + 1) * 60_000 <= cutoff
                    && slotMinute[key.series]?[RingGeometry.slot(of: key.minute, slots: RingGeometry.coarseSlots)] == key.minute
            }
            #expect(drained.count == Set(drained).count, "handed over once")
            #expect(Set(drained) == expected, "round \(round)")
            // The series of one minute come in id order (minutes come slot by slot, oldest slot first; one slot
            // can hold minutes an hour apart when no drain ran in between).
            let byMinute = Dictionary(grouping: drained, by: \.minute)
            #expect(byMinute.values.allSatisfy { $0.map(\.series) == $0.map(\.series).sorted() }, "series in id order")
            handedOver += drained.count
            // Handed over, or dropped because its slot moved on to a newer minute.
            dirty = dirty.filter { key in
                !expected.contains(key)
                    && slotMinute[key.series]?[RingGeometry.slot(of: key.minute, slots: RingGeometry.coarseSlots)] == key.minute
            }
        }
        #expect(dirty.isEmpty, "the final drain takes everything")
        #expect(handedOver > 5_000)
    }

    @Test func memoryPerSeriesIsUnderFourKiB() {
        #expect(SeriesTable.bytesPerSeries <= 4096)
    }

    /// Random readings (in order, out of order, late, duplicated) against a brute-force model that keeps every
    /// reading and applies the documented window definition directly.
    @Test(arguments: [1, 2, 3, 4, 5])
    func agreesWithABruteForceModel(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var table = SeriesTable()
        let s = table.addSeries()
        var accepted: [(t: Int64, v: Double)] = []
        var newest = Int64.min
        var t = origin
        for step in 0..<3_000 {
            // Mostly forward in steps of 0–20 s, sometimes back up to 150 s, sometimes a repeat.
            let r = rng.next() % 100
            var time: Int64
            if r < 75 {
                t += Int64(rng.next() % 20_000)
                time = t
            } else if r < 90 {
                time = t - Int64(rng.next() % 150_000)
            } else if r < 97, let recent = accepted.suffix(8).randomElement(using: &rng) {
                time = recent.t
            } else {
                t += Int64(rng.next() % 1_800_000)  // a long silence
                time = t
            }
            let value = Double(rng.next() % 10_000) / 10
            let expected: RecordOutcome
            if time == newest || accepted.suffix(SeriesTable.recentCapacity).contains(where: { $0.t == time }) {
                expected = .duplicate
            } else if newest != .min && time < newest - lateness {
                expected = .late
            } else {
                expected = .accepted
            }
            let outcome = table.record(s, time: time, value: value, lateness: lateness)
            #expect(outcome == expected, "step \(step)")
            if outcome == .accepted {
                accepted.append((time, value))
                newest = max(newest, time)
            }
            if step % 37 == 0 {
                let now = newest + Int64(rng.next() % 90_000)
                let windows = table.windows(s, at: now)
                for window in WindowLength.allCases {
                    let (coarse, n) = RingGeometry.span(of: window)
                    let width: Int64 = coarse ? 60_000 : 10_000
                    let nowEpoch = Int64(RingGeometry.epoch(of: now, width: width))
                    let inWindow = accepted.filter {
                        let e = Int64(RingGeometry.epoch(of: $0.t, width: width))
                        return e <= nowEpoch && e > nowEpoch - Int64(n)
                    }
                    let summary = windows[window.rawValue]
                    #expect(summary.count == inWindow.count, "step \(step) window \(window.label)")
                    #expect(abs(summary.sum - inWindow.reduce(0) { $0 + $1.v }) < 1e-6)
                    #expect(summary.min == inWindow.map(\.v).min())
                    #expect(summary.max == inWindow.map(\.v).max())
                }
            }
        }
    }
}
