import StreetSenseAlerts
import StreetSenseCore

/// The durable store of StreetSense (DESIGN §6): readings, 1-minute rollups, rejects, the sensor registry,
/// flow counter states and alerts with their events, behind one protocol so that a PostgreSQL backend can follow ``SQLiteStore``.
///
/// Threading contract:
/// - **One writer.** ``write(_:)`` and ``syncRegistry(zones:sensors:)`` are called from the pipeline's single
///   store-writer thread. They are synchronous and return once the transaction is durable.
/// - **Retention** (``enforceRetention(now:rawDays:rollupDays:)``) may run on another thread; it works in
///   short transactions, so the writer waits at most for one chunk.
/// - **Readers** (every query) may be called from any thread at any time; they use their own connections and
///   never block the writer, nor wait for it.
///
/// Errors are ``StoreError`` values. A failed ``write(_:)`` leaves nothing of its batch behind, so the caller
/// can retry the same batch (for example once disk space returns after ``StoreError/Code/diskFull``).
///
/// Time ranges are half-open: `from ≤ t < to`.
public protocol ReadingStore: Sendable {
    // MARK: Writer side

    /// Commits a batch in one transaction (one fsync with `synchronous=FULL`).
    func write(_ batch: StoreBatch) throws(StoreError)

    /// At start-up: upserts the configured zones and registered sensors and returns every sensor record.
    ///
    /// Refs stay stable across restarts for every address ever stored, registered or not; sensors and zones
    /// no longer configured are kept and marked unregistered (sensors lose their zone and kind). New sensors
    /// seen later get refs from the caller, above the largest ref returned here, through
    /// ``StoreBatch/sensors``.
    func syncRegistry(zones: [ZoneDefinition], sensors: [SensorDefinition]) throws(StoreError) -> [SensorRecord]

    /// Deletes raw readings older than `rawDays` days and rollups older than `rollupDays` days before `now`,
    /// in chunks of bounded size, each in its own short transaction.
    ///
    /// Alerts and their events are not subject to retention: they are kept for good (a few rows per
    /// transition, and the record of what operators were told).
    func enforceRetention(now: EventTime, rawDays: Int, rollupDays: Int) throws(StoreError) -> RetentionResult

    // MARK: Restart

    /// Non-late readings with `t ≥ since`, ordered by event time and then by insertion: what the aggregation
    /// core replays to refill its windows after a restart.
    func recentReadings(since: EventTime) throws(StoreError) -> [StoredReading]

    /// The readings of ``recentReadings(since:)``, in the same order, handed to `body` one at a time from
    /// one read transaction instead of gathered in an array (for a replay larger than memory likes).
    func forEachRecentReading(since: EventTime, _ body: (StoredReading) -> Void) throws(StoreError)

    /// The last committed state of every flow counter (see ``FlowCounterState``).
    func flowCounters() throws(StoreError) -> [FlowCounterState]

    /// Every active alert, oldest first, rebuilt with `AlertLifecycle(restoringID:…)` (acknowledgement
    /// included): what `AlertEngine.restore(activeAlerts:lastEventID:at:into:)` takes at start-up. Fails with
    /// ``StoreError/Code/corrupt`` if a stored alert cannot be restored.
    func activeAlerts() throws(StoreError) -> [AlertLifecycle]

    /// The id of the newest stored alert event, or nil if there is none: where the engine's event ids
    /// continue after a restart.
    func lastAlertEventID() throws(StoreError) -> AlertEventID?

    // MARK: Queries

    /// Raw readings of one series (late ones included) with `from ≤ t < to`, ordered by event time, then by
    /// insertion; at most `limit`.
    ///
    /// Raw readings have no per-sensor index (it would cut the write rate several times); this scans the
    /// readings stored in the time range. Prefer ``rollupSeries(sensorRef:metric:from:to:step:)`` for charts.
    func readings(sensorRef: Int32, metric: Metric, from: EventTime, to: EventTime, limit: Int) throws(StoreError)
        -> [StoredReading]

    /// A zone's density series from its 1-minute rollups, bucketed like ``rollupSeries(sensorRef:metric:from:to:step:)``.
    func zoneDensitySeries(zone: String, from: EventTime, to: EventTime, step: Duration) throws(StoreError) -> [SeriesPoint]

    /// One series aggregated from its 1-minute rollups into buckets of `step` (a positive multiple of one
    /// minute) aligned to multiples of `step` since the epoch, over the minutes with `from ≤ minute < to`.
    /// Buckets without data are omitted.
    func rollupSeries(sensorRef: Int32, metric: Metric, from: EventTime, to: EventTime, step: Duration) throws(StoreError)
        -> [SeriesPoint]

    /// Stored rejects, newest first, optionally of one pilot and one reason, with ids below `cursor` (the id
    /// of the last row of the previous page); at most `limit`.
    func rejects(pilot: String?, reason: RejectReason?, before cursor: Int64?, limit: Int) throws(StoreError) -> [RejectRow]

    /// Reject counts per pilot and reason since the store was created, including trimmed rejects.
    func rejectCounts() throws(StoreError) -> [RejectCount]

    /// Every sensor record, ordered by ref.
    func sensors() throws(StoreError) -> [SensorRecord]

    // MARK: Alerts (kept for good: not subject to retention)

    /// Alerts matching `filter`, newest first (by id), with ids below `cursor` (the id of the last alert of
    /// the previous page); at most `limit`. Paging from `nil` until a short page visits every matching alert
    /// once: ids never change, so no alert is skipped or repeated (one that stops matching between pages,
    /// say by clearing under a `state = active` filter, is simply not returned again).
    func alerts(filter: AlertFilter, before cursor: AlertID?, limit: Int) throws(StoreError) -> [StoredAlert]

    /// One alert, or nil if no alert has this id.
    func alert(id: AlertID) throws(StoreError) -> StoredAlert?

    /// The history of one alert, oldest first (empty if there is no such alert). Read after ``alert(id:)``,
    /// it holds at least every event that the row reflects.
    func alertEvents(alertID: AlertID) throws(StoreError) -> [AlertEvent]

    /// The events with ids strictly greater than `eventID`, ascending, at most `limit`: the SSE resume after
    /// `Last-Event-ID`. Event ids are committed in increasing order (the schema refuses any other), so
    /// repeating the call from the last id returned yields every later event exactly once: no gaps, no
    /// repeats.
    func alertEvents(after eventID: AlertEventID, limit: Int) throws(StoreError) -> [AlertEvent]

    /// The number of raw readings stored.
    func storedReadingCount() throws(StoreError) -> Int

    // MARK: Lifecycle

    /// Closes every connection. Later calls fail with ``StoreError/Code/closed``; closing twice is harmless.
    func close() throws(StoreError)
}
