import Foundation
import GRDB
import StreetSenseCore
import Testing

@testable import StreetSenseStore

/// Schema v3 keys `rollups` and `zone_rollups` by minute first, so a closed minute is appended, and reads a
/// series by one key seek per minute. These tests hold the reads to the same results as a plain filter, the
/// plan to seeks, and the migration to the data a v2 file held.
@Suite("Rollups keyed by minute")
struct RollupKeyTests {
    /// What a series must be: the records of one key with `from ≤ minute < to`, grouped by floor(minute / step).
    private static func expectedSeries(
        _ records: [(minute: Int64, count: Int32, sum: Double, min: Double, max: Double)], from: Int64, to: Int64, step: Int64
    ) -> [SeriesPoint] {
        let inRange = records.filter { $0.minute >= from && $0.minute < to }
        let groups = Dictionary(grouping: inRange) { $0.minute - (($0.minute % step) + step) % step }
        return groups.keys.sorted().map { start in
            let group = groups[start]!
            return SeriesPoint(
                start: EventTime(milliseconds: start), count: group.reduce(0) { $0 + Int($1.count) },
                sum: group.reduce(0) { $0 + $1.sum }, min: group.map(\.min).min()!, max: group.map(\.max).max()!)
        }
    }

    @Test("series over any range (unaligned ends, before 1970, outside the stored minutes) equal a plain filter")
    func seriesEqualAFilter() throws {
        try withStore { store, _ in
            var random = SplitMix64(state: 11)
            // Minutes −40 ..< 40 around the epoch (negative times included), with gaps, for two sensors × two
            // metrics and two zones; the neighbours must never leak into each other's series.
            var rollups: [RollupRecord] = []
            var zoneRollups: [ZoneRollupRecord] = []
            for minute in Int64(-40)..<40 where random.next(below: 4) != 0 {
                for ref in Int32(1)...2 {
                    for metric in [Metric.people, .pm2_5] {
                        let v = Double(random.next(below: 10_000)) / 8
                        rollups.append(
                            RollupRecord(
                                sensorRef: ref, metric: metric, minute: EventTime(milliseconds: minute * 60_000),
                                count: Int32(1 + random.next(below: 5)), sum: v * 3, min: v - 1, max: v + 1))
                    }
                }
                for zone in ["north", "south"] {
                    let v = Double(random.next(below: 1_000)) / 100
                    zoneRollups.append(
                        ZoneRollupRecord(
                            zone: zone, minute: EventTime(milliseconds: minute * 60_000), count: 12, sum: v * 12, min: v / 2, max: v * 2))
                }
            }
            try store.write(StoreBatch(rollups: rollups.shuffled(using: &random), zoneRollups: zoneRollups.shuffled(using: &random)))

            for trial in 0..<150 {
                let from = Int64(random.next(below: 120 * 60_000)) - 60 * 60_000  // −60 … +60 minutes, any millisecond
                let to = from + Int64(random.next(below: 90 * 60_000))
                let step = Int64([1, 2, 5, 7, 60][random.next(below: 5)]) * 60_000
                let ref = Int32(1 + random.next(below: 2))
                let metric: Metric = random.next(below: 2) == 0 ? .people : .pm2_5
                let records = rollups.filter { $0.sensorRef == ref && $0.metric == metric }
                    .map { ($0.minute.milliseconds, $0.count, $0.sum, $0.min, $0.max) }
                let series = try store.rollupSeries(
                    sensorRef: ref, metric: metric, from: EventTime(milliseconds: from), to: EventTime(milliseconds: to),
                    step: .milliseconds(step))
                #expect(
                    series == Self.expectedSeries(records, from: from, to: to, step: step),
                    "trial \(trial): sensor \(ref) \(metric.name) from \(from) to \(to) step \(step)")

                let zone = random.next(below: 2) == 0 ? "north" : "south"
                let zoneRecords = zoneRollups.filter { $0.zone == zone }.map { ($0.minute.milliseconds, $0.count, $0.sum, $0.min, $0.max) }
                let zoneSeries = try store.zoneDensitySeries(
                    zone: zone, from: EventTime(milliseconds: from), to: EventTime(milliseconds: to), step: .milliseconds(step))
                #expect(zoneSeries == Self.expectedSeries(zoneRecords, from: from, to: to, step: step), "trial \(trial): zone \(zone)")
            }
            // A range wholly before or after the stored minutes, and one of a single millisecond inside a minute.
            #expect(try store.rollupSeries(sensorRef: 1, metric: .people, from: time(0), to: time(60_000), step: .seconds(60)) == [])
            #expect(
                try store.rollupSeries(
                    sensorRef: 1, metric: .people, from: EventTime(milliseconds: -100 * 60_000),
                    to: EventTime(milliseconds: -50 * 60_000), step: .seconds(60)) == [])
            #expect(
                try store.rollupSeries(
                    sensorRef: 1, metric: .people, from: EventTime(milliseconds: 1), to: EventTime(milliseconds: 2), step: .seconds(60)) == [])
        }
    }

    @Test("a series is read by primary-key seeks on (minute, key), never by scanning the table")
    func seriesPlanSeeksByMinute() throws {
        try withStore { store, _ in
            let cases: [(String, String, StatementArguments, String)] = [
                ("rollups", "sensor_ref = ? AND metric = ?", [0, 600_000, 60_000, 60_000, 60_000, 1, 0],
                 "SEARCH r USING PRIMARY KEY (minute=? AND sensor_ref=? AND metric=?)"),
                ("zone_rollups", "zone = ?", [0, 600_000, 60_000, 60_000, 60_000, "north"],
                 "SEARCH r USING PRIMARY KEY (minute=? AND zone=?)"),
            ]
            for (table, key, arguments, seek) in cases {
                let plan = try store.pool.read { db in
                    try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + SQLiteStore.rollupSeriesSQL(table: table, key: key), arguments: arguments)
                        .map { $0["detail"] as String }
                }
                #expect(plan.contains(seek), "\(plan)")
                #expect(plan.allSatisfy { !$0.contains("SCAN r") && !$0.contains("AUTOMATIC") }, "\(plan)")
            }
            // The keys themselves: minute first.
            for (table, columns) in [("rollups", ["minute", "sensor_ref", "metric"]), ("zone_rollups", ["minute", "zone"])] {
                let key = try store.pool.read { db in
                    try String.fetchAll(
                        db,
                        sql: """
                            SELECT name FROM pragma_index_info(
                                (SELECT name FROM pragma_index_list(?) WHERE origin = 'pk')) ORDER BY seqno
                            """, arguments: [table])
                }
                #expect(key == columns, "\(table)")
            }
        }
    }

    @Test("a rollup whose minute is not a whole minute is refused with a named error, and the batch is not stored")
    func unalignedMinuteIsRefused() throws {
        try withStore { store, _ in
            let good = RollupRecord(sensorRef: 1, metric: .people, minute: time(0), count: 1, sum: 1, min: 1, max: 1)
            let bad = RollupRecord(sensorRef: 1, metric: .people, minute: time(30_000), count: 1, sum: 1, min: 1, max: 1)
            let error = #expect(throws: StoreError.self) {
                try store.write(StoreBatch(readings: [StoredReading(sensorRef: 1, metric: .people, time: time(0), value: 1)], rollups: [good, bad]))
            }
            #expect(error != nil)
            #expect(try store.storedReadingCount() == 0)
            let rows = try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM rollups") }
            #expect(rows == 0)
        }
    }

    @Test("a v2 file's rollups and zone rollups are kept by the v3 migration and read back the same")
    func migratesVersion2Rollups() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("store.sqlite")
        var random = SplitMix64(state: 5)
        var records: [(ref: Int64, metric: Int64, minute: Int64, count: Int32, sum: Double, min: Double, max: Double)] = []
        do {
            // A file as v2 left it: rollups keyed by sensor first, with the index on minute.
            let pool = try DatabasePool(path: path)
            try StoreSchema.migrator.migrate(pool, upTo: "v2")
            try pool.write { db in
                for ref in Int64(1)...30 {
                    for minute in 0..<20 where random.next(below: 3) != 0 {
                        let v = Double(random.next(below: 1_000))
                        let record = (ref, Int64(Metric.pm10.rawValue), baseTime + Int64(minute) * 60_000, Int32(1 + random.next(below: 4)), v, v - 2, v + 2)
                        records.append(record)
                        try db.execute(
                            sql: "INSERT INTO rollups (sensor_ref, metric, minute, count, sum, min, max) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            arguments: [record.0, record.1, record.2, record.3, record.4, record.5, record.6])
                    }
                }
                try db.execute(
                    sql: "INSERT INTO zone_rollups (zone, minute, count, sum, min, max) VALUES ('north', ?, 12, 24, 1, 3), ('north', ?, 6, 6, 0.5, 1.5)",
                    arguments: [baseTime, baseTime + 120_000])
                #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE name = 'rollups_by_minute'") == 1)
            }
            try pool.close()
        }

        var announced: [(from: String, pending: [String])] = []
        let store = try SQLiteStore(path: path) { announced.append(($0, $1)) }
        // The caller was told before the rollups were rewritten, once.
        #expect(announced.map(\.from) == ["v2"])
        #expect(announced.map(\.pending) == [["v3"]])
        defer { try? store.close() }
        let (migrations, indexes) = try store.pool.read { db in
            (
                try StoreSchema.migrator.appliedIdentifiers(db),
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE '%by_minute' ORDER BY name")
            )
        }
        #expect(migrations == ["v1", "v2", "v3"])
        #expect(indexes == [])  // the key's prefix serves retention now
        #expect(try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM rollups") } == records.count)
        for ref in Int64(1)...30 {
            let mine = records.filter { $0.ref == ref }.map { ($0.minute, $0.count, $0.sum, $0.min, $0.max) }
            let series = try store.rollupSeries(sensorRef: Int32(ref), metric: .pm10, from: time(0), to: time(20 * 60_000), step: .seconds(120))
            #expect(series == Self.expectedSeries(mine, from: baseTime, to: baseTime + 20 * 60_000, step: 120_000), "sensor \(ref)")
        }
        #expect(
            try store.zoneDensitySeries(zone: "north", from: time(0), to: time(180_000), step: .seconds(60)) == [
                SeriesPoint(start: time(0), count: 12, sum: 24, min: 1, max: 3),
                SeriesPoint(start: time(120_000), count: 6, sum: 6, min: 0.5, max: 1.5),
            ])
        // And the migrated table takes upserts by its new key.
        try store.write(StoreBatch(rollups: [RollupRecord(sensorRef: 1, metric: .pm10, minute: time(0), count: 9, sum: 9, min: 1, max: 1)]))
        #expect(
            try store.rollupSeries(sensorRef: 1, metric: .pm10, from: time(0), to: time(60_000), step: .seconds(60)) == [
                SeriesPoint(start: time(0), count: 9, sum: 9, min: 1, max: 1)
            ])
    }

    /// A new file, or one already at the newest version, is not an upgrade: nothing is announced.
    @Test func announcesNoUpgradeForANewOrCurrentFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("store.sqlite")
        var announced = 0
        try SQLiteStore(path: path) { _, _ in announced += 1 }.close()
        try SQLiteStore(path: path) { _, _ in announced += 1 }.close()
        #expect(announced == 0)
    }
}
