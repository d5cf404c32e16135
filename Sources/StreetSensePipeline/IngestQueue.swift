import Foundation
import StreetSenseCore

/// Raw MQTT messages copied out of the network thread into one reusable byte arena.
///
/// A batch is filled by the producer (the MQTT network thread), handed whole to the pipeline, processed, cleared
/// and handed back: once its buffers have grown, appending a message allocates nothing. Payloads over the size
/// limit are not copied whole: only their first ``excerptBytes`` are kept, for the rejects table.
public struct MessageBatch: Sendable {
    /// One message's place in the arena.
    public struct Entry: Sendable {
        public var topicStart: Int
        public var topicCount: Int
        public var payloadStart: Int
        /// Bytes kept in the arena (the whole payload, or the excerpt of an oversize one).
        public var payloadCount: Int
        /// The payload's real size.
        public var payloadSize: Int
        public var arrival: EventTime
    }

    /// Bytes of an oversize payload kept for the rejects table.
    public static let excerptBytes = 1024

    public private(set) var bytes: [UInt8] = []
    public private(set) var entries: [Entry] = []

    public init(reservingBytes: Int = 0, messages: Int = 0) {
        bytes.reserveCapacity(reservingBytes)
        entries.reserveCapacity(messages)
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    public var byteCount: Int { bytes.count }

    /// Copies a message in. Payloads larger than `payloadLimit` keep only their first ``excerptBytes`` bytes.
    public mutating func append(topic: Span<UInt8>, payload: Span<UInt8>, arrival: EventTime, payloadLimit: Int) {
        let topicStart = bytes.count
        topic.withUnsafeBufferPointer { bytes.append(contentsOf: $0) }
        let payloadStart = bytes.count
        let kept = payload.count > payloadLimit ? min(payload.count, Self.excerptBytes) : payload.count
        payload.extracting(0..<kept).withUnsafeBufferPointer { bytes.append(contentsOf: $0) }
        entries.append(Entry(topicStart: topicStart, topicCount: topic.count, payloadStart: payloadStart,
                             payloadCount: kept, payloadSize: payload.count, arrival: arrival))
    }

    /// Copies a message in from arrays (tests, replay).
    public mutating func append(topic: [UInt8], payload: [UInt8], arrival: EventTime, payloadLimit: Int) {
        append(topic: topic.span, payload: payload.span, arrival: arrival, payloadLimit: payloadLimit)
    }

    /// Empties the batch, keeping its capacity.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        entries.removeAll(keepingCapacity: true)
    }
}

/// The bounded hand-off from the MQTT network thread to the pipeline thread. The producer waits when it is
/// full; nothing is ever dropped to make room, so a slow pipeline makes the broker hold QoS 1 messages for us.
///
/// Messages are batched across the hand-off: the producer appends to the filling batch under a lock, and the
/// consumer swaps the whole filling batch for an empty one. At low rates a batch holds one message (low
/// latency); under load batches grow up to the limits (throughput).
///
/// Waking a sleeping consumer for each message costs a futex wake and two context switches, more than the
/// pipeline's own work on the message, and on a small machine it takes the core from the broker and the
/// publishers at every message. So while messages arrive closer together than ``busyGap`` (smoothed over the
/// last eight), the consumer naps: it sleeps at most ``napLength`` and is not woken, and a batch collects
/// meanwhile. A message then waits at most one nap longer; at lower rates, and after a pause of one nap, every
/// message wakes the consumer at once, as without naps.
///
/// The default nap, 500 µs, is measured (`streetsense-corebench --only ingest`): at 25 000 messages/s the consumer
/// spent 3.9 µs a message beyond its work with 200 µs naps, 1.9 with 500 and 1.2 with 1 ms, for a wait of 0.14,
/// 0.29 and 0.54 ms at p50 (p99 0.72, 0.61 and 1.11 ms).
public final class IngestQueue: @unchecked Sendable {
    // @unchecked: every mutable field is guarded by `condition`.
    private let condition = NSCondition()
    private var filling: MessageBatch
    private var spare: MessageBatch?
    private var closed = false
    private var waitingProducers = 0
    private var wakeRequested = false

    /// A batch is full at this many messages …
    public let maximumMessages: Int
    /// … or this many bytes.
    public let maximumBytes: Int
    /// Payloads over this size are kept as excerpts and rejected `payload_too_large` downstream.
    public let payloadLimit: Int

    /// Messages closer together than this (on average) make the consumer nap …
    public let busyGap: Duration
    /// … for this long at most.
    public let napLength: Duration
    private let busyGapNanoseconds: UInt64
    private let napNanoseconds: UInt64
    /// Monotonic time of the last message, and the smoothed gap between messages (nanoseconds).
    private var lastArrival: UInt64 = 0
    private var smoothedGap: UInt64 = 1_000_000_000
    /// Whether the consumer is napping (not to be woken by a message).
    private var consumerNapping = false
    private var naps = 0

    private var waits = 0

    public init(
        maximumMessages: Int = 16_384, maximumBytes: Int = 8 << 20, payloadLimit: Int = 65_536,
        busyGap: Duration = .microseconds(50), napLength: Duration = .microseconds(500)
    ) {
        self.maximumMessages = maximumMessages
        self.maximumBytes = maximumBytes
        self.payloadLimit = payloadLimit
        self.busyGap = busyGap
        self.napLength = napLength
        busyGapNanoseconds = UInt64(max(0, busyGap.wholeNanoseconds))
        napNanoseconds = UInt64(max(0, napLength.wholeNanoseconds))
        filling = MessageBatch(reservingBytes: 1 << 16, messages: 256)
        spare = MessageBatch(reservingBytes: 1 << 16, messages: 256)
    }

    /// Appends one message, waiting while the filling batch is full. Returns false if the queue was closed.
    @discardableResult
    public func append(topic: Span<UInt8>, payload: Span<UInt8>, arrival: EventTime) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !closed, filling.count >= maximumMessages || filling.byteCount >= maximumBytes {
            waits += 1
            waitingProducers += 1
            condition.wait()
            waitingProducers -= 1
        }
        guard !closed else { return false }
        let now = DispatchTime.now().uptimeNanoseconds
        let gap = min(now &- lastArrival, 1_000_000_000)
        lastArrival = now
        smoothedGap = smoothedGap - smoothedGap / 8 + gap / 8
        let wasEmpty = filling.isEmpty
        filling.append(topic: topic, payload: payload, arrival: arrival, payloadLimit: payloadLimit)
        if wasEmpty && !consumerNapping { condition.broadcast() }
        return true
    }

    /// Takes everything queued, waiting up to `timeout` for at least one message. `recycled` (the batch the
    /// caller finished with) becomes the next filling batch's spare. Returns nil on timeout or when closed and
    /// drained.
    public func take(recycling recycled: inout MessageBatch?, timeout: Duration) -> MessageBatch? {
        condition.lock()
        defer { condition.unlock() }
        if var r = recycled {
            r.removeAll()
            spare = r
            recycled = nil
        }
        // Exact, not whole milliseconds: a caller waiting 0.9 ms for a deadline must not spin until it passes.
        let (seconds, attoseconds) = timeout.components
        let deadline = Date().addingTimeInterval(Double(seconds) + Double(attoseconds) / 1e18)
        while filling.isEmpty {
            if closed { return nil }
            if wakeRequested {
                wakeRequested = false
                return nil
            }
            // Nap while messages come faster than `busyGap`, unless none came for a nap's length.
            let now = DispatchTime.now().uptimeNanoseconds
            let nap = smoothedGap < busyGapNanoseconds && now &- lastArrival < napNanoseconds
            if nap {
                naps += 1
                consumerNapping = true
                let napEnd = Date().addingTimeInterval(Double(napNanoseconds) / 1e9)
                let woken = condition.wait(until: min(deadline, napEnd))
                consumerNapping = false
                if !woken && Date() >= deadline && filling.isEmpty { return nil }
            } else if !condition.wait(until: deadline) {
                if filling.isEmpty { return nil }
            }
        }
        let taken = filling
        filling = spare ?? MessageBatch(reservingBytes: 1 << 16, messages: 256)
        spare = nil
        if waitingProducers > 0 { condition.broadcast() }
        return taken
    }

    /// Times a producer had to wait for room (backpressure to the broker).
    public var producerWaits: Int {
        condition.lock()
        defer { condition.unlock() }
        return waits
    }

    /// Times the consumer napped instead of sleeping until woken (see the type's comment).
    public var consumerNaps: Int {
        condition.lock()
        defer { condition.unlock() }
        return naps
    }

    /// Messages waiting in the filling batch.
    public var depth: Int {
        condition.lock()
        defer { condition.unlock() }
        return filling.count
    }

    /// Whether the queue was closed and everything in it taken.
    public var isClosedAndEmpty: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closed && filling.isEmpty
    }

    /// Makes a waiting (or the next) ``take(recycling:timeout:)`` return at once, so the consumer can run
    /// other work (an operator's command) without waiting for a message or its timeout.
    public func wake() {
        condition.lock()
        wakeRequested = true
        condition.broadcast()
        condition.unlock()
    }

    /// Stops accepting messages; `take` still returns what was queued, then nil.
    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
