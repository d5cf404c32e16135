import MosquittoBroker
import Mosquitto
import StreetSenseTesting
import Testing

extension BrokerTests {
    @Suite("Waiting for publish acknowledgements")
    struct AcknowledgementTests {
        @Test("5000 QoS 1 messages are all acknowledged and all delivered, exactly once")
        func fiveThousand() async throws {
            // mosquitto queues at most 1000 messages per client by default and drops the rest when the
            // subscriber falls behind, which a busy 2-core machine can make happen.
            let broker = try await TestBroker.start(.init(maxQueuedMessages: 10_000))
            var configuration = broker.clientConfiguration(cleanSession: true)
            configuration.receiveMaximum = 100
            let subscriber = try TestSubscriber(configuration: configuration)
            defer { subscriber.stop() }
            try await subscriber.start(subscribingTo: ["load/#"], qos: .atLeastOnce)
            let publisher = try await TestPublisher.connected(to: broker, maxInflightMessages: 100)
            defer { publisher.stop() }

            let count = 5_000
            var messageIDs = Set<Int>()
            for index in 0..<count {
                messageIDs.insert(try publisher.publish(topic: "load/sensor-\(index % 10)", text: "message-\(index)"))
            }
            #expect(messageIDs.count == count)  // ids are unique among these 5000
            try await publisher.waitForAcknowledgements(timeout: .seconds(20))
            #expect(publisher.client.unacknowledgedPublishCount == 0)

            try publisher.publish(topic: "load/marker", text: "marker")
            let received = try await subscriber.waitForMessages(count: count + 1, timeout: .seconds(20))
            #expect(received.count == count + 1)
            let texts = received.dropLast().map { String(decoding: $0.payload, as: UTF8.self) }
            #expect(Set(texts).count == count)
            #expect(texts == (0..<count).map { "message-\($0)" })
            #expect(received.last?.topic == "load/marker")
        }

        @Test("the wait times out while the broker is away, and succeeds once it is back")
        func waitsForTheBroker() async throws {
            let broker = try await TestBroker.start()
            let publisher = try TestPublisher(
                configuration: broker.clientConfiguration(clientID: TestBroker.uniqueClientID("queued"), cleanSession: false))
            defer { publisher.stop() }
            try await publisher.start()

            try await broker.stop()
            try await waitUntil("the publisher to notice", timeout: .seconds(30)) { !publisher.client.isConnected }
            for index in 0..<3 { try publisher.publish(topic: "queued/sensor-1", text: "queued-\(index)") }
            #expect(publisher.client.unacknowledgedPublishCount == 3)
            #expect(throws: MosquittoError.self) { try publisher.client.publish(topic: "queued/qos0", payload: [1], qos: .atMostOnce) }
            let timedOut = await #expect(throws: MosquittoError.self) {
                try await publisher.waitForAcknowledgements(timeout: .milliseconds(200))
            }
            #expect(timedOut?.kind == .timeout)

            try await broker.restart()
            try await publisher.waitForAcknowledgements(timeout: .seconds(10))
            #expect(publisher.client.unacknowledgedPublishCount == 0)
        }
    }
}
