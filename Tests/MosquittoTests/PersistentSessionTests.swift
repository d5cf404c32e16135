import MosquittoBroker
import Mosquitto
import StreetSenseTesting
import Testing

extension BrokerTests {
    @Suite("Persistent sessions keep QoS 1 messages while the subscriber is away")
    struct PersistentSessionTests {
        static let awayCount = 200

        /// Subscribes with a persistent session, disconnects, lets `awayCount` messages be published, then
        /// reconnects with the same client id (a new client object, no new SUBSCRIBE).
        @Test(
            "the same client id gets every message published while it was away",
            arguments: [MosquittoClient.Configuration.ProtocolVersion.v311, .v5])
        func messagesWhileAway(version: MosquittoClient.Configuration.ProtocolVersion) async throws {
            let broker = try await TestBroker.start()
            let configuration = broker.clientConfiguration(
                clientID: TestBroker.uniqueClientID("persistent"), cleanSession: false, protocolVersion: version,
                sessionExpirySeconds: 300)

            let first = try TestSubscriber(configuration: configuration)
            try await first.start(subscribingTo: ["persist/#"], qos: .atLeastOnce)
            #expect(first.events.all.first == .connected(sessionPresent: false))
            first.stop()

            let publisher = try await TestPublisher.connected(to: broker, protocolVersion: version)
            defer { publisher.stop() }
            let expected = (0..<Self.awayCount).map { "reading-\($0)" }
            for text in expected { try publisher.publish(topic: "persist/sensor-1", text: text) }
            try await publisher.waitForAcknowledgements()

            let second = try TestSubscriber(configuration: configuration)
            defer { second.stop() }
            try await second.start()
            #expect(second.events.all.first == .connected(sessionPresent: true))
            // A marker published after the reconnect arrives after the queued messages: receiving it proves
            // nothing else is still on its way, so "all N, exactly once" is checked without sleeping.
            try publisher.publish(topic: "persist/sensor-1", text: "marker")
            let received = try await second.waitForMessages(count: Self.awayCount + 1, timeout: .seconds(30))
            #expect(received.count == Self.awayCount + 1)
            #expect(received.map { String(decoding: $0.payload, as: UTF8.self) } == expected + ["marker"])
            #expect(received.allSatisfy { $0.qos == .atLeastOnce })
        }

        /// REFERENCES: in MQTT 5, `clean start = false` alone is not enough; without a Session Expiry
        /// Interval above 0 the broker ends the session at disconnect.
        @Test("MQTT 5 without a session expiry interval loses the session at disconnect")
        func mqtt5WithoutSessionExpiry() async throws {
            let broker = try await TestBroker.start()
            let configuration = broker.clientConfiguration(
                clientID: TestBroker.uniqueClientID("no-expiry"), cleanSession: false, protocolVersion: .v5, sessionExpirySeconds: 0)

            let first = try TestSubscriber(configuration: configuration)
            try await first.start(subscribingTo: ["expiry/#"], qos: .atLeastOnce)
            first.stop()

            let publisher = try await TestPublisher.connected(to: broker, protocolVersion: .v5)
            defer { publisher.stop() }
            for index in 0..<20 { try publisher.publish(topic: "expiry/sensor-1", text: "lost-\(index)") }
            try await publisher.waitForAcknowledgements()

            let second = try TestSubscriber(configuration: configuration)
            defer { second.stop() }
            try await second.start(subscribingTo: ["expiry/#"], qos: .atLeastOnce)
            #expect(second.events.all.first == .connected(sessionPresent: false))
            try publisher.publish(topic: "expiry/sensor-1", text: "marker")
            let received = try await second.waitForMessages(count: 1, timeout: .seconds(30))
            #expect(received.map { String(decoding: $0.payload, as: UTF8.self) } == ["marker"])
        }
    }
}
