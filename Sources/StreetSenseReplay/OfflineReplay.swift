import Logging
import StreetSenseAlerts
import StreetSenseConfig
import StreetSenseCore
import StreetSensePipeline
import StreetSenseStore

/// Builds the pipeline for a configuration exactly as the live service does (same options, same zone alert
/// rules), except that time is event time only: no wall clock.
///
/// `StreetSenseService` (StreetSenseApp) builds its pipeline the same way; keep the two in step (or move this
/// factory somewhere both can use).
public enum ReplayPipelineFactory {
    /// The pipeline options of `configuration`, driven by event time alone.
    public static func options(_ configuration: StreetSenseConfiguration) -> PipelineOptions {
        PipelineOptions(
            topicPrefix: configuration.mqtt.topicPrefix,
            eventTime: configuration.pipeline.eventTimePolicy,
            payloadLimit: configuration.pipeline.maxPayloadBytes,
            storeBatchRows: configuration.store.batchMaxRows,
            storeBatchInterval: configuration.store.batchMaxDelay,
            snapshotInterval: configuration.pipeline.snapshotInterval,
            followsWallClock: false)
    }

    /// The alert rules of each zone, in `configuration.zones` order.
    public static func zoneRules(_ configuration: StreetSenseConfiguration) -> [ZoneAlertRules] {
        configuration.zones.map { zone in
            let rules = configuration.crowdRules(forZone: zone.id)
            return ZoneAlertRules(
                density: DensityAlertRule(levels: rules.densityLevels, hold: rules.hold, clear: rules.clear, hysteresis: rules.hysteresis),
                buildUp: BuildUpAlertRule(ppm2Per5Min: rules.buildUp.ppm2Per5Min, hold: rules.hold, clear: rules.clear, hysteresis: rules.hysteresis))
        }
    }
}

/// Runs messages through the real decode → route → aggregate → alert pipeline on event time, with no broker,
/// store or HTTP: each message arrives at its trace time (`at`). Deterministic and as fast as the core goes.
///
/// Use ``apply(_:)`` per record (in trace order), ``snapshot()`` for a timeline point, and ``finish(traceLines:)``
/// for the report. Not thread safe: one caller.
public final class OfflineReplay {
    private let pipeline: Pipeline
    private let collected: AlertCollector
    /// Messages applied so far.
    public private(set) var messages = 0

    private final class AlertCollector {
        var events: [AlertEvent] = []
    }

    /// A replay of the zones, sensors and rules of `configuration`.
    public convenience init(configuration: StreetSenseConfiguration, logger: Logger) throws {
        try self.init(
            zones: configuration.zones, sensors: configuration.sensors, options: ReplayPipelineFactory.options(configuration),
            zoneRules: ReplayPipelineFactory.zoneRules(configuration), logger: logger)
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
        let topic = Array(record.topic.utf8)
        topic.withUnsafeBufferPointer { topicBuffer in
            record.payload.withUnsafeBufferPointer { payloadBuffer in
                pipeline.process(topic: topicBuffer.span, payload: payloadBuffer.span, payloadSize: payloadBuffer.count, arrival: record.at)
            }
        }
    }

    /// The current zones, sensors and counts.
    public func snapshot() -> Snapshot { pipeline.snapshot() }

    /// Alert transitions so far (after the pipeline handed them over; ``finish(traceLines:)`` hands over all).
    public var alertEvents: [AlertEvent] { collected.events }

    /// Flushes the pipeline and returns the report of everything applied.
    public func finish(traceLines: (read: Int, skipped: Int)? = nil) -> ReplayReport {
        pipeline.flush(final: true)
        return ReplayReport(snapshot: pipeline.snapshot(), alerts: collected.events, traceLines: traceLines)
    }
}

/// Decides when timeline points fall due: one per `every` of event time, aligned to multiples of `every` since
/// the Unix epoch. A point at T is taken after every message with `at` ≤ T is applied and before any later one.
public struct TimelineSchedule: Sendable {
    public let every: Duration
    private var next: EventTime?

    public init(every: Duration) {
        precondition(every > .zero, "a timeline interval must be positive")
        self.every = every
    }

    /// The points due before a message at `time` is applied (in order).
    public mutating func pointsDue(before time: EventTime) -> [EventTime] {
        let step = every.wholeMilliseconds
        guard var point = next else {
            // The first point: the first multiple of `every` at or after the first message.
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

    /// The last point: the pending one (at or after the last message), if any message was seen.
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
