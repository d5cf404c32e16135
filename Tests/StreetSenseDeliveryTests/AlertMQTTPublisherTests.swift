import Mosquitto
import MosquittoBroker
import StreetSenseAlerts
import StreetSenseCore
import StreetSenseDelivery
import StreetSenseTesting
import Testing

/// The MQTT alert publisher against a real mosquitto, read back by a real second client.
@Suite("Alert MQTT publisher", .serialized)
struct AlertMQTTPublisherTests {
    static let prefix = "streetsense/v1"
    static let source = "/streetsense/test"
    static let sensor = AlertSubject.sensor(SensorAddress(pilot: "helsinki-lab", sensor: "cam-01"))

    @Test("transitions arrive on their subject topics at QoS 1; a late subscriber gets each subject's newest, retained")
    func topicsAndRetained() async throws {
        let broker = try await TestBroker.start()
        let subscriber = try TestSubscriber(configuration: broker.clientConfiguration(cleanSession: true))
        defer { subscriber.stop() }
        try await subscriber.start(subscribingTo: [AlertTopic.filter(prefix: Self.prefix)])
        let ingest = try await TestPublisher.connected(to: broker)
        defer { ingest.stop() }

        let feed = AlertFeed()
        let publisher = AlertMQTTPublisher(client: ingest.client, feed: feed, prefix: Self.prefix, source: Self.source)
        let running = Task { await publisher.run() }
        defer { publisher.stop() }
        try await waitUntil("the publisher to subscribe", timeout: .seconds(30)) { feed.readerCount == 1 }

        let events = [
            alertEvent(1, subject: .zone("plaza")),
            alertEvent(2, subject: Self.sensor),
            alertEvent(3, subject: .zone("plaza"), transition: .escalated, severity: .major),
            alertEvent(4, subject: .zone("plaza"), transition: .cleared, severity: .major),
        ]
        feed.publish(events)
        let received = try await subscriber.waitForMessages(count: 4, timeout: .seconds(30))
        #expect(
            received.map(\.topic) == [
                "streetsense/v1/alerts/zone/plaza", "streetsense/v1/alerts/sensor/helsinki-lab/cam-01",
                "streetsense/v1/alerts/zone/plaza", "streetsense/v1/alerts/zone/plaza",
            ])
        #expect(received.map { String(decoding: $0.payload, as: UTF8.self) } == events.map { AlertCloudEvent.json($0, source: Self.source) })
        #expect(received.allSatisfy { $0.qos == .atLeastOnce })
        try await ingest.waitForAcknowledgements()
        #expect(publisher.statistics == .init(published: 4, failed: 0, pending: 0, dropped: 0, lastError: nil))

        // A client that subscribes now gets one retained message per subject: the newest transition.
        let late = try TestSubscriber(configuration: broker.clientConfiguration(cleanSession: true))
        defer { late.stop() }
        try await late.start(subscribingTo: [AlertTopic.filter(prefix: Self.prefix)])
        let retained = try await late.waitForMessages(count: 2, timeout: .seconds(30)).sorted { $0.topic < $1.topic }
        #expect(retained.map(\.topic) == ["streetsense/v1/alerts/sensor/helsinki-lab/cam-01", "streetsense/v1/alerts/zone/plaza"])
        #expect(retained.allSatisfy { $0.retain })
        #expect(
            retained.map { String(decoding: $0.payload, as: UTF8.self) }
                == [events[1], events[3]].map { AlertCloudEvent.json($0, source: Self.source) })
        #expect(String(decoding: retained[1].payload, as: UTF8.self).contains("\"transition\":\"cleared\",\"state\":\"cleared\""))

        publisher.stop()
        await running.value
    }

    @Test("while the broker is down events wait, bounded, and go out in order after the reconnect")
    func holdsWhileDisconnected() async throws {
        let broker = try await TestBroker.start()
        let ingest = try await TestPublisher.connected(to: broker)
        defer { ingest.stop() }
        let feed = AlertFeed()
        let publisher = AlertMQTTPublisher(
            client: ingest.client, feed: feed, prefix: Self.prefix, source: Self.source, queueCapacity: 2, retryInterval: .milliseconds(20))
        let running = Task { await publisher.run() }
        defer { publisher.stop() }
        try await waitUntil("the publisher to subscribe", timeout: .seconds(30)) { feed.readerCount == 1 }

        try await broker.stop()
        try await waitUntil("the client to notice", timeout: .seconds(15)) { !ingest.client.isConnected }
        // Event 1 is taken for publishing (and held while disconnected); then two more fill the queue of two.
        feed.publish([alertEvent(1, subject: .zone("plaza"))])
        try await waitUntil("1 pending", timeout: .seconds(30), detail: { "\(publisher.statistics)" }) { publisher.statistics.pending == 1 }
        try await Task.sleep(for: .milliseconds(200))  // the publishing task takes it off the queue at once
        feed.publish([alertEvent(2, subject: Self.sensor), alertEvent(3, subject: .zone("street"))])
        try await waitUntil("3 pending", timeout: .seconds(30), detail: { "\(publisher.statistics)" }) { publisher.statistics.pending == 3 }
        // A fourth overflows the queue: the oldest waiting one (event 2) is dropped, the held one (1) is kept.
        feed.publish([alertEvent(4, subject: .zone("plaza"), transition: .cleared)])
        try await waitUntil("1 dropped", timeout: .seconds(30), detail: { "\(publisher.statistics)" }) { publisher.statistics.dropped == 1 }
        #expect(publisher.statistics.published == 0 && publisher.statistics.pending == 3)

        try await broker.restart()
        let subscriber = try TestSubscriber(configuration: broker.clientConfiguration(cleanSession: true))
        defer { subscriber.stop() }
        try await subscriber.start(subscribingTo: [AlertTopic.filter(prefix: Self.prefix)])
        try await waitUntil("3 published", timeout: .seconds(15), detail: { "\(publisher.statistics)" }) { publisher.statistics.published == 3 }
        try await ingest.waitForAcknowledgements()
        #expect(publisher.statistics.pending == 0 && publisher.statistics.dropped == 1)
        // Whether live or retained, the subscriber sees plaza cleared (event 4) and street raised (event 3).
        try await waitUntil("plaza cleared and street", timeout: .seconds(30), detail: { "\(subscriber.messages)" }) {
            let texts = subscriber.messages.map { String(decoding: $0.payload, as: UTF8.self) }
            return texts.contains(AlertCloudEvent.json(alertEvent(4, subject: .zone("plaza"), transition: .cleared), source: Self.source))
                && texts.contains(AlertCloudEvent.json(alertEvent(3, subject: .zone("street")), source: Self.source))
        }
        #expect(!subscriber.messages.contains { $0.topic.hasSuffix("/sensor/helsinki-lab/cam-01") })

        publisher.stop()
        await running.value
    }
}
