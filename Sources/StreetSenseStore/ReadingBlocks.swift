import GRDB

/// The `reading_blocks` table: for each range of `readings` ids, the smallest and largest event time in it.
/// It replaces a secondary index on the readings (which would cost most of the write rate) with one row per
/// written batch, and turns time-range queries and retention into id-range scans and range deletes.
///
/// Invariants: block id ranges never overlap and grow with the block id, because the writer assigns
/// reading ids itself, above every stored id and every id a live block covers (SQLite's own choice,
/// max(id) + 1, could reuse ids that retention freed at the end of a live block); every stored reading
/// lies in the range of exactly one block (retention may leave a range wider than the rows still in it);
/// `min_t ≤ t ≤ max_t` for every reading in a block.
enum ReadingBlocks {
    /// The id for the next reading: above every stored reading and every block's range.
    static func nextReadingID(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT max(coalesce((SELECT max(id) FROM readings), 0),
                               coalesce((SELECT last_id FROM reading_blocks ORDER BY id DESC LIMIT 1), 0)) + 1
                    """))!
    }

    /// Records that ids `first...last` were just written with event times in `minT...maxT`. Extends the
    /// newest block when it ends right before `first` and stays within `blockRows` rows.
    static func record(first: Int64, last: Int64, minT: Int64, maxT: Int64, blockRows: Int64, _ db: Database) throws {
        let newest = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT id, first_id, last_id FROM reading_blocks ORDER BY id DESC LIMIT 1"))
        if let newest, newest[2] as Int64 == first - 1, last - (newest[1] as Int64) + 1 <= blockRows {
            try db.cachedStatement(
                sql: """
                    UPDATE reading_blocks SET last_id = ?, min_t = min(min_t, ?), max_t = max(max_t, ?)
                    WHERE id = ?
                    """
            ).execute(arguments: [last, minT, maxT, newest[0] as Int64])
        } else {
            try db.cachedStatement(
                sql: "INSERT INTO reading_blocks (first_id, last_id, min_t, max_t) VALUES (?, ?, ?, ?)"
            ).execute(arguments: [first, last, minT, maxT])
        }
    }

    /// The readings of the blocks that may hold event times in `from..<to`, as a SQL join: select from
    /// `reading_blocks b JOIN readings r` with this condition, binding `from` and `to` as `?1` and `?2`.
    ///
    /// The planner must walk `reading_blocks_by_max_t`, then each block's id range. Conditions that the
    /// caller adds on `r` must be written with a unary `+` (`+r.sensor_ref = ?3`): otherwise SQLite may
    /// build an automatic index over the whole readings table for them.
    static let joinInTimeRange = """
        reading_blocks b INDEXED BY reading_blocks_by_max_t
        JOIN readings r ON r.id BETWEEN b.first_id AND b.last_id
        WHERE b.max_t >= ?1 AND +b.min_t < ?2
        """

    // MARK: Retention

    /// One block, as retention sees it.
    struct Block {
        var id: Int64
        var first: Int64
        var last: Int64
    }

    /// The oldest block whose readings are all before `cutoff`.
    static func oldestExpired(before cutoff: Int64, _ db: Database) throws -> Block? {
        try Row.fetchOne(
            db.cachedStatement(
                sql: "SELECT id, first_id, last_id FROM reading_blocks WHERE max_t < ? ORDER BY max_t LIMIT 1"),
            arguments: [cutoff]
        ).map { Block(id: $0[0], first: $0[1], last: $0[2]) }
    }

    /// A block that holds readings on both sides of `cutoff`, if any (after expired blocks are gone).
    static func straddling(_ cutoff: Int64, _ db: Database) throws -> Block? {
        try Row.fetchOne(
            db.cachedStatement(
                sql: "SELECT id, first_id, last_id FROM reading_blocks WHERE min_t < ? ORDER BY min_t LIMIT 1"),
            arguments: [cutoff]
        ).map { Block(id: $0[0], first: $0[1], last: $0[2]) }
    }

    /// Deletes up to `chunk` ids from the front of an expired block and returns how many readings went.
    /// Removes the block once its range is empty.
    static func deleteFront(of block: Block, chunk: Int64, _ db: Database) throws -> Int {
        let end = Swift.min(block.last, block.first + chunk - 1)
        try db.cachedStatement(sql: "DELETE FROM readings WHERE id BETWEEN ? AND ?")
            .execute(arguments: [block.first, end])
        let deleted = db.changesCount
        if end == block.last {
            try db.cachedStatement(sql: "DELETE FROM reading_blocks WHERE id = ?").execute(arguments: [block.id])
        } else {
            try db.cachedStatement(sql: "UPDATE reading_blocks SET first_id = ? WHERE id = ?")
                .execute(arguments: [end + 1, block.id])
        }
        return deleted
    }

    /// Deletes the readings before `cutoff` in ids `from...to` of a straddling block; when `to` is the
    /// block's end, recomputes its `min_t` from what is left. Returns how many readings went.
    static func deleteOld(
        in block: Block, from: Int64, to: Int64, before cutoff: Int64, _ db: Database
    ) throws -> Int {
        try db.cachedStatement(sql: "DELETE FROM readings WHERE id BETWEEN ? AND ? AND t < ?")
            .execute(arguments: [from, to, cutoff])
        let deleted = db.changesCount
        if to == block.last {
            // Recompute from the block as it is now: the writer may have extended it since `block` was read.
            let remaining = try Int64.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT min(r.t) FROM reading_blocks b
                        JOIN readings r ON r.id BETWEEN b.first_id AND b.last_id WHERE b.id = ?
                        """),
                arguments: [block.id])
            if let remaining {
                try db.cachedStatement(sql: "UPDATE reading_blocks SET min_t = ? WHERE id = ?")
                    .execute(arguments: [remaining, block.id])
            } else {
                try db.cachedStatement(sql: "DELETE FROM reading_blocks WHERE id = ?").execute(arguments: [block.id])
            }
        }
        return deleted
    }
}
