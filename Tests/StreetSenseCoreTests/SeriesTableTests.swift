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
        #expect(drained[0] == (0, minute0, 2, 4))
        #expect(drained[1] == (0, minute0 + 1, 2, 6))
        #expect(drained[2] == (1, minute0, 1, 5))
        var again = 0
        table.drainChangedMinutes { _, _, _ in again += 1 }
        #expect(again == 0)
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
