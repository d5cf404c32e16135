import Foundation
import Mosquitto
import StreetSenseAlerts
import StreetSenseApp
import StreetSenseConfig
import StreetSenseCore
import StreetSenseHTTP
import StreetSensePipeline
import StreetSenseTesting
import Testing

/// The repository's root folder (this file is Tests/StreetSenseIntegrationTests/DashboardBrowserTests.swift).
private let repositoryRoot: String = {
    var path = #filePath
    for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
    return path
}()

/// Debian's `chromium`; without it the test is skipped (`make test` installs it with chromium-driver and
/// python3-selenium, which the test then requires).
private let chromium = "/usr/bin/chromium"

/// Level colours of dashboards/web/common.js (LEVEL_COLOURS).
private let levelColours = ["normal": "#237032", "elevated": "#fab005", "high": "#e8590c", "critical": "#c92a2a", "unknown": "#6c757d"]
/// Sensor status colours of dashboards/web/common.js (STATUS_COLOURS), the sensor table's and the markers'.
private let statusColours = ["active": "#237032", "stale": "#e8590c", "waiting": "#6c757d", "unregistered": "#7048e8"]

extension IntegrationSuites {
    /// The operator dashboard in a real headless Chromium against the real service and a real mosquitto, with the
    /// demo's five Helsinki zones and fifteen sensors: the zones are coloured by the densities published, each
    /// sensor is a marker coloured by its status (redrawn as a status changes while the page is open), an alert
    /// raised while the page is open arrives on the SSE feed and is acknowledged from the page with the token
    /// dialog, the zone panel draws the density chart with its thresholds, the sensor table filters by pilot, no
    /// console error occurs, and screenshots at 1366×768 and 1920×1080 go to test-output/.
    @Suite(.serialized) struct DashboardBrowserTests {
        @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: chromium), "chromium is not installed (Debian: chromium; make test installs it)"))
        func theDashboardShowsZonesAndAlertsAndAcknowledgesFromThePage() async throws {
            for (path, package) in [
                ("/usr/bin/chromedriver", "chromium-driver"), ("/usr/lib/python3/dist-packages/selenium", "python3-selenium"),
            ] {
                try #require(FileManager.default.fileExists(atPath: path), "chromium is installed but \(package) is not (\(path)); make test installs it")
            }
            let demo = try StreetSenseConfiguration.load(path: repositoryRoot + "/deploy/demo/streetsense.yaml", environment: [:])
            let directory = NSTemporaryDirectory() + "streetsense-dashboard-it-" + UUID().uuidString.prefix(8)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let operatorToken = "op-" + UUID().uuidString
            try (AccessTokens.hashLine(name: "operator-dashboard", role: .operator, token: operatorToken) + "\n")
                .write(toFile: directory + "/tokens", atomically: true, encoding: .utf8)

            // One air station goes stale 3 s after its reading, so the map shows every status a positioned sensor can have.
            let staleStation = "citizen-air/sds-7702"
            let sensors = demo.sensors.map { sensor in
                var sensor = sensor
                if sensor.address.description == staleStation { sensor.staleAfter = .seconds(3) }
                return sensor
            }
            #expect(sensors.map(\.staleAfter).filter { $0 == .seconds(3) }.count == 1)
            let harness = try await ServiceHarness.start(zones: demo.zones, sensors: sensors, directory: directory) { configuration in
                configuration.zoneTypes = demo.zoneTypes
                configuration.rules = demo.rules
                // Raise crowd levels at once instead of after the demo's 30 s hold.
                configuration.rules.defaults.crowd.hold = .zero
                configuration.http.tokensFile = directory + "/tokens"
                configuration.http.publicReads = true
                configuration.http.dashboardDirectory = repositoryRoot + "/dashboards/web"
            }
            let publisher = try await TestPublisher.connected(to: harness.broker, protocolVersion: .v5)
            func publish(_ pilot: String, _ sensor: String, _ body: String) throws {
                _ = try publisher.publish(topic: "streetsense/v1/readings/\(pilot)/\(sensor)", text: #"{"t": \#(EventTime.now.unixSeconds), \#(body)}"#)
            }
            // Kamppi: 2400 people on the camera's 400 m² = 6.0 p/m², critical. Narinkka: 5040 on 1800 m² = 2.8,
            // elevated. Senate Square: 1000 on 2000 m² = 0.5, normal. Nothing covers Kansalaistori or Esplanadi.
            try publish("helsinki-lab", "cam-01", #""people": 2400"#)
            try publish("helsinki-lab", "cam-narinkka-1", #""people": 5040"#)
            try publish("helsinki-lab", "cam-senate-1", #""people": 1000"#)
            let expectedLevels = [
                "kamppi-square": "critical", "narinkka": "elevated", "senate-square": "normal", "kansalaistori": "unknown", "esplanadi-park": "unknown",
            ]
            // The three cameras published to are active; the stale station (published once the page is open) stale;
            // the rest never sent an accepted reading (sds-5331 only an SDS011 error code, rejected), so waiting.
            var expectedStatuses = Dictionary(uniqueKeysWithValues: demo.sensors.map { ($0.address.description, "waiting") })
            for active in ["helsinki-lab/cam-01", "helsinki-lab/cam-narinkka-1", "helsinki-lab/cam-senate-1"] { expectedStatuses[active] = "active" }
            expectedStatuses[staleStation] = "stale"
            let crowd = try await harness.eventually(
                "/api/v1/alerts?state=active&rule=crowd_density", "a crowd density alert on Kamppi square", timeout: .seconds(90)
            ) { document in
                (document["alerts"] as? [[String: Any]])?.contains { $0["subject_id"] as? String == "kamppi-square" } == true
            }
            let crowdAlert = try #require((crowd["alerts"] as? [[String: Any]])?.first { $0["subject_id"] as? String == "kamppi-square" })

            let output = repositoryRoot + "/test-output/dashboard"
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            let reportPath = output + "/report.json"
            let stopSignal = output + "/stop-signal.json"
            try? FileManager.default.removeItem(atPath: reportPath)
            try? FileManager.default.removeItem(atPath: stopSignal)
            // The MQTT alert publisher reads the feed too; the page's stream is one reader more.
            let readersBefore = harness.service.alertFeed.readerCount
            let browser = Process()
            browser.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            browser.arguments = [
                repositoryRoot + "/dashboards/check_dashboard.py", "--url", "http://127.0.0.1:\(harness.port)/", "--token", operatorToken,
                "--zones", "5", "--ack-rule", "sensor_faulty", "--zone", "kamppi-square", "--pilot", "citizen-air", "--reason", "sds-5331=error_code",
                "--out", output, "--report", reportPath, "--stop-signal", stopSignal, "--timeout", "120",
                "--markers", "\(demo.sensors.count)", "--tooltip", "helsinki-lab/cam-01",
            ] + expectedLevels.sorted { $0.key < $1.key }.flatMap { ["--level", "\($0.key)=\($0.value)"] }
                + expectedStatuses.sorted { $0.key < $1.key }.flatMap { ["--marker-status", "\($0.key)=\($0.value)"] }
            _ = FileManager.default.createFile(atPath: output + "/browser.log", contents: nil)
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: output + "/browser.log"))
            browser.standardOutput = log
            browser.standardError = log
            try browser.run()

            // Once the page's SSE stream is connected, an SDS011 error code raises `sensor_faulty` live.
            try await waitUntil("the dashboard to connect to the alert stream", timeout: .seconds(120), pollInterval: .milliseconds(100), detail: {
                "browser log: \((try? String(contentsOfFile: output + "/browser.log", encoding: .utf8)) ?? "")"
            }) { harness.service.alertFeed.readerCount > readersBefore || !browser.isRunning }
            try publish("citizen-air", "sds-5331", #""pm2_5": 999.9"#)
            // The station drawn as waiting when the page loaded turns active, then stale, on the page's later polls.
            try publish("citizen-air", "sds-7702", #""pm2_5": 6.5"#)

            // When the page has done everything else, the service stops: the page must say its feed is disconnected.
            try await waitUntil("the browser check to let the service stop", timeout: .seconds(600), pollInterval: .milliseconds(200)) {
                FileManager.default.fileExists(atPath: stopSignal) || !browser.isRunning
            }
            var acknowledgedAlert: [String: Any]?
            if let partial = FileManager.default.contents(atPath: stopSignal),
                let id = ((try? JSONSerialization.jsonObject(with: partial)) as? [String: Any])
                    .flatMap({ $0["acknowledged"] as? [String: Any] })?["alert_id"] as? Int
            {
                // The service agrees that the page acknowledged the alert, by the token's name.
                acknowledgedAlert = try await harness.eventually("/api/v1/alerts/\(id)", "the acknowledgement to be stored") {
                    $0["acknowledged"] as? Bool == true
                }
            }
            publisher.stop()
            try await harness.stop()
            try await waitUntil("the browser check to finish", timeout: .seconds(300), pollInterval: .milliseconds(200)) { !browser.isRunning }
            try log.close()
            let browserLog = (try? String(contentsOfFile: output + "/browser.log", encoding: .utf8)) ?? ""
            let reportData = try #require(FileManager.default.contents(atPath: reportPath), "no report; browser log:\n\(browserLog)")
            let report = try #require(try JSONSerialization.jsonObject(with: reportData) as? [String: Any])
            #expect(browser.terminationStatus == 0, "check_dashboard.py: \(report["failure"] ?? "exit \(browser.terminationStatus)")\n\(browserLog)")
            #expect(report["failure"] is NSNull, "\(report["failure"] ?? "")")

            // No console error (nor warning) in the whole session.
            let console = report["console"] as? [[String: Any]] ?? []
            #expect(console.filter { ["SEVERE", "WARNING"].contains($0["level"] as? String) }.isEmpty, "console: \(console)")

            // Readable contrast: every badge, button, header and muted text at least 4.5:1 (WCAG AA).
            let contrast = report["contrast"] as? [[String: Any]] ?? []
            #expect(contrast.count >= 10)
            #expect(contrast.filter { ($0["ratio"] as? Double ?? 0) < 4.5 }.isEmpty, "low contrast: \(contrast.filter { ($0["ratio"] as? Double ?? 0) < 4.5 })")

            // Each zone coloured by its level; the label shows the density.
            let zones = try #require(report["zones"] as? [String: [String: String]])
            #expect(Set(zones.keys) == Set(expectedLevels.keys))
            for (zone, level) in expectedLevels {
                #expect(zones[zone]?["level"] == level, "\(zone)")
                #expect(zones[zone]?["fill"] == levelColours[level], "\(zone)")
            }
            // Every demo sensor is a marker coloured by its status, in a white ring (at least 3:1 against the dot,
            // WCAG's minimum for graphics); the stale station was waiting when the page first drew it.
            let markers = try #require(report["markers"] as? [String: [String: Any]])
            #expect(demo.sensors.count == 15)
            #expect(Set(markers.keys) == Set(demo.sensors.map(\.address.description)))
            for (sensor, status) in expectedStatuses {
                #expect(markers[sensor]?["status"] as? String == status, "\(sensor)")
                #expect(markers[sensor]?["fill"] as? String == statusColours[status], "\(sensor)")
                #expect(markers[sensor]?["stroke"] as? String == "#ffffff", "\(sensor)")
                #expect((markers[sensor]?["contrast"] as? Double ?? 0) >= 3, "\(sensor): \(markers[sensor] ?? [:])")
            }
            #expect((report["markers_at_load"] as? [String: String])?[staleStation] == "waiting")
            #expect(report["sensor_legend"] as? String == "Sensors\nactive\nstale\nwaiting")
            let tooltip = try #require(report["tooltip"] as? String)
            #expect(tooltip.hasPrefix("helsinki-lab/cam-01\noccupancy · kamppi-square\nactive · last seen "), "\(tooltip)")

            let labels = report["labels"] as? [String: String] ?? [:]
            #expect(labels["kamppi-square"] == "Kamppi square\n6.00 p/m²")
            #expect(labels["narinkka"] == "Narinkka square\n2.80 p/m²")
            #expect(labels["esplanadi-park"]?.hasSuffix("no data") == true)

            // The feed: the crowd alert (loaded with the page) and the live sensor_faulty one, newest first; the
            // latter acknowledged from the page by the token's name, and the token kept for the session.
            let feed = try #require(report["feed"] as? [[String: Any]])
            let acknowledged = try #require(report["acknowledged"] as? [String: Any])
            let faultyID = try #require(acknowledged["alert_id"] as? Int)
            let faultyIndex = try #require(feed.firstIndex { $0["id"] as? Int == faultyID })
            let crowdIndex = try #require(feed.firstIndex { $0["id"] as? Int == crowdAlert["id"] as? Int })
            #expect(faultyIndex < crowdIndex)
            #expect(feed[faultyIndex]["rule"] as? String == "sensor_faulty")
            #expect(feed[faultyIndex]["acknowledged"] as? Bool == true)
            #expect(feed[faultyIndex]["severity"] as? String == "severity-warning")
            #expect(feed[crowdIndex]["severity"] as? String == "severity-critical")
            #expect((feed[crowdIndex]["text"] as? String)?.contains("Crowd density — Kamppi square") == true)
            #expect(acknowledged["text"] as? String == "✓ acknowledged by operator-dashboard")
            #expect(acknowledged["token_kept"] as? Bool == true)
            #expect(acknowledged["button_left"] as? Int == 0)
            #expect(report["banner_hidden"] as? Bool == true)
            let stored = try #require(acknowledgedAlert)
            #expect(stored["id"] as? Int == faultyID)
            #expect((stored["acknowledgement"] as? [String: Any])?["by"] as? String == "operator-dashboard")
            #expect(stored["subject_id"] as? String == "citizen-air/sds-5331")

            // The zone panel: level, its three sensors, the density line and the three thresholds.
            let panel = try #require(report["zone_panel"] as? [String: Any])
            #expect(panel["title"] as? String == "Zone: Kamppi square")
            #expect(panel["level"] as? String == "critical")
            #expect(panel["sensors"] as? [String] == ["helsinki-lab/cam-01", "helsinki-lab/gate-n", "citizen-air/sds-5331"])
            let datasets = try #require(panel["datasets"] as? [[String: Any]])
            #expect(datasets.map { $0["label"] as? String } == ["density (p/m²)", "elevated ≥ 2.5", "high ≥ 3.5", "critical ≥ 5"])
            #expect(datasets.dropFirst().map { $0["first"] as? Double } == [2.5, 3.5, 5.0])
            #expect((datasets.first?["points"] as? Int ?? 0) >= 1)
            #expect((panel["facts"] as? String)?.contains("6.00 p/m²") == true)

            // The sensor table filtered to one pilot: its three air stations, the faulty one with its reject reason.
            #expect(report["filtered_pilots"] as? [String] == ["citizen-air", "citizen-air", "citizen-air"])
            let rows = report["filtered_rows"] as? [[String: Any]] ?? []
            #expect(rows.first { $0["sensor"] as? String == "sds-5331" }?["reasons"] as? [String] == ["error_code"])
            #expect((report["url_after_filter"] as? String)?.hasSuffix("pilot=citizen-air") == true)

            // Both sizes: screenshots saved, every panel inside the viewport, no page scrolling.
            let screenshots = report["screenshots"] as? [String] ?? []
            #expect(screenshots == [output + "/dashboard-1366x768.png", output + "/dashboard-1920x1080.png", output + "/dashboard-disconnected.png"])
            for path in screenshots { #expect(FileManager.default.fileExists(atPath: path)) }
            let layout = report["layout"] as? [String: [String: Any]] ?? [:]
            for size in ["1366x768", "1920x1080"] {
                let entry = layout[size] ?? [:]
                #expect(entry["panels_inside"] as? Bool == true, "\(size): \(entry)")
                #expect(entry["page"] as? [Int] == entry["viewport"] as? [Int], "\(size): \(entry)")
            }

            // With the service stopped, the banner says the feed is disconnected (and EventSource keeps retrying).
            #expect(report["banner_after_stop"] as? String == "Alert feed disconnected — reconnecting…")
            #expect(report["feed_state_after_stop"] as? String == "disconnected")
        }
    }
}
