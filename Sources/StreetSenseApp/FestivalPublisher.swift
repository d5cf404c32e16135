import Logging
import Mosquitto
import ServiceLifecycle
import StreetSenseCore
import StreetSensePipeline
import StreetSenseSimulation

/// Publishes the built-in festival scenario to a broker in real time (QoS 1, wall-clock timestamps), for
/// `streetsense demo`. Stops on graceful shutdown after every publish is acknowledged.
public struct FestivalPublisher: Service {
    let scenario: FestivalScenario
    let client: MosquittoClient
    let logger: Logger

    public init(scenario: FestivalScenario, host: String, port: Int, logger: Logger) throws {
        self.scenario = scenario
        self.logger = logger
        client = try MosquittoClient(configuration: .init(host: host, port: port, clientID: "streetsense-demo-publisher", cleanSession: true))
    }

    public func run() async throws {
        try client.start()
        try await client.waitUntilConnected(timeout: .seconds(10))
        try? await cancelWhenGracefulShutdown { [client, scenario] in
            var last = EventTime.now
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(500))
                let now = EventTime.now
                for (_, message) in scenario.messages(after: last, through: now) {
                    _ = try client.publish(topic: message.topic, payload: Array(message.payload.utf8), qos: .atLeastOnce)
                }
                last = now
            }
        }
        try? await client.waitForAcknowledgements(timeout: .seconds(5))
        client.stop()
        logger.debug("festival publisher stopped")
    }
}
