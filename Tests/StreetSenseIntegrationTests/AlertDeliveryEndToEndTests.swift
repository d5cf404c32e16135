import Foundation
import Mosquitto
import MosquittoBroker
import StreetSenseAlerts
import StreetSenseApp
import StreetSensePipeline
import StreetSenseConfig
import StreetSenseCore
import StreetSenseHTTP
import StreetSenseTesting
import Testing

private let square = ZoneDefinition(id: "kamppi-square", name: "Kamppi square", areaM2: 1200)
private let stations = (1...3).map {
    SensorDefinition(address: .init(pilot: "citizen-air", sensor: "sds-\($0)"), zone: "kamppi-square", kind: .air)
}


extension IntegrationSuites {
    /// Alert transitions from a real MQTT publish to every delivery channel at once: the SSE stream (with a
    /// dropped connection resumed by `Last-Event-ID`), a second real MQTT subscriber on the alert topics, a local
    /// webhook receiver, and the acknowledgement endpoint with an operator token.
    @Suite(.serialized) struct AlertDeliveryEndToEndTests {
        @Test func oneTransitionReachesSSEMQTTAndWebhooksAndTheStreamResumesWithoutGaps() async throws {
            let receiver = try await WebhookReceiver.start()
            defer { Task { await receiver.stop() } }
            let directory = NSTemporaryDirectory() + "streetsense-alerts-it-" + UUID().uuidString.prefix(8)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let operatorToken = "op-" + UUID().uuidString
            let viewerToken = "view-" + UUID().uuidString
            try (AccessTokens.hashLine(name: "operator-1", role: .operator, token: operatorToken) + "\n"
                + AccessTokens.hashLine(name: "wall-screen", role: .viewer, token: viewerToken) + "\n")
                .write(toFile: directory + "/tokens", atomically: true, encoding: .utf8)

            let harness = try await ServiceHarness.start(zones: [square], sensors: stations, directory: directory) { configuration in
                configuration.http.tokensFile = directory + "/tokens"
                configuration.alerts = AlertDeliverySettings(source: "/streetsense/it", webhooks: [.init(url: receiver.url, timeout: .seconds(2))])
            }
            let subscriber = try TestSubscriber(configuration: harness.broker.clientConfiguration(cleanSession: true))
            try await subscriber.start(subscribingTo: ["streetsense/v1/alerts/#"])
            let stream = try await SSETestClient.connect(port: harness.port, path: "/api/v1/alerts/stream")
            #expect(stream.status == 200)
            #expect(stream.header("content-type")?.hasPrefix("text/event-stream") == true)
            try await waitUntil("the SSE client to be subscribed", timeout: .seconds(30)) { harness.service.alertFeed.readerCount >= 1 }

            // An SDS011 error code raises `sensor_faulty` at once (the reading is rejected as `error_code`).
            let publisher = try await TestPublisher.connected(to: harness.broker, protocolVersion: .v5)
            func errorCode(from station: Int) throws {
                let t = EventTime.now
                _ = try publisher.publish(topic: "streetsense/v1/readings/citizen-air/sds-\(station)", text: #"{"t": \#(t.unixSeconds), "pm2_5": 999.9}"#)
            }
            try errorCode(from: 1)

            // SSE: one event, id 1, a CloudEvents envelope.
            let first = try await stream.waitForEvents(1, timeout: .seconds(30))
            #expect(first[0].id == "1")
            #expect(first[0].event == "alert")
            let envelope = try #require(try JSONSerialization.jsonObject(with: Data(first[0].data.utf8)) as? [String: Any])
            #expect(envelope["specversion"] as? String == "1.0")
            #expect(envelope["type"] as? String == "org.streetsense.alert.raised")
            #expect(envelope["source"] as? String == "/streetsense/it")
            #expect(envelope["subject"] as? String == "sensor/citizen-air/sds-1")
            let data = try #require(envelope["data"] as? [String: Any])
            #expect(data["rule"] as? String == "sensor_faulty")
            #expect(data["fault"] as? String == "error_code")

            // MQTT: the same envelope, retained, on the subject's alert topic, for a second real subscriber.
            let messages = try await subscriber.waitForMessages(count: 1, timeout: .seconds(30))
            #expect(messages[0].topic == "streetsense/v1/alerts/sensor/citizen-air/sds-1")
            #expect(String(decoding: messages[0].payload, as: UTF8.self) == first[0].data)
            let late = try TestSubscriber(configuration: harness.broker.clientConfiguration(cleanSession: true))
            try await late.start(subscribingTo: ["streetsense/v1/alerts/sensor/citizen-air/sds-1"])
            #expect(try await late.waitForMessages(count: 1, timeout: .seconds(30))[0].retain)
            late.stop()

            // Webhook: the same envelope POSTed.
            try await waitUntil("the webhook to receive the event", timeout: .seconds(30)) { receiver.requests.count >= 1 }
            #expect(receiver.requests[0].text == first[0].data)

            // The SSE connection drops; two transitions happen while it is away; resuming after id 1 gives
            // exactly ids 2 and 3, then live events.
            stream.disconnect()
            try await waitUntil("the server to notice", timeout: .seconds(30)) { stream.ended }
            try errorCode(from: 2)
            try errorCode(from: 3)
            try await waitUntil("two more transitions", timeout: .seconds(30)) { harness.service.alertFeed.lastEventID == AlertEventID(3) }
            let resumed = try await SSETestClient.connect(port: harness.port, path: "/api/v1/alerts/stream", lastEventID: "1")
            let caughtUp = try await resumed.waitForEvents(2, timeout: .seconds(30))
            #expect(caughtUp.map(\.id) == ["2", "3"])

            // Acknowledgement: a viewer is refused, the operator's is delivered live on every channel.
            let ackBody = Array(#"{"note": "steward on the way"}"#.utf8)
            let refused = try await HTTPTestClient.request(
                "POST", port: harness.port, path: "/api/v1/alerts/1/ack", headers: [("Authorization", "Bearer \(viewerToken)"), ("Content-Type", "application/json")],
                body: ackBody)
            #expect(refused.status == 403)
            let acknowledged = try await HTTPTestClient.request(
                "POST", port: harness.port, path: "/api/v1/alerts/1/ack", headers: [("Authorization", "Bearer \(operatorToken)"), ("Content-Type", "application/json")],
                body: ackBody)
            #expect(acknowledged.status == 200, "\(acknowledged.text)")
            let live = try await resumed.waitForEvents(3, timeout: .seconds(30))
            #expect(live.map(\.id) == ["2", "3", "4"])
            #expect(live[2].data.contains(#""transition":"acknowledged""#) && live[2].data.contains(#""by":"operator-1""#))
            try await waitUntil("the webhook to receive all four", timeout: .seconds(30)) { receiver.requests.count >= 4 }
            // The delivery counters say so too: four published on MQTT, four delivered to the one webhook.
            let deliveries = try await harness.eventually("/api/v1/alerts/deliveries", "the delivery counters to reach four") {
                ($0["mqtt"] as? [String: Any])?["published"] as? Int == 4
                    && (($0["webhooks"] as? [[String: Any]])?.first?["delivered"] as? Int) == 4
            }
            let hook = try #require((deliveries["webhooks"] as? [[String: Any]])?.first)
            #expect(hook["url"] as? String == receiver.url)
            #expect(hook["state"] as? String == "ok" && hook["failed"] as? Int == 0 && hook["dropped"] as? Int == 0)

            // The alert is stored with its history (the store commits a moment after the live feed).
            _ = try await harness.eventuallyStatus("/api/v1/alerts/1", 200, "the alert to be stored")
            let detail = try await harness.eventually("/api/v1/alerts/1", "the acknowledgement to be stored") {
                ($0["events"] as? [[String: Any]])?.count == 2
            }
            #expect(detail["acknowledged"] as? Bool == true)
            #expect((detail["acknowledgement"] as? [String: Any])?["note"] as? String == "steward on the way")
            resumed.disconnect()
            subscriber.stop()
            publisher.stop()
            try await harness.stop()
        }
    }
}
