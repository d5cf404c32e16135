import MosquittoBroker
import Mosquitto
import StreetSenseTesting
import Testing

extension BrokerTests {
    @Suite("ACL denials")
    struct AccessControlTests {
        /// REFERENCES: with MQTT 3.1.1 a publish the ACL denies still gets a normal PUBACK; MQTT 5 answers
        /// with reason code 135, which the client counts in `rejectedPublishCount`.
        @Test("a denied publish is acknowledged either way, and only MQTT 5 says it was refused",
              arguments: [(MosquittoClient.Configuration.ProtocolVersion.v311, 0), (.v5, 1)])
        func deniedPublish(version: MosquittoClient.Configuration.ProtocolVersion, expectedRejections: Int) async throws {
            // Rules before any `user` line apply to anonymous clients.
            let broker = try await TestBroker.start(.init(aclRules: ["topic readwrite allowed/#"]))
            let subscriber = try TestSubscriber(configuration: broker.clientConfiguration(cleanSession: true))
            defer { subscriber.stop() }
            try await subscriber.start(subscribingTo: ["allowed/#"])
            let publisher = try await TestPublisher.connected(to: broker, protocolVersion: version)
            defer { publisher.stop() }

            try publisher.publish(topic: "denied/sensor-1", text: "dropped")
            try publisher.publish(topic: "allowed/sensor-1", text: "delivered")
            try await publisher.waitForAcknowledgements()
            #expect(publisher.client.unacknowledgedPublishCount == 0)
            #expect(publisher.client.rejectedPublishCount == expectedRejections)
            let received = try await subscriber.waitForMessages(count: 1, timeout: .seconds(30))
            #expect(received.map(\.topic) == ["allowed/sensor-1"])
        }
    }
}
