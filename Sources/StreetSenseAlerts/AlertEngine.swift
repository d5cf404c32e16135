import CMemoryHints
import StreetSenseCore

/// What identifies an alert while it is active: at most one active alert per key.
///
/// `metric` is the pollutant for `air_quality` (one alert per subject and pollutant) and nil for every other
/// rule (one `crowd_density`, `build_up` alert per zone; one `sensor_offline`, `sensor_faulty` per sensor).
public struct AlertKey: Hashable, Sendable {
    public var rule: AlertRule
    public var subject: AlertSubject
    public var metric: Metric?

    public init(rule: AlertRule, subject: AlertSubject, metric: Metric? = nil) {
        self.rule = rule
        self.subject = subject
        self.metric = metric
    }
}

extension AlertLifecycle {
    /// The key this alert is held under while active.
    public var key: AlertKey { AlertKey(rule: rule, subject: subject, metric: rule == .airQuality ? metric : nil) }
}

/// The alert engine: evaluates every rule of DESIGN §5 on event time and owns the lifecycle of every active
/// alert. Pure and synchronous: it reads no clock, does no I/O, and is driven by the one pipeline thread that
/// owns the aggregation core.
///
/// Every method that can change an alert appends the ``AlertEvent``s it produced to the caller's buffer (reuse
/// one buffer: nothing is allocated when nothing happens). Event ids come from one ``AlertEventSequence``, so
/// they strictly increase across all alerts; an alert's id is its `raised` event's id. After a restart,
/// ``restore(activeAlerts:lastEventID:at:into:)`` puts the stored active alerts back so they are neither lost
/// nor raised twice, and ids continue after the last stored event.
///
/// Subjects are registered first (``registerZone(id:rules:)``, ``registerSensor(_:rules:)``) and addressed by
/// the dense handles that registration returns, so evaluation does no string hashing. A handle belongs to the
/// engine that made it.
///
/// How the pipeline calls it, on its owner thread, in event time ("now" = the newest event time):
/// - at every zone sample instant (every 5 s of event time): ``evaluateZone(_:at:windows:into:)`` for each zone,
///   with that zone's density windows at the instant, then ``tick(at:)`` once;
/// - for every accepted reading: ``sensorReading(_:metric:value:at:into:)``;
/// - for every rejected reading of a known sensor: ``sensorRejectedValues(_:reason:count:metric:at:into:)``;
/// - when a station's (or zone's) pollutant means change, e.g. each minute:
///   ``evaluateAirQuality(sensor:at:means:into:)``;
/// - on `POST /alerts/{id}/ack`: ``acknowledge(alertID:by:note:at:)`` with the pipeline's now;
/// - at start-up: register, replay recent readings with ``restoreSensorReading(_:metric:value:at:)``, then
///   ``restore(activeAlerts:lastEventID:at:into:)``.
/// Every produced event is then stored, sent on the SSE feed and published on MQTT, and a new snapshot is
/// published.
public struct AlertEngine: Sendable {
    /// A registered zone.
    public struct ZoneHandle: Hashable, Sendable {
        public let index: Int32
    }

    /// A registered sensor.
    public struct SensorHandle: Hashable, Sendable {
        public let index: Int32
    }

    /// The air-quality rule of every subject whose rules do not carry their own.
    public let airQuality: AirQualityAlertRule
    /// Where event ids come from.
    public internal(set) var eventIDs: AlertEventSequence
    /// The newest event id handed out (or restored).
    public var lastEventID: AlertEventID { eventIDs.last }
    /// Transitions the alert lifecycle refused. The engine only asks for valid transitions, so this stays 0;
    /// it exists so that a bug shows up as a number instead of a crash.
    public internal(set) var refusedTransitions = 0

    var zones: [ZoneAlertState] = []
    var sensors: [SensorAlertState] = []
    /// Per sensor: the event time (ms) from which it is offline; `Int64.max` before its first reading.
    var offlineDeadline: [Int64] = []
    /// Per sensor and metric (`sensor × Metric.count + metric`): the current run of identical values.
    var stuckRuns: [StuckRun] = []
    var air: [AirAlertState] = []
    /// Active alerts, by slot; freed slots are reused.
    var alerts: [AlertLifecycle?] = []
    var freeSlots: [Int32] = []
    var slotByID: [AlertID: Int32] = [:]
    var zoneByID: [String: Int32] = [:]
    var sensorByAddress: [SensorAddress: Int32] = [:]

    /// An engine with no subjects and no alerts; event ids start after `lastEventID`.
    public init(airQuality: AirQualityAlertRule = .default, lastEventID: AlertEventID = AlertEventID(0)) {
        self.airQuality = airQuality
        self.eventIDs = AlertEventSequence(after: lastEventID)
    }

    // MARK: Registration

    /// Registers a zone (or replaces the rules of a registered one) and returns its handle.
    @discardableResult
    public mutating func registerZone(id: String, rules: ZoneAlertRules = .default) -> ZoneHandle {
        if let index = zoneByID[id] {
            zones[Int(index)].rules = rules
            return ZoneHandle(index: index)
        }
        let index = Int32(zones.count)
        zones.append(ZoneAlertState(subject: .zone(id), rules: rules))
        zoneByID[id] = index
        return ZoneHandle(index: index)
    }

    /// Registers a sensor (or replaces the rules of a registered one) and returns its handle.
    @discardableResult
    public mutating func registerSensor(_ address: SensorAddress, rules: SensorAlertRules = .default) -> SensorHandle {
        if let index = sensorByAddress[address] {
            sensors[Int(index)].rules = rules
            return SensorHandle(index: index)
        }
        let index = Int32(sensors.count)
        sensors.append(SensorAlertState(subject: .sensor(address), rules: rules))
        offlineDeadline.append(.max)
        stuckRuns.append(contentsOf: repeatElement(StuckRun(), count: Metric.count))
        sensorByAddress[address] = index
        return SensorHandle(index: index)
    }

    public func zone(id: String) -> ZoneHandle? { zoneByID[id].map(ZoneHandle.init) }
    public func sensor(_ address: SensorAddress) -> SensorHandle? { sensorByAddress[address].map(SensorHandle.init) }

    // MARK: Zones

    /// Evaluates a zone's crowd rules at a sample instant from its density windows: the 1-minute mean for the
    /// levels, and the 5-minute `rate_per_minute` × 5 as the build-up per 5 minutes. An empty window counts as
    /// "no value" (see ``LevelDebouncer``).
    public mutating func evaluateZone(_ zone: ZoneHandle, at time: EventTime, windows: WindowSummaries, into events: inout [AlertEvent]) {
        evaluateZone(zone, at: time, density1m: windows.oneMinute.mean, fiveMinutes: windows.fiveMinutes, into: &events)
    }

    /// Evaluates a zone's crowd rules at a sample instant: density levels on `density1m` (p/m²), build-up on
    /// the 5-minute density window's slope once the window is covered (``BuildUpAlertRule/risePer5Minutes(of:sampleInterval:)``;
    /// before that, and without a slope, build-up has no value).
    public mutating func evaluateZone(
        _ zone: ZoneHandle, at time: EventTime, density1m: Double?, fiveMinutes: WindowSummary, into events: inout [AlertEvent]
    ) {
        // The coverage limit was worked out at registration.
        let rise = BuildUpAlertRule.risePer5Minutes(of: fiveMinutes, minimumSamples: zones[Int(zone.index)].timing.buildUpMinimumSamples)
        evaluateZone(zone, at: time, density1m: density1m, buildUpPer5Min: rise, into: &events)
    }

    /// Evaluates a zone's crowd rules at a sample instant from the core's ``ZoneSample/trend``: the same as
    /// ``evaluateZone(_:at:windows:into:)`` with the windows it was taken from.
    public mutating func evaluateZone(_ zone: ZoneHandle, at time: EventTime, trend: DensityTrend, into events: inout [AlertEvent]) {
        let rise = BuildUpAlertRule.risePer5Minutes(
            count: trend.fiveMinuteCount, ratePerMinute: trend.fiveMinuteRatePerMinute,
            minimumSamples: zones[Int(zone.index)].timing.buildUpMinimumSamples)
        evaluateZone(zone, at: time, density1m: trend.oneMinuteMean, buildUpPer5Min: rise, into: &events)
    }

    /// Evaluates a zone's crowd rules at `time`: density levels on `density1m` (p/m²), build-up on
    /// `buildUpPer5Min` (p/m² per 5 minutes). `nil` or non-finite values are "no value": no run progresses,
    /// no alert changes.
    public mutating func evaluateZone(
        _ zone: ZoneHandle, at time: EventTime, density1m: Double?, buildUpPer5Min: Double?, into events: inout [AlertEvent]
    ) {
        let z = Int(zone.index)
        let t = time.milliseconds
        let timing = zones[z].timing
        let density = density1m.flatMap { $0.isFinite ? $0 : nil }
        let level = zones[z].density.observe(
            density, at: t, thresholds: timing.densityThresholds, hold: timing.densityHold, clear: timing.densityClear)
        if let density {
            zones[z].densityAlert = settle(
                zones[z].densityAlert, severity: AlertSeverity(rank: level), key: AlertKey(rule: .crowdDensity, subject: zones[z].subject),
                value: density, at: time, into: &events)
        }
        let rise = buildUpPer5Min.flatMap { $0.isFinite ? $0 : nil }
        let buildUp = zones[z].buildUp.observe(
            rise, at: t, thresholds: timing.buildUpThresholds, hold: timing.buildUpHold, clear: timing.buildUpClear)
        if let rise {
            zones[z].buildUpAlert = settle(
                zones[z].buildUpAlert, severity: buildUp > 0 ? .warning : nil, key: AlertKey(rule: .buildUp, subject: zones[z].subject),
                value: rise, at: time, into: &events)
        }
    }

    // MARK: Air quality

    /// Evaluates air quality for a zone (means over its stations).
    public mutating func evaluateAirQuality(zone: ZoneHandle, at time: EventTime, means: AirQualityMeans, into events: inout [AlertEvent]) {
        let z = Int(zone.index)
        let rule = zones[z].rules.airQuality ?? airQuality
        guard rule.isEnabled else { return }
        if zones[z].air < 0 { zones[z].air = addAirState(zones[z].subject) }
        evaluateAir(Int(zones[z].air), rule: rule, at: time, means: means, into: &events)
    }

    /// Evaluates air quality for one station.
    public mutating func evaluateAirQuality(sensor: SensorHandle, at time: EventTime, means: AirQualityMeans, into events: inout [AlertEvent]) {
        let s = Int(sensor.index)
        let rule = sensors[s].rules.airQuality ?? airQuality
        guard rule.isEnabled else { return }
        if sensors[s].air < 0 { sensors[s].air = addAirState(sensors[s].subject) }
        evaluateAir(Int(sensors[s].air), rule: rule, at: time, means: means, into: &events)
    }

    /// Each pollutant of the table gets its own debounced band and its own alert, from poor up. A pollutant
    /// without a mean is "no value" for its alert.
    private mutating func evaluateAir(
        _ a: Int, rule airQuality: AirQualityAlertRule, at time: EventTime, means: AirQualityMeans, into events: inout [AlertEvent]
    ) {
        let hold = airQuality.hold.wholeMilliseconds, clear = airQuality.clear.wholeMilliseconds
        for row in airQuality.index.pollutants {
            guard let p = AirAlertState.position(of: row.metric) else { continue }
            let value = means[row.metric].flatMap { $0.isFinite ? $0 : nil }
            let thresholds = airQuality.index.alertThresholds(for: row, hysteresis: airQuality.hysteresis)
            let level = air[a].debouncers[p].observe(value, at: time.milliseconds, thresholds: thresholds, hold: hold, clear: clear)
            guard let value else { continue }
            air[a].alerts[p] = settle(
                air[a].alerts[p], severity: airQuality.severity(level: level),
                key: AlertKey(rule: .airQuality, subject: air[a].subject, metric: row.metric), value: value, at: time, into: &events)
        }
    }

    mutating func addAirState(_ subject: AlertSubject) -> Int32 {
        air.append(AirAlertState(subject: subject))
        return Int32(air.count - 1)
    }

    // MARK: Sensors

    /// Starts loading the state ``sensorReading(_:metric:value:at:into:)`` will touch for `sensor` and `metric`
    /// (its rule state, offline deadline and stuck-value run), so that the pipeline can ask for it before it
    /// aggregates the message and find it in cache afterwards: at 10 000 sensors those were the two costliest
    /// cache misses of the pipeline. A hint only: no visible effect. Without `metric` (not decoded yet), the
    /// stuck-value runs of every metric of the sensor. Mutating only so that callers pass the engine in place: a
    /// non-mutating call from the pipeline copied the whole engine first (a `memcpy` per call).
    public mutating func prefetch(_ sensor: SensorHandle, metric: Metric? = nil) {
        let s = Int(sensor.index)
        guard s >= 0, s < sensors.count else { return }
        sensors.withUnsafeBufferPointer { streetsense_prefetch_range_for_write($0.baseAddress! + s, MemoryLayout<SensorAlertState>.stride) }
        offlineDeadline.withUnsafeBufferPointer { streetsense_prefetch_for_write($0.baseAddress! + s) }
        stuckRuns.withUnsafeBufferPointer { runs in
            if let metric {
                streetsense_prefetch_for_write(runs.baseAddress! + (s * Metric.count + Int(metric.rawValue)))
            } else {
                streetsense_prefetch_range_for_write(runs.baseAddress! + s * Metric.count, Metric.count * MemoryLayout<StuckRun>.stride)
            }
        }
    }

    /// An accepted reading: feeds the sensor's interval estimate and offline deadline, clears a
    /// `sensor_offline` alert, and checks for error codes and stuck values (which raise `sensor_faulty`) and
    /// for the good readings that clear it. Duplicates should not be passed (the core drops them).
    public mutating func sensorReading(_ sensor: SensorHandle, metric: Metric, value: Double, at time: EventTime, into events: inout [AlertEvent]) {
        applyReading(Int(sensor.index), metric: metric, value: value, at: time, emitting: true, into: &events)
    }

    /// A reading replayed at start-up (before ``restore(activeAlerts:lastEventID:at:into:)``): rebuilds the
    /// interval estimate, offline deadline and stuck-value runs without raising or clearing anything.
    public mutating func restoreSensorReading(_ sensor: SensorHandle, metric: Metric, value: Double, at time: EventTime) {
        var none: [AlertEvent] = []
        applyReading(Int(sensor.index), metric: metric, value: value, at: time, emitting: false, into: &none)
    }

    /// Readings of a sensor that the decoder rejected. `out_of_range` and `not_finite` are impossible values,
    /// `error_code` error codes: they raise `sensor_faulty` (value: faulty observations since raised). Other
    /// reasons are not sensor faults and change nothing. Rejected readings are not a sign of life: they do not
    /// clear `sensor_offline`.
    public mutating func sensorRejectedValues(
        _ sensor: SensorHandle, reason: RejectReason, count: Int = 1, metric: Metric? = nil, at time: EventTime,
        into events: inout [AlertEvent]
    ) {
        guard let fault = SensorFault(rejectReason: reason), count > 0 else { return }
        recordFault(Int(sensor.index), fault, metric: metric, count: count, at: time, emitting: true, into: &events)
    }

    /// Checks every sensor for silence at `time`: a sensor whose silence reached its limit raises
    /// `sensor_offline` at this tick (so within one tick of the limit); an active one has its value (seconds
    /// of silence) updated. Call it at every zone sample instant.
    public mutating func tick(at time: EventTime, into events: inout [AlertEvent]) {
        let t = time.milliseconds
        for s in offlineDeadline.indices where t >= offlineDeadline[s] {
            let silence = Double(t - sensors[s].lastReading) / 1000
            let slot = sensors[s].offlineAlert
            if slot >= 0 {
                alerts[Int(slot)]?.observe(silence)
            } else {
                sensors[s].offlineAlert = settle(
                    -1, severity: .warning, key: AlertKey(rule: .sensorOffline, subject: sensors[s].subject), value: silence, at: time,
                    into: &events)
            }
        }
    }

    private mutating func applyReading(
        _ s: Int, metric: Metric, value: Double, at time: EventTime, emitting: Bool, into events: inout [AlertEvent]
    ) {
        let t = time.milliseconds
        let previous = sensors[s].lastReading
        if previous == .min || t > previous {
            if previous != .min { sensors[s].intervals.add(t - previous) }
            sensors[s].lastReading = t
            let timing = sensors[s].timing
            let limit = sensors[s].rules.offline.limit(
                medianInterval: sensors[s].intervals.median, assumedInterval: timing.offlineAssumedInterval, minimum: timing.offlineMinimum)
            let silent = !sensors[s].rules.offline.isEnabled || t.addingReportingOverflow(limit).overflow
            offlineDeadline[s] = silent ? .max : t + limit
        }
        let offline = sensors[s].offlineAlert
        if emitting, offline >= 0, let alert = alerts[Int(offline)] {
            let silence = previous != .min && t > previous ? Double(t - previous) / 1000 : alert.value
            sensors[s].offlineAlert = settle(offline, severity: nil, key: alert.key, value: silence, at: time, into: &events)
        }

        if FaultAlertRule.isErrorCode(value, metric: metric) {
            recordFault(s, .errorCode, metric: metric, count: 1, at: time, emitting: emitting, into: &events)
            return
        }
        guard value.isFinite else {
            recordFault(s, .impossibleValue, metric: metric, count: 1, at: time, emitting: emitting, into: &events)
            return
        }
        let rules = sensors[s].rules.faults
        let k = s * Metric.count + Int(metric.rawValue)
        let bit = UInt32(1) << UInt32(metric.rawValue)
        var run = stuckRuns[k]
        guard t >= run.newest else { return }  // a late reading says nothing about the run or about recovery
        if run.newest != .min, value == run.value {
            run.newest = t
            stuckRuns[k] = run
            if rules.mayStick(metric, value), t - run.since >= sensors[s].timing.stuckAfter {
                sensors[s].stuckMetrics |= bit
                recordFault(s, .stuckValue, metric: metric, count: 1, at: time, emitting: emitting, into: &events)
                return
            }
        } else {
            stuckRuns[k] = StuckRun(value: value, since: t, newest: t)
            sensors[s].stuckMetrics &= ~bit
        }
        // A good reading.
        if t > sensors[s].lastFault, sensors[s].goodSince == .min { sensors[s].goodSince = t }
        let faulty = sensors[s].faultyAlert
        if emitting, faulty >= 0, sensors[s].stuckMetrics == 0, sensors[s].goodSince != .min,
            t - sensors[s].goodSince >= sensors[s].timing.faultClear, let alert = alerts[Int(faulty)]
        {
            sensors[s].faultyAlert = settle(faulty, severity: nil, key: alert.key, value: alert.value, at: time, into: &events)
        }
    }

    private mutating func recordFault(
        _ s: Int, _ fault: SensorFault, metric: Metric?, count: Int, at time: EventTime, emitting: Bool,
        into events: inout [AlertEvent]
    ) {
        if time.milliseconds > sensors[s].lastFault { sensors[s].lastFault = time.milliseconds }
        sensors[s].goodSince = .min
        guard emitting, sensors[s].rules.faults.isEnabled else { return }
        let slot = sensors[s].faultyAlert
        if slot >= 0 {
            sensors[s].faultObservations += Double(count)
            alerts[Int(slot)]?.observe(sensors[s].faultObservations)
            return
        }
        sensors[s].faultObservations = Double(count)
        let key = AlertKey(rule: .sensorFaulty, subject: sensors[s].subject)
        do {
            let (alert, event) = try AlertLifecycle.raise(
                rule: .sensorFaulty, subject: key.subject, metric: metric, fault: fault, severity: .warning,
                value: Double(count), at: time, eventIDs: &eventIDs)
            events.append(event)
            sensors[s].faultyAlert = store(alert)
        } catch {
            refusedTransitions += 1
        }
    }

    // MARK: Lifecycle plumbing

    /// Brings the alert in `slot` (−1: none) in line with the severity the rule now calls for (nil: none):
    /// raises, escalates, de-escalates, clears, or just records the value. Returns the slot afterwards.
    /// Transitions are stamped no earlier than the alert's previous one (after a restore, replayed inputs can
    /// be older than the stored alert).
    private mutating func settle(
        _ slot: Int32, severity: AlertSeverity?, key: AlertKey, value: Double, at time: EventTime, into events: inout [AlertEvent]
    ) -> Int32 {
        do {
            guard slot >= 0, let current = alerts[Int(slot)] else {
                guard let severity else { return -1 }
                let (alert, event) = try AlertLifecycle.raise(
                    rule: key.rule, subject: key.subject, metric: key.metric, severity: severity, value: value, at: time,
                    eventIDs: &eventIDs)
                events.append(event)
                return store(alert)
            }
            let s = Int(slot)
            let at = Swift.max(time, current.updatedAt)
            guard let severity else {
                events.append(try alerts[s]!.clear(value: value, at: at, eventIDs: &eventIDs))
                release(slot)
                return -1
            }
            if severity > current.severity {
                events.append(try alerts[s]!.escalate(to: severity, value: value, at: at, eventIDs: &eventIDs))
            } else if severity < current.severity {
                events.append(try alerts[s]!.deEscalate(to: severity, value: value, at: at, eventIDs: &eventIDs))
            } else {
                alerts[s]!.observe(value)
            }
            return slot
        } catch {
            refusedTransitions += 1
            return slot
        }
    }

    mutating func store(_ alert: AlertLifecycle) -> Int32 {
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            alerts[Int(slot)] = alert
        } else {
            slot = Int32(alerts.count)
            alerts.append(alert)
        }
        slotByID[alert.id] = slot
        return slot
    }

    private mutating func release(_ slot: Int32) {
        guard let alert = alerts[Int(slot)] else { return }
        slotByID[alert.id] = nil
        alerts[Int(slot)] = nil
        freeSlots.append(slot)
    }

    // MARK: Operators and readers

    /// Acknowledges an active alert (an operator's `POST /alerts/{id}/ack`). The acknowledgement survives
    /// escalation. `time` should be the pipeline's now; it is moved up to the alert's latest transition if
    /// it is earlier, so an alert's events stay in time order.
    ///
    /// Throws `alert_not_active` for an id that is not active (cleared, or never raised),
    /// `already_acknowledged`, or `invalid_acknowledgement` (empty or too long name, too long note).
    public mutating func acknowledge(
        alertID: AlertID, by operatorName: String, note: String? = nil, at time: EventTime
    ) throws(AlertError) -> AlertEvent {
        guard let slot = slotByID[alertID], let current = alerts[Int(slot)] else {
            throw AlertError(.alertNotActive, alertID: alertID, "no active alert has this id (it was cleared, or never raised)")
        }
        return try alerts[Int(slot)]!.acknowledge(
            by: operatorName, note: note, at: Swift.max(time, current.updatedAt), eventIDs: &eventIDs)
    }

    /// An active alert by id.
    public func alert(id: AlertID) -> AlertLifecycle? {
        slotByID[id].flatMap { alerts[Int($0)] }
    }

    /// The active alert of a key (rule, subject and, for air quality, pollutant).
    public func activeAlert(_ key: AlertKey) -> AlertLifecycle? {
        for case let alert? in alerts where alert.key == key { return alert }
        return nil
    }

    /// Every active alert, oldest first (by id).
    public var activeAlerts: [AlertLifecycle] {
        alerts.compactMap { $0 }.sorted { $0.id < $1.id }
    }

    /// How many alerts are active.
    public var activeAlertCount: Int { slotByID.count }
}

// MARK: - Per-subject state

/// A zone's rule state.
struct ZoneAlertState: Sendable {
    var subject: AlertSubject
    var rules: ZoneAlertRules { didSet { timing = ZoneRuleTiming(rules) } }
    /// What every sample instant reads of `rules`, in milliseconds and thresholds.
    private(set) var timing: ZoneRuleTiming
    var density = LevelDebouncer()
    var densityAlert: Int32 = -1
    var buildUp = LevelDebouncer()
    var buildUpAlert: Int32 = -1
    /// Index into the engine's air states, −1 until air quality is evaluated for the zone.
    var air: Int32 = -1

    init(subject: AlertSubject, rules: ZoneAlertRules) {
        self.subject = subject
        self.rules = rules
        self.timing = ZoneRuleTiming(rules)
    }
}

/// A zone's crowd rules as each sample instant uses them: durations in milliseconds and thresholds built once.
/// A `Duration`'s milliseconds cost a 128-bit division, four of them per zone and instant (perf: 3 % of the
/// pipeline at 1 000 zones).
struct ZoneRuleTiming: Sendable {
    let densityThresholds: LevelThresholds
    let densityHold: Int64
    let densityClear: Int64
    let buildUpThresholds: LevelThresholds
    let buildUpHold: Int64
    let buildUpClear: Int64
    /// The density samples a 5-minute window must hold before its slope counts (``BuildUpAlertRule/minimumCoverage``
    /// of a full window at the core's sample interval).
    let buildUpMinimumSamples: Double

    init(_ rules: ZoneAlertRules) {
        buildUpMinimumSamples = rules.buildUp.minimumSamples(sampleInterval: AggregationCore.zoneSampleInterval)
        densityThresholds = rules.density.thresholds
        densityHold = rules.density.hold.wholeMilliseconds
        densityClear = rules.density.clear.wholeMilliseconds
        buildUpThresholds = rules.buildUp.thresholds
        buildUpHold = rules.buildUp.hold.wholeMilliseconds
        buildUpClear = rules.buildUp.clear.wholeMilliseconds
    }
}

/// A sensor's offline and fault rules as every reading uses them, durations in milliseconds (see
/// ``ZoneRuleTiming``).
struct SensorRuleTiming: Sendable {
    let offlineAssumedInterval: Int64
    let offlineMinimum: Int64
    let stuckAfter: Int64
    let faultClear: Int64

    init(_ rules: SensorAlertRules) {
        offlineAssumedInterval = rules.offline.assumedInterval.wholeMilliseconds
        offlineMinimum = rules.offline.minimum.wholeMilliseconds
        stuckAfter = rules.faults.stuckAfter.wholeMilliseconds
        faultClear = rules.faults.clear.wholeMilliseconds
    }
}

/// A sensor's rule state.
struct SensorAlertState: Sendable {
    var subject: AlertSubject
    var rules: SensorAlertRules { didSet { timing = SensorRuleTiming(rules) } }
    /// `rules`' durations in milliseconds.
    private(set) var timing: SensorRuleTiming
    var intervals = IntervalEstimator()
    /// Newest reading time (ms), `Int64.min` before the first.
    var lastReading = Int64.min
    var offlineAlert: Int32 = -1
    var faultyAlert: Int32 = -1
    /// Metrics whose value is stuck now (bit = metric raw value).
    var stuckMetrics: UInt32 = 0
    /// Newest fault time (ms), `Int64.min` if none.
    var lastFault = Int64.min
    /// First good reading after the last fault (ms), `Int64.min` if none yet.
    var goodSince = Int64.min
    /// Faulty observations since the active faulty alert was raised.
    var faultObservations = 0.0
    var air: Int32 = -1

    init(subject: AlertSubject, rules: SensorAlertRules) {
        self.subject = subject
        self.rules = rules
        self.timing = SensorRuleTiming(rules)
    }
}

/// The current run of identical values of one sensor metric.
struct StuckRun: Sendable {
    var value = 0.0
    /// First reading of the run (ms).
    var since = Int64.min
    /// Newest reading of the run (ms); `Int64.min`: no reading yet.
    var newest = Int64.min
}

/// A subject's air-quality state: a debounced band and an alert slot per index pollutant.
struct AirAlertState: Sendable {
    var subject: AlertSubject
    var debouncers = [LevelDebouncer](repeating: LevelDebouncer(), count: 4)
    var alerts = [Int32](repeating: -1, count: 4)

    init(subject: AlertSubject) { self.subject = subject }

    static func position(of metric: Metric) -> Int? {
        switch metric {
        case .pm2_5: 0
        case .pm10: 1
        case .no2: 2
        case .o3: 3
        default: nil
        }
    }
}
