import Foundation
import MosquittoBroker
import Mosquitto
import StreetSenseConfig
import StreetSenseTesting
import Testing

extension IntegrationSuites {
    /// What `deploy/` ships is checked by the tools that will read it: systemd, mosquitto and `streetsense` itself.
    @Suite struct DeployFilesTests {
        @Test func theSystemdUnitIsLockedDown() throws {
            let analyze = "/usr/bin/systemd-analyze"
            try #require(FileManager.default.isExecutableFile(atPath: analyze), "systemd-analyze (Debian package systemd) is missing")
            let result = try ProgramRun.run(analyze, ["security", "--offline=true", "\(packageRoot)/deploy/systemd/streetsense.service"])
            let line = try #require(result.output.split(separator: "\n").first { $0.contains("Overall exposure level") }, "\(result.output)")
            // "Overall exposure level for streetsense.service: 1.4 OK 🙂" (":-)" instead of the emoji without a UTF-8 locale).
        let match = try #require(line.firstMatch(of: /exposure level for \S+: ([0-9]+(?:\.[0-9]+)?)/), "\(line)")
        let score = try #require(Double(match.output.1), "\(line)")
            #expect(score <= 2.0, "\(line)")
            let verify = try ProgramRun.run(analyze, ["verify", "\(packageRoot)/deploy/systemd/streetsense.service"])
            // The binary is not installed here; anything else verify says is a mistake in the unit.
            let complaints = verify.output.split(separator: "\n").filter { !$0.contains("/usr/local/bin/streetsense is not executable") }
            #expect(complaints.isEmpty, "\(complaints)")
        }

        @Test func theShippedConfigurationsPassCheckConfig() throws {
            for config in ["deploy/demo/streetsense.yaml", "deploy/compose/streetsense/streetsense.yaml"] {
                let result = try ProgramRun.run(streetsenseExecutable, ["check-config", "--config", "\(packageRoot)/\(config)"])
                #expect(result.status == 0, "\(config): \(result.output)")
            }
        }

        /// The demo's sensor positions go from the YAML text to the API unchanged, as [longitude, latitude], each inside
        /// its zone's outline as the API serves it, so the dashboard's map shows every sensor in its zone.
        @Test func theDemoSensorPositionsReachTheAPIInsideTheirZones() async throws {
            let path = "\(packageRoot)/deploy/demo/streetsense.yaml"
            // The positions as written, read from the text with a pattern (not with the configuration loader).
            var written: [String: [Double]] = [:]
            for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
                guard let match = line.firstMatch(of: /pilot: ([\w.-]+), id: ([\w.-]+),.*position: \[([-0-9.]+), ([-0-9.]+)\]/) else { continue }
                written["\(match.output.1)/\(match.output.2)"] = [Double(match.output.3)!, Double(match.output.4)!]
            }
            #expect(written.count == 15)
            #expect(written["helsinki-lab/cam-01"] == [24.9347, 60.16895])

            let demo = try StreetSenseConfiguration.load(path: path, environment: [:])
            let harness = try await ServiceHarness.start(zones: demo.zones, sensors: demo.sensors)
            let served: [String: Any]
            let zones: [String: Any]
            let camera: [String: Any]
            do {
                served = try await harness.json("/api/v1/sensors?limit=1000")
                zones = try await harness.json("/api/v1/zones")
                camera = try await harness.json("/api/v1/sensors/helsinki-lab/cam-01")
            } catch {
                try await harness.stop()
                throw error
            }
            try await harness.stop()

            let sensors = try #require(served["sensors"] as? [[String: Any]])
            let positions = Dictionary(uniqueKeysWithValues: sensors.map { ("\($0["pilot"]!)/\($0["id"]!)", $0["position"] as? [Double]) })
            #expect(positions.mapValues { $0 ?? [] } == written)
            #expect(camera["position"] as? [Double] == [24.9347, 60.16895])
            let outlines = Dictionary(
                uniqueKeysWithValues: (zones["zones"] as? [[String: Any]] ?? []).map { zone in
                    (zone["id"] as? String ?? "", ((zone["geometry"] as? [String: Any])?["coordinates"] as? [[[Double]]])?.first ?? [])
                })
            for sensor in sensors {
                let position = try #require(sensor["position"] as? [Double])
                let zone = try #require(sensor["zone"] as? String)
                #expect(ring(outlines[zone] ?? [], contains: position), "\(sensor["pilot"]!)/\(sensor["id"]!) at \(position) is outside \(zone)")
            }
        }

        /// Whether the [longitude, latitude] `point` is inside the closed `ring` (even-odd rule; fine at a square's size).
        func ring(_ ring: [[Double]], contains point: [Double]) -> Bool {
            var inside = false
            for (a, b) in zip(ring, ring.dropFirst()) where (a[1] > point[1]) != (b[1] > point[1]) {
                if point[0] < a[0] + (point[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0]) { inside.toggle() }
            }
            return inside
        }

        /// The production broker settings as mosquitto 2.0 reads them, with the production ACL and accounts for the
        /// service and two pilots (listeners, paths and TLS files are the test broker's own).
        @Test func theProductionBrokerKeepsEachPilotToItsOwnTopics() async throws {
            let conf = try String(contentsOfFile: "\(packageRoot)/deploy/mosquitto/streetsense.conf", encoding: .utf8)
            let placeDependent: Set<String> = [
                "per_listener_settings", "persistence", "persistence_location", "password_file", "acl_file", "listener", "protocol", "cafile",
                "certfile", "keyfile", "tls_version", "log_dest", "log_type", "allow_anonymous", "connection_messages",
            ]
            var tuning: [String: String] = [:]
            var lines: [String] = []
            for line in conf.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) where !line.isEmpty && !line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
                guard !placeDependent.contains(parts[0]) else { continue }
                tuning[parts[0]] = parts.count > 1 ? parts[1] : ""
                lines.append(line)
            }
            // The values DESIGN §6 and REFERENCES call for.
            #expect(conf.contains("\npersistence true"))
            #expect(conf.contains("\nallow_anonymous false"))
            #expect(tuning["set_tcp_nodelay"] == "true")
            #expect((Int(tuning["max_queued_messages"] ?? "") ?? 0) >= 1_000_000)
            #expect((Int(tuning["autosave_interval"] ?? "") ?? 1800) <= 60)
            #expect((Int(tuning["message_size_limit"] ?? "") ?? 0) >= 65_536)

            let acl = try String(contentsOfFile: "\(packageRoot)/deploy/mosquitto/streetsense.acl", encoding: .utf8)
            let rules = acl.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") && !$0.isEmpty }
            let users = ["streetsense": "s-secret-1", "helsinki-lab": "h-secret-2", "citizen-air": "c-secret-3"]
            let broker = try await TestBroker.start(.init(persistence: true, users: users, aclRules: rules, extraConfiguration: lines))
            defer { Task { try? await broker.stop() } }

            func configuration(_ user: String?, cleanSession: Bool = true) -> MosquittoClient.Configuration {
                var configuration = broker.clientConfiguration(cleanSession: cleanSession, protocolVersion: .v5)
                configuration.credentials = user.map { .init(username: $0, password: users[$0]) }
                return configuration
            }
            let service = try TestSubscriber(configuration: configuration("streetsense"))
            defer { service.stop() }
            try await service.start(subscribingTo: ["streetsense/v1/readings/#"])
            let pilot = try TestPublisher(configuration: configuration("helsinki-lab"))
            defer { pilot.stop() }
            try await pilot.start()

            // Its own sensor: delivered. Another pilot's sensor: refused with reason code 135, never delivered.
            try pilot.publish(topic: "streetsense/v1/readings/citizen-air/sds-5331", text: #"{"pm2_5": 1}"#)
            try pilot.publish(topic: "streetsense/v1/readings/helsinki-lab/cam-01", text: #"{"people": 12}"#)
            try await pilot.waitForAcknowledgements()
            #expect(pilot.client.rejectedPublishCount == 1)
            let received = try await service.waitForMessages(count: 1, timeout: .seconds(10))
            #expect(received.map(\.topic) == ["streetsense/v1/readings/helsinki-lab/cam-01"])

            // A pilot cannot read other pilots' readings or write alerts.
            try pilot.publish(topic: "streetsense/v1/alerts/zone/kamppi-square", text: "{}")
            try await pilot.waitForAcknowledgements()
            #expect(pilot.client.rejectedPublishCount == 2)

            // Nobody without an account.
            let anonymous = try MosquittoClient(configuration: configuration(nil))
            defer { anonymous.stop() }
            try anonymous.start()
            await #expect(throws: (any Error).self) { try await anonymous.waitUntilConnected(timeout: .seconds(3)) }
        }
    }
}
