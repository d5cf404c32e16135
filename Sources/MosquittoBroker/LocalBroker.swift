import Foundation
import Mosquitto
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A real mosquitto broker on this machine (for `streetsense demo` and tests): `/usr/sbin/mosquitto -c <generated conf>` on a free loopback port, in
/// its own temporary directory (configuration, password and ACL files, persistence, log).
///
/// The broker listens on 127.0.0.1 only, with `set_tcp_nodelay true`. `stop()` sends SIGTERM (mosquitto then
/// saves its persistence file) and waits for the exit; `kill()` sends SIGKILL (nothing is saved);
/// `restart()` starts it again on the same port with the same directory. The directory is removed when the
/// broker is deallocated. `log` holds everything the broker wrote, for failing tests.
public final class LocalBroker: Sendable {
    /// What the generated configuration contains besides the listener.
    public struct Options: Sendable {
        /// `persistence true` with the database in the broker's directory, so sessions and queued messages
        /// survive `stop()` and `restart()`.
        public var persistence: Bool
        /// `autosave_interval` in seconds; mosquitto's default is 1800.
        public var autosaveIntervalSeconds: Int?
        /// Users and passwords for a password file made with `mosquitto_passwd -b`. When not empty,
        /// anonymous clients are refused.
        public var users: [String: String]
        /// Lines of an ACL file (`user alice`, `topic read a/#`, `pattern write x/%c/#`…), if any.
        public var aclRules: [String]?
        /// `max_queued_messages` per client; mosquitto's default is 1000.
        public var maxQueuedMessages: Int?
        /// A second listener with TLS, on its own free port (`tlsPort`).
        public var tls: TLSListener?
        /// Lines appended verbatim to the configuration.
        public var extraConfiguration: [String]
        /// How long `start` and `restart` wait for the broker to accept connections.
        public var startupTimeout: Duration

        public init(
            persistence: Bool = false,
            autosaveIntervalSeconds: Int? = nil,
            users: [String: String] = [:],
            aclRules: [String]? = nil,
            maxQueuedMessages: Int? = nil,
            tls: TLSListener? = nil,
            extraConfiguration: [String] = [],
            startupTimeout: Duration = .seconds(30)
        ) {
            self.persistence = persistence
            self.autosaveIntervalSeconds = autosaveIntervalSeconds
            self.users = users
            self.aclRules = aclRules
            self.maxQueuedMessages = maxQueuedMessages
            self.tls = tls
            self.extraConfiguration = extraConfiguration
            self.startupTimeout = startupTimeout
        }
    }

    /// PEM files for a TLS listener.
    public struct TLSListener: Sendable {
        public var caFile: String
        public var certificateFile: String
        public var keyFile: String
        /// Clients must present a certificate signed by `caFile`.
        public var requireClientCertificate: Bool

        public init(caFile: String, certificateFile: String, keyFile: String, requireClientCertificate: Bool = false) {
            self.caFile = caFile
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.requireClientCertificate = requireClientCertificate
        }
    }

    /// Where the broker is expected; `make test` installs it.
    public static let executablePath = "/usr/sbin/mosquitto"
    /// Where `mosquitto_passwd` is expected.
    public static let passwordToolPath = "/usr/bin/mosquitto_passwd"

    public let host = "127.0.0.1"
    public let port: Int
    /// The port of the TLS listener, when `Options.tls` was given.
    public let tlsPort: Int?
    /// The broker's temporary directory.
    public let directory: String
    public let options: Options

    private var configurationPath: String { directory + "/mosquitto.conf" }
    private var logPath: String { directory + "/mosquitto.log" }
    private var consolePath: String { directory + "/console.log" }

    private let process = Mutex<ChildProcess?>(nil)

    private init(port: Int, tlsPort: Int?, directory: String, options: Options) {
        self.port = port
        self.tlsPort = tlsPort
        self.directory = directory
        self.options = options
    }

    /// Writes the configuration, starts mosquitto and waits until it accepts TCP connections.
    ///
    /// - Throws: `LocalBrokerError` when mosquitto is not installed (run `make test`), exits at once, or does
    ///   not accept connections within `options.startupTimeout`; the error includes the broker's log.
    public static func start(_ options: Options = Options()) async throws -> LocalBroker {
        guard FileManager.default.isExecutableFile(atPath: executablePath) else {
            throw LocalBrokerError(
                "mosquitto is not installed at \(executablePath): run `make test`, which installs it (Debian packages mosquitto and mosquitto-clients)",
                log: "")
        }
        // A port free when it was handed out can be taken before mosquitto binds it (by another program on
        // the machine): then mosquitto exits at once saying so, and a new pair of ports is tried.
        var attempt = 1
        while true {
            let directory = try makeTemporaryDirectory()
            let broker = LocalBroker(
                port: try FreePort.loopback(), tlsPort: options.tls == nil ? nil : try FreePort.loopback(), directory: directory,
                options: options)
            try broker.writeFiles()
            do {
                try await broker.launch()
                return broker
            } catch let error as LocalBrokerError where attempt < 5 && error.log.contains("Address already in use") {
                attempt += 1
            }
        }
    }

    deinit {
        if let running = process.withLock({ $0 }), running.isRunning {
            running.send(SIGKILL)
            running.waitForExitBlocking()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Whether the broker process is running.
    public var isRunning: Bool { process.withLock { $0?.isRunning ?? false } }

    /// The broker's process id while it runs (benchmarks read its CPU time from `/proc/<pid>/stat`).
    public var processID: Int32? { process.withLock { $0.flatMap { $0.isRunning ? $0.pid : nil } } }

    /// Everything the broker logged so far, across restarts, and what it printed before its log was open.
    public var log: String {
        let console = (try? String(contentsOfFile: consolePath, encoding: .utf8)) ?? ""
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return console.isEmpty ? log : console + log
    }

    /// The contents of the generated configuration file.
    public var configuration: String { (try? String(contentsOfFile: configurationPath, encoding: .utf8)) ?? "" }

    /// A client configuration for this broker: plain TCP on `port`, test-sized timeouts, and the given
    /// identity and protocol. Reconnects start after 1 s and back off to at most 2 s.
    public func clientConfiguration(
        clientID: String? = nil,
        cleanSession: Bool = false,
        protocolVersion: MosquittoClient.Configuration.ProtocolVersion = .v311,
        sessionExpirySeconds: UInt32 = 300
    ) -> MosquittoClient.Configuration {
        MosquittoClient.Configuration(
            host: host, port: port, clientID: clientID ?? Self.uniqueClientID(), cleanSession: cleanSession,
            protocolVersion: protocolVersion, sessionExpirySeconds: sessionExpirySeconds, keepAliveSeconds: 10,
            reconnectDelay: .init(minimumSeconds: 1, maximumSeconds: 2, exponentialBackoff: false))
    }

    /// A client id no other test uses.
    public static func uniqueClientID(_ prefix: String = "test") -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Sends SIGTERM (mosquitto saves its persistence file and exits) and waits for the exit; after
    /// `timeout` it sends SIGKILL. Does nothing if the broker is not running.
    public func stop(timeout: Duration = .seconds(5)) async throws {
        guard let running = process.withLock({ $0 }), running.isRunning else { return }
        running.send(SIGTERM)
        if await running.waitForExit(timeout: timeout) { return }
        running.send(SIGKILL)
        guard await running.waitForExit(timeout: .seconds(5)) else {
            throw LocalBrokerError("mosquitto (pid \(running.pid)) did not exit after SIGTERM and SIGKILL", log: log)
        }
        throw LocalBrokerError("mosquitto did not exit within \(timeout) of SIGTERM and was killed", log: log)
    }

    /// Sends SIGKILL, as a crash would: nothing is saved since the last autosave.
    public func kill() async throws {
        guard let running = process.withLock({ $0 }), running.isRunning else { return }
        running.send(SIGKILL)
        guard await running.waitForExit(timeout: .seconds(5)) else {
            throw LocalBrokerError("mosquitto (pid \(running.pid)) did not exit after SIGKILL", log: log)
        }
    }

    /// Stops the broker if it runs (SIGTERM) and starts it again on the same port and directory.
    public func restart() async throws {
        try await stop()
        try await launch()
    }

    // MARK: - Setup

    private static func makeTemporaryDirectory() throws -> String {
        let base = FileManager.default.temporaryDirectory.path
        var template = Array(((base.hasSuffix("/") ? base : base + "/") + "streetsense-broker-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw LocalBrokerError("cannot create a temporary directory: \(String(cString: strerror(errno)))", log: "") }
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    private func writeFiles() throws {
        var lines = [
            "# Generated by StreetSenseTesting.LocalBroker",
            "listener \(port) \(host)",
            "set_tcp_nodelay true",
            "log_dest file \(logPath)",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
        ]
        // Run as whoever runs the tests: as root, mosquitto would otherwise switch to the user `mosquitto`,
        // who cannot write to this directory.
        if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name {
            lines.append("user \(String(cString: name))")
        }
        if options.users.isEmpty {
            lines.append("allow_anonymous true")
        } else {
            lines.append("allow_anonymous false")
            lines.append("password_file \(directory)/passwords")
            try writePasswordFile()
        }
        if let aclRules = options.aclRules {
            try (aclRules.joined(separator: "\n") + "\n").write(toFile: directory + "/acl", atomically: true, encoding: .utf8)
            lines.append("acl_file \(directory)/acl")
        }
        if options.persistence {
            lines.append("persistence true")
            lines.append("persistence_location \(directory)/")
        }
        if let autosave = options.autosaveIntervalSeconds { lines.append("autosave_interval \(autosave)") }
        if let maxQueued = options.maxQueuedMessages { lines.append("max_queued_messages \(maxQueued)") }
        if let tls = options.tls, let tlsPort {
            lines.append("listener \(tlsPort) \(host)")
            lines.append("cafile \(tls.caFile)")
            lines.append("certfile \(tls.certificateFile)")
            lines.append("keyfile \(tls.keyFile)")
            if tls.requireClientCertificate { lines.append("require_certificate true") }
        }
        lines.append(contentsOf: options.extraConfiguration)
        try (lines.joined(separator: "\n") + "\n").write(toFile: configurationPath, atomically: true, encoding: .utf8)
    }

    private func writePasswordFile() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.passwordToolPath) else {
            throw LocalBrokerError(
                "mosquitto_passwd is not installed at \(Self.passwordToolPath): run `make test`, which installs it (Debian package mosquitto)",
                log: "")
        }
        let path = directory + "/passwords"
        let output = directory + "/mosquitto_passwd.log"
        for (index, (user, password)) in options.users.sorted(by: { $0.key < $1.key }).enumerated() {
            let tool = try ChildProcess.spawn(
                executable: Self.passwordToolPath, arguments: (index == 0 ? ["-c"] : []) + ["-b", path, user, password], outputPath: output)
            tool.waitForExitBlocking()
            guard tool.exitDescription == "exit status 0" else {
                let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
                throw LocalBrokerError("mosquitto_passwd failed for user \(user) with \(tool.exitDescription)", log: text)
            }
        }
    }

    private func launch() async throws {
        let broker = try ChildProcess.spawn(executable: Self.executablePath, arguments: ["-c", configurationPath], outputPath: consolePath)
        process.withLock { $0 = broker }

        let deadline = ContinuousClock.now.advanced(by: options.startupTimeout)
        while true {
            if !broker.isRunning {
                throw LocalBrokerError("mosquitto stopped at start with \(broker.exitDescription)", log: log)
            }
            if FreePort.isAcceptingConnections(port: port) && (tlsPort.map { FreePort.isAcceptingConnections(port: $0) } ?? true) {
                return
            }
            guard ContinuousClock.now < deadline else {
                broker.send(SIGKILL)
                throw LocalBrokerError("mosquitto did not accept connections on \(host):\(port) within \(options.startupTimeout)", log: log)
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// The test broker could not be started or controlled. The message says why and what to do; `log` is
/// what the broker wrote.
public struct LocalBrokerError: Error, CustomStringConvertible {
    public let message: String
    public let log: String

    public init(_ message: String, log: String) {
        self.message = message
        self.log = log
    }

    public var description: String { log.isEmpty ? message : "\(message)\n--- broker log ---\n\(log)" }
}
