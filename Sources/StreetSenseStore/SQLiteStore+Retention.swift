import GRDB
import StreetSenseCore

extension SQLiteStore {
    /// Deletes readings with `t < now − rawDays` and rollups with `minute < now − rollupDays`.
    ///
    /// Every transaction deletes at most ``Options/retentionChunkRows`` rows (or scans that many readings), so
    /// the writer, whose transactions queue behind it, never waits for more than one short chunk. Safe to
    /// call from a background thread while the writer runs. Readings whose whole block is expired go by
    /// id range; blocks that straddle the cutoff (late or backfilled readings) are scanned once. Alerts and
    /// alert events are not touched: they are kept for good.
    public func enforceRetention(now: EventTime, rawDays: Int, rollupDays: Int) throws(StoreError) -> RetentionResult {
        let operation = "enforce retention (raw \(rawDays) d, rollups \(rollupDays) d)"
        guard rawDays >= 0, rollupDays >= 0 else {
            throw StoreError(.invalidArgument, operation: operation, message: "retention days must not be negative")
        }
        let day: Int64 = 86_400_000
        let rawCutoff = now.milliseconds - Int64(rawDays) * day
        let rollupCutoff = now.milliseconds - Int64(rollupDays) * day
        let chunk = Int64(options.retentionChunkRows)
        var result = RetentionResult()

        try run(operation) {
            // Whole expired blocks, oldest first, a chunk of ids per transaction.
            while true {
                let deleted: Int? = try pool.write { db in
                    guard let block = try ReadingBlocks.oldestExpired(before: rawCutoff, db) else { return nil }
                    return try ReadingBlocks.deleteFront(of: block, chunk: chunk, db)
                }
                guard let deleted else { break }
                result.readingsDeleted += deleted
                result.transactions += 1
            }
            // Blocks holding readings on both sides of the cutoff.
            while let block = try pool.write({ db in try ReadingBlocks.straddling(rawCutoff, db) }) {
                var from = block.first
                while from <= block.last {
                    let to = Swift.min(block.last, from + chunk - 1)
                    result.readingsDeleted += try pool.write { db in
                        try ReadingBlocks.deleteOld(in: block, from: from, to: to, before: rawCutoff, db)
                    }
                    result.transactions += 1
                    from = to + 1
                }
            }
            // Rollups, through their keys' leading minute.
            while true {
                let deleted = try pool.write { db in
                    try db.cachedStatement(
                        sql: """
                            DELETE FROM rollups WHERE (minute, sensor_ref, metric) IN
                            (SELECT minute, sensor_ref, metric FROM rollups WHERE minute < ? LIMIT ?)
                            """
                    ).execute(arguments: [rollupCutoff, chunk])
                    return db.changesCount
                }
                guard deleted > 0 else { break }
                result.rollupsDeleted += deleted
                result.transactions += 1
                if deleted < chunk { break }
            }
            while true {
                let deleted = try pool.write { db in
                    try db.cachedStatement(
                        sql: """
                            DELETE FROM zone_rollups WHERE (minute, zone) IN
                            (SELECT minute, zone FROM zone_rollups WHERE minute < ? LIMIT ?)
                            """
                    ).execute(arguments: [rollupCutoff, chunk])
                    return db.changesCount
                }
                guard deleted > 0 else { break }
                result.rollupsDeleted += deleted
                result.transactions += 1
                if deleted < chunk { break }
            }
        }
        return result
    }
}
