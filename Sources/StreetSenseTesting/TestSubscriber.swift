import MosquittoBroker
import Mosquitto
import Synchronization

/// A subscribing `MosquittoClient` that copies every message it receives into a thread-safe list, for
/// tests to wait on and compare.
public final class TestSubscriber: Sendable {
    /// One received message, copied out of the client's callback.
    public struct Message: Sendable, Hashable, CustomStringConvertible {
        public let topic: String
        public let payload: [UInt8]
        public let qos: QualityOfService
        public let retain: Bool

        public init(topic: String, payload: [UInt8], qos: QualityOfService, retain: Bool = false) {
            self.topic = topic
            self.payload = payload
            self.qos = qos
            self.retain = retain
        }

        public var description: String {
            let text = payload.count <= 64 ? String(decoding: payload, as: UTF8.self) : "\(payload.count) bytes"
            return "\(topic) [\(text)] \(qos)\(retain ? " retained" : "")"
        }
    }

    /// The list the client's message handler appends to.
    private final class Inbox: Sendable {
        let messages = Mutex<[Message]>([])
    }

    public let client: MosquittoClient
    /// Every connection event of `client`.
    public let events: ConnectionEventLog
    private let inbox: Inbox

    /// Creates the client; nothing is sent before `start(subscribingTo:qos:timeout:)`.
    public init(configuration: MosquittoClient.Configuration) throws {
        let events = ConnectionEventLog()
        let inbox = Inbox()
        self.client = try MosquittoClient(
            configuration: configuration,
            onMessage: { message in
                let copy = Message(topic: message.topicString(), payload: message.payloadBytes(), qos: message.qos, retain: message.retain)
                inbox.messages.withLock { $0.append(copy) }
            },
            onConnectionEvent: { events.record($0) })
        self.events = events
        self.inbox = inbox
    }

    /// Connects, subscribes to `filters` and waits until the broker confirmed them.
    public func start(subscribingTo filters: [String], qos: QualityOfService = .atLeastOnce, timeout: Duration = .seconds(30)) async throws {
        for filter in filters { try client.subscribe(filter, qos: qos) }
        try client.start()
        try await client.waitUntilConnected(timeout: timeout)
        try await client.waitForSubscriptions(timeout: timeout)
    }

    /// Connects (resuming the session, if the broker kept one) and waits for the CONNACK.
    public func start(timeout: Duration = .seconds(30)) async throws {
        try client.start()
        try await client.waitUntilConnected(timeout: timeout)
    }

    /// Disconnects and stops the client's network thread.
    public func stop() { client.stop() }

    /// The messages received so far, in arrival order.
    public var messages: [Message] { inbox.messages.withLock { $0 } }

    /// Forgets the messages received so far.
    public func removeAllMessages() { inbox.messages.withLock { $0.removeAll() } }

    /// Waits until at least `count` messages have arrived and returns all of them.
    @discardableResult
    public func waitForMessages(count: Int, timeout: Duration) async throws -> [Message] {
        try await waitUntil("\(count) messages", timeout: timeout, detail: { "received \(self.messages.count)" }) {
            inbox.messages.withLock { $0.count >= count }
        }
        return messages
    }
}
