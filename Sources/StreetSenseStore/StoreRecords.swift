import StreetSenseAlerts
import StreetSenseCore

/// One reading as the store keeps it: a sensor's small integer ref instead of its address, the metric, the
/// reading's own event time and value, and whether it arrived too late to be aggregated.
///
/// Invariant: `value` is finite (decoders reject NaN and infinity before a reading reaches the store).
public struct StoredReading: Sendable, Hashable {
    /// The ``SensorRecord/ref`` of the sensor that sent it.
    public var sensorRef: Int32
    public var metric: Metric
    /// The reading's own timestamp (event time).
    public var time: EventTime
    public var value: Double
    /// True when the reading was more than the allowed lateness behind its series: stored, not aggregated.
    public var late: Bool

    @inlinable
    public init(sensorRef: Int32, metric: Metric, time: EventTime, value: Double, late: Bool = false) {
        self.sensorRef = sensorRef
        self.metric = metric
        self.time = time
        self.value = value
        self.late = late
    }
}

/// The 1-minute aggregate of one series (sensor × metric) that the aggregation core writes, and writes again
/// (the store replaces the row) when late readings change it.
///
/// Invariants: `minute` is the start of a UTC minute (a multiple of 60 000 ms); `count > 0`;
/// `min ≤ sum / count ≤ max`. (No `last`: the core's 60 s buckets do not keep one, which is what keeps a
/// series under 4 KiB.)
public struct RollupRecord: Sendable, Hashable {
    public var sensorRef: Int32
    public var metric: Metric
    /// The start of the minute.
    public var minute: EventTime
    public var count: Int32
    public var sum: Double
    public var min: Double
    public var max: Double

    public init(sensorRef: Int32, metric: Metric, minute: EventTime, count: Int32, sum: Double, min: Double, max: Double) {
        self.sensorRef = sensorRef
        self.metric = metric
        self.minute = minute
        self.count = count
        self.sum = sum
        self.min = min
        self.max = max
    }
}

/// The 1-minute aggregate of one zone's density series (samples every 5 s of event time), written like
/// ``RollupRecord``. Invariants: as for ``RollupRecord``; `zone` is a configured zone id.
public struct ZoneRollupRecord: Sendable, Hashable {
    public var zone: String
    /// The start of the minute.
    public var minute: EventTime
    public var count: Int32
    public var sum: Double
    public var min: Double
    public var max: Double

    public init(zone: String, minute: EventTime, count: Int32, sum: Double, min: Double, max: Double) {
        self.zone = zone
        self.minute = minute
        self.count = count
        self.sum = sum
        self.min = min
        self.max = max
    }
}

/// A rejected message (or reading) as the bounded rejects table keeps it (DESIGN §2, "Rejects are data").
///
/// `payload` holds at most the first ``StoredReject/maximumPayloadBytes`` bytes of the message; the store
/// truncates a longer one. `pilot` and `sensor` are nil when the topic did not name them readably.
public struct StoredReject: Sendable, Hashable {
    /// The most payload bytes kept per reject.
    public static let maximumPayloadBytes = 1024

    /// When the message arrived (arrival time, not a timestamp from the payload).
    public var received: EventTime
    public var pilot: String?
    public var sensor: String?
    public var topic: String
    public var payload: [UInt8]
    public var reason: RejectReason
    public var detail: String

    public init(
        received: EventTime, pilot: String?, sensor: String?, topic: String, payload: [UInt8], reason: RejectReason,
        detail: String
    ) {
        self.received = received
        self.pilot = pilot
        self.sensor = sensor
        self.topic = topic
        self.payload = payload.count > Self.maximumPayloadBytes ? Array(payload.prefix(Self.maximumPayloadBytes)) : payload
        self.reason = reason
        self.detail = detail
    }
}

/// A sensor row: the stable small integer `ref` that readings and rollups use, and what the registry says
/// about the sensor.
///
/// Invariants: `ref` never changes for an address once assigned, across restarts and registry changes.
/// `zone` and `kind` are set exactly when `registered` is true (an unregistered sensor is never in a zone).
public struct SensorRecord: Sendable, Hashable {
    public var ref: Int32
    public var address: SensorAddress
    public var zone: String?
    public var kind: SensorKind?
    public var registered: Bool
    /// Event time of the first stored reading, if any.
    public var firstSeen: EventTime?
    /// Event time of the newest stored reading, if any.
    public var lastSeen: EventTime?

    public init(
        ref: Int32, address: SensorAddress, zone: String? = nil, kind: SensorKind? = nil, registered: Bool = false,
        firstSeen: EventTime? = nil, lastSeen: EventTime? = nil
    ) {
        self.ref = ref
        self.address = address
        self.zone = zone
        self.kind = kind
        self.registered = registered
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
    }
}

/// The running state of one flow (gate line) sensor: Σ in − out, clamped at 0 after every reading.
///
/// The clamp makes the occupancy depend on the whole history, so it cannot be rebuilt from recent readings
/// after a restart: the pipeline writes the state in the same batch (one transaction) as the readings that
/// produced it, and reads it back with ``ReadingStore/flowCounters()`` at start-up.
public struct FlowCounterState: Sendable, Hashable {
    public var sensorRef: Int32
    /// Estimated people inside, never below 0.
    public var occupancy: Double
    /// Event time of the newest reading applied to `occupancy`.
    public var asOf: EventTime

    public init(sensorRef: Int32, occupancy: Double, asOf: EventTime) {
        self.sensorRef = sensorRef
        self.occupancy = occupancy
        self.asOf = asOf
    }
}

/// Everything the writer commits at once: one ``ReadingStore/write(_:)`` call is one transaction, so a batch
/// is either stored whole or not at all.
///
/// Sensor upserts are applied first, so a batch may carry a newly seen sensor and its first readings. Alert
/// events are applied last, in their order.
public struct StoreBatch: Sendable {
    public var readings: [StoredReading]
    /// 1-minute rollups; a row already stored for the same (sensor, metric, minute) is replaced.
    public var rollups: [RollupRecord]
    /// 1-minute zone density rollups; replaced like ``rollups``.
    public var zoneRollups: [ZoneRollupRecord]
    public var rejects: [StoredReject]
    /// Sensor rows to insert or update, keyed by ``SensorRecord/ref``; `firstSeen` only moves earlier and
    /// `lastSeen` only later.
    public var sensors: [SensorRecord]
    /// Flow counter states after applying this batch's readings.
    public var flowCounters: [FlowCounterState]
    /// Alert transitions from the alert engine, in the order it produced them (ascending ids, each above
    /// every id already stored). Each one appends an `alert_events` row and brings its alert's `alerts` row
    /// up to date (a `raised` event inserts it); an event the store refuses fails the whole batch with
    /// ``StoreError/Code/constraintViolation``.
    public var alertEvents: [AlertEvent]

    public init(
        readings: [StoredReading] = [], rollups: [RollupRecord] = [], zoneRollups: [ZoneRollupRecord] = [],
        rejects: [StoredReject] = [], sensors: [SensorRecord] = [], flowCounters: [FlowCounterState] = [],
        alertEvents: [AlertEvent] = []
    ) {
        self.readings = readings
        self.rollups = rollups
        self.zoneRollups = zoneRollups
        self.rejects = rejects
        self.sensors = sensors
        self.flowCounters = flowCounters
        self.alertEvents = alertEvents
    }

    /// Whether there is nothing to write.
    public var isEmpty: Bool {
        readings.isEmpty && rollups.isEmpty && zoneRollups.isEmpty && rejects.isEmpty && sensors.isEmpty
            && flowCounters.isEmpty && alertEvents.isEmpty
    }

    /// Rows of every kind in the batch (an alert event counts once, though it also updates its alert).
    public var rowCount: Int {
        readings.count + rollups.count + zoneRollups.count + rejects.count + sensors.count + flowCounters.count
            + alertEvents.count
    }

    /// Reserves room for `rows` readings (and a share of rejects and rollups).
    public mutating func reserve(_ rows: Int) {
        readings.reserveCapacity(rows)
        rollups.reserveCapacity(rows / 4)
    }
}

/// A stored reject with its row id, the cursor for paging newest first.
///
/// Invariant: ids only grow; a trimmed id is never reused.
public struct RejectRow: Sendable, Hashable {
    public var id: Int64
    public var reject: StoredReject

    public init(id: Int64, reject: StoredReject) {
        self.id = id
        self.reject = reject
    }
}

/// How many messages were rejected for one pilot and reason since the store was created, including those
/// trimmed from the bounded rejects table. `pilot` is nil for messages whose topic named no readable pilot.
public struct RejectCount: Sendable, Hashable {
    public var pilot: String?
    public var reason: RejectReason
    public var count: Int

    public init(pilot: String?, reason: RejectReason, count: Int) {
        self.pilot = pilot
        self.reason = reason
        self.count = count
    }
}

/// What one ``ReadingStore/enforceRetention(now:rawDays:rollupDays:)`` run removed (alerts are never removed).
public struct RetentionResult: Sendable, Hashable {
    public var readingsDeleted: Int
    public var rollupsDeleted: Int
    /// How many write transactions the run used (each one short, so the writer never waits long).
    public var transactions: Int

    public init(readingsDeleted: Int = 0, rollupsDeleted: Int = 0, transactions: Int = 0) {
        self.readingsDeleted = readingsDeleted
        self.rollupsDeleted = rollupsDeleted
        self.transactions = transactions
    }
}
