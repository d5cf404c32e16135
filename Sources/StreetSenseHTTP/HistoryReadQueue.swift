import Dispatch
import Synchronization

/// Runs blocking history reads (SQLite) on a few serial dispatch queues of its own, so that they never
/// occupy an event loop or a thread of Swift's cooperative pool, and at most `width` run at once.
final class HistoryReadQueue: Sendable {
    private let queues: [DispatchQueue]
    private let next = Mutex(0)

    init(width: Int = 4) {
        queues = (0..<Swift.max(1, width)).map { DispatchQueue(label: "streetsense.http.history.\($0)") }
    }

    /// Runs `body` on one of the queues (round robin) and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let queue = next.withLock { index in
            defer { index = index + 1 == queues.count ? 0 : index + 1 }
            return queues[index]
        }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
