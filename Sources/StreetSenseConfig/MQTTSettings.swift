import Foundation
import StreetSenseCore

/// How StreetSense connects to its MQTT broker (DESIGN §2, §6, REFERENCES "MQTT and libmosquitto").
///
/// Invariants: `host` is not empty and `port` is in 1…65535; `usesTLS` iff the URL is `mqtts://`, and then `tls` is
/// set; `password` is set only with `username`; `sessionExpiry` is set (> 0) exactly for MQTT 5. The password never
/// appears in `description` or `debugDescription`.
public struct MQTTSettings: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The MQTT protocol version to speak. Use 5: only MQTT 5 tells a publisher that the ACL denied its message.
    public enum ProtocolVersion: String, Sendable, Hashable, CaseIterable {
        case v311 = "3.1.1"
        case v5 = "5"
    }

    /// The broker URL as configured, e.g. `mqtt://127.0.0.1:1883`.
    public var url: String
    public var host: String
    public var port: Int
    /// Whether the URL is `mqtts://`.
    public var usesTLS: Bool
    /// A fixed client id: the broker keeps the persistent session (and queued QoS 1 readings) under it.
    public var clientID: String
    /// The topic prefix, `streetsense/v1` by default: readings arrive on `{prefix}/readings/{pilot}/{sensor}`.
    public var topicPrefix: String
    public var username: String?
    /// The file the password was read from (resolved against the configuration file's folder).
    public var passwordFile: String?
    /// The password, read from `passwordFile` with its trailing newline removed.
    public var password: Secret?
    /// TLS files; nil for `mqtt://`. For `mqtts://` without a `tls` section, all fields are nil (system trust).
    public var tls: TLSSettings?
    public var protocolVersion: ProtocolVersion
    /// The MQTT 5 Session Expiry Interval; nil for MQTT 3.1.1 (which uses `clean_session=false`).
    public var sessionExpiry: Duration?
    public var keepalive: Duration

    /// Seven days: how long the broker keeps our session, and the readings queued in it, while we are away.
    public static let defaultSessionExpiry = Duration.seconds(7 * 24 * 3600)
    public static let defaultTopicPrefix = "streetsense/v1"

    public init(
        url: String = "mqtt://127.0.0.1:1883", host: String = "127.0.0.1", port: Int = 1883, usesTLS: Bool = false,
        clientID: String = "streetsense", topicPrefix: String = MQTTSettings.defaultTopicPrefix,
        username: String? = nil, passwordFile: String? = nil, password: Secret? = nil, tls: TLSSettings? = nil,
        protocolVersion: ProtocolVersion = .v5, sessionExpiry: Duration? = MQTTSettings.defaultSessionExpiry,
        keepalive: Duration = .seconds(60)
    ) {
        self.url = url
        self.host = host
        self.port = port
        self.usesTLS = usesTLS
        self.clientID = clientID
        self.topicPrefix = topicPrefix
        self.username = username
        self.passwordFile = passwordFile
        self.password = password
        self.tls = tls
        self.protocolVersion = protocolVersion
        self.sessionExpiry = sessionExpiry
        self.keepalive = keepalive
    }

    public var description: String {
        var parts = [
            "url: \(url)", "client_id: \(clientID)", "topic_prefix: \(topicPrefix)",
            "protocol: \(protocolVersion.rawValue)",
        ]
        if let username { parts.append("username: \(username)") }
        if let passwordFile { parts.append("password_file: \(passwordFile)") }
        if password != nil { parts.append("password: <redacted>") }
        if let tls { parts.append("tls: \(tls)") }
        if let sessionExpiry { parts.append("session_expiry: \(sessionExpiry)") }
        parts.append("keepalive: \(keepalive)")
        return "MQTTSettings(\(parts.joined(separator: ", ")))"
    }

    public var debugDescription: String { description }
}

/// TLS files for an `mqtts://` broker. Paths are resolved against the configuration file's folder and existed when
/// the configuration was loaded. Invariant: `certFile` and `keyFile` are both set or both nil.
public struct TLSSettings: Sendable, Hashable, CustomStringConvertible {
    /// The CA certificates to trust; nil means the system's trust store.
    public var caFile: String?
    /// The client certificate, for brokers that authenticate clients by certificate.
    public var certFile: String?
    public var keyFile: String?
    /// Skip the broker host name check. For tests only.
    public var insecure: Bool

    public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, insecure: Bool = false) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.insecure = insecure
    }

    public var description: String {
        var parts: [String] = []
        if let caFile { parts.append("ca_file: \(caFile)") }
        if let certFile { parts.append("cert_file: \(certFile)") }
        if let keyFile { parts.append("key_file: \(keyFile)") }
        if insecure { parts.append("insecure: true") }
        return "TLSSettings(\(parts.joined(separator: ", ")))"
    }
}

extension MQTTSettings {
    /// Reads the `mqtt` section; reports every problem and returns what it could read.
    init(reading reader: MappingReader, context: LoadContext) {
        self.init()
        let log = context.log
        if let url = reader.required("url", .string) {
            switch BrokerURL.parse(url) {
            case .success(let broker):
                self.url = url
                host = broker.host
                port = broker.port
                usesTLS = broker.usesTLS
            case .failure(let problem):
                log.error(at: reader.valueOrigin("url"), key: reader.keyPath("url"), problem.reason)
            }
        }
        clientID = reader.value(
            "client_id",
            ValueType.string.checked {
                Identifier.isValid($0)
                    ? nil : "\"\($0.prefix(80))\" is not a usable client id (1 to 64 characters from A-Z, a-z, 0-9, '_', '.', '-')"
            },
            default: clientID)
        topicPrefix = reader.value("topic_prefix", ValueType.string.checked(Self.topicPrefixProblem), default: topicPrefix)
        username = reader.optional("username", .string)
        passwordFile = context.existingFile("password_file", of: reader)
        if let passwordFile {
            if username == nil {
                log.error(
                    at: reader.valueOrigin("password_file"), key: reader.keyPath("password_file"),
                    "a password needs a username (set mqtt.username)")
            }
            if LoadContext.fileProblem(passwordFile) == nil {
                switch Self.readPassword(passwordFile) {
                case .success(let secret): password = secret
                case .failure(let problem):
                    log.error(at: reader.valueOrigin("password_file"), key: reader.keyPath("password_file"), problem.reason)
                }
            }
        }

        let tlsOrigin = reader.entries.last { $0.key == "tls" }?.keyOrigin
        if let section = reader.section("tls") {
            var tls = TLSSettings()
            tls.caFile = context.existingFile("ca_file", of: section)
            tls.certFile = context.existingFile("cert_file", of: section)
            tls.keyFile = context.existingFile("key_file", of: section)
            tls.insecure = section.value("insecure", .bool, default: false)
            if (tls.certFile == nil) != (tls.keyFile == nil) {
                let missing = tls.certFile == nil ? "cert_file" : "key_file"
                log.error(
                    at: section.origin, key: section.keyPath(missing),
                    "missing required key (cert_file and key_file go together)")
            }
            section.reportUnknownKeys()
            if !usesTLS, let tlsOrigin, section.entries.contains(where: { !$0.value.isNull }) {
                log.error(at: tlsOrigin, key: reader.keyPath("tls"), "TLS settings need an mqtts:// url")
            }
            self.tls = tls
        }
        if usesTLS, tls == nil { tls = TLSSettings() }
        if !usesTLS { tls = nil }

        if let text = reader.optional("protocol", .string) {
            switch text {
            case "5", "5.0": protocolVersion = .v5
            case "3.1.1", "311": protocolVersion = .v311
            default:
                log.error(
                    at: reader.valueOrigin("protocol"), key: reader.keyPath("protocol"),
                    "expected \"5\" or \"3.1.1\", got \"\(text.prefix(40))\"")
            }
        }
        let expiry = reader.optional("session_expiry_s", .integer(1...Int(UInt32.max)))
        switch protocolVersion {
        case .v5:
            sessionExpiry = expiry.map { .seconds($0) } ?? Self.defaultSessionExpiry
        case .v311:
            sessionExpiry = nil
            if expiry != nil {
                log.error(
                    at: reader.valueOrigin("session_expiry_s"), key: reader.keyPath("session_expiry_s"),
                    "applies to MQTT 5 only (with 3.1.1 the broker's persistent_client_expiration decides)")
            }
        }
        keepalive = .seconds(reader.value("keepalive_s", .integer(5...65535), default: 60))
        reader.reportUnknownKeys()
    }

    /// Why `prefix` cannot be a topic prefix, or nil.
    static func topicPrefixProblem(_ prefix: String) -> String? {
        if prefix.contains("+") || prefix.contains("#") { return "must not contain the wildcards + or #" }
        if prefix.hasPrefix("/") || prefix.hasSuffix("/") { return "must not start or end with /" }
        if prefix.contains("//") { return "must not contain an empty level (//)" }
        if prefix.contains("\u{0}") { return "must not contain NUL" }
        return nil
    }

    struct Problem: Error {
        var reason: String
    }

    /// The password in `path`, without its trailing line break.
    static func readPassword(_ path: String) -> Result<Secret, Problem> {
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(Problem(reason: "cannot read the password file: \(path)"))
        }
        guard var text = String(data: data, encoding: .utf8) else {
            return .failure(Problem(reason: "the password file is not valid UTF-8: \(path)"))
        }
        while let last = text.last, last.isNewline { text.removeLast() }
        if text.isEmpty { return .failure(Problem(reason: "the password file is empty: \(path)")) }
        return .success(Secret(text))
    }
}

/// A parsed `mqtt://` or `mqtts://` broker address.
struct BrokerURL: Equatable {
    var host: String
    var port: Int
    var usesTLS: Bool

    static func parse(_ url: String) -> Result<BrokerURL, MQTTSettings.Problem> {
        let expected = "expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT], got \"\(url.prefix(80))\""
        let lowered = url.lowercased()
        let usesTLS: Bool
        let rest: Substring
        if lowered.hasPrefix("mqtt://") {
            usesTLS = false
            rest = url.dropFirst("mqtt://".count)
        } else if lowered.hasPrefix("mqtts://") {
            usesTLS = true
            rest = url.dropFirst("mqtts://".count)
        } else {
            return .failure(.init(reason: expected))
        }
        var authority = rest
        if authority.hasSuffix("/") { authority.removeLast() }
        if authority.contains("@") {
            return .failure(.init(reason: "credentials do not belong in the url: use mqtt.username and mqtt.password_file"))
        }
        if authority.contains("/") || authority.contains("?") || authority.contains("#") {
            return .failure(.init(reason: "a broker url has no path or query: \(expected)"))
        }
        switch HostAndPort.parse(authority, defaultPort: usesTLS ? 8883 : 1883, allowedPorts: 1...65535) {
        case .success(let hostPort):
            return .success(BrokerURL(host: hostPort.host, port: hostPort.port, usesTLS: usesTLS))
        case .failure(let problem):
            return .failure(problem)
        }
    }
}

/// `HOST:PORT`, with IPv6 hosts in brackets (`[::1]:8080`).
struct HostAndPort: Equatable {
    var host: String
    var port: Int

    static func parse(
        _ text: Substring, defaultPort: Int?, allowedPorts: ClosedRange<Int>
    ) -> Result<HostAndPort, MQTTSettings.Problem> {
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                return .failure(.init(reason: "an IPv6 address needs a closing ]"))
            }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return .failure(.init(reason: "expected :PORT after ]")) }
                portText = after.dropFirst()
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                return .failure(.init(reason: "\"\(host)\" is not an IPv6 address"))
            }
        } else {
            if let colon = text.lastIndex(of: ":") {
                host = text[..<colon]
                portText = text[text.index(after: colon)...]
            } else {
                host = text
            }
            guard !host.isEmpty else { return .failure(.init(reason: "the host is missing")) }
            guard host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_") })
            else {
                return .failure(.init(reason: "\"\(host.prefix(80))\" is not a host name or address"))
            }
        }
        let port: Int
        if let portText {
            guard let value = Int(portText), allowedPorts.contains(value) else {
                return .failure(
                    .init(
                        reason:
                            "the port must be a number from \(allowedPorts.lowerBound) to \(allowedPorts.upperBound), got \"\(portText.prefix(20))\""
                    ))
            }
            port = value
        } else if let defaultPort {
            port = defaultPort
        } else {
            return .failure(.init(reason: "expected HOST:PORT, got \"\(text.prefix(80))\" (the port is missing)"))
        }
        return .success(HostAndPort(host: String(host), port: port))
    }
}
