import Foundation
import Logging
import MosquittoBroker
import StreetSenseApp
import StreetSenseConfig
import StreetSensePipeline
import StreetSenseCore
import StreetSenseTesting

/// A real StreetSense service for integration tests: a real mosquitto on a free port, a SQLite file in a
/// temporary directory, HTTP on a free port, started by the same `StreetSenseService` as production.
final class ServiceHarness: Sendable {
    let broker: TestBroker
    let directory: String
    let configuration: StreetSenseConfiguration
    let service: StreetSenseService
    let task: Task<Void, any Error>
    let port: Int

    static func start(
        zones: [ZoneDefinition], sensors: [SensorDefinition], broker existing: TestBroker? = nil, directory existingDirectory: String? = nil,
        logger existingLogger: Logger? = nil, configure: (inout StreetSenseConfiguration) -> Void = { _ in }
    ) async throws -> ServiceHarness {
        let broker: TestBroker
        if let existing { broker = existing } else { broker = try await TestBroker.start(.init(persistence: true)) }
        let directory = existingDirectory ?? (NSTemporaryDirectory() + "streetsense-it-" + UUID().uuidString.prefix(8))
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var configuration = StreetSenseConfiguration(
            mqtt: MQTTSettings(url: "mqtt://127.0.0.1:\(broker.port)", port: broker.port, clientID: "streetsense-it", protocolVersion: .v5),
            store: StoreSettings(sqlitePath: directory + "/streetsense.sqlite", batchMaxDelay: .milliseconds(50)),
            http: HTTPSettings(listen: "127.0.0.1:0", port: 0),
            zones: zones, sensors: sensors)
        configure(&configuration)
        var logger = existingLogger ?? Logger(label: "streetsense-it")
        if existingLogger == nil { logger.logLevel = .warning }
        let service = try StreetSenseService(configuration: configuration, logger: logger)
        let ready = AsyncStream<Int>.makeStream()
        let task = Task {
            try await service.run(gracefulShutdownSignals: [], onHTTPReady: { port in ready.continuation.yield(port) })
        }
        var port = 0
        for await p in ready.stream { port = p; break }
        try await waitUntil("the service connects to the broker", timeout: .seconds(30)) { service.brokerConnected }
        return ServiceHarness(broker: broker, directory: directory, configuration: configuration, service: service, task: task, port: port)
    }

    private init(broker: TestBroker, directory: String, configuration: StreetSenseConfiguration, service: StreetSenseService, task: Task<Void, any Error>, port: Int) {
        self.broker = broker
        self.directory = directory
        self.configuration = configuration
        self.service = service
        self.task = task
        self.port = port
    }

    /// Graceful shutdown (as on SIGTERM); waits until everything is committed and the store closed.
    func stop() async throws {
        await service.shutdown()
        try await task.value
    }

    /// GET a JSON document from the API.
    func json(_ path: String, status expected: Int = 200) async throws -> [String: Any] {
        let response = try await HTTPTestClient.get(port: port, path: path)
        guard response.status == expected else {
            throw HarnessError("GET \(path): status \(response.status), expected \(expected): \(response.text)")
        }
        guard let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            throw HarnessError("GET \(path): not a JSON object")
        }
        return object
    }

    /// Polls a path until it answers with `status`, and returns that JSON document.
    func eventuallyStatus(_ path: String, _ status: Int, _ what: String, timeout: Duration = .seconds(30)) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let document = try? await json(path, status: status) { return document }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError("timed out waiting for \(what): \(path) never answered \(status)")
    }

    /// Polls a JSON document until `condition` holds.
    func eventually(_ path: String, _ what: String, timeout: Duration = .seconds(30), _ condition: ([String: Any]) -> Bool) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        var last: [String: Any] = [:]
        while ContinuousClock.now < deadline {
            last = try await json(path)
            if condition(last) { return last }
            try await Task.sleep(for: .milliseconds(50))
        }
        let totals = service.snapshots.snapshot().totals
        throw HarnessError("""
            timed out waiting for \(what) at \(path); messages \(totals.messages), accepted \(totals.accepted), \
            rejected \(totals.rejected); last: \(last)
            broker log:
            \(broker.log)
            """)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
