import Foundation
import Logging
import StreetSenseAlerts
import StreetSenseCore
import Synchronization

/// The single owner of the aggregation state: a thread that takes message batches from the ``IngestQueue``,
/// runs them through the ``Pipeline``, ticks event time from the wall clock, and takes the snapshot changes
/// that a second thread (``SnapshotPublisher``) assembles and publishes.
///
/// Only this thread touches the pipeline after ``start()``; everyone else reads the ``SnapshotBox``.
public final class PipelineRunner: @unchecked Sendable {
    // @unchecked: `pipeline` is confined to the runner thread once started (the initializer hands it over and
    // never touches it again); `queue`, `snapshots`, `publisher` and `stopped` are thread safe.
    private let pipeline: Pipeline
    public let queue: IngestQueue
    public let snapshots: SnapshotBox
    private let tickInterval: Duration
    private let done = DispatchSemaphore(value: 0)
    private let publisher: SnapshotPublisher
    /// Work for the runner thread from other threads (operators' acknowledgements), run between batches.
    private let commands = Mutex<(list: [@Sendable (Pipeline) -> Void], finished: Bool)>(([], false))

    /// - Parameter afterTick: runs on the snapshot publisher's thread after each snapshot is published.
    public init(pipeline: Pipeline, queue: IngestQueue, snapshots: SnapshotBox, tickInterval: Duration = .milliseconds(50),
                afterTick: (@Sendable (Snapshot) -> Void)? = nil) {
        self.pipeline = pipeline
        self.queue = queue
        self.snapshots = snapshots
        self.tickInterval = tickInterval
        publisher = SnapshotPublisher(box: snapshots, afterPublish: afterTick)
        publisher.publishNow(pipeline.snapshotChanges())
    }

    /// Starts the threads.
    public func start() {
        publisher.start()
        let thread = Thread { [self] in run() }
        thread.name = "streetsense-pipeline"
        thread.start()
    }

    /// Processes everything already queued, flushes the store batch, publishes a final snapshot and returns.
    /// Close the producer (the MQTT client) first, so nothing arrives after.
    public func finish() {
        queue.close()
        done.wait()
        done.signal()
    }

    /// Acknowledges an active alert on the runner thread (the only thread that may touch the alert engine),
    /// at the pipeline's event time; the event is stored with the next batch and sent on the live feed at once.
    /// A new snapshot follows right away so listings show the acknowledgement.
    public func acknowledge(alertID: AlertID, by operatorName: String, note: String?) async throws(AlertError) -> AlertEvent {
        let result: Result<AlertEvent, AlertError> = await withCheckedContinuation { continuation in
            let accepted = commands.withLock { state -> Bool in
                guard !state.finished else { return false }
                state.list.append { [publisher] pipeline in
                    do throws(AlertError) {
                        let event = try pipeline.acknowledge(alertID: alertID, by: operatorName, note: note)
                        publisher.submit(pipeline.snapshotChanges()) { continuation.resume(returning: .success(event)) }
                    } catch {
                        continuation.resume(returning: .failure(error))
                    }
                }
                return true
            }
            if accepted {
                queue.wake()
            } else {
                continuation.resume(returning: .failure(AlertError(.stopping, alertID: alertID, "the service is shutting down")))
            }
        }
        return try result.get()
    }

    private func runCommands(final: Bool = false) {
        let pending = commands.withLock { state -> [@Sendable (Pipeline) -> Void] in
            defer { state.list.removeAll() }
            if final { state.finished = true }
            return state.list
        }
        for command in pending { command(pipeline) }
    }

    private func run() {
        var recycled: MessageBatch?
        var nextTick = ContinuousClock.now + tickInterval
        var nextSnapshot = ContinuousClock.now + pipeline.options.snapshotInterval
        while true {
            // Sleep until the first of: a message, a command, the next tick, the next snapshot, or the store
            // batch's deadline. The deadline is its own wake-up, so a batch (an alert event's, say) is handed
            // to the writer `storeBatchInterval` after its first row whatever the tick interval is and
            // whether or not more messages arrive.
            var deadline = min(nextTick, nextSnapshot)
            if let due = pipeline.storeBatchDeadline { deadline = min(deadline, due) }
            let wait = max(.zero, ContinuousClock.now.duration(to: deadline))
            if let batch = queue.take(recycling: &recycled, timeout: wait) {
                pipeline.process(batch)
                recycled = batch
            } else if queue.isClosedAndEmpty {
                break
            }
            runCommands()
            let now = ContinuousClock.now
            if now >= nextTick {
                pipeline.tick(wallClock: .now)
                nextTick = now + tickInterval
            }
            pipeline.flushIfDue(now: now)
            if now >= nextSnapshot {
                publisher.submit(pipeline.snapshotChanges())
                let finished = ContinuousClock.now
                nextSnapshot = finished + Self.snapshotDelay(interval: pipeline.options.snapshotInterval, cost: now.duration(to: finished))
            }
        }
        runCommands(final: true)
        pipeline.tick(wallClock: .now)
        pipeline.flush(final: true)
        publisher.submit(pipeline.snapshotChanges())
        publisher.finish()
        done.signal()
    }
}

extension PipelineRunner {
    /// How much of the pipeline thread snapshots should take at most: a snapshot that took `cost` is followed
    /// by the next one no sooner than `cost × snapshotCostFactor` later …
    public static let snapshotCostFactor = 20
    /// … but never more than this many configured intervals later, so readers' data stays fresh.
    public static let snapshotStretchLimit = 4

    /// The time from the end of one snapshot to the next: the configured interval, stretched when building the
    /// snapshot took long (thousands of sensors changing between snapshots under a burst), so that snapshots
    /// take at most 1 / ``snapshotCostFactor`` of the thread that ingests, up to ``snapshotStretchLimit``
    /// intervals (1 s at the default 250 ms). Readers then see slightly older data during the burst instead of
    /// ingestion slowing down.
    public static func snapshotDelay(interval: Duration, cost: Duration) -> Duration {
        min(max(interval, cost * snapshotCostFactor), interval * snapshotStretchLimit)
    }
}

extension EventTime {
    /// The wall clock.
    public static var now: EventTime {
        EventTime(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded()))
    }
}
