import StreetSenseCore

/// How the pipeline treats time, payload sizes and its hand-off queue (DESIGN §1, §2).
///
/// Invariants: durations are ≥ 0 (`snapshotInterval` > 0); sizes and capacities are ≥ 1.
public struct PipelineSettings: Sendable, Hashable {
    /// How far behind the newest time of its series a reading may be and still be aggregated.
    public var allowedLateness: Duration
    /// How far ahead of its arrival a timestamp may be before it is rejected `future_timestamp`.
    public var maximumFutureSkew: Duration
    /// Payloads larger than this are rejected.
    public var maxPayloadBytes: Int
    /// How often the aggregation core publishes a snapshot for readers.
    public var snapshotInterval: Duration
    /// The capacity, in messages, of the bounded queue from ingest to the core; a full queue makes ingest wait.
    public var queueCapacity: Int
    /// What moves the service's "now" (`clock`): the wall clock once it is ahead of the newest event time
    /// (the default), or event time alone, as in offline replay.
    public var clock: PipelineClock

    public init(
        allowedLateness: Duration = .seconds(120), maximumFutureSkew: Duration = .seconds(60),
        maxPayloadBytes: Int = 65_536, snapshotInterval: Duration = .milliseconds(250), queueCapacity: Int = 65_536,
        clock: PipelineClock = .wall
    ) {
        self.allowedLateness = allowedLateness
        self.maximumFutureSkew = maximumFutureSkew
        self.maxPayloadBytes = maxPayloadBytes
        self.snapshotInterval = snapshotInterval
        self.queueCapacity = queueCapacity
        self.clock = clock
    }

    /// The event-time part, as the core takes it.
    public var eventTimePolicy: EventTimePolicy {
        EventTimePolicy(allowedLateness: allowedLateness, maximumFutureSkew: maximumFutureSkew)
    }
}

extension PipelineSettings {
    /// Reads the `pipeline` section.
    init(reading reader: MappingReader) {
        self.init()
        allowedLateness = reader.value("allowed_lateness_s", .seconds(positive: false), default: allowedLateness)
        maximumFutureSkew = reader.value("max_future_skew_s", .seconds(positive: false), default: maximumFutureSkew)
        maxPayloadBytes = reader.value("max_payload_bytes", .integer(64...16_777_216), default: maxPayloadBytes)
        snapshotInterval = .milliseconds(reader.value("snapshot_interval_ms", .integer(10...60_000), default: 250))
        queueCapacity = reader.value("queue_capacity", .integer(1...16_777_216), default: queueCapacity)
        if let text = reader.optional("clock", .string) {
            if let value = PipelineClock(rawValue: text) {
                clock = value
            } else {
                reader.log.error(
                    at: reader.valueOrigin("clock"), key: reader.keyPath("clock"), "expected \"wall\" or \"event\", got \"\(text.prefix(40))\"")
            }
        }
        reader.reportUnknownKeys()
    }
}

/// What moves the live service's "now" (DESIGN §4).
public enum PipelineClock: String, Sendable, Hashable, CaseIterable {
    /// The newest event time, and the wall clock once it is ahead: windows age, sensors go stale and silent
    /// sensors raise `sensor_offline` even when nothing arrives. For sensors publishing in real time.
    case wall
    /// The newest event time alone, exactly as `streetsense replay --offline`: for replaying a recorded trace
    /// through a broker into the service (`streetsense replay TRACE --broker …`), whose readings are in the
    /// past. Nothing ages while nothing arrives.
    case event
}
