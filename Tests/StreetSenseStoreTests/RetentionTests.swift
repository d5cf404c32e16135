import GRDB
import StreetSenseCore
import Testing

@testable import StreetSenseStore

@Suite("SQLite store: retention")
struct RetentionTests {
    static let day: Int64 = 86_400_000

    @Test("retention deletes exactly the readings and rollups older than the cutoffs, in short chunks")
    func deletesOnlyOldRows() throws {
        var options = SQLiteStore.Options()
        options.retentionChunkRows = 7
        options.blockRows = 40
        try withStore(options: options) { store, _ in
            let now = time(30 * Self.day)
            let rawCutoff = now.milliseconds - 7 * Self.day
            let rollupCutoff = now.milliseconds - 20 * Self.day
            var random = SplitMix64(state: 99)
            var written: [StoredReading] = []
            // Days 0..<30 in order, a day per batch (blocks of one day each, split at 40 rows)...
            for day in 0..<30 {
                let batch = (0..<(10 + random.next(below: 50))).map { i in
                    StoredReading(
                        sensorRef: Int32(i % 5), metric: .people,
                        time: time(Int64(day) * Self.day + Int64(random.next(below: Int(Self.day)))), value: Double(i))
                }
                written += batch
                try store.write(StoreBatch(readings: batch))
            }
            // ...then backfilled and late readings mixing old and young times in one block.
            let mixed = (0..<25).map { i in
                StoredReading(
                    sensorRef: 9, metric: .noise, time: time(Int64(random.next(below: 30)) * Self.day + Int64(i)), value: Double(i),
                    late: i % 2 == 0)
            }
            written += mixed
            try store.write(StoreBatch(readings: mixed))

            var rollups: [RollupRecord] = []
            for day in 0..<30 {
                for minute in [0, 1, 1439] {
                    rollups.append(
                        RollupRecord(
                            sensorRef: 1, metric: .people, minute: time(Int64(day) * Self.day + Int64(minute) * 60_000), count: 1,
                            sum: 2, min: 2, max: 2))
                }
            }
            try store.write(StoreBatch(rollups: rollups))

            let result = try store.enforceRetention(now: now, rawDays: 7, rollupDays: 20)

            let keptReadings = written.filter { $0.time.milliseconds >= rawCutoff }
            let keptRollups = rollups.filter { $0.minute.milliseconds >= rollupCutoff }
            #expect(result.readingsDeleted == written.count - keptReadings.count)
            #expect(result.rollupsDeleted == rollups.count - keptRollups.count)
            #expect(result.transactions > (written.count - keptReadings.count) / 7)
            #expect(try store.storedReadingCount() == keptReadings.count)
            let remaining = try store.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT t, sensor_ref, value FROM readings ORDER BY id").map {
                    ($0[0] as Int64, $0[1] as Int32, $0[2] as Double)
                }
            }
            #expect(remaining.map(\.0) == keptReadings.map(\.time.milliseconds))
            #expect(remaining.map(\.2) == keptReadings.map(\.value))
            let remainingMinutes = try store.pool.read { db in
                try Int64.fetchAll(db, sql: "SELECT minute FROM rollups ORDER BY minute")
            }
            #expect(remainingMinutes == keptRollups.map(\.minute.milliseconds))

            // Queries still see every kept reading through the blocks.
            #expect(
                try store.recentReadings(since: EventTime(milliseconds: rawCutoff)).count
                    == keptReadings.filter { !$0.late }.count)
            let blocks = try store.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT first_id, last_id, min_t, max_t FROM reading_blocks")
            }
            for block in blocks {
                let (minT, maxT) = try store.pool.read { db in
                    let row = try Row.fetchOne(
                        db, sql: "SELECT min(t), max(t) FROM readings WHERE id BETWEEN ? AND ?",
                        arguments: [block[0] as Int64, block[1] as Int64])!
                    return (row[0] as Int64?, row[1] as Int64?)
                }
                #expect(minT != nil && (block[2] as Int64) <= minT! && maxT! <= (block[3] as Int64))
            }

            // A second run finds nothing to do.
            #expect(try store.enforceRetention(now: now, rawDays: 7, rollupDays: 20) == RetentionResult())
        }
    }

    @Test("ids freed at the end of the table by retention are not reused: no reading is returned twice")
    func freedIDsAreNotReused() throws {
        try withStore { store, _ in
            let now = time(10 * Self.day)
            // Eight fresh readings, then two backfilled ones from long ago, in one block.
            var first = (0..<8).map { StoredReading(sensorRef: 1, metric: .people, time: time(9 * Self.day + Int64($0)), value: Double($0)) }
            first += (0..<2).map { StoredReading(sensorRef: 1, metric: .people, time: time(Int64($0)), value: 100 + Double($0)) }
            try store.write(StoreBatch(readings: first))
            let result = try store.enforceRetention(now: now, rawDays: 7, rollupDays: 400)
            #expect(result.readingsDeleted == 2)

            let second = (0..<5).map { StoredReading(sensorRef: 2, metric: .people, time: time(9 * Self.day + 100 + Int64($0)), value: Double($0)) }
            try store.write(StoreBatch(readings: second))
            let expected = Array(first.prefix(8)) + second
            #expect(try store.recentReadings(since: time(0)) == expected)
            #expect(try store.storedReadingCount() == 13)
            let ids = try store.pool.read { db in try Int64.fetchAll(db, sql: "SELECT id FROM readings ORDER BY id") }
            #expect(ids == Array(1...8) + Array(11...15))
        }
    }
}
