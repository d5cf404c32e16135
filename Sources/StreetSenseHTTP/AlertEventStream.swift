import Hummingbird
import Logging
import ServiceLifecycle
import StreetSenseAlerts
import Synchronization

/// How `GET /api/v1/alerts/stream` behaves: heartbeats, how many clients, how far behind one may fall.
public struct AlertStreamSettings: Sendable {
    /// The CloudEvents `source` of every event (a URI reference naming this instance).
    public var cloudEventSource: String
    /// How often a `: heartbeat` comment is sent (it also notices clients that went away).
    public var heartbeatInterval: Duration
    /// Streams served at once; more get a 503 problem with `Retry-After`.
    public var maximumClients: Int
    /// Events a client may fall behind before its response is closed (it resumes with `Last-Event-ID`).
    public var clientBufferLimit: Int
    /// The `Retry-After` of the 503, in seconds.
    public var retryAfterSeconds: Int
    /// How often, and how long apart, a resuming client's events are read again when the store does not have
    /// them all yet (the store writer commits a batch at most every 250 ms).
    public var storeReadAttempts: Int
    public var storeRetryDelay: Duration

    public init(
        cloudEventSource: String = "/streetsense", heartbeatInterval: Duration = .seconds(15), maximumClients: Int = 64,
        clientBufferLimit: Int = 1024, retryAfterSeconds: Int = 5, storeReadAttempts: Int = 10, storeRetryDelay: Duration = .milliseconds(50)
    ) {
        self.cloudEventSource = cloudEventSource
        self.heartbeatInterval = heartbeatInterval
        self.maximumClients = maximumClients
        self.clientBufferLimit = clientBufferLimit
        self.retryAfterSeconds = retryAfterSeconds
        self.storeReadAttempts = storeReadAttempts
        self.storeRetryDelay = storeRetryDelay
    }
}

/// Counts the alert streams being served, so that at most `limit` run at once.
final class StreamClientLimit: Sendable {
    let limit: Int
    private let active = Mutex(0)

    init(limit: Int) { self.limit = max(0, limit) }

    var activeCount: Int { active.withLock { $0 } }

    /// A slot, or nil when `limit` streams are running.
    func acquire() -> StreamSlot? {
        let granted = active.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
        return granted ? StreamSlot(self) : nil
    }

    fileprivate func release() { active.withLock { $0 -= 1 } }
}

/// One stream's place under the limit: released once, explicitly or when it is dropped (a response whose
/// body never ran, as for HEAD).
final class StreamSlot: Sendable {
    private let owner: StreamClientLimit
    private let released = Mutex(false)

    fileprivate init(_ owner: StreamClientLimit) { self.owner = owner }

    func release() {
        let first = released.withLock { done in
            defer { done = true }
            return !done
        }
        if first { owner.release() }
    }

    deinit { release() }
}

/// Writes one client's Server-Sent Events: the events it missed (from the store, then the feed's backlog),
/// then live events, each once and in id order, with heartbeat comments in between.
///
/// Each event is `id: <event id>`, `event: alert`, `data: <AlertCloudEvent JSON>`. The response ends when the
/// client falls too far behind (it resumes with `Last-Event-ID`), when a write fails because the client went
/// away, or when the server shuts down (gracefully: ServiceLifecycle's shutdown handler ends the stream, since
/// Hummingbird waits for open responses); the feed subscription is cancelled in every case.
struct AlertEventStream: Sendable {
    let source: any AlertSource
    let settings: AlertStreamSettings
    let reads: HistoryReadQueue

    /// What the live phase writes.
    private enum Item: Sendable {
        case event(AlertEvent)
        case heartbeat
    }

    func frame(_ event: AlertEvent) -> String {
        "id: \(event.id.rawValue)\nevent: alert\ndata: " + AlertCloudEvent.json(event, source: settings.cloudEventSource) + "\n\n"
    }

    /// Streams every event after `after` (nil: only events published from now on) to `writer`.
    func run(after: AlertEventID?, writer: inout any ResponseBodyWriter, logger: Logger) async throws {
        let feed = source.feed
        let newest = feed.lastEventID
        // An id beyond the newest (a client of an older database) resumes from now: nothing is skipped.
        let resumeAfter = after.map { $0 > newest ? newest : $0 }
        let subscription = feed.subscribe(after: resumeAfter, bufferLimit: settings.clientBufferLimit)
        defer { subscription.cancel() }
        var lastSent = resumeAfter ?? AlertEventID(Int64.min)

        if let missing = subscription.missing {
            try await writeStored(upTo: missing.upperBound, lastSent: &lastSent, writer: &writer, logger: logger)
        }
        var text = ""
        for event in subscription.backlog where event.id > lastSent {
            text += frame(event)
            lastSent = event.id
        }
        if !text.isEmpty { try await writer.write(ByteBuffer(string: text)) }

        let (items, continuation) = AsyncStream<Item>.makeStream(bufferingPolicy: .bufferingOldest(max(1, settings.clientBufferLimit)))
        let tooSlow = SlowClientFlag()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in subscription.events {
                    if case .dropped = continuation.yield(.event(event)) {
                        tooSlow.set()
                        break
                    }
                }
                continuation.finish()
            }
            group.addTask { [interval = settings.heartbeatInterval] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    continuation.yield(.heartbeat)
                }
            }
            do {
                // A stream never ends by itself: end it when the server shuts down gracefully, which waits for
                // every open response.
                try await withGracefulShutdownHandler {
                    for await item in items {
                        switch item {
                        case .event(let event) where event.id > lastSent:
                            try await writer.write(ByteBuffer(string: frame(event)))
                            lastSent = event.id
                        case .event:
                            break
                        case .heartbeat:
                            try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                        }
                    }
                } onGracefulShutdown: {
                    subscription.cancel()
                }
            } catch {
                subscription.cancel()
                group.cancelAll()
                throw error
            }
            subscription.cancel()
            group.cancelAll()
        }
        if tooSlow.isSet || subscription.endReason == .tooSlow {
            logger.info("closing an alert stream that fell behind", metadata: ["last_event_id": "\(lastSent)"])
        }
        try await writer.finish(nil)
    }

    /// Writes the stored events after `lastSent` up to `upperBound`, reading again a few times when the store
    /// does not have them all yet.
    private func writeStored(
        upTo upperBound: AlertEventID, lastSent: inout AlertEventID, writer: inout any ResponseBodyWriter, logger: Logger
    ) async throws {
        let pageSize = 500
        var attempts = 0
        while lastSent < upperBound {
            let from = lastSent
            let page: [AlertEvent]
            do {
                page = try await reads.run { [source] in try source.alertEvents(after: from, limit: pageSize) }
            } catch {
                logger.error("reading stored alert events failed", metadata: ["after": "\(from)", "error": "\(String(reflecting: error))"])
                throw error
            }
            var text = ""
            for event in page where event.id > lastSent && event.id <= upperBound {
                text += frame(event)
                lastSent = event.id
            }
            if !text.isEmpty { try await writer.write(ByteBuffer(string: text)) }
            if lastSent >= upperBound { return }
            if page.count < pageSize || text.isEmpty {
                attempts += 1
                guard attempts < settings.storeReadAttempts else {
                    logger.warning(
                        "the store lacks alert events a resuming client needs; continuing without them",
                        metadata: ["after": "\(lastSent)", "up_to": "\(upperBound)"])
                    return
                }
                try await Task.sleep(for: settings.storeRetryDelay)
            }
        }
    }
}

/// Set by the task that forwards a client's events when the client fell too far behind.
private final class SlowClientFlag: Sendable {
    private let value = Atomic(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}
