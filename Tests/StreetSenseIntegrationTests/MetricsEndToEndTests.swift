import Foundation
import MosquittoBroker
import Mosquitto
import StreetSenseAlerts
import StreetSenseApp
import StreetSenseConfig
import StreetSenseCore
import StreetSensePipeline
import StreetSenseStore
import StreetSenseTesting
import Testing

private let square = ZoneDefinition(id: "kamppi-square", name: "Kamppi square", areaM2: 1200)
private let camera = SensorDefinition(address: .init(pilot: "helsinki-lab", sensor: "cam-01"), zone: "kamppi-square", kind: .occupancy, coveredM2: 400)
private let air = SensorDefinition(address: .init(pilot: "citizen-air", sensor: "sds-5331"), zone: "kamppi-square", kind: .air)

/// One sample of the exposition text: `name{labels} value`.
struct MetricSample: Hashable {
    var name: String
    var labels: [String: String]
    var value: Double
}

/// Parses Prometheus text exposition (the subset swift-prometheus writes: no timestamps, no escaped quotes).
func parseExposition(_ text: String) -> [MetricSample] {
    var samples: [MetricSample] = []
    for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.isEmpty {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
        let series = line[..<space]
        var labels: [String: String] = [:]
        var name = String(series)
        if let brace = series.firstIndex(of: "{") {
            name = String(series[..<brace])
            let body = series[series.index(after: brace)..<series.index(before: series.endIndex)]
            for pair in body.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
            }
        }
        samples.append(MetricSample(name: name, labels: labels, value: value))
    }
    return samples
}

extension [MetricSample] {
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        first { sample in sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value } }?.value
    }
}

/// `promtool` from Debian's `prometheus` package (`make test` installs it), or nil.
let promtool: String? = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// `promtool check metrics` on `text`: its output, empty when it finds nothing to complain about.
func promtoolCheck(_ text: String, promtool: String) throws -> (status: Int32, output: String) {
    let run = try ProgramRun.run(promtool, ["check", "metrics"], input: text)
    return (run.status, run.output)
}

extension IntegrationSuites {
    /// `/metrics` of the real service after real MQTT traffic: the numbers match what was published, and
    /// `promtool check metrics` finds nothing to complain about.
    @Suite(.serialized) struct MetricsEndToEndTests {
        @Test func countsMatchWhatWasPublishedAndPromtoolAgrees() async throws {
            let harness = try await ServiceHarness.start(zones: [square], sensors: [camera, air])
            let publisher = try await TestPublisher.connected(to: harness.broker, protocolVersion: .v5)
            let t = EventTime(milliseconds: (EventTime.now.milliseconds / 1000 - 10) * 1000)
            let cameraTopic = "streetsense/v1/readings/helsinki-lab/cam-01"
            let airTopic = "streetsense/v1/readings/citizen-air/sds-5331"
            // Five good camera readings (900 people over 400 m² of a 1200 m² zone: 2.25 p/m²), one copy of the last.
            for second in 0..<5 {
                _ = try publisher.publish(topic: cameraTopic, text: #"{"t": "\#((t + .seconds(second)).rfc3339)", "people": 900}"#)
            }
            _ = try publisher.publish(topic: cameraTopic, text: #"{"t": "\#((t + .seconds(4)).rfc3339)", "people": 900}"#)
            // Two bad messages from the camera's pilot, one from the air station's; an SDS011 error code raises an alert.
            _ = try publisher.publish(topic: cameraTopic, text: #"{"t": "\#(t.rfc3339)", "people": -3}"#)
            _ = try publisher.publish(topic: cameraTopic, text: "not json")
            _ = try publisher.publish(topic: airTopic, text: #"{"t": \#(t.unixSeconds), "pm2_5": 999.9}"#)
            // A topic that names no pilot.
            _ = try publisher.publish(topic: "streetsense/v1/readings/only-one-level", text: #"{"people": 1}"#)

            try await waitUntil("every message to be counted", timeout: .seconds(30)) {
                harness.service.snapshots.snapshot().totals.messages == 10
            }
            try await waitUntil("the alert's batch to be committed", timeout: .seconds(30)) {
                harness.service.writerStatistics.batchesCommitted > 0 && (try? harness.service.store.lastAlertEventID()) != nil
            }
            // One scrape first, so the request histogram has an entry for /metrics itself in the second one.
            _ = try await HTTPTestClient.get(port: harness.port, path: "/api/v1/zones")
            let response = try await HTTPTestClient.get(port: harness.port, path: "/metrics")
            #expect(response.status == 200)
            let text = response.text
            let samples = parseExposition(text)

            #expect(samples.value("streetsense_messages_received_total", ["pilot": "helsinki-lab"]) == 8)
            #expect(samples.value("streetsense_messages_received_total", ["pilot": "citizen-air"]) == 1)
            #expect(samples.value("streetsense_messages_received_total", ["pilot": ""]) == 1)
            #expect(samples.value("streetsense_readings_accepted_total", ["pilot": "helsinki-lab"]) == 5)
            #expect(samples.value("streetsense_readings_duplicate_total", ["pilot": "helsinki-lab"]) == 1)
            #expect(samples.value("streetsense_rejects_total", ["pilot": "helsinki-lab", "reason": "out_of_range"]) == 1)
            #expect(samples.value("streetsense_rejects_total", ["pilot": "helsinki-lab", "reason": "malformed_json"]) == 1)
            #expect(samples.value("streetsense_rejects_total", ["pilot": "citizen-air", "reason": "error_code"]) == 1)
            #expect(samples.value("streetsense_rejects_total", ["pilot": "", "reason": "bad_topic"]) == 1)
            // Two `sensor_faulty` alerts: the error code (the air station) and the impossible count (the camera).
            #expect(samples.value("streetsense_alert_transitions_total", ["rule": "sensor_faulty", "transition": "raised"]) == 2)
            let activeFaulty = AlertSeverity.allCases.compactMap { samples.value("streetsense_alerts_active", ["rule": "sensor_faulty", "severity": $0.rawValue]) }
            #expect(activeFaulty.reduce(0, +) == 2)
            #expect(samples.value("streetsense_broker_connected") == 1)
            #expect(samples.value("streetsense_broker_connects_total") == 1)
            #expect(samples.value("streetsense_store_writable") == 1)
            #expect((samples.value("streetsense_store_size_bytes") ?? 0) > 0)
            #expect((samples.value("streetsense_store_batches_committed_total") ?? 0) >= 1)
            #expect(samples.value("streetsense_store_readings_committed_total").map { $0 >= 5 } == true)
            #expect((samples.value("streetsense_store_commit_duration_seconds_count") ?? 0) >= 1)
            #expect(samples.value("streetsense_sensors", ["status": "active"]) == 1)
            #expect(samples.value("streetsense_zone_sensors_used", ["zone": "kamppi-square"]) == 1)
            let density = try #require(samples.value("streetsense_zone_density_ppm2", ["zone": "kamppi-square"]))
            #expect(abs(density - 2.25) < 1e-9)
            #expect(samples.value("streetsense_http_request_duration_seconds_count", ["route": "/api/v1/zones", "method": "GET", "status": "200"]) == 1)
            #expect(samples.value("streetsense_alert_stream_clients") == 0)
            // Ten messages after a quiet start are far from the load that makes the pipeline thread nap.
            #expect(samples.value("streetsense_ingest_consumer_naps_total") == 0)
            // No sensor ids or payload contents in labels.
            #expect(!text.contains("cam-01") && !text.contains("999.9") && !text.contains("not json"))

            // Counters stay monotonic across scrapes: a second scrape adds only what grew.
            _ = try publisher.publish(topic: cameraTopic, text: #"{"t": "\#((t + .seconds(5)).rfc3339)", "people": 900}"#)
            try await waitUntil("the next message to be counted", timeout: .seconds(30)) {
                harness.service.snapshots.snapshot().totals.messages == 11
            }
            let second = parseExposition(try await HTTPTestClient.get(port: harness.port, path: "/metrics").text)
            #expect(second.value("streetsense_messages_received_total", ["pilot": "helsinki-lab"]) == 9)
            #expect(second.value("streetsense_readings_accepted_total", ["pilot": "helsinki-lab"]) == 6)
            #expect(second.value("streetsense_http_request_duration_seconds_count", ["route": "/metrics", "method": "GET", "status": "200"]) == 1)

            if let promtool {
                let check = try promtoolCheck(text, promtool: promtool)
                #expect(check.status == 0 && check.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "promtool: \(check.output)")
            } else {
                Issue.record("promtool is not installed (Debian package prometheus; make test installs it)")
            }
            publisher.stop()
            try await harness.stop()
        }
    }
}

extension IntegrationSuites {
    /// The Grafana dashboards in `dashboards/grafana/` ask only for metrics the service really exports, in PromQL
    /// that Prometheus parses.
    @Suite(.serialized) struct GrafanaDashboardTests {
        static let dashboards = ["ingest-health.json", "alerting.json", "crowd-densities.json"]

        /// Every metric name a scrape of the real service shows, histograms with their `_bucket`, `_sum` and `_count`.
        static func exportedNames() async throws -> Set<String> {
            // A webhook nobody answers (so the webhook metrics exist) and MQTT alert publishing (the default).
            let harness = try await ServiceHarness.start(zones: [square], sensors: [camera, air]) { configuration in
                configuration.alerts.webhooks = [.init(url: "http://127.0.0.1:9/hook", timeout: .seconds(1), maxAttempts: 1)]
            }
            let publisher = try await TestPublisher.connected(to: harness.broker, protocolVersion: .v5)
            let t = EventTime(milliseconds: (EventTime.now.milliseconds / 1000 - 5) * 1000)
            _ = try publisher.publish(topic: "streetsense/v1/readings/helsinki-lab/cam-01", text: #"{"t": "\#(t.rfc3339)", "people": 100}"#)
            _ = try publisher.publish(topic: "streetsense/v1/readings/helsinki-lab/cam-01", text: #"{"t": "\#(t.rfc3339)", "people": 100}"#)
            _ = try publisher.publish(topic: "streetsense/v1/readings/citizen-air/sds-5331", text: #"{"t": \#(t.unixSeconds), "pm2_5": 999.9}"#)
            try await waitUntil("the messages and the alert to be committed", timeout: .seconds(30)) {
                harness.service.snapshots.snapshot().totals.messages == 3 && (try? harness.service.store.lastAlertEventID()) != nil
                    && harness.service.writerStatistics.batchesCommitted > 0
            }
            _ = try await HTTPTestClient.get(port: harness.port, path: "/api/v1/zones")
            let text = try await HTTPTestClient.get(port: harness.port, path: "/metrics").text
            publisher.stop()
            try await harness.stop()
            var names = Set<String>()
            for line in text.split(separator: "\n") where line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4 else { continue }
                let name = String(parts[2])
                names.insert(name)
                if parts[3] == "histogram" { names.formUnion([name + "_bucket", name + "_sum", name + "_count"]) }
            }
            return names
        }

        /// The PromQL expressions of a dashboard, by panel title.
        static func expressions(_ file: String) throws -> [(panel: String, expr: String)] {
            let data = try Data(contentsOf: URL(fileURLWithPath: packageRoot).appendingPathComponent("dashboards/grafana/\(file)"))
            let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect((dashboard["uid"] as? String)?.hasPrefix("streetsense-") == true)
            let panels = try #require(dashboard["panels"] as? [[String: Any]])
            #expect(!panels.isEmpty)
            var result: [(String, String)] = []
            for panel in panels {
                let title = panel["title"] as? String ?? "?"
                let targets = panel["targets"] as? [[String: Any]] ?? []
                #expect(!targets.isEmpty, "\(file): panel '\(title)' has no query")
                #expect((panel["datasource"] as? [String: Any])?["uid"] as? String == "streetsense-prometheus", "\(file): \(title)")
                for target in targets { result.append((title, try #require(target["expr"] as? String))) }
            }
            return result
        }

        @Test func everyPanelQueriesAnExportedMetricInValidPromQL() async throws {
            let exported = try await Self.exportedNames()
            #expect(exported.contains("streetsense_messages_received_total"))
            var rules = "groups:\n  - name: dashboards\n    rules:\n"
            var index = 0
            for file in Self.dashboards {
                for (panel, expr) in try Self.expressions(file) {
                    let names = Set(expr.matches(of: /streetsense_[a-z0-9_]+/).map { String($0.output) })
                    #expect(!names.isEmpty, "\(file): '\(panel)' names no StreetSense metric: \(expr)")
                    for name in names.subtracting(exported).sorted() {
                        Issue.record("\(file): panel '\(panel)' asks for \(name), which /metrics does not export")
                    }
                    index += 1
                    // Dashboard variables become a plain regex, so promtool parses the query as Prometheus would.
                    let parsed = expr.replacingOccurrences(of: "$zone", with: ".*").replacingOccurrences(of: "'", with: "''")
                    rules += "      - record: dashboard:query_\(index)\n        expr: '\(parsed)'\n"
                }
            }
            #expect(index >= 20)
            guard let promtool else {
                Issue.record("promtool is not installed (Debian package prometheus; make test installs it)")
                return
            }
            let file = NSTemporaryDirectory() + "streetsense-dashboard-rules-\(UUID().uuidString).yml"
            try rules.write(toFile: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: file) }
            let check = try ProgramRun.run(promtool, ["check", "rules", file])
            let text = check.output
            #expect(check.status == 0, "promtool check rules: \(text)")
            #expect(text.contains("SUCCESS: \(index) rules found"), "\(text)")
        }

        @Test func theScrapeConfigurationIsValid() throws {
            guard let promtool else {
                Issue.record("promtool is not installed (Debian package prometheus; make test installs it)")
                return
            }
            let check = try ProgramRun.run(promtool, ["check", "config", packageRoot + "/dashboards/grafana/prometheus.yml"])
            #expect(check.status == 0, "\(check.output)")
        }
    }
}
