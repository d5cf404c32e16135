import StreetSenseCore

/// One line of a trace: a message as a broker delivered it (or would deliver it) at `at`.
///
/// A trace is JSON Lines, one record per line, in delivery order:
/// `{"at":"2026-11-22T10:15:00.250Z","topic":"…","payload":"…","qos":1}`. Payloads that are not valid UTF-8
/// are written as `"payload_b64"` (standard Base64) instead of `"payload"`. `at` has millisecond precision.
public struct TraceRecord: Sendable, Hashable {
    /// When the message was (or is to be) delivered: offline replay uses it as the message's arrival time.
    public var at: EventTime
    public var topic: String
    /// The payload bytes, exactly as published.
    public var payload: [UInt8]
    /// MQTT quality of service: 0, 1 or 2.
    public var qos: Int

    public init(at: EventTime, topic: String, payload: [UInt8], qos: Int = 1) {
        self.at = at
        self.topic = topic
        self.payload = payload
        self.qos = qos
    }

    public init(at: EventTime, topic: String, payload: String, qos: Int = 1) {
        self.init(at: at, topic: topic, payload: Array(payload.utf8), qos: qos)
    }
}

/// Why a trace line could not be read: the line number (from 1) and a short reason. The line is skipped.
public struct TraceLineError: Error, Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var reason: String

    public init(line: Int, reason: String) {
        self.line = line
        self.reason = reason
    }

    public var description: String { "line \(line): \(reason)" }
}

/// A trace file that cannot be opened, read or written.
public struct TraceFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
