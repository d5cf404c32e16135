import StreetSenseCore
import Synchronization

/// The newest published ``Snapshot``, shared by the snapshot publisher (which replaces it a few times a second)
/// and any number of HTTP readers (which copy it out). The lock is held only for a reference copy, and never
/// by the pipeline thread: it hands its changes to the ``SnapshotPublisher``.
///
/// Replaced snapshots are kept for ``retiredKept`` more publications before the publishing thread drops them. A
/// reader that copied a snapshot out therefore almost never holds its last reference, and so never pays for
/// freeing tens of thousands of sensor pictures in the middle of an HTTP request (which showed as a p99 tail);
/// a reader that keeps one longer than that still frees it correctly, only on its own thread.
public final class SnapshotBox: Sendable {
    private let current: Mutex<Snapshot>
    private let version = Atomic<Int>(0)
    /// Replaced snapshots, oldest first, freed by the publishing thread once more than ``retiredKept`` wait.
    private let retired = Mutex<[Snapshot]>([])
    /// Publications a replaced snapshot outlives (at the 250 ms default interval, 0.5 s).
    public static let retiredKept = 2

    public init(_ initial: Snapshot = .empty) {
        current = Mutex(initial)
    }

    /// The newest snapshot.
    public func snapshot() -> Snapshot { current.withLock { $0 } }

    /// How many snapshots have been published (readers use it to cache encodings).
    public var publishedCount: Int { version.load(ordering: .acquiring) }

    /// Replaces the snapshot.
    public func publish(_ snapshot: Snapshot) {
        let replaced = current.withLock { current in
            defer { current = snapshot }
            return current
        }
        version.add(1, ordering: .releasing)
        // Dropped here, after both locks: the publishing thread frees it (unless a reader still holds it).
        let expired: Snapshot? = retired.withLock { retired in
            retired.append(replaced)
            return retired.count > Self.retiredKept ? retired.removeFirst() : nil
        }
        _ = expired
    }
}
