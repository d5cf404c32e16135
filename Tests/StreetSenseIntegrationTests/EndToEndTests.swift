import Foundation
import MosquittoBroker
import Mosquitto
import StreetSenseApp
import StreetSenseConfig
import StreetSensePipeline
import StreetSenseCore
import StreetSenseStore
import StreetSenseTesting
import Testing

private let square = ZoneDefinition(id: "kamppi-square", name: "Kamppi square", areaM2: 1200)
private let narinkka = ZoneDefinition(id: "narinkka", name: "Narinkka", areaM2: 3000)
private let camera = SensorDefinition(address: .init(pilot: "helsinki-lab", sensor: "cam-01"), zone: "kamppi-square", kind: .occupancy, coveredM2: 400)
private let gate = SensorDefinition(address: .init(pilot: "helsinki-lab", sensor: "gate-n"), zone: "kamppi-square", kind: .flow)
private let air = SensorDefinition(address: .init(pilot: "citizen-air", sensor: "sds-5331"), zone: "kamppi-square", kind: .air)
private let wifi = SensorDefinition(address: .init(pilot: "wifi-co", sensor: "ap-7"), zone: "narinkka", kind: .devices, factor: 0.5, coveredM2: 2000)

private func topic(_ sensor: SensorDefinition) -> String { "streetsense/v1/readings/\(sensor.address.pilot)/\(sensor.address.sensor)" }

extension IntegrationSuites {
    /// The whole service against a real mosquitto: native JSON and SenML, good and bad messages, published by a
    /// real MQTT client; the API's numbers are checked against values computed here.
    @Suite(.serialized) struct EndToEndTests {
        @Test func readingsBecomeDensitiesRejectsAndStoredRows() async throws {
            let harness = try await ServiceHarness.start(zones: [square, narinkka], sensors: [camera, gate, air, wifi])
            let publisher = try await TestPublisher.connected(to: harness.broker, protocolVersion: .v5)
            // Ten seconds ago, on a whole second: well inside every window and the staleness limit.
            let t = EventTime(milliseconds: (EventTime.now.milliseconds / 1000 - 10) * 1000)
            let good: [(String, String)] = [
                (topic(camera), #"{"t": "\#(t.rfc3339)", "people": 300}"#),
                (topic(gate), #"{"t": \#(t.unixSeconds), "people_in": 500, "people_out": 100, "interval_s": 60}"#),
                (topic(wifi), #"[{"bn": "ap-7/", "bt": \#(t.unixSeconds), "n": "devices", "u": "count", "v": 3000}]"#),
                (topic(air), #"[{"bn": "citizen-air/sds-5331/", "bt": \#(t.unixSeconds), "n": "pm2_5", "u": "ug/m3", "v": 12.5}, {"n": "pm10", "u": "ug/m3", "v": 20}]"#),
                // A QoS 1 redelivery of the first message: counted once.
                (topic(camera), #"{"t": "\#(t.rfc3339)", "people": 300}"#),
                // A sensor nobody registered.
                ("streetsense/v1/readings/helsinki-lab/cam-99", #"{"t": "\#(t.rfc3339)", "people": 5}"#),
            ]
            let future = t + .seconds(3600)
            let bad: [(String, String, RejectReason)] = [
                (topic(camera), #"{"t": "\#(t.rfc3339)", "people": 3"#, .malformedJSON),
                (topic(camera), #"{"t": "\#(t.rfc3339)", "pm25": 3}"#, .unknownMetric),
                (topic(camera), #"{"t": "\#(t.rfc3339)", "people": 200000}"#, .outOfRange),
                (topic(camera), #"{"t": "\#(future.rfc3339)", "people": 12}"#, .futureTimestamp),
                (topic(wifi), #"[{"bn": "ap-8/", "n": "devices", "v": 1}]"#, .identityMismatch),
                (topic(wifi), #"{"devices": "many"}"#, .notNumeric),
                (topic(air), #"[{"bn": "sds-5331/", "n": "pm2_5", "u": "Cel", "v": 3}]"#, .unitMismatch),
                ("streetsense/v1/readings/helsinki-lab", #"{"people": 1}"#, .badTopic),
            ]
            for (topic, payload) in good { _ = try publisher.publish(topic: topic, text: payload) }
            for (topic, payload, _) in bad { _ = try publisher.publish(topic: topic, text: payload) }
            _ = try publisher.publish(topic: topic(wifi), payload: Array(repeating: UInt8(ascii: " "), count: 70_000))
            try await publisher.waitForAcknowledgements()

            let messagesSent = good.count + bad.count + 1
            let zones = try await harness.eventually("/api/v1/zones", "every message to be processed") { _ in
                harness.service.snapshots.snapshot().totals.messages == messagesSent
            }
            let list = try #require(zones["zones"] as? [[String: Any]])
            // Kamppi: camera 300 people over 400 m² plus the gate's 500 − 100 over the whole 1200 m².
            let kamppi = try #require(list.first { $0["id"] as? String == "kamppi-square" })
            let kamppiDensity = (300.0 + 400.0) / (400.0 + 1200.0)
            #expect(kamppi["density_ppm2"] as? Double == kamppiDensity)
            #expect(kamppi["people"] as? Double == kamppiDensity * 1200)
            #expect((kamppi["coverage"] as? [String: Any])?["sensors_used"] as? Int == 2)
            #expect((kamppi["air"] as? [String: Any])?["pm2_5_ugm3"] as? Double == 12.5)
            // Narinkka: 3000 devices × 0.5 people per device over 2000 m².
            let narinkkaZone = try #require(list.first { $0["id"] as? String == "narinkka" })
            #expect(narinkkaZone["density_ppm2"] as? Double == 0.75)
            #expect(narinkkaZone["people"] as? Double == 0.75 * 3000)

            // The camera's counts: one accepted, one duplicate, four rejected (one per bad message).
            let cameraJSON = try await harness.json("/api/v1/sensors/helsinki-lab/cam-01")
            let counts = try #require(cameraJSON["counts"] as? [String: Any])
            #expect(counts["accepted"] as? Int == 1)
            #expect(counts["duplicate"] as? Int == 1)
            #expect(counts["rejected"] as? Int == 4)
            let byReason = try #require(counts["rejects_by_reason"] as? [String: Int])
            for reason in ["malformed_json", "unknown_metric", "out_of_range", "future_timestamp"] {
                #expect(byReason[reason] == 1, "\(reason)")
            }
            let stranger = try await harness.json("/api/v1/sensors/helsinki-lab/cam-99")
            #expect(stranger["status"] as? String == "unregistered")
            #expect(stranger["zone"] is NSNull)

            // Every rejected message is kept with its reason, visible per pilot.
            let allRejects = try await harness.eventually("/api/v1/rejects?limit=100", "rejects to be committed") {
                ($0["rejects"] as? [[String: Any]])?.count == bad.count + 1
            }
            let reasons = Set((allRejects["rejects"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String })
            #expect(reasons == Set(bad.map(\.2.rawValue) + ["payload_too_large"]))
            let wifiRejects = try await harness.json("/api/v1/rejects?pilot=wifi-co")
            let wifiReasons = (wifiRejects["rejects"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }
            #expect(Set(wifiReasons) == ["identity_mismatch", "not_numeric", "payload_too_large"])
            #expect((wifiRejects["rejects"] as? [[String: Any]] ?? []).allSatisfy { $0["pilot"] as? String == "wifi-co" })

            // A graceful stop commits everything: the seven accepted readings (people, in, out, devices, pm2_5,
            // pm10 and the stranger's people), nothing for the duplicate or the rejects.
            try await harness.stop()
            let reopened = try SQLiteStore(path: harness.configuration.store.sqlitePath)
            #expect(try reopened.storedReadingCount() == 7)
            try reopened.close()

            // A restart on the same database refills the windows: the densities do not start from zero, and the
            // flow occupancy comes back from its committed state.
            let restarted = try await ServiceHarness.start(
                zones: [square, narinkka], sensors: [camera, gate, air, wifi], broker: harness.broker, directory: harness.directory)
            let zone = try await restarted.json("/api/v1/zones/kamppi-square")
            #expect(zone["density_ppm2"] as? Double == kamppiDensity)
            let gateJSON = try await restarted.json("/api/v1/sensors/helsinki-lab/gate-n")
            #expect(gateJSON["flow_occupancy"] as? Double == 400)
            let cameraAfter = try await restarted.json("/api/v1/sensors/helsinki-lab/cam-01")
            let people = try #require((cameraAfter["metrics"] as? [String: Any])?["people"] as? [String: Any])
            #expect(people["last"] as? Double == 300)
            #expect((people["windows"] as? [String: Any]).flatMap { ($0["1m"] as? [String: Any])?["count"] as? Int } == 1)
            // The same reading published again after the restart is still a duplicate.
            let publisher2 = try await TestPublisher.connected(to: harness.broker, protocolVersion: .v5)
            _ = try publisher2.publish(topic: topic(camera), text: #"{"t": "\#(t.rfc3339)", "people": 300}"#)
            try await publisher2.waitForAcknowledgements()
            _ = try await restarted.eventually("/api/v1/sensors/helsinki-lab/cam-01", "the redelivery to be counted") {
                ($0["counts"] as? [String: Any])?["duplicate"] as? Int == 1
            }
            try await restarted.stop()
            let final = try SQLiteStore(path: harness.configuration.store.sqlitePath)
            #expect(try final.storedReadingCount() == 7)
            try final.close()
        }
    }
}

extension IntegrationSuites {
    @Suite(.serialized) struct ReadinessTests {
        @Test func readinessFollowsTheBrokerConnection() async throws {
            let harness = try await ServiceHarness.start(zones: [square], sensors: [camera])
            let ready = try await harness.json("/readyz")
            #expect(ready["status"] as? String == "ready")

            try await harness.broker.stop()
            let notReady = try await harness.eventuallyStatus("/readyz", 503, "readiness to fail while the broker is down")
            let checks = try #require(notReady["checks"] as? [[String: Any]])
            #expect(checks.first { $0["name"] as? String == "broker" }?["ok"] as? Bool == false)
            #expect(checks.first { $0["name"] as? String == "store" }?["ok"] as? Bool == true)

            try await harness.broker.restart()
            _ = try await harness.eventuallyStatus("/readyz", 200, "readiness to recover after the broker restarts", timeout: .seconds(30))
            // The persistent session survived: a reading published now is ingested.
            let publisher = try await TestPublisher.connected(to: harness.broker, protocolVersion: .v5)
            let t = EventTime.now
            _ = try publisher.publish(topic: topic(camera), text: #"{"t": "\#(t.rfc3339)", "people": 40}"#)
            try await publisher.waitForAcknowledgements()
            _ = try await harness.eventually("/api/v1/zones/kamppi-square", "the reading after the restart") {
                $0["density_ppm2"] as? Double == 0.1
            }
            try await harness.stop()
        }
    }
}
