import Foundation
import StreetSenseCore
import Synchronization

/// Assembles ``Snapshot``s from the pipeline's ``SnapshotChanges`` on a thread of its own and publishes them in
/// the ``SnapshotBox``, so the pipeline thread pauses only to build what changed: copying the sensor and zone
/// lists that HTTP readers share, and freeing the previous ones, happen here.
///
/// Changes are applied in the order submitted, each once; when several wait, all are applied and only the
/// newest snapshot is published. A submission's completion runs after the snapshot that includes it is
/// published.
final class SnapshotPublisher: @unchecked Sendable {
    // @unchecked: `assembly` is used by `publishNow` before `start()` and only by the publisher thread after;
    // `pending` is behind its mutex; the semaphores are thread safe.
    private var assembly = SnapshotAssembly()
    private let box: SnapshotBox
    private let afterPublish: (@Sendable (Snapshot) -> Void)?
    /// Changes are optional only so that the thread can take each out of the list (handing it over whole lets
    /// the assembly move its pictures instead of copying them).
    private let pending = Mutex<(items: [(changes: SnapshotChanges?, completion: (@Sendable () -> Void)?)], closed: Bool)>(([], false))
    private let wakeup = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)

    init(box: SnapshotBox, afterPublish: (@Sendable (Snapshot) -> Void)?) {
        self.box = box
        self.afterPublish = afterPublish
    }

    /// Assembles and publishes on the caller's thread. Only before ``start()``.
    func publishNow(_ changes: SnapshotChanges) {
        box.publish(assembly.apply(changes))
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "streetsense-snapshots"
        thread.start()
    }

    /// Queues changes for the publisher thread; returns at once (the queue's lock is held only to append).
    func submit(_ changes: SnapshotChanges, then completion: (@Sendable () -> Void)? = nil) {
        pending.withLock { $0.items.append((changes, completion)) }
        wakeup.signal()
    }

    /// Publishes everything submitted so far, then stops the thread and returns.
    func finish() {
        pending.withLock { $0.closed = true }
        wakeup.signal()
        stopped.wait()
    }

    private func run() {
        while true {
            wakeup.wait()
            var items: [(changes: SnapshotChanges?, completion: (@Sendable () -> Void)?)] = []
            let closed = pending.withLock { state in
                swap(&items, &state.items)
                return state.closed
            }
            var newest: Snapshot?
            for i in items.indices { newest = assembly.apply(items[i].changes.take()!) }
            if let newest {
                box.publish(newest)
                afterPublish?(newest)
            }
            for item in items { item.completion?() }
            if closed { break }
        }
        stopped.signal()
    }
}
