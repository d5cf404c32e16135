import Logging
import StreetSenseAlerts
import StreetSenseCore
import StreetSenseDecoding
import StreetSenseStore

/// How the pipeline treats time, payloads and batching (the `pipeline:` and parts of the `store:` settings).
public struct PipelineOptions: Sendable {
    /// Topic prefix before `/readings/{pilot}/{sensor}`.
    public var topicPrefix: String
    public var eventTime: EventTimePolicy
    /// Largest payload accepted (bytes); larger ones are rejected `payload_too_large`.
    public var payloadLimit: Int
    /// Store batches are handed to the writer at this many rows …
    public var storeBatchRows: Int
    /// … or when their oldest row is this old (wall time), whichever comes first.
    public var storeBatchInterval: Duration
    /// How often a snapshot is published for HTTP readers (wall time).
    public var snapshotInterval: Duration
    /// Whether the wall clock advances "now" when it is ahead of the newest event time (live service).
    /// Offline replay runs on event time alone.
    public var followsWallClock: Bool

    public init(
        topicPrefix: String = "streetsense/v1", eventTime: EventTimePolicy = .default, payloadLimit: Int = 65_536,
        storeBatchRows: Int = 10_000, storeBatchInterval: Duration = .milliseconds(250),
        snapshotInterval: Duration = .milliseconds(250), followsWallClock: Bool = true
    ) {
        self.topicPrefix = topicPrefix
        self.eventTime = eventTime
        self.payloadLimit = payloadLimit
        self.storeBatchRows = storeBatchRows
        self.storeBatchInterval = storeBatchInterval
        self.snapshotInterval = snapshotInterval
        self.followsWallClock = followsWallClock
    }
}

/// Decode → route → aggregate, for one owner thread: turns raw messages into core updates and store rows.
///
/// Not thread safe by design: exactly one thread calls it (``PipelineRunner`` live, the replay loop offline).
/// Nothing here waits for HTTP; it waits for the store only through the bounded `deliver` hand-off.
///
/// The properties the per-message path touches are `@exclusivity(unchecked)`: the run-time check of each access
/// to a class's stored property was 5 % of the pipeline. That is sound because one thread owns the pipeline and
/// none of the closures it calls (`willAdvance`, `deliver`, the feed) is called inside an access to them; a
/// closure may call back into the pipeline (an offline timeline takes a ``snapshot()`` in `willAdvance`).
public final class Pipeline {
    @exclusivity(unchecked) public private(set) var core: AggregationCore
    public let options: PipelineOptions
    @exclusivity(unchecked) private var routes = TopicRoutes()
    private let topics: ReadingTopic
    private let decoder: PayloadDecoder
    @exclusivity(unchecked) private var output = DecodeOutput()
    @exclusivity(unchecked) private var dispositions: [ReadingDisposition] = []
    @exclusivity(unchecked) private var pending = StoreBatch()
    /// When the first row of the store batch being filled was added, after `clockOrigin`; nil while it is empty.
    /// A `Duration`, not a `ContinuousClock.Instant?`: the instant's layout is opaque to this module, so each
    /// per-message `== nil` copied it through its value witness (1 % of the pipeline's instructions).
    @exclusivity(unchecked) private var pendingSince: Duration?
    private let clockOrigin = ContinuousClock.now
    private var nextRef: Int32
    private var rejectLog = RejectLogLimiter(interval: .seconds(60))
    private let logger: Logger
    /// Hands a full store batch to the writer (blocking when the writer is behind).
    private let deliver: (StoreBatch) -> Void
    @exclusivity(unchecked) private var flowChanged: Set<SensorIndex> = []
    /// The alert engine, evaluated on this thread at every zone sample instant and for every reading.
    @exclusivity(unchecked) public private(set) var alerts: AlertEngine
    @exclusivity(unchecked) private var zoneHandles: [AlertEngine.ZoneHandle] = []
    /// Indexed by ``SensorIndex``; nil for unregistered sensors (they raise no alerts).
    @exclusivity(unchecked) private var sensorHandles: [AlertEngine.SensorHandle?] = []
    /// Each sensor's store reference (``AggregationCore/ref(of:)``), indexed by ``SensorIndex``: kept here because
    /// reading it from the core right after ``AggregationCore/apply(sensor:readings:arrival:dispositions:restoring:)``
    /// copied the core (272 bytes), and that copy waited for the core's stores to drain (8 % of the pipeline).
    @exclusivity(unchecked) private var sensorRefs: [Int32] = []
    @exclusivity(unchecked) private var alertEvents: [AlertEvent] = []
    /// Per entry of the batch being processed: its sensor's raw index when its route was known beforehand, else −1.
    @exclusivity(unchecked) private var ahead: [Int32] = []
    /// Per entry of the batch being processed: its route key's hash and its range in the batch's bytes (empty
    /// for a topic that does not parse).
    @exclusivity(unchecked) private var keys: [(hash: UInt64, range: Range<Int>)] = []
    /// Where alert events go live (SSE, MQTT, webhooks) right after the evaluation that produced them, before
    /// they are stored. Set it before ``restore(readings:sensorsByRef:flowStates:activeAlerts:lastAlertEventID:)``.
    public var feed: AlertFeed?
    /// The active alerts as snapshots carry them; rebuilt only when alert events happened.
    private var activeAlertSummaries: [ActiveAlertSummary] = []
    private var alertSummariesStale = false
    /// The assembly behind ``snapshot()``.
    private var snapshotAssembly = SnapshotAssembly()
    /// Running pollutant means of the registered air stations, for the `air_quality` rule.
    @exclusivity(unchecked) private var airQuality: AirQualityFeed
    /// Called with a message's newest reading time just before its readings are applied, when that time is
    /// ahead of the pipeline's "now" (the newest event time so far). An offline timeline takes its points here:
    /// after every reading with t ≤ a point and before any later one. Messages rejected whole, late and
    /// out-of-order readings do not move "now" and do not call it.
    public var willAdvance: ((EventTime) -> Void)?

    /// - Parameters:
    ///   - sensors: the registered sensors with their stable store references, and previously seen
    ///     unregistered sensors (from ``ReadingStore/syncRegistry(zones:sensors:)``).
    ///   - zoneRules: the alert rules of each zone, in `zones` order (defaults when empty).
    ///   - sensorRules: the alert rules of each sensor, in `sensors` order (defaults when empty).
    /// - Throws: `ReadingTopic.InvalidPrefix` when the topic prefix cannot be used.
    public init(
        zones: [ZoneDefinition], sensors: [SensorDefinition], records: [SensorRecord], options: PipelineOptions,
        zoneRules: [ZoneAlertRules] = [], sensorRules: [SensorAlertRules] = [], logger: Logger,
        deliver: @escaping (StoreBatch) -> Void
    ) throws {
        let refByAddress = Dictionary(records.map { ($0.address, $0.ref) }, uniquingKeysWith: { a, _ in a })
        var refs: [Int32] = []
        var next: Int32 = (records.map(\.ref).max() ?? 0) + 1
        for sensor in sensors {
            if let ref = refByAddress[sensor.address] {
                refs.append(ref)
            } else {
                refs.append(next)
                next += 1
            }
        }
        var core = AggregationCore(zones: zones, sensors: sensors, refs: refs, policy: options.eventTime)
        core.recordsZoneSamples = true
        var alerts = AlertEngine()
        for (i, zone) in zones.enumerated() {
            zoneHandles.append(alerts.registerZone(id: zone.id, rules: i < zoneRules.count ? zoneRules[i] : .default))
        }
        for (i, sensor) in sensors.enumerated() {
            sensorHandles.append(alerts.registerSensor(sensor.address, rules: i < sensorRules.count ? sensorRules[i] : .default))
        }
        airQuality = AirQualityFeed(stations: sensors.count)
        self.alerts = alerts
        for record in records where !record.registered {
            _ = core.index(of: record.address, registeringWith: record.ref)
        }
        sensorRefs = (0..<core.sensorCount).map { core.ref(of: SensorIndex(Int32($0))) }
        self.core = core
        self.nextRef = next
        self.options = options
        self.topics = try ReadingTopic(prefix: options.topicPrefix)
        self.decoder = PayloadDecoder(maximumPayloadSize: options.payloadLimit, maximumFutureSkew: options.eventTime.maximumFutureSkew)
        self.logger = logger
        self.deliver = deliver
        output.readings.reserveCapacity(64)
        output.rejects.reserveCapacity(8)
        dispositions.reserveCapacity(64)
        pending.reserve(options.storeBatchRows)
    }

    /// How many messages ahead ``process(_:)`` asks for a message's series and alert state; its sensor state
    /// and its route are asked for twice as far ahead.
    static let prefetchDistance = 4

    /// Processes every message of a batch in order, exactly as one ``process(topic:payload:payloadSize:arrival:)``
    /// call each, but with their cache misses overlapped: every known sensor is routed first, and while a
    /// message is processed the state of the messages a few places behind it is already loading (at 10 000
    /// sensors each message otherwise waits on a miss for its route, its sensor, its series and its alert state).
    public func process(_ batch: MessageBatch) {
        batch.bytes.withUnsafeBufferPointer { buffer in
            let span = buffer.span
            let entries = batch.entries
            routeKnownSensors(entries, span)
            let d = Self.prefetchDistance
            for i in 0..<Swift.min(entries.count, 2 &* d) { prefetchSensor(ahead[i]) }
            for i in 0..<Swift.min(entries.count, d) { prefetchSeries(ahead[i]) }
            for (i, entry) in entries.enumerated() {
                if i &+ 2 &* d < entries.count { prefetchSensor(ahead[i &+ 2 &* d]) }
                if i &+ d < entries.count { prefetchSeries(ahead[i &+ d]) }
                let known = ahead[i]
                process(
                    topic: span.extracting(entry.topicStart..<(entry.topicStart + entry.topicCount)),
                    payload: span.extracting(entry.payloadStart..<(entry.payloadStart + entry.payloadCount)),
                    payloadSize: entry.payloadSize, arrival: entry.arrival, known: known >= 0 ? SensorIndex(known) : nil
                )
            }
        }
    }

    /// Fills ``ahead`` with each entry's sensor if its topic is valid and already routed, else −1 (those go the
    /// whole way in ``process(topic:payload:payloadSize:arrival:known:)``). Routes are never removed or changed,
    /// so a route found here is the one processing would find. Three passes, so that the table's misses overlap:
    /// hash every key and ask for its slot, ask for each slot's key bytes, then look up.
    private func routeKnownSensors(_ entries: [MessageBatch.Entry], _ span: Span<UInt8>) {
        ahead.removeAll(keepingCapacity: true)
        keys.removeAll(keepingCapacity: true)
        for entry in entries {
            let topic = span.extracting(entry.topicStart..<(entry.topicStart + entry.topicCount))
            guard let ids = try? topics.parse(topic) else {
                keys.append((0, 0..<0))
                continue
            }
            let key = (entry.topicStart + ids.route.lowerBound)..<(entry.topicStart + ids.route.upperBound)
            let hash = TopicRoutes.hash(span.extracting(key))
            inPlace(&routes) { $0.prefetchSlot(hash: hash) }
            keys.append((hash, key))
        }
        for key in keys where !key.range.isEmpty { inPlace(&routes) { $0.prefetchKey(hash: key.hash) } }
        for key in keys {
            let sensor = key.range.isEmpty ? nil : inPlace(&routes) { $0.lookup(span.extracting(key.range), hash: key.hash) }
            ahead.append(sensor?.rawValue ?? -1)
        }
    }

    /// The first prefetch for a message of sensor `raw` (−1: none): the sensor's core state.
    @inline(__always)
    private func prefetchSensor(_ raw: Int32) {
        guard raw >= 0 else { return }
        inPlace(&core) { $0.prefetchSensor(SensorIndex(raw)) }
    }

    /// The second: the sensor's series and its alert state.
    @inline(__always)
    private func prefetchSeries(_ raw: Int32) {
        guard raw >= 0 else { return }
        let sensor = SensorIndex(raw)
        inPlace(&core) { $0.prefetchSeries(of: sensor) }
        if let handle = handle(of: sensor) { inPlace(&alerts) { $0.prefetch(handle) } }
    }

    /// Processes one message. `payloadSize` is the real size when `payload` is only an excerpt.
    public func process(topic: Span<UInt8>, payload: Span<UInt8>, payloadSize: Int, arrival: EventTime) {
        process(topic: topic, payload: payload, payloadSize: payloadSize, arrival: arrival, known: nil)
    }

    /// Processes one message; `known` is its sensor when the topic was already routed (``process(_:)``).
    private func process(topic: Span<UInt8>, payload: Span<UInt8>, payloadSize: Int, arrival: EventTime, known: SensorIndex?) {
        if pendingSince == nil { pendingSince = clockOrigin.duration(to: .now) }
        // Rejects and new sensors are rows too: a rejected message must reach this check as well.
        defer { if pending.rowCount >= options.storeBatchRows { flush() } }
        // Route.
        let sensor: SensorIndex
        do throws(Reject) {
            if let known {
                sensor = known
            } else {
                let ids = try topics.parse(topic)
                let key = topic.extracting(ids.route)
                if let found = inPlace(&routes, { $0.lookup(key) }) {
                    sensor = found
                } else {
                    let address = SensorAddress(pilot: String(utf8: topic.extracting(ids.pilot)), sensor: String(utf8: topic.extracting(ids.sensor)))
                    let isNew = inPlace(&core) { $0.index(of: address) } == nil
                    sensor = core.index(of: address, registeringWith: self.nextRef)
                    if isNew {
                        sensorRefs.append(nextRef)
                        pending.sensors.append(SensorRecord(ref: nextRef, address: address, zone: nil, kind: nil, registered: false, firstSeen: arrival, lastSeen: arrival))
                        nextRef += 1
                    }
                    routes.insert(key, sensor)
                }
            }
        } catch {
            core.countRejectedMessage(sensor: nil, reason: error.reason)
            recordReject(error, sensor: nil, topic: topic, payload: payload, arrival: arrival)
            return
        }
        // Decode.
        output.reset()
        if payloadSize > options.payloadLimit {
            let reject = Reject(.payloadTooLarge, "payload is \(payloadSize) bytes; the limit is \(options.payloadLimit)")
            core.countRejectedMessage(sensor: sensor, reason: reject.reason)
            recordReject(reject, sensor: sensor, topic: topic, payload: payload, arrival: arrival)
            return
        }
        do throws(Reject) {
            try decoder.decode(payload, sensor: inPlace(&core, { $0.address(of: sensor) }), arrival: arrival, into: &output)
        } catch {
            core.countRejectedMessage(sensor: sensor, reason: error.reason)
            recordReject(error, sensor: sensor, topic: topic, payload: payload, arrival: arrival)
            return
        }
        // Before anything of this message is counted: a timeline point before its time must not show it.
        if let willAdvance, let newest = newestReadingTime(of: sensor, arrival: arrival), newest.milliseconds > core.nowMilliseconds {
            willAdvance(newest)
        }
        for reject in output.rejects {
            core.countRejectedReading(sensor: sensor, reason: reject.reason)
            recordReject(reject, sensor: sensor, topic: topic, payload: payload, arrival: arrival)
            if let handle = handle(of: sensor) {
                // On event time, like every other alert: the message's own time, its arrival only without one.
                alerts.sensorRejectedValues(handle, reason: reject.reason, at: output.time ?? arrival, into: &alertEvents)
            }
        }
        // Aggregate. The alert state this message will need loads meanwhile (if it was not asked for ahead).
        if known == nil, let handle = handle(of: sensor), let first = output.readings.first {
            inPlace(&alerts) { $0.prefetch(handle, metric: first.metric) }
        }
        dispositions.removeAll(keepingCapacity: true)
        // Borrowed in place: passed directly, `output.readings` was retained for the call and released after it,
        // and that release (an atomic) waited for every store the core had made (perf: 7 % of the pipeline).
        inPlace(&output) { output in
            core.apply(sensor: sensor, readings: output.readings, arrival: arrival, dispositions: &dispositions)
        }
        let ref = sensorRefs[Int(sensor.rawValue)]
        var flow = false
        var airChanged = false
        // By index through the property: `for d in dispositions` retained the array the core had just written,
        // and that atomic waited for the core's stores (perf: 4 % of the pipeline).
        for i in dispositions.indices {
            let d = dispositions[i]
            switch d.outcome {
            case .accepted:
                pending.readings.append(StoredReading(sensorRef: ref, metric: d.metric, time: d.time, value: d.value, late: false))
                flow = flow || d.metric == .peopleIn || d.metric == .peopleOut
                if let handle = handle(of: sensor) {
                    alerts.sensorReading(handle, metric: d.metric, value: d.value, at: d.time, into: &alertEvents)
                    if airQuality.record(sensor, metric: d.metric, value: d.value, at: d.time) { airChanged = true }
                }
            case .late:
                pending.readings.append(StoredReading(sensorRef: ref, metric: d.metric, time: d.time, value: d.value, late: true))
            case .duplicate:
                break
            case .rejected(let reason):
                recordReject(Reject(reason, "\(d.metric.name) is not reported by a \(inPlace(&core) { $0.kind(of: sensor) }?.rawValue ?? "unregistered") sensor"),
                             sensor: sensor, topic: topic, payload: payload, arrival: arrival)
            }
        }
        // Registered sensors are the ones with alert state.
        if flow, handle(of: sensor) != nil { flowChanged.insert(sensor) }
        if airChanged, let handle = handle(of: sensor) {
            airQuality.evaluate(sensor, handle: handle, alerts: &alerts, into: &alertEvents)
        }
        evaluateZoneSamples()
    }

    /// The newest time among the decoded readings the core will take from `sensor` (its kind's metrics).
    private func newestReadingTime(of sensor: SensorIndex, arrival: EventTime) -> EventTime? {
        let kind = inPlace(&core) { $0.kind(of: sensor) }
        var newest: EventTime?
        for reading in output.readings where kind?.accepts(reading.metric) ?? true {
            let time = reading.time ?? arrival
            if newest.map({ time > $0 }) ?? true { newest = time }
        }
        return newest
    }

    @inline(__always)
    private func handle(of sensor: SensorIndex) -> AlertEngine.SensorHandle? {
        let i = Int(sensor.rawValue)
        return i < sensorHandles.count ? sensorHandles[i] : nil
    }

    /// Evaluates the zone rules at every sample instant the core crossed, then the silence check once per
    /// instant, and queues the resulting alert events with the store batch.
    private func evaluateZoneSamples() {
        var lastInstant: EventTime?
        core.drainZoneSamples { sample in
            if let last = lastInstant, last != sample.instant { alerts.tick(at: last, into: &alertEvents) }
            lastInstant = sample.instant
            alerts.evaluateZone(
                zoneHandles[sample.zoneIndex], at: sample.instant, trend: sample.trend,
                into: &alertEvents)
        }
        if let last = lastInstant { alerts.tick(at: last, into: &alertEvents) }
        if !alertEvents.isEmpty {
            for event in alertEvents {
                logger.notice("alert", metadata: [
                    "rule": .string(event.rule.rawValue), "subject": .string(event.subject.id),
                    "transition": .string(event.transition.rawValue), "severity": .string(event.severity.rawValue),
                    "event_id": .stringConvertible(event.id.rawValue),
                ])
            }
            emit(alertEvents)
            alertEvents.removeAll(keepingCapacity: true)
        }
    }

    /// Queues alert events for the store and hands them to the live feed.
    private func emit(_ events: [AlertEvent]) {
        guard !events.isEmpty else { return }
        pending.alertEvents.append(contentsOf: events)
        if pendingSince == nil { pendingSince = clockOrigin.duration(to: .now) }
        feed?.publish(events)
        alertSummariesStale = true
    }

    /// Acknowledges an active alert (an operator's action), at the pipeline's current event time. The event
    /// is stored with the next batch.
    public func acknowledge(alertID: AlertID, by operatorName: String, note: String?) throws(AlertError) -> AlertEvent {
        let event = try alerts.acknowledge(alertID: alertID, by: operatorName, note: note, at: EventTime(milliseconds: max(core.nowMilliseconds, 0)))
        emit([event])
        return event
    }

    private func recordReject(_ reject: Reject, sensor: SensorIndex?, topic: Span<UInt8>, payload: Span<UInt8>, arrival: EventTime) {
        let address = sensor.map { sensor in inPlace(&core) { $0.address(of: sensor) } }
        let excerpt = payload.extracting(0..<min(payload.count, MessageBatch.excerptBytes))
        var payloadBytes: [UInt8] = []
        excerpt.withUnsafeBufferPointer { payloadBytes.append(contentsOf: $0) }
        var topicBytes: [UInt8] = []
        topic.extracting(0..<min(topic.count, 512)).withUnsafeBufferPointer { topicBytes.append(contentsOf: $0) }
        pending.rejects.append(StoredReject(
            received: arrival, pilot: address?.pilot, sensor: address?.sensor,
            topic: String(decoding: topicBytes, as: UTF8.self), payload: payloadBytes,
            reason: reject.reason, detail: reject.detail))
        // Logs never carry payload contents: the reason, who, and how many were suppressed.
        let key = address.map { "\($0.pilot)/\($0.sensor)" } ?? "topic:" + String(decoding: topicBytes.prefix(128), as: UTF8.self)
        if let suppressed = rejectLog.shouldLog(key: key, at: .now) {
            logger.warning("rejected message", metadata: [
                "pilot": .string(address?.pilot ?? "-"), "sensor": .string(address?.sensor ?? "-"),
                "reason": .string(reject.reason.rawValue), "suppressed_since_last_log": .stringConvertible(suppressed),
            ])
        }
    }

    /// Advances event time to the wall clock if the pipeline follows it; flushes the store batch when due.
    public func tick(wallClock: EventTime) {
        if options.followsWallClock { core.advance(to: wallClock) }
        evaluateZoneSamples()
        flushIfDue()
    }

    /// When the store batch being filled must be handed to the writer: `storeBatchInterval` after its first
    /// row (a reading, a reject, a new sensor or an alert event) was added; nil while it is empty.
    public var storeBatchDeadline: ContinuousClock.Instant? {
        pendingSince.map { clockOrigin + $0 + options.storeBatchInterval }
    }

    /// Hands the store batch to the writer if its oldest row has waited `storeBatchInterval` (at `now`).
    public func flushIfDue(now: ContinuousClock.Instant = .now) {
        if let deadline = storeBatchDeadline, now >= deadline { flush() }
    }

    /// Hands everything pending to the store: readings, rejects, new sensors, flow state and closed rollups.
    /// With `final`, every rollup is included, closed or not (shutdown).
    public func flush(final: Bool = false) {
        let lateness = options.eventTime.allowedLateness.wholeMilliseconds
        let cutoff = final ? Int64.max : core.nowMilliseconds &- lateness
        core.drainChangedMinutes(closedBy: cutoff) { subject, minute, b in
            switch subject {
            case .sensor(let ref, let metric):
                pending.rollups.append(RollupRecord(sensorRef: ref, metric: metric, minute: minute, count: Int32(clamping: b.count), sum: b.sum, min: b.min, max: b.max))
            case .zoneDensity(let zone):
                pending.zoneRollups.append(ZoneRollupRecord(zone: zone, minute: minute, count: Int32(clamping: b.count), sum: b.sum, min: b.min, max: b.max))
            }
        }
        for sensor in flowChanged {
            let (ref, occupancy) = inPlace(&core) { ($0.ref(of: sensor), $0.flowOccupancy(sensor)) }
            pending.flowCounters.append(FlowCounterState(sensorRef: ref, occupancy: occupancy, asOf: EventTime(milliseconds: core.nowMilliseconds)))
        }
        flowChanged.removeAll(keepingCapacity: true)
        pendingSince = nil
        guard !pending.isEmpty else { return }
        let batch = pending
        pending = StoreBatch()
        pending.reserve(options.storeBatchRows)
        deliver(batch)
    }

    /// What changed since the previous changes were taken, with the active alerts, for a ``SnapshotAssembly``
    /// (``PipelineRunner`` assembles on a thread of its own). Take either these or ``snapshot()`` from one
    /// pipeline, never both: each call's changes are relative to the previous call's.
    public func snapshotChanges() -> SnapshotChanges {
        var changes = core.snapshotChanges()
        if alertSummariesStale {
            activeAlertSummaries = alerts.activeAlerts.sorted { $0.id < $1.id }.map(ActiveAlertSummary.init)
            alertSummariesStale = false
        }
        changes.activeAlerts = activeAlertSummaries
        return changes
    }

    /// A snapshot of the current state, assembled here from ``snapshotChanges()`` (so it rebuilds only what
    /// changed since the previous one). For offline replay and tests.
    public func snapshot() -> Snapshot {
        snapshotAssembly.apply(snapshotChanges())
    }

    /// Refills windows, duplicate detection and the alert engine's sensor state from stored readings after a
    /// restart (nothing is stored again), then restores the active alerts.
    ///
    /// `readings` come in event-time order (``ReadingStore/recentReadings(since:)``). A flow sensor's occupancy
    /// ends at its saved state in `flowStates`. During the replay it runs from the saved state minus the counts
    /// replayed, so the zone density samples taken on the way (zone windows, percentiles) match the live run's
    /// whenever the occupancy did not hit zero in between; a flow sensor without a saved state keeps its
    /// occupancy at zero.
    ///
    /// `airRollups` are the stored 1-minute rollups of the index pollutants from before the first of
    /// `readings` (up to 24 hours): they refill the 24-hour PM means, which need more history than the raw
    /// readings replayed.
    public func restore(
        readings: [StoredReading], sensorsByRef: [Int32: SensorAddress], flowStates: [FlowCounterState],
        activeAlerts: [AlertLifecycle] = [], lastAlertEventID: AlertEventID? = nil, airRollups: [RollupRecord] = []
    ) throws(AlertError) {
        var indexByRef: [Int32: SensorIndex] = [:]
        for (ref, address) in sensorsByRef {
            if let index = core.index(of: address) { indexByRef[ref] = index }
        }
        for rollup in airRollups {
            guard let sensor = indexByRef[rollup.sensorRef], handle(of: sensor) != nil else { continue }
            _ = airQuality.record(sensor, rollup: rollup)
        }
        var savedOccupancy: [SensorIndex: Double] = [:]
        for state in flowStates {
            if let sensor = indexByRef[state.sensorRef] { savedOccupancy[sensor] = state.occupancy }
        }
        var replayedNet: [SensorIndex: Double] = [:]
        for reading in readings where !reading.late && (reading.metric == .peopleIn || reading.metric == .peopleOut) {
            guard let sensor = indexByRef[reading.sensorRef], savedOccupancy[sensor] != nil else { continue }
            replayedNet[sensor, default: 0] += reading.metric == .peopleIn ? reading.value : -reading.value
        }
        for (sensor, occupancy) in savedOccupancy {
            core.restoreFlowOccupancy(sensor, occupancy - replayedNet[sensor, default: 0])
        }
        // One sensor's readings with one time were one message: applied together, as live (one net flow change).
        var scratch: [ReadingDisposition] = []
        var group: [DecodedReading] = []
        var groupSensor = SensorIndex(-1)
        var groupTime = EventTime(milliseconds: .min)
        func applyGroup() {
            guard !group.isEmpty else { return }
            scratch.removeAll(keepingCapacity: true)
            core.apply(sensor: groupSensor, readings: group, arrival: groupTime, dispositions: &scratch,
                       restoring: savedOccupancy[groupSensor] == nil)
            group.removeAll(keepingCapacity: true)
        }
        for reading in readings where !reading.late {
            guard let sensor = indexByRef[reading.sensorRef] else { continue }
            if let handle = handle(of: sensor) {
                alerts.restoreSensorReading(handle, metric: reading.metric, value: reading.value, at: reading.time)
                _ = airQuality.record(sensor, metric: reading.metric, value: reading.value, at: reading.time)
            }
            if sensor != groupSensor || reading.time != groupTime {
                applyGroup()
                groupSensor = sensor
                groupTime = reading.time
            }
            group.append(DecodedReading(metric: reading.metric, value: reading.value, time: reading.time))
        }
        applyGroup()
        for (sensor, occupancy) in savedOccupancy { core.restoreFlowOccupancy(sensor, occupancy) }
        core.discardChangedMinutes()
        core.resetCounts()
        // Windows are refilled; the samples taken while refilling are history, not new evaluations.
        core.drainZoneSamples { _ in }
        if let lastAlertEventID {
            try alerts.restore(activeAlerts: activeAlerts, lastEventID: lastAlertEventID,
                               at: EventTime(milliseconds: max(core.nowMilliseconds, 0)), into: &alertEvents)
            // Alerts of zones or sensors no longer configured were cleared: store and send those events.
            emit(alertEvents)
            alertEvents.removeAll(keepingCapacity: true)
            alertSummariesStale = true
        }
    }
}

extension ActiveAlertSummary {
    /// The summary of an active alert.
    init(_ alert: AlertLifecycle) {
        self.init(
            id: alert.id.rawValue, rule: alert.rule.rawValue, subjectKind: alert.subject.kind.rawValue, subjectID: alert.subject.id,
            metric: alert.metric, severity: alert.severity.rawValue, level: alert.level, acknowledged: alert.acknowledgement != nil,
            raisedAt: alert.raisedAt, updatedAt: alert.updatedAt, value: alert.value, peak: alert.peak)
    }
}

/// Decides whether a reject is logged: at most once per `interval` per key, counting what it suppressed.
struct RejectLogLimiter {
    let interval: Duration
    private var lastLogged: [String: (ContinuousClock.Instant, Int)] = [:]

    init(interval: Duration) { self.interval = interval }

    /// Returns the number suppressed since the last log line if this one should be logged, else nil.
    mutating func shouldLog(key: String, at now: ContinuousClock.Instant) -> Int? {
        if let (last, suppressed) = lastLogged[key], last.duration(to: now) < interval {
            lastLogged[key] = (last, suppressed + 1)
            return nil
        }
        let suppressed = lastLogged[key]?.1 ?? 0
        if lastLogged.count > 100_000 { lastLogged.removeAll(keepingCapacity: true) }
        lastLogged[key] = (now, 0)
        return suppressed
    }
}

/// Runs `body` on `value` in place. On a stored property of a class, a non-mutating call made directly copies
/// the whole struct first (a retain and a release of every array in it), which was a fifth of
/// ``Pipeline/process(topic:payload:payloadSize:arrival:)`` for the core alone (perf); through `inout` it is
/// borrowed where it lies.
@inline(__always)
func inPlace<Value, Result>(_ value: inout Value, _ body: (inout Value) -> Result) -> Result { body(&value) }

extension String {
    /// A string from UTF-8 bytes (invalid sequences repaired).
    init(utf8 span: Span<UInt8>) {
        self = span.withUnsafeBufferPointer { String(decoding: $0, as: UTF8.self) }
    }
}
