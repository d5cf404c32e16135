import Mosquitto
import MosquittoBroker
import StreetSenseCore
import StreetSenseReplay
import StreetSenseTesting
import Synchronization
import Testing

/// `TracePublisher` against a real mosquitto: what `publish` has returned for has reached the broker, even at
/// QoS 0, where libmosquitto would drop what is still queued when the client stops.
@Suite("Trace publisher against a real broker")
struct TracePublisherTests {
    @Test("a QoS 0 replay at max speed reaches a subscriber whole, though the publisher stops right after")
    func atMostOnceReplayIsWholeAfterStop() async throws {
        let broker = try await TestBroker.start(.init(maxQueuedMessages: 1_000_000))
        let received = Atomic<Int>(0)
        let subscriber = try MosquittoClient(configuration: broker.clientConfiguration(cleanSession: true)) { _ in
            received.add(1, ordering: .relaxed)
        }
        try subscriber.subscribe("trace/#", qos: .atMostOnce)
        try subscriber.start()
        try await subscriber.waitForSubscriptions(timeout: .seconds(30))

        // Large payloads, so the publisher queues far faster than the broker reads: at the end, much is still queued.
        let total = 20_000
        let payload = Array(#"{"t":"2026-11-22T16:00:00.797Z","people":118,"padding":""#.utf8) + Array(repeating: UInt8(ascii: "x"), count: 4_000) + Array(#""}"#.utf8)
        var index = 0
        let publisher = try TracePublisher(host: broker.host, port: broker.port, clientID: "qos0-publisher")
        try await publisher.connect()
        let statistics = try await publisher.publish(speed: nil) {
            guard index < total else { return nil }
            defer { index += 1 }
            return TraceRecord(at: EventTime(milliseconds: 1_763_827_200_000 + Int64(index)), topic: "trace/s\(index % 500)", payload: payload, qos: 0)
        }
        // Stop at once, as `streetsense replay --broker` does: nothing may still wait in the client's queue.
        publisher.client.stop()
        #expect(statistics.messages == total)

        try await waitUntil("the subscriber to receive every QoS 0 message", timeout: .seconds(60), pollInterval: .milliseconds(20),
                            detail: { "received \(received.load(ordering: .relaxed)) of \(total)" }) {
            received.load(ordering: .relaxed) == total
        }
        // Nothing more arrives later either.
        try await Task.sleep(for: .milliseconds(200))
        #expect(received.load(ordering: .relaxed) == total)
        subscriber.stop()
        try await broker.stop()
    }
}
