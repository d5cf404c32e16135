import CMosquitto

/// A failure reported by libmosquitto, by the broker, or by a bounded wait of this module.
///
/// `code` is the number the source used (a `MOSQ_ERR_*` value, an MQTT 3.1.1 CONNACK return code or an
/// MQTT 5 reason code, according to `kind`) and `message` is the library's text for it
/// (`mosquitto_strerror`, `mosquitto_connack_string` or `mosquitto_reason_string`). `operation` says what
/// was being done, such as `publish to "a/b"`. Credentials never appear in any of the fields.
public struct MosquittoError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where `code` comes from.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        public let description: String
        private init(_ description: String) { self.description = description }

        /// A `MOSQ_ERR_*` value returned or reported by libmosquitto.
        public static let library = Kind("libmosquitto error")
        /// An MQTT 3.1.1 CONNACK return code other than 0 (1…5).
        public static let connectionRefused = Kind("CONNACK return code")
        /// An MQTT 5 reason code (CONNACK, SUBACK, PUBACK or a DISCONNECT from the broker).
        public static let reasonCode = Kind("MQTT 5 reason code")
        /// A bounded wait of this module ran out of time.
        public static let timeout = Kind("timeout")
        /// The configuration was rejected before anything was sent.
        public static let invalidConfiguration = Kind("invalid configuration")
    }

    public var kind: Kind
    public var code: Int
    public var message: String
    public var operation: String

    public init(kind: Kind, code: Int, message: String, operation: String) {
        self.kind = kind
        self.code = code
        self.message = message
        self.operation = operation
    }

    public var description: String {
        switch kind {
        case .timeout, .invalidConfiguration: "\(operation): \(message)"
        default: "\(operation): \(message) (\(kind) \(code))"
        }
    }

    /// A `MOSQ_ERR_*` code with `mosquitto_strerror`'s text. Call it right after the failing call: for
    /// `MOSQ_ERR_ERRNO` the text is read from `errno`.
    static func library(_ code: Int32, _ operation: String) -> MosquittoError {
        MosquittoError(kind: .library, code: Int(code), message: String(cString: mosquitto_strerror(code)), operation: operation)
    }

    /// An MQTT 3.1.1 CONNACK return code with `mosquitto_connack_string`'s text.
    static func connack(_ code: Int32, _ operation: String) -> MosquittoError {
        MosquittoError(
            kind: .connectionRefused, code: Int(code), message: String(cString: mosquitto_connack_string(code)), operation: operation)
    }

    /// An MQTT 5 reason code with `mosquitto_reason_string`'s text.
    static func reason(_ code: Int32, _ operation: String) -> MosquittoError {
        MosquittoError(kind: .reasonCode, code: Int(code), message: String(cString: mosquitto_reason_string(code)), operation: operation)
    }

    static func invalidConfiguration(_ message: String) -> MosquittoError {
        MosquittoError(kind: .invalidConfiguration, code: 0, message: message, operation: "configure the MQTT client")
    }

    static func timeout(_ operation: String, after timeout: Duration) -> MosquittoError {
        MosquittoError(kind: .timeout, code: 0, message: "not done after \(timeout)", operation: operation)
    }
}
