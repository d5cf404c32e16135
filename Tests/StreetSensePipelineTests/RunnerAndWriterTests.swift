import Foundation
import StreetSenseAlerts
import StreetSenseCore
import StreetSensePipeline
import StreetSenseStore
import Synchronization
import Testing

/// A real SQLite store whose first `failures` writes fail as a full disk would (nothing of the batch stored),
/// recording what the writer reported before each attempt.
final class FailingThenWorkingStore: ReadingStore {
    let base: SQLiteStore
    private struct State {
        var failuresLeft: Int
        var attempts = 0
        var committedBatchSizes: [Int] = []
        var statisticsBeforeAttempt: [StoreWriter.Statistics] = []
    }
    private let state: Mutex<State>
    /// The writer using this store, to observe its statistics from inside `write`.
    let writer = Mutex<StoreWriter?>(nil)

    init(base: SQLiteStore, failures: Int) {
        self.base = base
        state = Mutex(State(failuresLeft: failures))
    }

    var attempts: Int { state.withLock { $0.attempts } }
    var committedBatchSizes: [Int] { state.withLock { $0.committedBatchSizes } }
    var statisticsBeforeAttempt: [StoreWriter.Statistics] { state.withLock { $0.statisticsBeforeAttempt } }

    func write(_ batch: StoreBatch) throws(StoreError) {
        let statistics = writer.withLock { $0 }?.currentStatistics
        let fail = state.withLock { s in
            s.attempts += 1
            if let statistics { s.statisticsBeforeAttempt.append(statistics) }
            guard s.failuresLeft > 0 else { return false }
            s.failuresLeft -= 1
            return true
        }
        if fail { throw StoreError(.diskFull, operation: "write batch", message: "injected: database or disk is full") }
        try base.write(batch)
        state.withLock { $0.committedBatchSizes.append(batch.readings.count) }
    }

    func syncRegistry(zones: [ZoneDefinition], sensors: [SensorDefinition]) throws(StoreError) -> [SensorRecord] {
        try base.syncRegistry(zones: zones, sensors: sensors)
    }
    func enforceRetention(now: EventTime, rawDays: Int, rollupDays: Int) throws(StoreError) -> RetentionResult {
        try base.enforceRetention(now: now, rawDays: rawDays, rollupDays: rollupDays)
    }
    func recentReadings(since: EventTime) throws(StoreError) -> [StoredReading] { try base.recentReadings(since: since) }
    func forEachRecentReading(since: EventTime, _ body: (StoredReading) -> Void) throws(StoreError) {
        try base.forEachRecentReading(since: since, body)
    }
    func flowCounters() throws(StoreError) -> [FlowCounterState] { try base.flowCounters() }
    func readings(sensorRef: Int32, metric: Metric, from: EventTime, to: EventTime, limit: Int) throws(StoreError) -> [StoredReading] {
        try base.readings(sensorRef: sensorRef, metric: metric, from: from, to: to, limit: limit)
    }
    func zoneDensitySeries(zone: String, from: EventTime, to: EventTime, step: Duration) throws(StoreError) -> [SeriesPoint] {
        try base.zoneDensitySeries(zone: zone, from: from, to: to, step: step)
    }
    func rollupSeries(sensorRef: Int32, metric: Metric, from: EventTime, to: EventTime, step: Duration) throws(StoreError) -> [SeriesPoint] {
        try base.rollupSeries(sensorRef: sensorRef, metric: metric, from: from, to: to, step: step)
    }
    func rejects(pilot: String?, reason: RejectReason?, before cursor: Int64?, limit: Int) throws(StoreError) -> [RejectRow] {
        try base.rejects(pilot: pilot, reason: reason, before: cursor, limit: limit)
    }
    func rejectCounts() throws(StoreError) -> [RejectCount] { try base.rejectCounts() }
    func sensors() throws(StoreError) -> [SensorRecord] { try base.sensors() }
    func storedReadingCount() throws(StoreError) -> Int { try base.storedReadingCount() }
    func close() throws(StoreError) { try base.close() }
    func alerts(filter: AlertFilter, before cursor: AlertID?, limit: Int) throws(StoreError) -> [StoredAlert] {
        try base.alerts(filter: filter, before: cursor, limit: limit)
    }
    func alert(id: AlertID) throws(StoreError) -> StoredAlert? { try base.alert(id: id) }
    func alertEvents(alertID: AlertID) throws(StoreError) -> [AlertEvent] { try base.alertEvents(alertID: alertID) }
    func alertEvents(after eventID: AlertEventID, limit: Int) throws(StoreError) -> [AlertEvent] {
        try base.alertEvents(after: eventID, limit: limit)
    }
    func activeAlerts() throws(StoreError) -> [AlertLifecycle] { try base.activeAlerts() }
    func lastAlertEventID() throws(StoreError) -> AlertEventID? { try base.lastAlertEventID() }
}

/// Runs `body` with a new SQLite store in a new directory, then closes and removes it.
func withSQLiteStore<T>(_ body: (SQLiteStore) throws -> T) throws -> T {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let store = try SQLiteStore(path: directory.path("streetsense.sqlite"))
    defer { try? store.close() }
    return try body(store)
}

private func readings(_ count: Int, ref: Int32 = 10, from start: Double = 0) -> StoreBatch {
    StoreBatch(readings: (0..<count).map { StoredReading(sensorRef: ref, metric: .people, time: at(start + Double($0)), value: Double($0)) })
}

extension IngestQueue {
    /// Appends a native reading of `sensor` arriving at its own time.
    func append(_ sensor: SensorAddress, _ time: EventTime, _ values: [(String, String)]) {
        let topicBytes = Array(topic(sensor).utf8), payload = Array(native(time, values).utf8)
        append(topic: topicBytes.span, payload: payload.span, arrival: time)
    }
}

@Suite("PipelineRunner and StoreWriter against a real SQLite store")
struct RunnerAndWriterTests {
    @Test("snapshots keep their interval unless building one takes over a twentieth of it, and stretch at most 4×")
    func snapshotDelayBoundsTheSnapshotsShare() {
        let interval = Duration.milliseconds(250)
        #expect(PipelineRunner.snapshotDelay(interval: interval, cost: .zero) == interval)
        #expect(PipelineRunner.snapshotDelay(interval: interval, cost: .milliseconds(12)) == interval)
        #expect(PipelineRunner.snapshotDelay(interval: interval, cost: .microseconds(12_500)) == interval)
        #expect(PipelineRunner.snapshotDelay(interval: interval, cost: .milliseconds(50)) == .seconds(1))
        #expect(PipelineRunner.snapshotDelay(interval: .milliseconds(10), cost: .milliseconds(1)) == .milliseconds(20))
        #expect(PipelineRunner.snapshotDelay(interval: interval, cost: .milliseconds(300)) == .seconds(1))
    }

    @Test("queued messages are processed, published in snapshots and committed by the time finish() returns")
    func endToEnd() throws {
        try withSQLiteStore { store throws in
            let records = try store.syncRegistry(zones: testZones, sensors: testSensors)
            let writer = StoreWriter(store: store, capacity: 2, logger: quietLogger)
            writer.start()
            let pipeline = try Pipeline(
                zones: testZones, sensors: testSensors, records: records,
                options: PipelineOptions(storeBatchRows: 64, storeBatchInterval: .milliseconds(20), snapshotInterval: .milliseconds(10), followsWallClock: false),
                logger: quietLogger, deliver: { writer.submit($0) })
            let queue = IngestQueue(maximumMessages: 32)
            let snapshots = SnapshotBox()
            let ticks = Mutex(0)
            let runner = PipelineRunner(pipeline: pipeline, queue: queue, snapshots: snapshots, tickInterval: .milliseconds(5),
                                        afterTick: { _ in ticks.withLock { $0 += 1 } })
            // The runner publishes the state it starts from.
            #expect(snapshots.publishedCount == 1)
            runner.start()

            let stranger = SensorAddress(pilot: "guest", sensor: "cam-x")
            for i in 0..<600 { queue.append(camera.address, at(Double(i) * 0.5), [("people", "\(i % 50)")]) }
            queue.append(stranger, at(300), [("people", "5")])
            let badTopic = Array("streetsense/v1/readings/oops".utf8), badPayload = Array("{}".utf8)
            queue.append(topic: badTopic.span, payload: badPayload.span, arrival: at(300))
            // Snapshots are published while the runner works.
            #expect(eventually { snapshots.snapshot().totals.messages == 602 })
            #expect(snapshots.snapshot().sensor(camera.address)?.metrics.first?.last == 49)  // 599 % 50
            #expect(eventually { ticks.withLock { $0 } > 0 })

            // Everything queued before finish() is processed before it returns.
            for i in 600..<1200 { queue.append(parkCamera.address, at(Double(i) * 0.5), [("people", "\(i)")]) }
            runner.finish()
            let final = snapshots.snapshot()
            #expect(final.totals.messages == 1202)
            #expect(final.totals.accepted == 1201)
            #expect(final.sensor(parkCamera.address)?.metrics.first?.last == 1199)
            writer.finish()

            #expect(try store.storedReadingCount() == 1201)
            let statistics = writer.currentStatistics
            #expect(statistics.readingsCommitted == 1201)
            #expect(statistics.rejectsCommitted == 1)
            #expect(statistics.failedAttempts == 0)
            #expect(statistics.writable)
            #expect(try store.rejects(pilot: nil, reason: .badTopic, before: nil, limit: 10).count == 1)
            let strangerRecord = try #require(try store.sensors().first { $0.address == stranger })
            #expect(strangerRecord.ref == records.map(\.ref).max()! + 1)
            #expect(!strangerRecord.registered)
            // The final flush included every rollup: the camera's 600 readings, minute by minute.
            let cameraRef = try #require(records.first { $0.address == camera.address }?.ref)
            let series = try store.rollupSeries(sensorRef: cameraRef, metric: .people, from: at(0), to: at(3600), step: .seconds(60))
            #expect(series.map(\.count) == [120, 120, 120, 120, 120])
            #expect(series.reduce(0) { $0 + $1.sum } == Double((0..<600).reduce(0) { $0 + $1 % 50 }))
        }
    }

    @Test("a write that fails N times is retried until it commits, exactly once; writable goes false, then true")
    func retryUntilCommitted() throws {
        try withSQLiteStore { base throws in
            let store = FailingThenWorkingStore(base: base, failures: 3)
            let writer = StoreWriter(store: store, logger: quietLogger)
            store.writer.withLock { $0 = writer }
            writer.start()
            writer.submit(readings(25))
            writer.submit(readings(5, from: 100))
            writer.finish()

            #expect(store.attempts == 5)
            #expect(store.committedBatchSizes == [25, 5])
            #expect(try base.storedReadingCount() == 30)
            let before = store.statisticsBeforeAttempt
            #expect(before.map(\.writable) == [true, false, false, false, true])
            #expect(before.map(\.failedAttempts) == [0, 1, 2, 3, 3])
            #expect(before[1].lastError?.contains("injected") == true)
            #expect(before.map(\.batchesCommitted) == [0, 0, 0, 0, 1])
            let after = writer.currentStatistics
            #expect(after.failedAttempts == 3)
            #expect(after.batchesCommitted == 2)
            #expect(after.readingsCommitted == 30)
            #expect(after.writable)
            #expect(after.lastError == nil)
        }
    }

    @Test("waitUntilIdle returns once every submitted batch is committed, even one that is being retried")
    func waitUntilIdleMeansCommitted() throws {
        try withSQLiteStore { base throws in
            let store = FailingThenWorkingStore(base: base, failures: 2)
            let writer = StoreWriter(store: store, logger: quietLogger)
            writer.start()
            writer.submit(readings(10))
            writer.waitUntilIdle()
            #expect(writer.currentStatistics.batchesCommitted == 1)
            #expect(try base.storedReadingCount() == 10)
            writer.waitUntilIdle()  // idle: returns at once
            writer.finish()
        }
    }

    @Test("after finish() the writer refuses batches (and logs it): nothing is queued or written")
    func submitAfterFinish() throws {
        try withSQLiteStore { store throws in
            let writer = StoreWriter(store: store, logger: quietLogger)
            writer.start()
            writer.finish()
            writer.submit(readings(3))
            #expect(writer.queuedBatches == 0)
            #expect(try store.storedReadingCount() == 0)
        }
    }
}
