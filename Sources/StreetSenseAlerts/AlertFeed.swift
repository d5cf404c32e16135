import Synchronization

/// The live feed of alert events: the pipeline thread publishes every event right after the evaluation that
/// produced it (before it is stored), and any number of readers (SSE clients, the MQTT alert publisher, webhook
/// senders) receive them in event-id order, without gaps or repeats.
///
/// The feed keeps the newest `capacity` events in memory. A reader that subscribes after an event id gets
/// what the feed still holds after that id at once (``AlertSubscription/backlog``), then everything later on
/// ``AlertSubscription/events``. When the feed no longer holds every event after that id,
/// ``AlertSubscription/missing`` names the range the reader must read from the store first (those events were
/// published before the ring's oldest, so they are committed or about to be: a reader that finds fewer in
/// the store than the range names waits a moment for the store writer and reads again).
///
/// A reader that falls more than its buffer limit behind is ended (its stream finishes and
/// ``AlertSubscription/endReason`` is ``AlertSubscription/EndReason/tooSlow``); it resumes by subscribing again
/// after the last id it handled. So a stalled reader costs bounded memory and never slows the publisher.
///
/// Invariants: published ids strictly increase (events with an id at or below the newest published one are
/// ignored); every subscriber receives each later event exactly once, in order, or is ended.
/// ``publish(_:)`` never blocks on readers: it takes the feed's lock for the time of a few appends, and is
/// called only when the engine produced events, never per reading.
public final class AlertFeed: Sendable {
    /// One reader's view of the feed.
    struct Reader {
        let continuation: AsyncStream<AlertEvent>.Continuation
        let state: AlertSubscription.State
    }

    struct State {
        var ring: [AlertEvent] = []
        /// Index in `ring` of the oldest event (the ring is full once `ring.count == capacity`).
        var head = 0
        var last: AlertEventID
        var readers: [Int: Reader] = [:]
        var nextReader = 0
    }

    /// How many recent events are kept in memory.
    public let capacity: Int
    private let state: Mutex<State>

    /// - Parameters:
    ///   - capacity: events kept for readers that resume (at least 1).
    ///   - lastEventID: the newest stored event id at start-up; later published events have larger ids.
    public init(capacity: Int = 4096, lastEventID: AlertEventID = AlertEventID(0)) {
        self.capacity = max(1, capacity)
        self.state = Mutex(State(last: lastEventID))
    }

    /// The newest published (or, at start-up, stored) event id.
    public var lastEventID: AlertEventID { state.withLock { $0.last } }

    /// The number of subscribed readers.
    public var readerCount: Int { state.withLock { $0.readers.count } }

    /// Hands events to every reader and keeps them for resuming readers. Events must come in id order;
    /// events at or below the newest published id are ignored.
    public func publish(_ events: some Sequence<AlertEvent>) {
        // Readers that are too slow are finished after the lock is released: finishing runs their
        // termination handler, which takes the lock.
        let tooSlow: [Reader] = state.withLock { state in
            var ended: [Int: Reader] = [:]
            for event in events where event.id > state.last {
                state.last = event.id
                if state.ring.count < capacity {
                    state.ring.append(event)
                } else {
                    state.ring[state.head] = event
                    state.head = (state.head + 1) % capacity
                }
                for (key, reader) in state.readers {
                    switch reader.continuation.yield(event) {
                    case .enqueued: break
                    case .dropped: ended[key] = reader
                    case .terminated: state.readers[key] = nil
                    @unknown default: break
                    }
                }
                for key in ended.keys { state.readers[key] = nil }
            }
            return Array(ended.values)
        }
        for reader in tooSlow {
            reader.state.end(.tooSlow)
            reader.continuation.finish()
        }
    }

    /// Subscribes to every event after `after` (nil: only events published from now on).
    ///
    /// - Parameter bufferLimit: events a reader may fall behind before it is ended as too slow.
    public func subscribe(after: AlertEventID?, bufferLimit: Int = 1024) -> AlertSubscription {
        let (stream, continuation) = AsyncStream<AlertEvent>.makeStream(bufferingPolicy: .bufferingOldest(max(1, bufferLimit)))
        let subscriptionState = AlertSubscription.State()
        return state.withLock { state in
            let key = state.nextReader
            state.nextReader += 1
            var backlog: [AlertEvent] = []
            var missing: ClosedRange<AlertEventID>?
            if let after, after < state.last {
                let ordered = state.ring.count < capacity ? state.ring : Array(state.ring[state.head...] + state.ring[..<state.head])
                backlog = ordered.filter { $0.id > after }
                let firstHeld = backlog.first?.id ?? AlertEventID(state.last.rawValue + 1)
                if firstHeld.rawValue > after.rawValue + 1 {
                    missing = AlertEventID(after.rawValue + 1)...AlertEventID(firstHeld.rawValue - 1)
                }
            }
            state.readers[key] = Reader(continuation: continuation, state: subscriptionState)
            continuation.onTermination = { [weak self] _ in
                _ = self?.state.withLock { $0.readers.removeValue(forKey: key) }
            }
            return AlertSubscription(
                missing: missing, backlog: backlog, events: stream, state: subscriptionState, cancel: { continuation.finish() })
        }
    }
}

/// One reader's subscription to an ``AlertFeed``: first the events to read from the store (``missing``), then
/// ``backlog``, then ``events``, in that order, give every event after the id the reader subscribed after.
public struct AlertSubscription: Sendable {
    /// Why a subscription's stream finished.
    public enum EndReason: Sendable, Hashable {
        /// The reader cancelled (or the feed went away).
        case cancelled
        /// The reader fell more than its buffer limit behind; it should resubscribe after its last id.
        case tooSlow
    }

    final class State: Sendable {
        private let reason = Mutex<EndReason?>(nil)
        func end(_ why: EndReason) { reason.withLock { if $0 == nil { $0 = why } } }
        var endReason: EndReason? { reason.withLock { $0 } }
    }

    /// Event ids the feed no longer holds: read them from the store (`alertEvents(after:)`) before ``backlog``.
    public let missing: ClosedRange<AlertEventID>?
    /// Events the feed held after the subscribed id, oldest first.
    public let backlog: [AlertEvent]
    /// Every event published after the subscription, in order. Finishes on ``cancel()`` or when too slow.
    public let events: AsyncStream<AlertEvent>
    let state: State
    private let cancelAction: @Sendable () -> Void

    init(
        missing: ClosedRange<AlertEventID>?, backlog: [AlertEvent], events: AsyncStream<AlertEvent>, state: State,
        cancel: @escaping @Sendable () -> Void
    ) {
        self.missing = missing
        self.backlog = backlog
        self.events = events
        self.state = state
        self.cancelAction = cancel
    }

    /// Why ``events`` finished (nil while it runs, or when it finished because the reader cancelled).
    public var endReason: EndReason? { state.endReason }

    /// Ends the subscription; ``events`` finishes.
    public func cancel() {
        state.end(.cancelled)
        cancelAction()
    }
}
