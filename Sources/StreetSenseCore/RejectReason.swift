/// Why a message (or one reading in it) was rejected. The raw value is the name shown in the API, the
/// rejects table, metrics and logs.
///
/// Every reject has exactly one reason; a message is rejected whole when its payload cannot be trusted
/// (bad JSON, wrong identity, too large) and reading by reading when only some values are bad.
public enum RejectReason: String, CaseIterable, Sendable, Hashable, Codable {
    /// The payload is not valid JSON, or not of a shape StreetSense knows (native object or SenML array).
    case malformedJSON = "malformed_json"
    /// The payload is over the size limit (64 KiB by default).
    case payloadTooLarge = "payload_too_large"
    /// The topic is not `{prefix}/readings/{pilot}/{sensor}` with valid ids.
    case badTopic = "bad_topic"
    /// A SenML base name names a different sensor than the topic.
    case identityMismatch = "identity_mismatch"
    /// A metric name outside the vocabulary.
    case unknownMetric = "unknown_metric"
    /// A SenML unit that does not fit the metric.
    case unitMismatch = "unit_mismatch"
    /// A value that is not a number (string, boolean, null, object).
    case notNumeric = "not_numeric"
    /// NaN or infinity (or a number literal too large for a Double).
    case notFinite = "not_finite"
    /// A value outside the metric's valid range.
    case outOfRange = "out_of_range"
    /// A known sensor error code, such as the SDS011's 999.9 and 1999.9 µg/m³.
    case errorCode = "error_code"
    /// A timestamp that is neither RFC 3339 with an offset nor Unix seconds.
    case badTimestamp = "bad_timestamp"
    /// A timestamp more than the allowed skew (60 s) ahead of arrival.
    case futureTimestamp = "future_timestamp"
    /// A message with no reading in it.
    case noReadings = "no_readings"
    /// A reading from a sensor of the wrong kind for its metric (for example `people` from an `air` sensor).
    case kindMismatch = "kind_mismatch"
}

/// A rejected message or reading: the reason and a short human-readable detail (which key, which value).
///
/// `detail` never contains more than a short excerpt of the payload.
public struct Reject: Error, Sendable, Hashable {
    public var reason: RejectReason
    public var detail: String

    public init(_ reason: RejectReason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }
}
