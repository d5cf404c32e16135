import DequeModule

/// A FIFO queue of at most `capacity` elements that makes room by dropping its oldest element, and counts what
/// it dropped. It is how a slow delivery channel keeps bounded memory without ever slowing whoever appends.
///
/// Invariants: `count <= capacity`; elements leave in the order they were appended; `dropped` counts every
/// element that left without being taken by ``popFirst()``.
public struct DropOldestQueue<Element> {
    public let capacity: Int
    private var elements: Deque<Element> = []
    /// Elements dropped to make room, since the queue was made.
    public private(set) var dropped = 0

    /// - Parameter capacity: at least 1.
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    public var count: Int { elements.count }
    public var isEmpty: Bool { elements.isEmpty }
    /// The oldest element, if any.
    public var first: Element? { elements.first }

    /// Appends `element`, dropping the oldest first when the queue is full; returns the dropped element.
    @discardableResult
    public mutating func append(_ element: Element) -> Element? {
        var droppedElement: Element?
        if elements.count >= capacity {
            droppedElement = elements.removeFirst()
            dropped += 1
        }
        elements.append(element)
        return droppedElement
    }

    /// Removes and returns the oldest element.
    public mutating func popFirst() -> Element? { elements.popFirst() }
}

extension DropOldestQueue: Sendable where Element: Sendable {}
