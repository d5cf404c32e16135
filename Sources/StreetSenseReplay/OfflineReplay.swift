import Logging
import StreetSenseAlerts
import StreetSenseConfig
import StreetSenseCore
import StreetSensePipeline
import StreetSenseStore

/// Runs messages through the real decode → route → aggregate → alert pipeline on event time, with no broker,
/// store or HTTP: each message arrives at its trace time (`at`). Deterministic and as fast as the core goes.
///
/// The pipeline is built from a configuration exactly as the live service builds it (StreetSensePipeline's
/// `Pipeline(configuration:records:clock:logger:deliver:)`), on the `.event` clock.
///
/// Use ``apply(_:)`` per record (in trace order), ``recordTimeline(every:_:)`` for timeline points, and
/// ``finish(traceLines:)`` for the report. Not thread safe: one caller.
public final class OfflineReplay {
    private let pipeline: Pipeline
    private let collected: AlertCollector
    private var finalTimelinePoint: (() -> Void)?
    /// Messages applied so far.
    public private(set) var messages = 0

    private final class AlertCollector {
        var events: [AlertEvent] = []
    }

    /// A replay of the zones, sensors, rules and pipeline settings of `configuration`.
    public init(configuration: StreetSenseConfiguration, logger: Logger) throws {
        let collected = AlertCollector()
        self.collected = collected
        pipeline = try Pipeline(
            configuration: configuration, clock: .event, logger: logger,
            deliver: { batch in collected.events.append(contentsOf: batch.alertEvents) })
    }

    /// A replay of explicit zones and sensors (`options.followsWallClock` is forced off).
    public init(zones: [ZoneDefinition], sensors: [SensorDefinition], options: PipelineOptions, zoneRules: [ZoneAlertRules] = [], logger: Logger) throws {
        var options = options
        options.followsWallClock = false
        let collected = AlertCollector()
        self.collected = collected
        pipeline = try Pipeline(
            zones: zones, sensors: sensors, records: [], options: options, zoneRules: zoneRules, logger: logger,
            deliver: { batch in collected.events.append(contentsOf: batch.alertEvents) })
    }

    /// Applies one message, arriving at `record.at`.
    public func apply(_ record: TraceRecord) {
        messages += 1
        var topic = record.topic
        topic.withUTF8 { topicBuffer in
            record.payload.withUnsafeBufferPointer { payloadBuffer in
                pipeline.process(topic: topicBuffer.span, payload: payloadBuffer.span, payloadSize: payloadBuffer.count, arrival: record.at)
            }
        }
    }

    /// Hands `point` a snapshot at every multiple of `every` of event time (DESIGN §10): the point at T is taken
    /// after every reading with t ≤ T is applied and before any later one, from the first point at or after the
    /// first reading to the first at or after the newest (that one from ``finish(traceLines:)``). The trace
    /// lines' `at` plays no part. Call it before the first ``apply(_:)``.
    ///
    /// Readings are applied a message at a time: a message whose readings straddle a point (SenML with several
    /// times) lands after it, and a reading delivered after a newer one of any sensor lands in the next point.
    public func recordTimeline(every: Duration, _ point: @escaping (_ asOf: EventTime, _ snapshot: Snapshot) -> Void) {
        var schedule = TimelineSchedule(every: every)
        pipeline.willAdvance = { [unowned pipeline] newest in
            for due in schedule.pointsDue(before: newest) { point(due, pipeline.snapshot()) }
        }
        finalTimelinePoint = { [unowned pipeline] in
            if let due = schedule.finalPoint() { point(due, pipeline.snapshot()) }
        }
    }

    /// The current zones, sensors and counts.
    public func snapshot() -> Snapshot { pipeline.snapshot() }

    /// Alert transitions so far (after the pipeline handed them over; ``finish(traceLines:)`` hands over all).
    public var alertEvents: [AlertEvent] { collected.events }

    /// Flushes the pipeline, takes the last timeline point, and returns the report of everything applied.
    public func finish(traceLines: (read: Int, skipped: Int)? = nil) -> ReplayReport {
        pipeline.flush(final: true)
        finalTimelinePoint?()
        finalTimelinePoint = nil
        pipeline.willAdvance = nil
        return ReplayReport(snapshot: pipeline.snapshot(), alerts: collected.events, traceLines: traceLines)
    }
}

/// Decides when timeline points fall due: one per `every` of event time, aligned to multiples of `every` since
/// the Unix epoch. Fed the pipeline's event time as it moves forward (the newest reading time), a point at T
/// is due after every reading with t ≤ T and before the first reading with t > T.
public struct TimelineSchedule: Sendable {
    public let every: Duration
    private var next: EventTime?

    public init(every: Duration) {
        precondition(every > .zero, "a timeline interval must be positive")
        self.every = every
    }

    /// The points due before a reading at `time`, the newest so far, is applied (in order).
    public mutating func pointsDue(before time: EventTime) -> [EventTime] {
        let step = every.wholeMilliseconds
        guard var point = next else {
            // The first point: the first multiple of `every` at or after the first reading.
            let first = time.milliseconds.quotientRoundingUp(step) * step
            next = EventTime(milliseconds: first)
            return []
        }
        var due: [EventTime] = []
        while point < time {
            due.append(point)
            point = point + every
        }
        next = point
        return due
    }

    /// The last point: the pending one (at or after the newest reading), if any reading was seen.
    public mutating func finalPoint() -> EventTime? {
        defer { next = nil }
        return next
    }
}

extension Int64 {
    fileprivate func quotientRoundingUp(_ divisor: Int64) -> Int64 {
        let q = self / divisor
        return (self % divisor > 0) ? q + 1 : q
    }
}
