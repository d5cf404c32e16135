import ArgumentParser
import Foundation
import Logging
import MosquittoBroker
import StreetSenseApp
import StreetSenseConfig
import StreetSenseHTTP
import StreetSenseSimulation

/// The `streetsense` command: parses arguments and hands over to the application.
@main
struct StreetSenseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streetsense",
        abstract: "Live crowd density and air quality for city street testbeds, from MQTT to JSON.",
        subcommands: [Serve.self, CheckConfig.self, Demo.self, Simulate.self, Record.self, Replay.self, Trace.self, Token.self]
    )
}

/// Options every command that runs the service shares.
struct LoggingOptions: ParsableArguments {
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func bootstrap() -> Logger {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: "streetsense")
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the service with a configuration file.")

    @Option(help: "The YAML configuration file.")
    var config: String

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.bootstrap()
        let configuration = try loadConfiguration(config)
        let service = try StreetSenseService(configuration: configuration, logger: logger)
        try await service.run(onHTTPReady: { port in
            logger.info("listening", metadata: ["url": .string("http://\(configuration.http.host):\(port)/")])
        })
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration: exit 0, or print FILE:LINE: key: reason for every problem and exit 1.")

    @Option(help: "The YAML configuration file.")
    var config: String

    func run() throws {
        let configuration: StreetSenseConfiguration
        do {
            configuration = try StreetSenseConfiguration.load(path: config, environment: ProcessInfo.processInfo.environment)
        } catch {
            for warning in error.warnings { printError(warning.description) }
            for diagnostic in error.diagnostics { printError(diagnostic.description) }
            throw ExitCode(1)
        }
        for warning in configuration.warnings { printError(warning.description) }
        // The tokens file has the HTTP module's format; `serve` reads it at start-up, so check it the same way.
        if let tokensFile = configuration.http.tokensFile {
            do {
                _ = try AccessTokens.load(path: tokensFile)
            } catch {
                printError(error.description)
                throw ExitCode(1)
            }
        }
        print("\(config): ok (\(configuration.zones.count) zones, \(configuration.sensors.count) sensors)")
    }
}

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a local mosquitto, the service with the demo configuration, and the festival scenario.",
        discussion: "Uses the Debian mosquitto binary on a free loopback port. Ctrl-C stops everything.")

    @Option(help: "HTTP port for the dashboard and API.")
    var port: Int = 8080

    @Option(help: "The demo configuration.")
    var config: String = "deploy/demo/streetsense.yaml"

    @Option(help: "Folder for the demo database.")
    var data: String = "var/demo"

    @Option(help: "Seed of the festival scenario.")
    var seed: UInt64 = 1

    @Option(help: "Minutes of one surge cycle (build-up, peak, dispersal).")
    var cycleMinutes: Int = 10

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.bootstrap()
        let broker = try await LocalBroker.start(.init(persistence: true, autosaveIntervalSeconds: 60))
        var environment = ProcessInfo.processInfo.environment
        environment["STREETSENSE_MQTT_URL"] = "mqtt://127.0.0.1:\(broker.port)"
        environment["STREETSENSE_HTTP_LISTEN"] = "127.0.0.1:\(port)"
        environment["STREETSENSE_STORE_SQLITE_PATH"] = "\(data)/streetsense.sqlite"
        let configuration: StreetSenseConfiguration
        do {
            configuration = try StreetSenseConfiguration.load(path: config, environment: environment)
        } catch {
            for diagnostic in error.diagnostics { printError(diagnostic.description) }
            try? await broker.stop()
            throw ExitCode(1)
        }
        var scenario = FestivalScenario(zones: configuration.zones, sensors: configuration.sensors, topicPrefix: configuration.mqtt.topicPrefix, seed: seed)
        scenario.cycle = .seconds(60 * max(1, cycleMinutes))
        let surgeZone = scenario.surgeZone ?? "-"
        let publisher = try FestivalPublisher(scenario: scenario, host: "127.0.0.1", port: broker.port, logger: logger)
        do {
            let service = try StreetSenseService(configuration: configuration, logger: logger)
            try await service.run(additionalServices: [publisher], onHTTPReady: { port in
                printNow("""

                    StreetSense demo is running (broker on 127.0.0.1:\(broker.port), festival surge in \(surgeZone)).
                      Dashboard: http://127.0.0.1:\(port)/
                      API:       http://127.0.0.1:\(port)/api/v1/zones
                    Press Ctrl-C to stop.

                    """)
            })
        } catch {
            try? await broker.stop()
            throw error
        }
        try await broker.stop()
    }
}

/// Loads a configuration or prints every diagnostic and exits 1.
func loadConfiguration(_ path: String) throws -> StreetSenseConfiguration {
    do {
        let configuration = try StreetSenseConfiguration.load(path: path, environment: ProcessInfo.processInfo.environment)
        for warning in configuration.warnings { printError(warning.description) }
        return configuration
    } catch {
        for diagnostic in error.diagnostics { printError(diagnostic.description) }
        throw ExitCode(1)
    }
}

/// Writes a line to standard output at once (unbuffered), so it shows even when the output is a pipe or a file.
func printNow(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
