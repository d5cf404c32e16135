import Logging
import Mosquitto
import ServiceLifecycle
import StreetSenseAlerts
import Synchronization

/// What ``AlertMQTTPublisher`` publishes through: the service's existing MQTT connection. `MosquittoClient`
/// conforms as it is, so the app hands over its ingest client; tests may pass their own.
public protocol AlertMessagePublishing: Sendable {
    /// Whether the broker has accepted the current connection.
    var isConnected: Bool { get }
    /// Queues one message; throws when the client refuses it.
    @discardableResult
    func publish(topic: String, payload: [UInt8], qos: QualityOfService, retain: Bool) throws -> Int
}

extension MosquittoClient: AlertMessagePublishing {}

/// Publishes every alert transition of an ``AlertFeed`` on MQTT: QoS 1, retained, on
/// `{prefix}/alerts/{subject_kind}/{subject_id}` (``AlertTopic``), with the CloudEvents JSON envelope
/// (``AlertCloudEvent``) as payload. The retained message of a subject is therefore its newest transition, and a
/// cleared alert stays retained as cleared.
///
/// It runs on its own task (``run()``), reading its own feed subscription into a bounded queue, so it never slows
/// the pipeline. While the client is disconnected it keeps the events (at most `queueCapacity`, the oldest
/// dropped and counted first) and publishes them in order once the client has reconnected, checking every
/// `retryInterval`. A publish the connected client refuses (an invalid topic, a payload too large) is counted
/// as failed and not retried. Invariant: events are published in id order, each at most once.
public final class AlertMQTTPublisher: Service, Sendable {
    /// Counters since start, as one consistent snapshot.
    public typealias Statistics = MQTTAlertStatistics

    private struct Counters {
        var published = 0
        var failed = 0
        /// The event being published (taken from the queue, not yet handed to the client).
        var held: AlertEvent?
        var lastError: String?
    }

    public let prefix: String
    public let source: String
    private let client: any AlertMessagePublishing
    private let feed: AlertFeed
    private let inbox: EventInbox
    private let retryInterval: Duration
    private let bufferLimit: Int
    private let logger: Logger
    private let counters = Mutex(Counters())
    private let lifecycle = DeliveryRun()

    /// - Parameters:
    ///   - client: the connection to publish through (the service's `MosquittoClient`).
    ///   - feed: the live alert events.
    ///   - prefix: the topic prefix, e.g. `streetsense/v1`.
    ///   - source: the CloudEvents `source` of every envelope.
    ///   - queueCapacity: events kept while disconnected (at least 1).
    ///   - retryInterval: how often a disconnected client is checked again.
    public init(
        client: any AlertMessagePublishing, feed: AlertFeed, prefix: String, source: String = "/streetsense",
        queueCapacity: Int = 10_000, retryInterval: Duration = .milliseconds(250), logger: Logger = Logger(label: "streetsense.alerts.mqtt")
    ) {
        self.client = client
        self.feed = feed
        self.prefix = prefix
        self.source = source
        self.inbox = EventInbox(capacity: queueCapacity)
        self.retryInterval = retryInterval
        self.bufferLimit = max(1024, min(queueCapacity, 65_536))
        self.logger = logger
    }

    public var statistics: Statistics {
        let queued = inbox.count
        let dropped = inbox.dropped
        return counters.withLock {
            Statistics(
                published: $0.published, failed: $0.failed, pending: queued + ($0.held == nil ? 0 : 1), dropped: dropped,
                lastError: $0.lastError)
        }
    }

    /// Subscribes to the feed and publishes until ``stop()``, task cancellation or graceful shutdown. Events
    /// published on the feed after `run()` started are delivered; on the way out, what is still queued is handed
    /// to the client if it is connected.
    public func run() async {
        await lifecycle.run { await self.deliver() }
    }

    /// Ends ``run()``.
    public func stop() {
        lifecycle.stop()
    }

    private func deliver() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await pumpFeed(self.feed, into: self.inbox, bufferLimit: self.bufferLimit) }
            group.addTask { await self.publishLoop() }
        }
        // Stopped: hand what is left to the client if it is connected, without waiting for a connection.
        guard client.isConnected else { return }
        if let held = counters.withLock({ $0.held }), publish(held) != .waitForConnection {
            counters.withLock { $0.held = nil }
        }
        while client.isConnected, let event = inbox.popFirst() {
            _ = publish(event)
        }
    }

    private func publishLoop() async {
        while let event = await inbox.next() {
            counters.withLock { $0.held = event }
            while publish(event) == .waitForConnection {
                guard await pause() else { return }
            }
            counters.withLock { $0.held = nil }
        }
    }

    private enum Outcome { case published, refused, waitForConnection }

    /// Publishes `event` if the client is connected.
    private func publish(_ event: AlertEvent) -> Outcome {
        guard client.isConnected else { return .waitForConnection }
        let topic = AlertTopic.topic(for: event.subject, prefix: prefix)
        let payload = Array(AlertCloudEvent.json(event, source: source).utf8)
        do {
            try client.publish(topic: topic, payload: payload, qos: .atLeastOnce, retain: true)
            counters.withLock { $0.published += 1 }
            return .published
        } catch {
            let connected = client.isConnected
            counters.withLock {
                $0.failed += 1
                $0.lastError = "\(error)"
            }
            guard connected else { return .waitForConnection }
            logger.warning("alert event not published: the client refused it", metadata: ["topic": "\(topic)", "error": "\(error)"])
            return .refused
        }
    }

    /// Sleeps one retry interval; false if cancelled.
    private func pause() async -> Bool {
        do {
            try await Task.sleep(for: retryInterval)
            return true
        } catch {
            return false
        }
    }
}
