import StreetSenseCore
import Synchronization

/// The newest published ``Snapshot``, shared by the snapshot publisher (which replaces it a few times a second)
/// and any number of HTTP readers (which copy it out). The lock is held only for a reference copy, and never
/// by the pipeline thread: it hands its changes to the ``SnapshotPublisher``.
public final class SnapshotBox: Sendable {
    private let current: Mutex<Snapshot>
    private let version = Atomic<Int>(0)

    public init(_ initial: Snapshot = .empty) {
        current = Mutex(initial)
    }

    /// The newest snapshot.
    public func snapshot() -> Snapshot { current.withLock { $0 } }

    /// How many snapshots have been published (readers use it to cache encodings).
    public var publishedCount: Int { version.load(ordering: .acquiring) }

    /// Replaces the snapshot.
    public func publish(_ snapshot: Snapshot) {
        current.withLock { $0 = snapshot }
        version.add(1, ordering: .releasing)
    }
}
