import StreetSenseAlerts
import StreetSenseCore
import StreetSensePipeline
import StreetSenseStore
import Testing

/// A store batch is handed to the writer `storeBatchInterval` (`store.batch_max_ms`) after its first row,
/// whether or not more messages arrive and whatever the runner's tick interval is: this is what bounds how
/// long an alert event or a reading waits in memory before its commit.
@Suite("Store batch deadline")
struct StoreBatchDeadlineTests {
    /// An SDS011 error code from the registered air station: one `error_code` reject and a `sensor_faulty` alert.
    private func sendErrorCode(_ pipeline: Pipeline) {
        pipeline.send(air, t0, [("pm2_5", "999.9")])
    }

    @Test("the deadline is the first row's time plus the interval; flushIfDue hands the batch over at it, not before")
    func deadlineWithAnInjectedInstant() throws {
        let delivered = DeliveredBatches()
        let pipeline = try Pipeline(
            zones: testZones, sensors: testSensors, records: testRecords,
            options: PipelineOptions(storeBatchInterval: .milliseconds(50), followsWallClock: false),
            logger: quietLogger, deliver: { delivered.append($0) })
        #expect(pipeline.storeBatchDeadline == nil)

        let before = ContinuousClock.now
        sendErrorCode(pipeline)
        let after = ContinuousClock.now
        let deadline = try #require(pipeline.storeBatchDeadline)
        #expect(deadline >= before + .milliseconds(50) && deadline <= after + .milliseconds(50))

        pipeline.flushIfDue(now: deadline - .microseconds(1))
        #expect(delivered.all.isEmpty)
        pipeline.flushIfDue(now: deadline)
        #expect(delivered.all.count == 1)
        let batch = try #require(delivered.all.first)
        #expect(batch.alertEvents.map(\.rule) == [.sensorFaulty])
        #expect(batch.alertEvents.map(\.transition) == [.raised])
        #expect(batch.rejects.map(\.reason) == [.errorCode])
        #expect(pipeline.storeBatchDeadline == nil)
    }

    @Test("the runner commits a batch holding an alert event with no further message and a tick an hour away")
    func runnerFlushesOnTheBatchDeadline() throws {
        try withSQLiteStore { store throws in
            let records = try store.syncRegistry(zones: testZones, sensors: testSensors)
            let writer = StoreWriter(store: store, capacity: 2, logger: quietLogger)
            writer.start()
            let pipeline = try Pipeline(
                zones: testZones, sensors: testSensors, records: records,
                options: PipelineOptions(storeBatchInterval: .milliseconds(50), snapshotInterval: .seconds(3600), followsWallClock: false),
                logger: quietLogger, deliver: { writer.submit($0) })
            let queue = IngestQueue()
            // Neither the tick nor the snapshot can be what hands the batch over within the wait below.
            let runner = PipelineRunner(pipeline: pipeline, queue: queue, snapshots: SnapshotBox(), tickInterval: .seconds(3600))
            runner.start()

            queue.append(air.address, t0, [("pm2_5", "999.9")])
            // Generous: the machine may be loaded; the point is that it happens at all without a tick.
            #expect(eventually(timeout: .seconds(60)) { writer.currentStatistics.batchesCommitted == 1 })
            #expect(try store.lastAlertEventID() == AlertEventID(1))
            #expect(writer.currentStatistics.rejectsCommitted == 1)

            runner.finish()
            writer.finish()
            #expect(try store.lastAlertEventID() == AlertEventID(1))
        }
    }
}
