import StreetSenseCore

/// The decoder the pipeline uses: checks the size limit, then detects the payload's shape by its first
/// non-whitespace byte (`{` → ``NativeJSONDecoder``, `[` → ``SenMLDecoder``) and hands it over.
///
/// Throws `payload_too_large` above ``maximumPayloadSize`` bytes (checked before any byte is read) and
/// `malformed_json` for an empty payload or any other first byte (a UTF-8 byte-order mark included).
public struct PayloadDecoder: ReadingDecoder {
    /// The default size limit: 64 KiB (DESIGN §2).
    public static let defaultMaximumPayloadSize = 65_536

    /// The largest payload accepted, in bytes.
    public var maximumPayloadSize: Int
    /// Decodes payloads that start with `{`.
    public var native: NativeJSONDecoder
    /// Decodes payloads that start with `[`.
    public var senML: SenMLDecoder

    /// A decoder with one size limit and one future-skew limit for both shapes.
    public init(
        maximumPayloadSize: Int = PayloadDecoder.defaultMaximumPayloadSize,
        maximumFutureSkew: Duration = EventTimePolicy.default.maximumFutureSkew
    ) {
        self.maximumPayloadSize = maximumPayloadSize
        self.native = NativeJSONDecoder(maximumFutureSkew: maximumFutureSkew)
        self.senML = SenMLDecoder(maximumFutureSkew: maximumFutureSkew)
    }

    public func decode(
        _ payload: Span<UInt8>, sensor: SensorAddress, arrival: EventTime, into output: inout DecodeOutput
    ) throws(Reject) {
        guard payload.count <= maximumPayloadSize else {
            throw Reject(.payloadTooLarge, "\(payload.count) bytes, limit \(maximumPayloadSize)")
        }
        var scanner = JSONScanner()
        scanner.skipWhitespace(payload)
        switch scanner.peek(payload) {
        case ASCII.openBrace:
            try native.decode(payload, sensor: sensor, arrival: arrival, into: &output)
        case ASCII.openBracket:
            try senML.decode(payload, sensor: sensor, arrival: arrival, into: &output)
        case nil:
            throw Reject(.malformedJSON, "empty payload")
        case let byte?:
            throw Reject(
                .malformedJSON,
                "payload starts with \(RejectText.describe(byte: byte)), expected a JSON object or a SenML array")
        }
    }
}
