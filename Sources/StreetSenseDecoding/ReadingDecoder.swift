import StreetSenseCore

/// Decodes the payload of one message published for one sensor into readings and per-value rejects.
///
/// Contract:
/// - Whole-message problems (bad JSON, too large, identity mismatch, a bad message-wide timestamp, no values)
///   throw a ``Reject``; `output` is then exactly as it was before the call.
/// - Per-value problems (an unknown metric, a value out of range, a future timestamp, …) append one ``Reject``
///   each to `output.rejects`; the good values of the same message still go to `output.readings`. A message whose
///   every value was rejected returns normally with no readings and those rejects.
/// - Every accepted reading has a finite value inside its metric's valid range, and its time (when not nil) is at
///   most the decoder's `maximumFutureSkew` ahead of `arrival`. A nil time means "use the arrival time".
/// - Once `output`'s buffers have grown, decoding allocates nothing on the accepting path.
public protocol ReadingDecoder: Sendable {
    func decode(
        _ payload: Span<UInt8>, sensor: SensorAddress, arrival: EventTime, into output: inout DecodeOutput
    ) throws(Reject)
}

/// The buffers a decoder appends to. Create one per decoding thread and reuse it for every message:
/// ``reset()`` empties it but keeps its capacity, so a warm pipeline decodes without allocating.
///
/// Invariant: `readings` and `rejects` hold what the messages decoded since the last reset produced, in payload
/// order (per-value `future_timestamp` rejects of a native object come after its other rejects).
public struct DecodeOutput: Sendable {
    /// The accepted readings.
    public var readings: [DecodedReading]
    /// Rejected values: one entry per value that could not be accepted.
    public var rejects: [Reject]
    /// The `interval_s` of the last native message that carried a valid one (flow counters report per interval).
    public var intervalSeconds: Double?
    /// The `seq` of the last native message that carried a valid one.
    public var sequence: UInt64?
    /// The newest time the message gave its values (native `t`; SenML `bt` + `t`), accepted or rejected; nil
    /// when it gave none. Events about rejected values (a faulty sensor's error codes) happen at this time.
    public var time: EventTime?

    // Scratch space reused across messages: decoded escaped strings, concatenated SenML names, other keys.
    var text: [UInt8] = []
    var otherKeys: [StringToken] = []

    public init(capacity: Int = 16) {
        readings = []
        rejects = []
        readings.reserveCapacity(capacity)
        rejects.reserveCapacity(4)
        text.reserveCapacity(64)
        otherKeys.reserveCapacity(4)
    }

    /// Records a time the message gave (``time`` keeps the newest).
    mutating func noteTime(_ value: EventTime?) {
        if let value, time.map({ value > $0 }) ?? true { time = value }
    }

    /// Empties the output for the next message, keeping every buffer's capacity.
    public mutating func reset() {
        if !readings.isEmpty { readings.removeAll(keepingCapacity: true) }
        if !rejects.isEmpty { rejects.removeAll(keepingCapacity: true) }
        intervalSeconds = nil
        sequence = nil
        time = nil
    }

    /// Restores the counts recorded before a message whose decoding then threw.
    mutating func rollBack(to mark: Mark) {
        if readings.count > mark.readings { readings.removeSubrange(mark.readings...) }
        if rejects.count > mark.rejects { rejects.removeSubrange(mark.rejects...) }
        intervalSeconds = mark.intervalSeconds
        sequence = mark.sequence
    }

    var mark: Mark {
        Mark(readings: readings.count, rejects: rejects.count, intervalSeconds: intervalSeconds, sequence: sequence)
    }

    struct Mark {
        var readings: Int
        var rejects: Int
        var intervalSeconds: Double?
        var sequence: UInt64?
    }
}
