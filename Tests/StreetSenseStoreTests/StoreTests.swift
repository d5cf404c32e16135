import Foundation
import GRDB
import StreetSenseCore
import Testing

@testable import StreetSenseStore

@Suite("SQLite store: schema, writes and queries")
struct StoreTests {
    @Test("an empty file is migrated to v3 with WAL and synchronous=FULL")
    func migratesFromEmpty() throws {
        try withStore { store, directory in
            let tables = try store.pool.read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            }
            for table in [
                "alert_events", "alerts", "flow_counters", "meta", "metrics", "reading_blocks", "readings", "reject_counts",
                "rejects", "rollups", "sensors", "zones",
            ] {
                #expect(tables.contains(table), "missing table \(table)")
            }
            let (journal, synchronous, migrations) = try store.pool.write { db in
                (
                    try String.fetchOne(db, sql: "PRAGMA journal_mode"),
                    try Int.fetchOne(db, sql: "PRAGMA synchronous"),
                    try StoreSchema.migrator.appliedIdentifiers(db)
                )
            }
            #expect(journal == "wal")
            #expect(synchronous == 2)  // FULL
            #expect(migrations == ["v1", "v2", "v3"])
            let metricNames = try store.pool.read { db in
                try String.fetchAll(db, sql: "SELECT name FROM metrics ORDER BY id")
            }
            #expect(metricNames == Metric.allCases.map(\.name))
            // The readings table has no index: appends stay cheap.
            let readingIndexes = try store.pool.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'readings'")
            }
            #expect(readingIndexes == 0)

            // Reopening an up-to-date file migrates nothing and keeps the data.
            try store.write(StoreBatch(readings: [StoredReading(sensorRef: 1, metric: .people, time: time(0), value: 3)]))
            try store.close()
            let reopened = try SQLiteStore(path: directory.path("store.sqlite"))
            #expect(try reopened.storedReadingCount() == 1)
            try reopened.close()
        }
    }

    @Test("a file migrated by a newer version is refused as corrupt")
    func refusesNewerSchema() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("store.sqlite")
        let store = try SQLiteStore(path: path)
        try store.pool.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99')") }
        try store.close()
        let error = #expect(throws: StoreError.self) { try SQLiteStore(path: path) }
        #expect(error?.code == .corrupt)
        #expect(error?.message.contains("v99") == true)
    }

    @Test("a file that is not a database is refused with a named error")
    func refusesNonDatabase() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("notes.sqlite")
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: StoreError.self) { try SQLiteStore(path: path) }
        #expect(error?.code == .corrupt)
        let missing = #expect(throws: StoreError.self) { try SQLiteStore(path: directory.path("no/such/dir/x.sqlite")) }
        #expect(missing?.code == .cannotOpen)
    }

    @Test("readings come back with exact values, filtered by series and time, ordered, limited")
    func readingsRoundTrip() throws {
        try withStore { store, _ in
            // 300 readings = 2 × 128 + 2 × 16 + 12 × 1 rows: every statement size is used.
            var written: [StoredReading] = []
            var random = SplitMix64(state: 7)
            for i in 0..<300 {
                written.append(
                    StoredReading(
                        sensorRef: Int32(1 + i % 3), metric: i % 2 == 0 ? .people : .pm2_5,
                        time: time(Int64(random.next(below: 600_000))), value: Double(random.next(below: 1_000_000)) / 7,
                        late: i % 11 == 0))
            }
            try store.write(StoreBatch(readings: Array(written[0..<200])))
            try store.write(StoreBatch(readings: Array(written[200...])))
            #expect(try store.storedReadingCount() == 300)

            let from = time(100_000)
            let to = time(400_000)
            let expected = written.enumerated()
                .filter { $0.element.sensorRef == 2 && $0.element.metric == .people && $0.element.time >= from && $0.element.time < to }
                .sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }
                .map(\.element)
            #expect(!expected.isEmpty)
            #expect(try store.readings(sensorRef: 2, metric: .people, from: from, to: to, limit: 1000) == expected)
            #expect(try store.readings(sensorRef: 2, metric: .people, from: from, to: to, limit: 3) == Array(expected.prefix(3)))
            #expect(try store.readings(sensorRef: 2, metric: .people, from: to, to: from, limit: 10) == [])
            #expect(try store.readings(sensorRef: 9, metric: .people, from: from, to: to, limit: 10) == [])
        }
    }

    @Test("raw reading queries walk the blocks and rowid ranges, never the whole readings table")
    func readingQueriesUseBlocks() throws {
        try withStore { store, _ in
            try store.write(StoreBatch(readings: [StoredReading(sensorRef: 1, metric: .people, time: time(0), value: 1)]))
            let queries: [(String, StatementArguments)] = [
                (SQLiteStore.recentReadingsSQL, [0, Int64.max]), (SQLiteStore.seriesReadingsSQL, [0, 1, 1, 0, 10]),
            ]
            for (sql, arguments) in queries {
                let plan = try store.pool.read { db in
                    try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] as String }
                }
                #expect(plan.contains("SEARCH b USING INDEX reading_blocks_by_max_t (max_t>?)"), "\(plan)")
                #expect(plan.contains("SEARCH r USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"), "\(plan)")
                #expect(plan.allSatisfy { !$0.contains("SCAN r") && !$0.contains("AUTOMATIC") }, "\(plan)")
            }
        }
    }

    @Test("recent readings: non-late, t >= since, ordered by t then insertion")
    func recentReadingsOrder() throws {
        try withStore { store, _ in
            let batches: [[StoredReading]] = [
                [
                    StoredReading(sensorRef: 1, metric: .people, time: time(5_000), value: 1),
                    StoredReading(sensorRef: 2, metric: .people, time: time(1_000), value: 2),
                    StoredReading(sensorRef: 1, metric: .noise, time: time(9_000), value: 3),
                ],
                [
                    StoredReading(sensorRef: 3, metric: .people, time: time(5_000), value: 4),  // same t, later insert
                    StoredReading(sensorRef: 1, metric: .people, time: time(2_000), value: 5, late: true),
                    StoredReading(sensorRef: 2, metric: .people, time: time(3_000), value: 6),
                ],
                [StoredReading(sensorRef: 2, metric: .co2, time: time(-60_000), value: 7)],
            ]
            for batch in batches { try store.write(StoreBatch(readings: batch)) }
            let recent = try store.recentReadings(since: time(2_000))
            #expect(recent.map(\.value) == [6, 1, 4, 3])
            #expect(try store.recentReadings(since: time(-120_000)).map(\.value) == [7, 2, 6, 1, 4, 3])
            #expect(try store.recentReadings(since: time(10_000)) == [])
            var streamed: [Double] = []
            try store.forEachRecentReading(since: time(2_000)) { streamed.append($0.value) }
            #expect(streamed == [6, 1, 4, 3])
        }
    }

    @Test("rollups are written, read back exactly, and an upsert replaces the minute")
    func rollupUpsertReplaces() throws {
        try withStore { store, _ in
            let first = RollupRecord(
                sensorRef: 4, metric: .pm10, minute: time(60_000), count: 3, sum: 30.5, min: 9.5, max: 11)
            let other = RollupRecord(
                sensorRef: 4, metric: .pm10, minute: time(120_000), count: 1, sum: 7, min: 7, max: 7)
            try store.write(StoreBatch(rollups: [first, other]))
            let oneMinute = try store.rollupSeries(
                sensorRef: 4, metric: .pm10, from: time(0), to: time(180_000), step: .seconds(60))
            #expect(
                oneMinute == [
                    SeriesPoint(start: time(60_000), count: 3, sum: 30.5, min: 9.5, max: 11),
                    SeriesPoint(start: time(120_000), count: 1, sum: 7, min: 7, max: 7),
                ])
            #expect(oneMinute[0].mean == 30.5 / 3)

            var replaced = first
            replaced.count = 4
            replaced.sum = 42.5
            replaced.min = 9
            try store.write(StoreBatch(rollups: [replaced]))
            let after = try store.rollupSeries(sensorRef: 4, metric: .pm10, from: time(60_000), to: time(120_000), step: .seconds(60))
            #expect(after == [SeriesPoint(start: time(60_000), count: 4, sum: 42.5, min: 9, max: 11)])
            let rows = try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM rollups") }
            #expect(rows == 2)

            // The same minute twice in one batch: the later record wins.
            var again = replaced
            again.count = 1
            again.sum = 1
            again.min = 1
            again.max = 1
            try store.write(StoreBatch(rollups: [replaced, again]))
            let last = try store.rollupSeries(sensorRef: 4, metric: .pm10, from: time(60_000), to: time(120_000), step: .seconds(60))
            #expect(last == [SeriesPoint(start: time(60_000), count: 1, sum: 1, min: 1, max: 1)])
        }
    }

    @Test("zone density rollups are replaced per minute and bucketed by step, apart from other zones")
    func zoneRollups() throws {
        try withStore { store, _ in
            var rollups: [ZoneRollupRecord] = []
            for minute in 0..<10 {
                let m = Double(minute)
                rollups.append(ZoneRollupRecord(zone: "kamppi-square", minute: time(Int64(minute) * 60_000), count: 12, sum: m * 12, min: m, max: m + 1))
                rollups.append(ZoneRollupRecord(zone: "narinkka", minute: time(Int64(minute) * 60_000), count: 12, sum: m * 12 + 100, min: m, max: m + 1))
            }
            try store.write(StoreBatch(zoneRollups: rollups))
            // Minute 4 is rewritten after a late reading.
            try store.write(StoreBatch(zoneRollups: [ZoneRollupRecord(zone: "kamppi-square", minute: time(240_000), count: 11, sum: 33, min: 2, max: 4)]))
            let series = try store.zoneDensitySeries(zone: "kamppi-square", from: time(0), to: time(600_000), step: .seconds(300))
            // Minutes 0–4: counts 12·4 + 11, sums (0+1+2+3)·12 + 33, min 0, max max(4, 4); minutes 5–9: 60 samples.
            #expect(series == [
                SeriesPoint(start: time(0), count: 59, sum: 6 * 12 + 33, min: 0, max: 4),
                SeriesPoint(start: time(300_000), count: 60, sum: Double(5 + 6 + 7 + 8 + 9) * 12, min: 5, max: 10),
            ])
            #expect(try store.zoneDensitySeries(zone: "nowhere", from: time(0), to: time(600_000), step: .seconds(60)).isEmpty)
            let result = try store.enforceRetention(now: time(86_400_000 + 300_000), rawDays: 1, rollupDays: 1)
            #expect(result.rollupsDeleted == 10)  // minutes 0–4 of both zones
        }
    }

    @Test("rollupSeries with a 5-minute step matches an independent aggregation")
    func rollupSeriesFiveMinutes() throws {
        try withStore { store, _ in
            var random = SplitMix64(state: 42)
            var rollups: [RollupRecord] = []
            // 37 minutes from 10:03, with gaps, for the series under test and a neighbour that must not leak in.
            for minute in 3..<40 where random.next(below: 5) != 0 {
                for (ref, metric) in [(Int32(5), Metric.people), (5, .devices), (6, .people)] {
                    let values = (0..<(1 + random.next(below: 6))).map { _ in Double(random.next(below: 4000)) / 4 }
                    rollups.append(
                        RollupRecord(
                            sensorRef: ref, metric: metric, minute: time(Int64(minute) * 60_000), count: Int32(values.count),
                            sum: values.reduce(0, +), min: values.min()!, max: values.max()!))
                }
            }
            try store.write(StoreBatch(rollups: rollups.shuffled(using: &random)))

            let from = time(4 * 60_000)  // not aligned to the step: the first bucket is partial
            let to = time(38 * 60_000)
            let mine = rollups.filter { $0.sensorRef == 5 && $0.metric == .people && $0.minute >= from && $0.minute < to }
            var expected: [SeriesPoint] = []
            for (start, group) in Dictionary(grouping: mine, by: { $0.minute.milliseconds / 300_000 * 300_000 })
                .sorted(by: { $0.key < $1.key })
            {
                expected.append(
                    SeriesPoint(
                        start: EventTime(milliseconds: start), count: group.reduce(0) { $0 + Int($1.count) },
                        sum: group.reduce(0) { $0 + $1.sum }, min: group.map(\.min).min()!, max: group.map(\.max).max()!))
            }
            let series = try store.rollupSeries(sensorRef: 5, metric: .people, from: from, to: to, step: .seconds(300))
            #expect(series.count >= 6)
            #expect(series == expected)

            let error = #expect(throws: StoreError.self) {
                try store.rollupSeries(sensorRef: 5, metric: .people, from: from, to: to, step: .seconds(90))
            }
            #expect(error?.code == .invalidArgument)
        }
    }

    @Test("flow counter states round-trip and upsert")
    func flowCountersRoundTrip() throws {
        try withStore { store, _ in
            try store.write(
                StoreBatch(flowCounters: [
                    FlowCounterState(sensorRef: 3, occupancy: 12, asOf: time(1_000)),
                    FlowCounterState(sensorRef: 1, occupancy: 0, asOf: time(2_000)),
                ]))
            try store.write(StoreBatch(flowCounters: [FlowCounterState(sensorRef: 3, occupancy: 15.5, asOf: time(3_000))]))
            #expect(
                try store.flowCounters() == [
                    FlowCounterState(sensorRef: 1, occupancy: 0, asOf: time(2_000)),
                    FlowCounterState(sensorRef: 3, occupancy: 15.5, asOf: time(3_000)),
                ])
        }
    }

    @Test("an empty batch writes nothing; a closed store refuses calls with a named error")
    func emptyBatchAndClose() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try SQLiteStore(path: directory.path("store.sqlite"))
        try store.write(StoreBatch())
        #expect(try store.storedReadingCount() == 0)
        try store.close()
        try store.close()  // harmless
        let writeError = #expect(throws: StoreError.self) {
            try store.write(StoreBatch(readings: [StoredReading(sensorRef: 1, metric: .people, time: time(0), value: 1)]))
        }
        #expect(writeError?.code == .closed, "\(String(describing: writeError))")
        let readError = #expect(throws: StoreError.self) { try store.storedReadingCount() }
        #expect(readError?.code == .closed)

        // Dropping an open store without close() is safe, and the data is there next time.
        do {
            let dropped = try SQLiteStore(path: directory.path("other.sqlite"))
            try dropped.write(StoreBatch(readings: [StoredReading(sensorRef: 1, metric: .people, time: time(0), value: 1)]))
        }
        let reopened = try SQLiteStore(path: directory.path("other.sqlite"))
        #expect(try reopened.storedReadingCount() == 1)
    }
}
