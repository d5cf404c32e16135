import Foundation

/// A bounded first-in first-out queue between two threads whose producer waits when it is full.
///
/// Used between the pipeline thread and the store writer: when SQLite falls behind, the pipeline waits, the
/// ingest queue fills, and the broker holds the backlog; memory stays bounded at `capacity` elements.
public final class BoundedQueue<Element: Sendable>: @unchecked Sendable {
    // @unchecked: every mutable field is guarded by `condition`.
    private let condition = NSCondition()
    private var items: [Element] = []
    private var head = 0
    private var closed = false
    public let capacity: Int

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Appends, waiting while full. Returns false if the queue is closed.
    @discardableResult
    public func put(_ element: Element) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !closed, items.count - head >= capacity { condition.wait() }
        guard !closed else { return false }
        items.append(element)
        condition.broadcast()
        return true
    }

    /// Removes the oldest element, waiting for one; nil once closed and empty.
    public func take() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while items.count == head {
            if closed { return nil }
            condition.wait()
        }
        let element = items[head]
        head += 1
        if head > 64, head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        condition.broadcast()
        return element
    }

    /// Elements waiting.
    public var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return items.count - head
    }

    /// Waits until every element put so far has been taken (or the queue closes).
    public func waitUntilEmpty() {
        condition.lock()
        defer { condition.unlock() }
        while items.count > head, !closed { condition.wait() }
    }

    /// Wakes everyone; `put` fails from now on and `take` drains what is left.
    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
