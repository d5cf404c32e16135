import Logging
import StreetSenseApp
import StreetSenseConfig

/// The real `StreetSenseService`, run in the benchmark's own process: when ``start(_:)`` returns, its HTTP
/// listener has a port and its MQTT session is connected (or `start` threw).
struct InProcessService {
    let service: StreetSenseService
    /// The running service; it ends after `service.shutdown()`.
    let task: Task<Void, any Error>
    /// The port the HTTP listener was given (the configurations here ask for port 0: any free one).
    let httpPort: Int

    static func start(_ configuration: StreetSenseConfiguration) async throws -> InProcessService {
        var logger = Logger(label: "streetsense-bench")
        logger.logLevel = .error
        let service = try StreetSenseService(configuration: configuration, logger: logger)
        let ready = AsyncStream<Int>.makeStream()
        let task = Task { try await service.run(gracefulShutdownSignals: [], onHTTPReady: { ready.continuation.yield($0) }) }
        var httpPort = 0
        for await port in ready.stream {
            httpPort = port
            break
        }
        let connectDeadline = ContinuousClock.now + .seconds(30)
        while !service.brokerConnected, ContinuousClock.now < connectDeadline { try await Task.sleep(for: .milliseconds(20)) }
        guard service.brokerConnected else { throw BenchError("the service did not connect to the broker") }
        return InProcessService(service: service, task: task, httpPort: httpPort)
    }
}
