import Testing
@testable import StreetSenseCore

/// ``CoarseWindowCache`` answers the 15-minute and 1-hour windows of a series from what it worked out before
/// when neither the minute nor the series changed; its answers must be the table's, whatever happened between.
@Suite struct CoarseWindowCacheTests {
    private static let origin: Int64 = 1_795_341_600_000
    private static let lateness: Int64 = 120_000

    @Test(arguments: [1, 2, 3])
    func answersEqualTheTableAfterAnyReadingsAndTime(seed: UInt64) {
        var table = SeriesTable()
        let series = (0..<4).map { _ in table.addSeries() }
        var cache = CoarseWindowCache()
        var rng = SplitMix64(seed: seed)
        var now = Self.origin
        var compared = 0, reused = 0
        for step in 0..<4_000 {
            // Time moves by less than a minute mostly (so entries stay in their minute), sometimes by more.
            now += [Int64(0), 700, 4_000, 10_000, 30_000, 61_000, 900_000][Int(rng.next() % 7)] / (rng.next() % 3 == 0 ? 1 : 4)
            let id = series[Int(rng.next() % UInt64(series.count))]
            if rng.next() % 2 == 0 {
                // Now, or late into this minute or an earlier one: a late reading changes the buckets but not
                // the series' newest time.
                let back = [Int64(0), 0, 1_500, 20_000, 70_000, 110_000][Int(rng.next() % 6)]
                _ = table.record(id, time: now - back, value: Double(rng.next() % 1_000) / 10, lateness: Self.lateness)
            }
            for s in series {
                let version = table.version(s)
                let minute = RingGeometry.epoch(of: now, width: RingGeometry.coarseWidth)
                if s.rawValue < cache.entries.count, cache.entries[Int(s.rawValue)].minute == minute,
                   cache.entries[Int(s.rawValue)].version == version {
                    reused += 1
                }
                #expect(cache.windows(s, at: now, in: table) == table.windows(s, at: now), "step \(step), series \(s.rawValue)")
                compared += 1
            }
        }
        // The walk must have exercised both answers: from the entry, and worked out afresh.
        #expect(reused > compared / 4)
        #expect(reused < compared * 3 / 4)
    }

    @Test func aLateReadingInTheSameMinuteIsSeen() {
        var table = SeriesTable()
        let s = table.addSeries()
        var cache = CoarseWindowCache()
        let now = Self.origin + 30_000
        _ = table.record(s, time: now, value: 4, lateness: Self.lateness)
        #expect(cache.windows(s, at: now, in: table)[WindowLength.oneHour.rawValue].count == 1)
        // Older than the newest, same minute of "now": only the version tells the entry is stale.
        #expect(table.record(s, time: now - 20_000, value: 8, lateness: Self.lateness) == .accepted)
        let hour = cache.windows(s, at: now, in: table)[WindowLength.oneHour.rawValue]
        #expect(hour.count == 2)
        #expect(hour.sum == 12)
    }

    @Test func aDuplicateOrLateReadingLeavesTheVersion() {
        var table = SeriesTable()
        let s = table.addSeries()
        _ = table.record(s, time: Self.origin, value: 1, lateness: Self.lateness)
        let version = table.version(s)
        #expect(table.record(s, time: Self.origin, value: 1, lateness: Self.lateness) == .duplicate)
        #expect(table.record(s, time: Self.origin - Self.lateness - 1, value: 1, lateness: Self.lateness) == .late)
        #expect(table.version(s) == version)
        #expect(table.record(s, time: Self.origin + 1, value: 1, lateness: Self.lateness) == .accepted)
        #expect(table.version(s) == version &+ 1)
    }
}
