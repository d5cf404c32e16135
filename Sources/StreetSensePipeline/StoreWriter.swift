import Foundation
import Logging
import StreetSenseCore
import StreetSenseStore
import Synchronization

/// The single writer of the store: a thread that commits ``StoreBatch``es in order, one transaction each.
///
/// The pipeline hands batches over through a bounded queue (`capacity` batches), so when SQLite falls behind
/// the pipeline waits and the broker holds the backlog; memory stays bounded. A failed commit (disk full, I/O
/// error) is retried with backoff, never skipped: nothing acknowledged to the pipeline is dropped, and
/// readiness reports the store as not writable until a commit succeeds again.
public final class StoreWriter: Sendable {
    /// What the writer has done so far.
    public struct Statistics: Sendable, Hashable {
        public var batchesCommitted = 0
        public var readingsCommitted = 0
        public var rejectsCommitted = 0
        public var failedAttempts = 0
        /// The most recent failure, cleared by the next successful commit.
        public var lastError: String?
        /// Wall time of the most recent commit (seconds).
        public var lastCommitSeconds = 0.0
        public var writable = true
    }

    private let store: any ReadingStore
    private let queue: BoundedQueue<StoreBatch>
    private let logger: Logger
    private let statistics = Mutex(Statistics())
    private let finished = Mutex(false)
    /// Batches submitted and not yet committed (queued, or being written and retried).
    private let uncommitted = UncommittedBatches()
    private let done = DispatchSemaphore(value: 0)
    /// Called after every commit with the batch and the commit's duration (metrics hook).
    private let onCommit: @Sendable (StoreBatch, Duration) -> Void

    public init(store: any ReadingStore, capacity: Int = 8, logger: Logger, onCommit: @escaping @Sendable (StoreBatch, Duration) -> Void = { _, _ in }) {
        self.store = store
        self.queue = BoundedQueue(capacity: capacity)
        self.logger = logger
        self.onCommit = onCommit
    }

    /// Starts the writer thread.
    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = "streetsense-store-writer"
        thread.start()
    }

    /// Queues a batch, waiting while `capacity` batches are already waiting.
    public func submit(_ batch: StoreBatch) {
        uncommitted.add()
        if !queue.put(batch) {
            uncommitted.remove()
            logger.error("store writer is closed; batch not written", metadata: ["readings": .stringConvertible(batch.readings.count)])
        }
    }

    /// Batches waiting to be written.
    public var queuedBatches: Int { queue.count }

    public var currentStatistics: Statistics { statistics.withLock { $0 } }

    /// Waits until every batch submitted so far is committed (a batch being retried is not committed yet).
    public func waitUntilIdle() { uncommitted.waitUntilNone() }

    /// Writes what is queued, then stops the thread and returns.
    public func finish() {
        queue.close()
        done.wait()
        done.signal()
    }

    private func run() {
        while let batch = queue.take() {
            var backoff = 0.05
            while true {
                let start = ContinuousClock.now
                do {
                    try store.write(batch)
                    let elapsed = start.duration(to: .now)
                    statistics.withLock {
                        $0.batchesCommitted += 1
                        $0.readingsCommitted += batch.readings.count
                        $0.rejectsCommitted += batch.rejects.count
                        $0.lastError = nil
                        $0.writable = true
                        $0.lastCommitSeconds = Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds)
                    }
                    onCommit(batch, elapsed)
                    uncommitted.remove()
                    break
                } catch {
                    let message = String(describing: error)
                    let first = statistics.withLock { s -> Bool in
                        let first = s.writable
                        s.failedAttempts += 1
                        s.lastError = message
                        s.writable = false
                        return first
                    }
                    if first { logger.error("store commit failed; retrying the same batch", metadata: ["error": .string(message)]) }
                    Thread.sleep(forTimeInterval: backoff)
                    backoff = min(backoff * 2, 2)
                }
            }
        }
        done.signal()
    }
}

/// Counts the batches a ``StoreWriter`` was given and has not committed yet, so that a caller can wait for it
/// to be idle. Invariant: the count is never negative.
private final class UncommittedBatches: @unchecked Sendable {
    // @unchecked: `count` is guarded by `condition`.
    private let condition = NSCondition()
    private var count = 0

    func add() {
        condition.lock()
        count += 1
        condition.unlock()
    }

    func remove() {
        condition.lock()
        count -= 1
        if count == 0 { condition.broadcast() }
        condition.unlock()
    }

    func waitUntilNone() {
        condition.lock()
        while count > 0 { condition.wait() }
        condition.unlock()
    }
}
