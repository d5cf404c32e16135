import Foundation
import Logging
import Mosquitto
import MosquittoBroker
import StreetSenseApp
import StreetSenseConfig
import StreetSenseCore
import StreetSenseHTTP
import StreetSensePipeline
import StreetSenseTesting
import Synchronization
import Testing

private let square = ZoneDefinition(id: "kamppi-square", name: "Kamppi square", areaM2: 1200)
private let camera = SensorDefinition(address: .init(pilot: "helsinki-lab", sensor: "cam-01"), zone: "kamppi-square", kind: .occupancy, coveredM2: 400)
private let air = SensorDefinition(address: .init(pilot: "citizen-air", sensor: "sds-5331"), zone: "kamppi-square", kind: .air)

private func topic(_ sensor: SensorDefinition) -> String { "streetsense/v1/readings/\(sensor.address.pilot)/\(sensor.address.sensor)" }

/// Every line the service logs, with its metadata, as text.
final class CapturedLog: Sendable {
    private let lines = Mutex<[String]>([])

    var text: String { lines.withLock { $0.joined(separator: "\n") } }
    var count: Int { lines.withLock { $0.count } }

    func append(_ line: String) { lines.withLock { $0.append(line) } }

    /// A logger at `trace` whose every message (with the logger's and the call's metadata, and the source
    /// location) ends up here.
    func logger() -> Logger {
        var logger = Logger(label: "streetsense-it-captured") { label in CapturingLogHandler(label: label, log: self) }
        logger.logLevel = .trace
        return logger
    }
}

struct CapturingLogHandler: LogHandler {
    let label: String
    let log: CapturedLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let error = event.error.map { " error=\(String(reflecting: $0))" } ?? ""
        log.append("\(event.level) \(label) \(event.source) \(event.file):\(event.line) \(event.message) \(fields)\(error)")
    }
}

extension IntegrationSuites {
    /// The real service with a tokens file and MQTT credentials: what it logs never holds a token, the MQTT
    /// password or payload contents; and schemathesis finds no 5xx and no response outside openapi.yaml.
    @Suite(.serialized) struct HTTPSecurityEndToEndTests {
        static let viewerToken = "viewer-TOKEN-31c7d0e2a9f54b68"
        static let operatorToken = "operator-TOKEN-b84e21f07c6d3a95"
        static let wrongToken = "wrong-TOKEN-5d2a9c8e71f03b46"
        static let mqttPassword = "mqtt-PASSWORD-e6b1f3a07d9c2854"
        static let payloadCanary = "PAYLOAD-CANARY-93f1c6"

        static func writeTokensFile(in directory: String) throws -> String {
            let path = directory + "/tokens"
            let text = """
                \(AccessTokens.hashLine(name: "wall", role: .viewer, token: viewerToken, pilots: ["helsinki-lab"]))
                \(AccessTokens.hashLine(name: "olli", role: .operator, token: operatorToken))
                """
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        @Test func logsHoldNoTokensPasswordsOrPayloads() async throws {
            let broker = try await TestBroker.start(.init(persistence: true, users: ["streetsense": Self.mqttPassword, "gateway": "gateway-pw"]))
            let directory = NSTemporaryDirectory() + "streetsense-logs-" + UUID().uuidString.prefix(8)
            let tokensFile = try Self.writeTokensFile(in: directory)
            let captured = CapturedLog()
            let harness = try await ServiceHarness.start(
                zones: [square], sensors: [camera, air], broker: broker, directory: directory, logger: captured.logger()
            ) { configuration in
                configuration.mqtt.username = "streetsense"
                configuration.mqtt.password = Secret(Self.mqttPassword)
                configuration.http.tokensFile = tokensFile
                configuration.http.publicReads = false
            }
            var publisherConfiguration = broker.clientConfiguration(
                clientID: TestBroker.uniqueClientID("gateway"), cleanSession: true, protocolVersion: .v5)
            publisherConfiguration.credentials = .init(username: "gateway", password: "gateway-pw")
            let publisher = try TestPublisher(configuration: publisherConfiguration)
            try await publisher.start()
            let t = EventTime(milliseconds: (EventTime.now.milliseconds / 1000 - 10) * 1000)
            // Bad payloads carrying the canary, each a different reject.
            let bad = [
                #"{"t": "\#(t.rfc3339)", "people": "\#(Self.payloadCanary)"}"#,
                #"{"t": "\#(t.rfc3339)", "\#(Self.payloadCanary)": 3}"#,
                #"{"t": "\#(t.rfc3339)", "people": 3, "note": "\#(Self.payloadCanary)""#,
                Self.payloadCanary,
            ]
            for payload in bad { _ = try publisher.publish(topic: topic(camera), text: payload) }
            _ = try publisher.publish(topic: "streetsense/v1/readings/\(Self.payloadCanary)", text: Self.payloadCanary)
            _ = try publisher.publish(topic: topic(camera), text: #"{"t": "\#(t.rfc3339)", "people": 30}"#)

            func request(_ method: String, _ path: String, token: String?, body: String = "") async throws -> HTTPTestResponse {
                try await HTTPTestClient.request(
                    method, port: harness.port, path: path, headers: token.map { [("Authorization", "Bearer " + $0)] } ?? [],
                    body: Array(body.utf8))
            }
            // The rejects arrive (and are readable with a token that covers the pilot).
            let deadline = ContinuousClock.now + .seconds(30)
            var rejects = 0
            while ContinuousClock.now < deadline {
                let response = try await request("GET", "/api/v1/rejects?pilot=helsinki-lab", token: Self.operatorToken)
                let document = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
                rejects = (document?["rejects"] as? [Any])?.count ?? 0
                if rejects >= 4 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(rejects >= 4)
            // Authentication failures, forbidden scopes and acknowledgements, with tokens and the canary in them.
            #expect(try await request("GET", "/api/v1/zones", token: nil).status == 401)
            #expect(try await request("GET", "/api/v1/zones", token: Self.wrongToken).status == 401)
            #expect(try await request("GET", "/api/v1/rejects", token: Self.viewerToken).status == 200)
            #expect(try await request("GET", "/api/v1/rejects?pilot=citizen-air", token: Self.viewerToken).status == 403)
            #expect(try await request("GET", "/api/v1/sensors/citizen-air/sds-5331", token: Self.viewerToken).status == 403)
            let note = #"{"note": "\#(Self.payloadCanary)"}"#
            #expect(try await request("POST", "/api/v1/alerts/1/ack", token: Self.viewerToken, body: note).status == 403)
            #expect(try await request("POST", "/api/v1/alerts/1/ack", token: Self.wrongToken, body: note).status == 401)
            #expect(try await request("POST", "/api/v1/alerts/999/ack", token: Self.operatorToken, body: note).status == 404)
            #expect(try await request("POST", "/api/v1/alerts/999/ack", token: Self.operatorToken, body: #"{"nöte": 1, "x": "\#(Self.payloadCanary)"#).status == 400)
            #expect(try await request("GET", "/api/v1/zones?token=\(Self.wrongToken)", token: Self.operatorToken).status == 400)
            try await harness.stop()

            let text = captured.text
            // The capture saw the rejects, the HTTP server and the acknowledgement path, not an empty log.
            #expect(text.contains("rejected message"), "\(text.prefix(4000))")
            #expect(text.contains("request refused") && text.contains("client=token:wall"), "\(text.prefix(4000))")
            print("captured \(captured.count) log lines; the last ones:\n" + text.split(separator: "\n").suffix(12).joined(separator: "\n"))
            for secret in [Self.viewerToken, Self.operatorToken, Self.wrongToken, Self.mqttPassword, Self.payloadCanary] {
                #expect(!text.contains(secret), "the log contains '\(secret)':\n\(text.split(separator: "\n").filter { $0.contains(secret) }.prefix(5).joined(separator: "\n"))")
            }
        }

        /// The virtualenv that `make schemathesis-venv` (part of `make test`) creates.
        static let schemathesis: String? = {
            let path = packageRoot + "/.build/venv/bin/schemathesis"
            return FileManager.default.isExecutableFile(atPath: path) ? path : nil
        }()

        @Test(.enabled(if: schemathesis != nil, "run `make schemathesis-venv` (make test does) to install schemathesis"))
        func schemathesisFindsNoServerErrorsOrSchemaViolations() async throws {
            let directory = NSTemporaryDirectory() + "streetsense-fuzz-" + UUID().uuidString.prefix(8)
            let tokensFile = try Self.writeTokensFile(in: directory)
            let harness = try await ServiceHarness.start(zones: [square], sensors: [camera, air], directory: directory) { configuration in
                configuration.http.tokensFile = tokensFile
                configuration.http.publicReads = false
                // The fuzzer sends hundreds of requests a second; 429 is documented, but it would hide the rest.
                configuration.http.rateLimit = nil
            }
            let publisher = try await TestPublisher.connected(to: harness.broker, protocolVersion: .v5)
            let t = EventTime(milliseconds: (EventTime.now.milliseconds / 1000 - 10) * 1000)
            _ = try publisher.publish(topic: topic(camera), text: #"{"t": "\#(t.rfc3339)", "people": 30}"#)
            _ = try publisher.publish(topic: topic(air), text: #"{"t": "\#(t.rfc3339)", "pm2_5": 12.5}"#)
            _ = try publisher.publish(topic: topic(camera), text: #"{"t": "\#(t.rfc3339)", "people": "#)

            let base = "http://127.0.0.1:\(harness.port)"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.schemathesis!)
            // schemathesis keeps a cache (.schemathesis/) in its working directory: not the repository.
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.arguments = [
                "run", base + "/api/v1/openapi.yaml", "--url", base,
                "--header", "Authorization: Bearer \(Self.operatorToken)",
                "--checks", "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance,response_headers_conformance",
                // The alert stream never ends; SSETests cover it.
                "--exclude-path", "/api/v1/alerts/stream",
                "--max-examples", "40", "--max-time", "100", "--request-timeout", "10", "--seed", "7", "--workers", "2",
                "--no-color", "--warnings", "off",
            ]
            var environment = ProcessInfo.processInfo.environment
            environment["SCHEMATHESIS_HOOKS"] = nil
            process.environment = environment
            let output = directory + "/schemathesis.log"
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async {
                    process.waitUntilExit()
                    continuation.resume()
                }
            }
            try handle.close()
            let log = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            #expect(process.terminationStatus == 0, "schemathesis failed (exit \(process.terminationStatus)):\n\(log.suffix(12_000))")
            // The run tested the operations (not, say, an empty document); its summary goes to the test output.
            #expect(log.contains("No issues found") && !log.contains("Tested: 0"), "\(log.suffix(4000))")
            print("schemathesis summary:\n" + log.split(separator: "\n").suffix(16).joined(separator: "\n"))
            try await harness.stop()
        }
    }
}
