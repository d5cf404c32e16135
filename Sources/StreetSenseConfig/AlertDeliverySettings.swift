import Foundation

/// Where alert transitions are delivered besides the SSE feed (DESIGN §5): the MQTT alert topics and webhooks.
///
/// Invariants: `source` is a non-empty URI reference without spaces or control characters; every webhook's `url`
/// is an `http://` or `https://` URL with a host, its `timeout` is greater than 0, `maxAttempts` and
/// `queueCapacity` are at least 1. Secrets are ``Secret`` values, so descriptions and dumps never show them.
public struct AlertDeliverySettings: Sendable, Hashable, CustomStringConvertible {
    /// One webhook endpoint: every alert transition is POSTed to `url` as a CloudEvents JSON envelope.
    public struct Webhook: Sendable, Hashable, CustomStringConvertible {
        /// The URL as configured (it may carry credentials or a token in its query: show ``redactedURL`` instead).
        public var url: String
        /// The HMAC-SHA256 key for the `X-StreetSense-Signature` header; nil sends no signature.
        public var secret: Secret?
        /// How long one attempt may take, connect to response.
        public var timeout: Duration
        /// Attempts per event (the first one included) before the event is given up as failed.
        public var maxAttempts: Int
        /// Events waiting for this endpoint at most; when full, the oldest is dropped.
        public var queueCapacity: Int

        public init(
            url: String, secret: Secret? = nil, timeout: Duration = .seconds(5), maxAttempts: Int = 8, queueCapacity: Int = 10_000
        ) {
            self.url = url
            self.secret = secret
            self.timeout = timeout
            self.maxAttempts = maxAttempts
            self.queueCapacity = queueCapacity
        }

        /// The URL without credentials, query or fragment: safe to log and to show in statistics.
        public var redactedURL: String { Self.redact(url) }

        public var description: String {
            let seconds = formatNumber(Double(timeout.components.seconds) + Double(timeout.components.attoseconds) * 1e-18)
            let secretText = secret == nil ? "none" : "<redacted>"
            return "\(redactedURL) (secret: \(secretText), timeout_s: \(seconds), max_attempts: \(maxAttempts), queue: \(queueCapacity))"
        }

        /// `url` without user, password, query and fragment (`https://host:8443/hook`).
        public static func redact(_ url: String) -> String {
            guard var components = URLComponents(string: url) else { return "<invalid url>" }
            components.user = nil
            components.password = nil
            components.query = nil
            components.fragment = nil
            return components.string ?? "<invalid url>"
        }
    }

    /// Whether transitions are published on `{prefix}/alerts/{subject_kind}/{subject_id}`.
    public var mqttPublish: Bool
    /// The CloudEvents `source` of every envelope.
    public var source: String
    public var webhooks: [Webhook]

    public init(mqttPublish: Bool = true, source: String = "/streetsense", webhooks: [Webhook] = []) {
        self.mqttPublish = mqttPublish
        self.source = source
        self.webhooks = webhooks
    }

    public var description: String {
        "mqtt_publish: \(mqttPublish), source: \(source), webhooks: [\(webhooks.map(\.description).joined(separator: ", "))]"
    }
}

extension AlertDeliverySettings {
    /// Reads the `alerts` section; `environment` resolves `secret_env`.
    init(reading reader: MappingReader, environment: [String: String], log: DiagnosticLog) {
        self.init()
        mqttPublish = reader.value("mqtt_publish", .bool, default: mqttPublish)
        let sourceType = ValueType<String>.string.checked { text in
            text.unicodeScalars.contains { $0.value <= 0x20 || $0.value == 0x7F }
                ? "expected a URI reference without spaces or control characters, got \"\(text.prefix(80))\"" : nil
        }
        source = reader.value("source", sourceType, default: source)
        if let elements = reader.list("webhooks") {
            for (index, element) in elements.enumerated() {
                let path = reader.keyPath("webhooks") + "[\(index)]"
                if element.isNull {
                    log.error(at: element.origin, key: path, "expected a webhook (a mapping with a url), got null")
                    continue
                }
                guard let webhook = MappingReader.make(element, path: path, origin: element.origin, log: log) else { continue }
                if let read = Webhook(reading: webhook, environment: environment, log: log) { webhooks.append(read) }
            }
        }
        reader.reportUnknownKeys()
    }
}

extension AlertDeliverySettings.Webhook {
    /// Reads one element of `alerts.webhooks`; nil if anything in it was wrong (all of it reported).
    init?(reading reader: MappingReader, environment: [String: String], log: DiagnosticLog) {
        let errorsBefore = log.errors.count
        let urlType = ValueType<String>.string.checked { Self.urlProblem($0) }
        let url = reader.required("url", urlType)
        var secret = reader.optional("secret", .string).map(Secret.init)
        if let variable = reader.optional("secret_env", .string) {
            if secret != nil {
                log.error(at: reader.valueOrigin("secret_env"), key: reader.keyPath("secret_env"), "give either secret or secret_env, not both")
            } else if let value = environment[variable], !value.isEmpty {
                secret = Secret(value)
            } else {
                log.error(
                    at: reader.valueOrigin("secret_env"), key: reader.keyPath("secret_env"),
                    "the environment variable \(variable.prefix(80)) is not set or empty")
            }
        }
        let timeout = reader.value("timeout_s", .seconds(positive: true), default: .seconds(5))
        if timeout > .seconds(300) {
            log.error(at: reader.valueOrigin("timeout_s"), key: reader.keyPath("timeout_s"), "must be at most 300 seconds")
        }
        let maxAttempts = reader.value("max_attempts", .integer(1...1000), default: 8)
        let queue = reader.value("queue", .integer(1...10_000_000), default: 10_000)
        reader.reportUnknownKeys()
        guard let url, log.errors.count == errorsBefore else { return nil }
        self.init(url: url, secret: secret, timeout: timeout, maxAttempts: maxAttempts, queueCapacity: queue)
    }

    /// Why `text` is not a usable webhook URL, or nil if it is. Never repeats a query (it may hold a token).
    static func urlProblem(_ text: String) -> String? {
        let shown = redact(text) == "<invalid url>" ? String(text.prefix(80)) : String(redact(text).prefix(80))
        let expected = "expected an http:// or https:// URL, got \"\(shown)\""
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https"
        else { return expected }
        guard let host = components.host, !host.isEmpty else { return "the URL has no host: \(expected)" }
        return nil
    }
}
