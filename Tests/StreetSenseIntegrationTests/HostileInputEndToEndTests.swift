import Foundation
import MosquittoBroker
import Mosquitto
import StreetSenseApp
import StreetSenseConfig
import StreetSenseCore
import StreetSensePipeline
import StreetSenseStore
import StreetSenseTesting
import Testing

private let square = ZoneDefinition(id: "kamppi-square", name: "Kamppi square", areaM2: 1200)
private let camera = SensorDefinition(address: .init(pilot: "helsinki-lab", sensor: "cam-01"), zone: "kamppi-square", kind: .occupancy, coveredM2: 400)

extension IntegrationSuites {
    /// Hostile payloads and topics through a real mosquitto into the real service: each ends as a named reject, the
    /// store and the next good message are untouched (issue 7, item 6).
    @Suite(.serialized) struct HostileInputEndToEndTests {
        @Test func hostileMessagesEndAsRejectsAndIngestionGoesOn() async throws {
            let harness = try await ServiceHarness.start(zones: [square], sensors: [camera])
            let publisher = try await TestPublisher.connected(to: harness.broker, protocolVersion: .v5)
            let t = EventTime(milliseconds: (EventTime.now.milliseconds / 1000 - 10) * 1000)
            let cameraTopic = "streetsense/v1/readings/helsinki-lab/cam-01"

            var hostile: [(topic: String, payload: [UInt8], reason: RejectReason)] = [
                // 60 000 levels of nesting (just under the 64 KiB limit): refused at 32 without recursion.
                (cameraTopic, Array(String(repeating: "[", count: 60_000).utf8), .malformedJSON),
                (cameraTopic, Array((#"{"x": "# + String(repeating: "{\"a\": ", count: 5_000) + "1" + String(repeating: "}", count: 5_000) + #", "people": 1}"#).utf8), .malformedJSON),
                // 10 MB: refused by size before any parsing.
                (cameraTopic, Array(repeating: UInt8(ascii: "7"), count: 10_000_000), .payloadTooLarge),
                // Invalid UTF-8 inside a string and as the whole payload.
                (cameraTopic, Array(#"{"note": ""#.utf8) + [0xC3, 0x28, 0xFF] + Array(#"", "people": 1}"#.utf8), .malformedJSON),
                (cameraTopic, [0xFE, 0xFF, 0x00, 0x7B], .malformedJSON),
                // A SenML base name that tries to name another pilot's sensor, or one with wildcard and NUL characters.
                (cameraTopic, Array(#"[{"bn": "citizen-air/sds-5331/", "n": "pm2_5", "u": "ug/m3", "v": 5}]"#.utf8), .identityMismatch),
                (cameraTopic, Array("[{\"bn\": \"cam-01/#+\\u0000/\", \"n\": \"people\", \"v\": 5}]".utf8), .identityMismatch),
                // SQL metacharacters in a topic level and in a payload.
                ("streetsense/v1/readings/helsinki-lab/x';DROP TABLE readings;--", Array(#"{"people": 1}"#.utf8), .badTopic),
                ("streetsense/v1/readings/helsinki-lab/cam-01\"", Array(#"{"people": 1}"#.utf8), .badTopic),
                (cameraTopic, Array(#"{"t": \#(t.unixSeconds - 5), "people": 1, "x'); DROP TABLE readings; --": 2}"#.utf8), .unknownMetric),
            ]
            // A topic level longer than an id may be.
            hostile.append(("streetsense/v1/readings/helsinki-lab/" + String(repeating: "a", count: 65), Array(#"{"people": 1}"#.utf8), .badTopic))
            for message in hostile { _ = try publisher.publish(topic: message.topic, payload: message.payload) }
            // MQTT itself refuses wildcards and NUL in a publish topic: they never reach the broker.
            for topic in ["streetsense/v1/readings/helsinki-lab/#", "streetsense/v1/readings/helsinki-lab/+", "streetsense/v1/readings/helsinki-lab/a\u{0}b"] {
                #expect(throws: MosquittoError.self) { _ = try publisher.publish(topic: topic, text: #"{"people": 1}"#) }
            }
            // The next good message goes through.
            _ = try publisher.publish(topic: cameraTopic, text: #"{"t": "\#(t.rfc3339)", "people": 240}"#)
            try await publisher.waitForAcknowledgements(timeout: .seconds(30))

            let expectedMessages = hostile.count + 1
            let zones = try await harness.eventually("/api/v1/zones", "every message to be processed") { _ in
                harness.service.snapshots.snapshot().totals.messages == expectedMessages
            }
            let kamppi = try #require((zones["zones"] as? [[String: Any]])?.first)
            #expect(kamppi["density_ppm2"] as? Double == 240.0 / 400.0)
            let totals = harness.service.snapshots.snapshot().totals
            #expect(totals.accepted == 1 + 1)  // the good reading, and the people value next to the unknown SQL-named metric
            var expected: [RejectReason: Int] = [:]
            for message in hostile { expected[message.reason, default: 0] += 1 }
            for (reason, count) in expected {
                #expect(totals.rejectsByReason[RejectReason.allCases.firstIndex(of: reason)!] == count, "\(reason): \(totals.rejectsByReasonName)")
            }

            // Every reject is listed with its reason; the payload excerpt is at most 1 KiB and the tables are intact.
            let rejects = try await harness.eventually("/api/v1/rejects?limit=100", "the rejects to be stored") {
                ($0["rejects"] as? [[String: Any]])?.count == hostile.count
            }
            for reject in rejects["rejects"] as? [[String: Any]] ?? [] {
                #expect((reject["payload_excerpt"] as? String)?.utf8.count ?? 0 <= 4 * 1024)
            }
            try await harness.stop()
            let store = try SQLiteStore(path: harness.configuration.store.sqlitePath)
            #expect(try store.recentReadings(since: t - .seconds(60)).count == 2)
        }
    }
}
