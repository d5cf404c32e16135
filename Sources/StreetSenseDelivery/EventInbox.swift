import StreetSenseAlerts
import Synchronization

/// The bounded queue between an ``AlertFeed`` subscription and one delivery channel: the feed side appends and
/// never waits; the one delivery task takes events in id order and waits while there are none.
///
/// Invariants: at most `capacity` events wait (the oldest is dropped and counted to make room); a single
/// consumer calls ``next()``; after ``close()`` the consumer gets what is left, then nil.
final class EventInbox: Sendable {
    private struct State {
        var queue: DropOldestQueue<AlertEvent>
        /// Events the feed no longer held when the reader resubscribed (counted as dropped).
        var missed = 0
        var waiter: CheckedContinuation<Void, Never>?
        var closed = false

        mutating func takeWaiter() -> CheckedContinuation<Void, Never>? {
            defer { waiter = nil }
            return waiter
        }
    }

    private let state: Mutex<State>

    init(capacity: Int) {
        state = Mutex(State(queue: DropOldestQueue(capacity: capacity)))
    }

    var count: Int { state.withLock { $0.queue.count } }
    var dropped: Int { state.withLock { $0.queue.dropped + $0.missed } }

    /// Adds an event (dropping the oldest waiting one if full) and wakes the consumer.
    func append(_ event: AlertEvent) {
        let waiter = state.withLock { state in
            state.queue.append(event)
            return state.takeWaiter()
        }
        waiter?.resume()
    }

    /// The oldest waiting event, without waiting.
    func popFirst() -> AlertEvent? {
        state.withLock { $0.queue.popFirst() }
    }

    /// Counts events that never reached the inbox.
    func recordMissed(_ count: Int) {
        state.withLock { $0.missed += count }
    }

    /// No more events will come; the consumer drains what is left.
    func close() {
        let waiter = state.withLock { state in
            state.closed = true
            return state.takeWaiter()
        }
        waiter?.resume()
    }

    /// The oldest waiting event; waits while there is none. Nil once closed and empty, or when the task is cancelled.
    func next() async -> AlertEvent? {
        while true {
            if let event = state.withLock({ $0.queue.popFirst() }) { return event }
            if Task.isCancelled || state.withLock({ $0.closed }) { return nil }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state in
                        if !state.queue.isEmpty || state.closed || Task.isCancelled { return true }
                        state.waiter = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                state.withLock { $0.takeWaiter() }?.resume()
            }
        }
    }
}

/// Copies every event of `feed` published after the subscription into `inbox`, until the task is cancelled.
/// A subscription the feed ended as too slow is resumed after the last event copied; events the feed no longer
/// held by then are counted as missed. Closes `inbox` when it returns.
func pumpFeed(_ feed: AlertFeed, into inbox: EventInbox, bufferLimit: Int) async {
    defer { inbox.close() }
    var last: AlertEventID?
    while !Task.isCancelled {
        let subscription = feed.subscribe(after: last, bufferLimit: bufferLimit)
        if let missing = subscription.missing {
            inbox.recordMissed(Int(missing.upperBound.rawValue - missing.lowerBound.rawValue + 1))
        }
        for event in subscription.backlog {
            inbox.append(event)
            last = event.id
        }
        await withTaskCancellationHandler {
            for await event in subscription.events {
                inbox.append(event)
                last = event.id
            }
        } onCancel: {
            subscription.cancel()
        }
        guard subscription.endReason == .tooSlow else { return }
        if last == nil { last = subscription.backlog.last?.id ?? feed.lastEventID }
    }
}
