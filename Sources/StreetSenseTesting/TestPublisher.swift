import MosquittoBroker
import Mosquitto

/// A publishing `MosquittoClient` for tests: connect, publish payloads at any QoS, and wait until the
/// broker has acknowledged every QoS 1 message before looking at what subscribers got.
public final class TestPublisher: Sendable {
    public let client: MosquittoClient
    /// Every connection event of `client`.
    public let events: ConnectionEventLog

    /// Creates the client; nothing is sent before `start(timeout:)`.
    public init(configuration: MosquittoClient.Configuration) throws {
        let events = ConnectionEventLog()
        self.client = try MosquittoClient(configuration: configuration, onConnectionEvent: { events.record($0) })
        self.events = events
    }

    /// A started publisher on `broker`, with a fresh session and its own client id.
    public static func connected(
        to broker: TestBroker,
        protocolVersion: MosquittoClient.Configuration.ProtocolVersion = .v311,
        maxInflightMessages: Int = 100,
        timeout: Duration = .seconds(30)
    ) async throws -> TestPublisher {
        var configuration = broker.clientConfiguration(
            clientID: TestBroker.uniqueClientID("publisher"), cleanSession: true, protocolVersion: protocolVersion)
        configuration.maxInflightMessages = maxInflightMessages
        let publisher = try TestPublisher(configuration: configuration)
        try await publisher.start(timeout: timeout)
        return publisher
    }

    /// Connects and waits for the CONNACK.
    public func start(timeout: Duration = .seconds(30)) async throws {
        try client.start()
        try await client.waitUntilConnected(timeout: timeout)
    }

    /// Publishes one message and returns its message id.
    @discardableResult
    public func publish(topic: String, payload: [UInt8], qos: QualityOfService = .atLeastOnce, retain: Bool = false) throws -> Int {
        try client.publish(topic: topic, payload: payload, qos: qos, retain: retain)
    }

    /// Publishes a UTF-8 text payload and returns its message id.
    @discardableResult
    public func publish(topic: String, text: String, qos: QualityOfService = .atLeastOnce, retain: Bool = false) throws -> Int {
        try client.publish(topic: topic, payload: Array(text.utf8), qos: qos, retain: retain)
    }

    /// Waits until the broker acknowledged every QoS 1 and 2 message published so far.
    public func waitForAcknowledgements(timeout: Duration = .seconds(10)) async throws {
        try await client.waitForAcknowledgements(timeout: timeout)
    }

    /// Disconnects and stops the client's network thread.
    public func stop() { client.stop() }
}
