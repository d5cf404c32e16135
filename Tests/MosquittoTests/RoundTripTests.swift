import MosquittoBroker
import Mosquitto
import StreetSenseTesting
import Synchronization
import Testing

extension BrokerTests {
    @Suite("Publish and subscribe round trips")
    struct RoundTripTests {
        /// Payloads that catch truncation at NUL, empty-payload handling and large packets.
        static let payloads: [[UInt8]] = [
            Array("{\"people\": 12, \"t\": \"2025-05-20T10:00:00Z\"}".utf8),
            [],
            [0x00],
            Array(0...255),
            [0xFF, 0xFE, 0x00, 0x00, 0x7F],
            pseudoRandomBytes(count: 60 * 1024, seed: 42),
        ]

        @Test("exact bytes arrive, in order", arguments: [QualityOfService.atMostOnce, .atLeastOnce])
        func exactBytes(qos: QualityOfService) async throws {
            let broker = try await TestBroker.start()
            let subscriber = try TestSubscriber(configuration: broker.clientConfiguration(cleanSession: true))
            defer { subscriber.stop() }
            try await subscriber.start(subscribingTo: ["roundtrip/#"], qos: qos)
            let publisher = try await TestPublisher.connected(to: broker)
            defer { publisher.stop() }

            for (index, payload) in Self.payloads.enumerated() {
                try publisher.publish(topic: "roundtrip/\(index)", payload: payload, qos: qos)
            }
            let received = try await subscriber.waitForMessages(count: Self.payloads.count, timeout: .seconds(30))

            #expect(received.map(\.topic) == Self.payloads.indices.map { "roundtrip/\($0)" })
            #expect(received.map(\.payload) == Self.payloads)
            #expect(received.map(\.payload.count) == [43, 0, 1, 256, 5, 61_440])
            #expect(received.allSatisfy { $0.qos == qos && !$0.retain })
        }

        @Test("the handler reads topic and payload in place through spans")
        func spansInsideTheHandler() async throws {
            let broker = try await TestBroker.start()
            // (topic length, payload length, byte sum, first byte) computed inside the callback, no copy.
            let seen = Mutex<[(Int, Int, Int, UInt8?)]>([])
            let client = try MosquittoClient(configuration: broker.clientConfiguration(cleanSession: true)) { message in
                let topicLength = message.withTopic { $0.count }
                let (sum, first) = message.withPayload { span in
                    var sum = 0
                    for index in span.indices { sum &+= Int(span[index]) }
                    return (sum, span.isEmpty ? nil : span[0])
                }
                seen.withLock { $0.append((topicLength, message.payloadByteCount, sum, first)) }
            }
            defer { client.stop() }
            try client.subscribe("span/+", qos: .atLeastOnce)
            try client.start()
            try await client.waitForSubscriptions(timeout: .seconds(30))

            let publisher = try await TestPublisher.connected(to: broker)
            defer { publisher.stop() }
            let big = Self.payloads[5]
            try publisher.publish(topic: "span/a", payload: big)
            try publisher.publish(topic: "span/empty", payload: [])
            try await waitUntil("two messages", timeout: .seconds(30)) { seen.withLock { $0.count == 2 } }

            let results = seen.withLock { $0 }
            let bigSum = big.reduce(0) { $0 + Int($1) }
            #expect(results[0].0 == "span/a".utf8.count)
            #expect(results[0].1 == big.count && results[0].2 == bigSum && results[0].3 == big[0])
            #expect(results[1].0 == "span/empty".utf8.count)
            #expect(results[1].1 == 0 && results[1].2 == 0 && results[1].3 == nil)
        }

        @Test("retained messages are flagged for a new subscriber")
        func retained() async throws {
            let broker = try await TestBroker.start()
            let publisher = try await TestPublisher.connected(to: broker)
            defer { publisher.stop() }
            try publisher.publish(topic: "retained/state", text: "on", qos: .atLeastOnce, retain: true)
            try await publisher.waitForAcknowledgements()

            let subscriber = try TestSubscriber(configuration: broker.clientConfiguration(cleanSession: true))
            defer { subscriber.stop() }
            try await subscriber.start(subscribingTo: ["retained/#"])
            let received = try await subscriber.waitForMessages(count: 1, timeout: .seconds(30))
            #expect(received == [TestSubscriber.Message(topic: "retained/state", payload: Array("on".utf8), qos: .atLeastOnce, retain: true)])
        }
    }
}

/// Deterministic bytes from a 64-bit linear congruential generator (Knuth's MMIX constants).
func pseudoRandomBytes(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: state >> 56)
    }
}
