import Foundation
import GRDB
import StreetSenseCore

extension SQLiteStore {
    /// Arguments: since, `Int64.max`.
    static let recentReadingsSQL = """
        SELECT r.sensor_ref, r.metric, r.t, r.value, r.flags FROM \(ReadingBlocks.joinInTimeRange)
        AND +r.t >= ?1 AND (r.flags & \(StoreSchema.lateFlag)) = 0
        ORDER BY r.t, r.id
        """

    /// Arguments: from, to, sensor ref, metric id, limit.
    static let seriesReadingsSQL = """
        SELECT r.sensor_ref, r.metric, r.t, r.value, r.flags FROM \(ReadingBlocks.joinInTimeRange)
        AND +r.t >= ?1 AND +r.t < ?2 AND +r.sensor_ref = ?3 AND +r.metric = ?4
        ORDER BY r.t, r.id LIMIT ?5
        """

    public func recentReadings(since: EventTime) throws(StoreError) -> [StoredReading] {
        var readings: [StoredReading] = []
        try forEachRecentReading(since: since) { readings.append($0) }
        return readings
    }

    public func forEachRecentReading(since: EventTime, _ body: (StoredReading) -> Void) throws(StoreError) {
        try run("read readings since \(since)") {
            try pool.read { db in
                try Self.forEachReading(
                    db.cachedStatement(sql: Self.recentReadingsSQL), arguments: [since.milliseconds, Int64.max], body)
            }
        }
    }

    public func readings(
        sensorRef: Int32, metric: Metric, from: EventTime, to: EventTime, limit: Int
    ) throws(StoreError) -> [StoredReading] {
        try run("read readings of sensor \(sensorRef) \(metric.name) from \(from) to \(to)") {
            guard limit > 0, from < to else { return [] }
            return try pool.read { db in
                let statement = try db.cachedStatement(sql: Self.seriesReadingsSQL)
                var readings: [StoredReading] = []
                try Self.forEachReading(
                    statement,
                    arguments: [from.milliseconds, to.milliseconds, Int64(sensorRef), Int64(metric.rawValue), limit]
                ) { readings.append($0) }
                return readings
            }
        }
    }

    private static func forEachReading(
        _ statement: Statement, arguments: StatementArguments, _ body: (StoredReading) -> Void
    ) throws {
        let rows = try Row.fetchCursor(statement, arguments: arguments)
        while let row = try rows.next() {
            let metricID: Int64 = row[1]
            guard let metric = Metric(rawValue: UInt8(truncatingIfNeeded: metricID)), metricID == Int64(metric.rawValue)
            else { throw StoreError(.corrupt, operation: "read readings", message: "unknown metric id \(metricID)") }
            let flags: Int64 = row[4]
            body(
                StoredReading(
                    sensorRef: row[0], metric: metric, time: EventTime(milliseconds: row[2]), value: row[3],
                    late: flags & StoreSchema.lateFlag != 0))
        }
    }

    /// The stored 1-minute rollups of `metrics` (all sensors) with `from ≤ minute < to`, oldest first. At
    /// start-up they refill what needs more history than the raw readings replayed (24-hour PM means).
    public func rollups(of metrics: [Metric], from: EventTime, to: EventTime) throws(StoreError) -> [RollupRecord] {
        try run("read rollups of \(metrics.map(\.name).joined(separator: ",")) from \(from) to \(to)") {
            guard from < to, !metrics.isEmpty else { return [] }
            let ids = metrics.map { String($0.rawValue) }.joined(separator: ",")
            return try pool.read { db in
                var records: [RollupRecord] = []
                let rows = try Row.fetchCursor(
                    db, sql: """
                        SELECT sensor_ref, metric, minute, count, sum, min, max FROM rollups
                        WHERE minute >= ? AND minute < ? AND metric IN (\(ids)) ORDER BY minute
                        """, arguments: [from.milliseconds, to.milliseconds])
                while let row = try rows.next() {
                    guard let metric = Metric(rawValue: row[1]) else { continue }
                    records.append(RollupRecord(
                        sensorRef: row[0], metric: metric, minute: EventTime(milliseconds: row[2]), count: row[3], sum: row[4],
                        min: row[5], max: row[6]))
                }
                return records
            }
        }
    }

    public func rollupSeries(
        sensorRef: Int32, metric: Metric, from: EventTime, to: EventTime, step: Duration
    ) throws(StoreError) -> [SeriesPoint] {
        try bucketedSeries(
            "read series of sensor \(sensorRef) \(metric.name) from \(from) to \(to) step \(step)",
            table: "rollups", key: "sensor_ref = ? AND metric = ?", keyArguments: [Int64(sensorRef), Int64(metric.rawValue)],
            from: from, to: to, step: step)
    }

    public func zoneDensitySeries(zone: String, from: EventTime, to: EventTime, step: Duration) throws(StoreError) -> [SeriesPoint] {
        try bucketedSeries(
            "read density series of zone \(zone) from \(from) to \(to) step \(step)",
            table: "zone_rollups", key: "zone = ?", keyArguments: [zone], from: from, to: to, step: step)
    }

    /// The rows of one rollup series with `from ≤ minute < to`, summed into buckets of `step` that start at
    /// multiples of the step since the epoch (floor division, also before 1970); empty buckets are omitted.
    ///
    /// The rollup tables are keyed by minute first (schema v3), so the series is read by one primary-key seek
    /// per minute of the range: a recursive CTE lists the minutes, clipped to those the table holds, and
    /// `CROSS JOIN` keeps them the outer loop. A day of one sensor is 1 440 seeks, whatever the city's size.
    private func bucketedSeries(
        _ operation: @autoclosure () -> String, table: String, key: String, keyArguments: StatementArguments,
        from: EventTime, to: EventTime, step: Duration
    ) throws(StoreError) -> [SeriesPoint] {
        let stepMilliseconds = step.wholeMilliseconds
        guard stepMilliseconds > 0, stepMilliseconds % 60_000 == 0, step == .milliseconds(stepMilliseconds) else {
            throw StoreError(.invalidArgument, operation: operation(), message: "step must be a positive whole number of minutes")
        }
        return try run(operation()) {
            guard from < to else { return [] }
            return try pool.read { db in
                let stored = try Row.fetchOne(db.cachedStatement(sql: "SELECT min(minute), max(minute) FROM \(table)"))
                guard let stored, let oldest: Int64 = stored[0], let newest: Int64 = stored[1] else { return [] }
                let minute: Int64 = 60_000
                var first = from.milliseconds - ((from.milliseconds % minute) + minute) % minute
                if first < from.milliseconds { first += minute }
                first = Swift.max(first, oldest)
                let end = Swift.min(to.milliseconds, newest + minute)
                guard first < end else { return [] }
                let statement = try db.cachedStatement(sql: Self.rollupSeriesSQL(table: table, key: key))
                let arguments: StatementArguments = [first, end, stepMilliseconds, stepMilliseconds, stepMilliseconds] + keyArguments
                return try Row.fetchAll(statement, arguments: arguments).map { row in
                    SeriesPoint(start: EventTime(milliseconds: row[0]), count: row[1], sum: row[2], min: row[3], max: row[4])
                }
            }
        }
    }

    /// The query of ``bucketedSeries(_:table:key:keyArguments:from:to:step:)``. Arguments: the first minute,
    /// the end (exclusive), the step in milliseconds three times, then the key's.
    static func rollupSeriesSQL(table: String, key: String) -> String {
        """
        WITH RECURSIVE minutes(minute) AS (
            SELECT ? UNION ALL SELECT minute + 60000 FROM minutes WHERE minute + 60000 < ?
        )
        SELECT (r.minute - ((r.minute % ?) + ?) % ?) AS start, sum(r.count), sum(r.sum), min(r.min), max(r.max)
        FROM minutes CROSS JOIN \(table) AS r
        WHERE r.minute = minutes.minute AND \(key)
        GROUP BY start ORDER BY start
        """
    }

    public func rejects(
        pilot: String?, reason: RejectReason?, before cursor: Int64?, limit: Int
    ) throws(StoreError) -> [RejectRow] {
        try run("read rejects") {
            guard limit > 0 else { return [] }
            var conditions = ["id < ?"]
            var arguments: StatementArguments = [cursor ?? Int64.max]
            if let pilot {
                conditions.append("pilot = ?")
                _ = arguments.append(contentsOf: [pilot])
            }
            if let reason {
                conditions.append("reason = ?")
                _ = arguments.append(contentsOf: [reason.rawValue])
            }
            _ = arguments.append(contentsOf: [limit])
            let sql = """
                SELECT id, received, pilot, sensor, topic, payload, reason, detail FROM rejects
                WHERE \(conditions.joined(separator: " AND ")) ORDER BY id DESC LIMIT ?
                """
            return try pool.read { db in
                try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments).map { row in
                    let reasonName: String = row[6]
                    guard let reason = RejectReason(rawValue: reasonName) else {
                        throw StoreError(.corrupt, operation: "read rejects", message: "unknown reject reason '\(reasonName)'")
                    }
                    let payload: Data = row[5]
                    return RejectRow(
                        id: row[0],
                        reject: StoredReject(
                            received: EventTime(milliseconds: row[1]), pilot: row[2], sensor: row[3], topic: row[4],
                            payload: [UInt8](payload), reason: reason, detail: row[7]))
                }
            }
        }
    }

    public func rejectCounts() throws(StoreError) -> [RejectCount] {
        try run("read reject counts") {
            try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT pilot, reason, count FROM reject_counts ORDER BY pilot, reason").map {
                    row in
                    let reasonName: String = row[1]
                    guard let reason = RejectReason(rawValue: reasonName) else {
                        throw StoreError(
                            .corrupt, operation: "read reject counts", message: "unknown reject reason '\(reasonName)'")
                    }
                    let pilot: String = row[0]
                    return RejectCount(pilot: pilot.isEmpty ? nil : pilot, reason: reason, count: row[2])
                }
            }
        }
    }

    public func flowCounters() throws(StoreError) -> [FlowCounterState] {
        try run("read flow counters") {
            try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT sensor_ref, occupancy, as_of FROM flow_counters ORDER BY sensor_ref").map {
                    FlowCounterState(sensorRef: $0[0], occupancy: $0[1], asOf: EventTime(milliseconds: $0[2]))
                }
            }
        }
    }

    public func sensors() throws(StoreError) -> [SensorRecord] {
        try run("read sensors") {
            try pool.read { db in try Self.fetchSensors(db) }
        }
    }

    public func storedReadingCount() throws(StoreError) -> Int {
        try run("count readings") {
            try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM readings") ?? 0 }
        }
    }

    static func fetchSensors(_ db: Database) throws -> [SensorRecord] {
        try Row.fetchAll(
            db, sql: "SELECT ref, pilot, sensor, zone, kind, registered, first_seen, last_seen FROM sensors ORDER BY ref"
        ).map { row in
            let kindName: String? = row[4]
            let kind = try kindName.map { name in
                guard let kind = SensorKind(rawValue: name) else {
                    throw StoreError(.corrupt, operation: "read sensors", message: "unknown sensor kind '\(name)'")
                }
                return kind
            }
            let firstSeen: Int64? = row[6]
            let lastSeen: Int64? = row[7]
            return SensorRecord(
                ref: row[0], address: SensorAddress(pilot: row[1], sensor: row[2]), zone: row[3], kind: kind,
                registered: row[5], firstSeen: firstSeen.map(EventTime.init(milliseconds:)),
                lastSeen: lastSeen.map(EventTime.init(milliseconds:)))
        }
    }
}
