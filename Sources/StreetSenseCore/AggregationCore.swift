import CMemoryHints

/// A dense sensor number inside one ``AggregationCore``: registered sensors first, in configuration order,
/// then unregistered ones in the order they were first heard.
public struct SensorIndex: Hashable, Sendable, Comparable {
    public var rawValue: Int32

    @inlinable
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    public static func < (lhs: SensorIndex, rhs: SensorIndex) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What became of one decoded reading inside the core, in the order the readings were given.
public struct ReadingDisposition: Sendable, Hashable {
    /// What happened to a reading.
    public enum Outcome: Sendable, Hashable {
        case accepted
        case duplicate
        case late
        case rejected(RejectReason)
    }

    public var outcome: Outcome
    public var metric: Metric
    /// The reading's event time (the arrival time if the payload gave none).
    public var time: EventTime
    public var value: Double

    public init(outcome: Outcome, metric: Metric, time: EventTime, value: Double) {
        self.outcome = outcome
        self.metric = metric
        self.time = time
        self.value = value
    }
}

/// One zone density sample as the alert rules see it: taken at a sample instant, after every reading with
/// t ≤ that instant and before any later one.
public struct ZoneSample: Sendable, Hashable {
    /// The zone's position in the configuration (and in ``Snapshot/zones``).
    public var zoneIndex: Int
    public var instant: EventTime
    /// The density at the instant; nil when no fresh sensor covers the zone.
    public var density: Double?
    /// The 1- and 5-minute windows of the density series at the instant, as far as the rules read them (the
    /// 1-minute mean drives density alerts, the 5-minute slope build-up alerts).
    public var trend: DensityTrend

    public init(zoneIndex: Int, instant: EventTime, density: Double?, trend: DensityTrend) {
        self.zoneIndex = zoneIndex
        self.instant = instant
        self.density = density
        self.trend = trend
    }
}

/// Whose 1-minute rollup a changed bucket belongs to.
public enum RollupSubject: Sendable, Hashable {
    /// A sensor's metric; `ref` is the sensor's stable store reference given at registration.
    case sensor(ref: Int32, metric: Metric)
    /// A zone's density series; `zone` is the zone id.
    case zoneDensity(zone: String)
}

/// The aggregation core: rolling windows per series, zone density, event time, idempotency (DESIGN §3–§4).
///
/// One owner (a single thread) mutates it; everyone else reads the ``Snapshot`` it makes. It does no I/O.
///
/// Event time: "now" is the newest event time seen (or given to ``advance(to:)`` by a live clock). Whenever
/// now crosses a multiple of ``zoneSampleInterval`` the core samples every zone's density at that instant,
/// after all readings with t ≤ that instant and before any later one; the samples form each zone's density
/// series, so zone windows and alerts depend on event time only, never on arrival order or wall-clock time.
public struct AggregationCore: Sendable {
    /// How often, in event time, zone densities are sampled into their series.
    public static let zoneSampleInterval: Int64 = 5_000
    /// The span of the density percentiles (ms): samples with now − 15 min < instant ≤ now.
    static let percentileWindow: Int64 = 900_000
    /// Samples kept per zone for the 15-minute percentiles.
    static let percentileSamples = Int(percentileWindow / zoneSampleInterval)

    public let policy: EventTimePolicy
    /// `policy.allowedLateness` in milliseconds, as every reading needs it (a `Duration`'s milliseconds cost a
    /// 128-bit division).
    private let latenessMilliseconds: Int64
    /// The newest event time seen or advanced to; `Int64.min` before anything happened.
    public private(set) var nowMilliseconds: Int64 = .min
    /// Every sample instant up to this time (ms) has been taken.
    private var sampledThrough: Int64 = .min

    public private(set) var series = SeriesTable()
    @usableFromInline var sensors: [SensorState] = []
    var zones: [ZoneState] = []
    var sensorByAddress: [SensorAddress: SensorIndex] = [:]
    /// `Metric.count` series ids per sensor (−1 where the sensor has not reported that metric).
    var sensorSeries: [Int32] = []
    /// For each series, the sensor (≥ 0) or zone (−1 − zone index) that owns it, and its metric.
    var seriesOwner: [(owner: Int32, metric: Metric)] = []
    public private(set) var totals = IngestCounts()
    /// Whether zone samples are kept for ``drainZoneSamples(_:)`` (the alert engine's input). Off by default so
    /// that a core nobody drains does not grow.
    public var recordsZoneSamples = false
    private var zoneSamples: [ZoneSample] = []
    /// What the last ``snapshotChanges()`` left each sensor's picture at, and the sensors changed by input since
    /// (each zone's counterpart is in its ``ZoneState``).
    var pictures = SensorPictures()
    var changedSensors: [Int32] = []
    /// What the density estimate reads of each sensor that estimates people in a zone, zone by zone (each
    /// zone's run in its `sensors` order, ``ZoneState/members``), kept current as readings arrive: sampling every
    /// zone at every instant then reads one contiguous array instead of each sensor's state and series.
    var zoneMembers: [ZoneMember] = []
    /// Each sensor's entry in ``zoneMembers``, −1 if it has none (not in a zone, or its kind does not estimate
    /// people). Its own dense array: reading it through `sensors[s]` copied the whole sensor state.
    var zoneMemberOfSensor: [Int32] = []

    /// Creates a core for a registry. `refs` gives each sensor its stable store reference (same order as
    /// `sensors`; defaults to the position).
    public init(zones: [ZoneDefinition], sensors: [SensorDefinition], refs: [Int32]? = nil, policy: EventTimePolicy = .default) {
        self.policy = policy
        latenessMilliseconds = policy.allowedLateness.wholeMilliseconds
        // Room for the series a registry surely needs (each zone's density, each counting sensor's count, every
        // metric of an air station) up front: growing by doubling copied the buckets of every series so far.
        let stations = sensors.count { $0.kind == .air }
        series.reserveCapacity(zones.count + (sensors.count - stations) + stations * Metric.count)
        var zoneIndex: [String: Int] = [:]
        for (i, zone) in zones.enumerated() {
            zoneIndex[zone.id] = i
            let densitySeries = series.addSeries()
            seriesOwner.append((-1 - Int32(i), .people))
            self.zones.append(ZoneState(definition: zone, densitySeries: densitySeries))
        }
        for (i, definition) in sensors.enumerated() {
            let zone = zoneIndex[definition.zone]
            let index = addSensor(address: definition.address, definition: definition, zone: zone, ref: refs?[i] ?? Int32(i))
            if let zone {
                self.zones[zone].sensors.append(index)
                self.zones[zone].sensorAddresses.append(definition.address)
            }
        }
        for z in self.zones.indices {
            let start = zoneMembers.count
            for sensor in self.zones[z].sensors {
                let s = Int(sensor.rawValue)
                guard let kind = self.sensors[s].kind, kind.estimatesPeople else { continue }
                zoneMemberOfSensor[s] = Int32(zoneMembers.count)
                zoneMembers.append(ZoneMember(
                    staleAfter: self.sensors[s].staleAfterMilliseconds, coveredM2: self.sensors[s].coveredM2 ?? self.zones[z].definition.areaM2))
            }
            self.zones[z].members = start..<zoneMembers.count
        }
    }

    // MARK: Registry

    /// The sensor with this address, if known (registered or heard before).
    public func index(of address: SensorAddress) -> SensorIndex? { sensorByAddress[address] }

    /// The sensor with this address, registering it as unregistered on first sight with store reference `ref`.
    public mutating func index(of address: SensorAddress, registeringWith ref: @autoclosure () -> Int32) -> SensorIndex {
        if let index = sensorByAddress[address] { return index }
        return addSensor(address: address, definition: nil, zone: nil, ref: ref())
    }

    /// The number of sensors known (registered and unregistered).
    public var sensorCount: Int { sensors.count }

    /// The address of a sensor.
    ///
    /// Inlinable, like ``kind(of:)``: called from another module on a core held in a class, the call copied the
    /// whole core first (a `memcpy` per message in the pipeline).
    @inlinable
    public func address(of sensor: SensorIndex) -> SensorAddress { sensors[Int(sensor.rawValue)].address }

    /// The stable store reference of a sensor.
    public func ref(of sensor: SensorIndex) -> Int32 { sensors[Int(sensor.rawValue)].ref }

    /// Whether a sensor is in the registry.
    public func isRegistered(_ sensor: SensorIndex) -> Bool { sensors[Int(sensor.rawValue)].kind != nil }

    /// The kind of a registered sensor (nil when unregistered).
    @inlinable
    public func kind(of sensor: SensorIndex) -> SensorKind? { sensors[Int(sensor.rawValue)].kind }

    /// Starts loading what applying a message of `sensor` reads first: its state, its series ids and the index
    /// of its zone member. A hint only: no visible effect. Ask for it a few messages ahead, then ``prefetchSeries(of:)``.
    /// Mutating only so that callers pass the core in place: a non-mutating call from the pipeline copied the
    /// whole core first (a `memcpy` per call).
    public mutating func prefetchSensor(_ sensor: SensorIndex) {
        let s = Int(sensor.rawValue)
        guard s >= 0, s < sensors.count else { return }
        sensors.withUnsafeBufferPointer { streetsense_prefetch_range_for_write($0.baseAddress! + s, MemoryLayout<SensorState>.stride) }
        sensorSeries.withUnsafeBufferPointer { streetsense_prefetch_for_write($0.baseAddress! + s &* Metric.count) }
        zoneMemberOfSensor.withUnsafeBufferPointer { streetsense_prefetch_for_write($0.baseAddress! + s) }
    }

    /// Starts loading the series of `sensor`: each one's header, and its buckets for a reading at "now". Reads the
    /// sensor's series ids (ask for them with ``prefetchSensor(_:)`` first) and its zone member. A hint only.
    /// Mutating for the same reason as ``prefetchSensor(_:)``.
    public mutating func prefetchSeries(of sensor: SensorIndex) {
        let s = Int(sensor.rawValue)
        guard s >= 0, s < sensors.count else { return }
        let member = Int(zoneMemberOfSensor[s])
        if member >= 0 { zoneMembers.withUnsafeBufferPointer { streetsense_prefetch_for_write($0.baseAddress! + member) } }
        for m in 0..<Metric.count {
            let id = sensorSeries[s &* Metric.count &+ m]
            if id >= 0 { series.prefetch(SeriesID(id), time: nowMilliseconds) }
        }
    }

    private mutating func addSensor(address: SensorAddress, definition: SensorDefinition?, zone: Int?, ref: Int32) -> SensorIndex {
        let index = SensorIndex(Int32(sensors.count))
        sensors.append(SensorState(address: address, definition: definition, zone: zone.map(Int32.init) ?? -1, ref: ref))
        sensorSeries.append(contentsOf: repeatElement(-1, count: Metric.count))
        zoneMemberOfSensor.append(-1)
        sensorByAddress[address] = index
        return index
    }

    @inline(__always)
    private mutating func seriesID(sensor: Int, metric: Metric) -> SeriesID {
        let slot = sensor &* Metric.count &+ Int(metric.rawValue)
        let existing = sensorSeries[slot]
        if existing >= 0 { return SeriesID(existing) }
        let id = series.addSeries()
        sensorSeries[slot] = id.rawValue
        seriesOwner.append((Int32(sensor), metric))
        return id
    }

    // MARK: Ingest

    /// Counts a message that was rejected before any reading could be routed (bad payload, identity mismatch).
    public mutating func countRejectedMessage(sensor: SensorIndex?, reason: RejectReason) {
        totals.messages += 1
        totals.countReject(reason)
        if let sensor {
            sensors[Int(sensor.rawValue)].counts.messages += 1
            sensors[Int(sensor.rawValue)].counts.countReject(reason)
            notePictureChange(Int(sensor.rawValue))
        }
    }

    /// Counts readings a decoder rejected inside an otherwise accepted message.
    public mutating func countRejectedReading(sensor: SensorIndex, reason: RejectReason) {
        totals.countReject(reason)
        sensors[Int(sensor.rawValue)].counts.countReject(reason)
        notePictureChange(Int(sensor.rawValue))
    }

    /// Applies one message's decoded readings for one sensor and appends one disposition per reading.
    ///
    /// Readings without a time take `arrival`. A flow sensor's `people_in`/`people_out` readings of one message
    /// are applied as one net change, so the order of the two keys never clamps the occupancy at zero.
    ///
    /// With `restoring`, readings refill windows and duplicate detection after a restart but leave flow
    /// occupancies alone (those are restored from their saved state).
    public mutating func apply(
        sensor: SensorIndex, readings: [DecodedReading], arrival: EventTime, dispositions: inout [ReadingDisposition],
        restoring: Bool = false
    ) {
        let s = Int(sensor.rawValue)
        totals.messages += 1
        sensors[s].counts.messages += 1
        notePictureChange(s)
        let kind = sensors[s].kind
        let member = zoneMemberOfSensor[s]
        var flowNet = 0.0
        var flowChanged = false
        for reading in readings {
            let time = reading.time ?? arrival
            if let kind, !kind.accepts(reading.metric) {
                countRejectedReading(sensor: sensor, reason: .kindMismatch)
                dispositions.append(ReadingDisposition(outcome: .rejected(.kindMismatch), metric: reading.metric, time: time, value: reading.value))
                continue
            }
            // Sample instants strictly before this reading: one stamped exactly on an instant belongs to it.
            if time.milliseconds > nowMilliseconds { sampleZones(before: time.milliseconds) }
            let id = seriesID(sensor: s, metric: reading.metric)
            let outcome = series.record(id, time: time.milliseconds, value: reading.value, lateness: latenessMilliseconds)
            if member >= 0 { refreshZoneMember(s, member) }
            switch outcome {
            case .accepted:
                totals.accepted += 1
                sensors[s].counts.accepted += 1
                if time.milliseconds > sensors[s].lastSeen { sensors[s].lastSeen = time.milliseconds }
                if kind == .flow {
                    if reading.metric == .peopleIn { flowNet += reading.value; flowChanged = true }
                    if reading.metric == .peopleOut { flowNet -= reading.value; flowChanged = true }
                }
                dispositions.append(ReadingDisposition(outcome: .accepted, metric: reading.metric, time: time, value: reading.value))
            case .duplicate:
                totals.duplicate += 1
                sensors[s].counts.duplicate += 1
                dispositions.append(ReadingDisposition(outcome: .duplicate, metric: reading.metric, time: time, value: reading.value))
            case .late:
                totals.late += 1
                sensors[s].counts.late += 1
                dispositions.append(ReadingDisposition(outcome: .late, metric: reading.metric, time: time, value: reading.value))
            }
        }
        if flowChanged, !restoring {
            sensors[s].flowOccupancy = Swift.max(0, sensors[s].flowOccupancy + flowNet)
            if member >= 0 { refreshZoneMember(s, member) }
        }
    }

    /// Moves "now" forward to `time` (never backward), sampling zone densities at every sample instant up to
    /// and including `time`. Only the last hour of instants is sampled after a long silence: older samples
    /// could not be in any window.
    public mutating func advance(to time: EventTime) {
        guard time.milliseconds > nowMilliseconds else { return }
        sampleZones(through: time.milliseconds)
        nowMilliseconds = time.milliseconds
    }

    /// Moves "now" to `time` for a reading stamped `time`: samples the instants before it, not at it.
    private mutating func sampleZones(before time: Int64) {
        sampleZones(through: time &- 1)
        nowMilliseconds = time
    }

    private mutating func sampleZones(through target: Int64) {
        let step = Self.zoneSampleInterval
        defer { sampledThrough = Swift.max(sampledThrough, target) }
        guard sampledThrough != .min, target > sampledThrough, !zones.isEmpty else { return }
        var instant = (floorDiv(sampledThrough, step) + 1) * step
        let earliest = target - RingGeometry.coarseWidth * Int64(RingGeometry.coarseSlots)
        if instant < earliest { instant = (floorDiv(earliest, step) + 1) * step }
        while instant <= target {
            for z in zones.indices { sampleZone(z, at: instant) }
            instant += step
        }
    }

    private mutating func sampleZone(_ z: Int, at instant: Int64) {
        let estimate = zoneEstimate(z, at: instant)
        let id = zones[z].densitySeries
        let versionBefore = series.version(id)
        if let density = estimate.density {
            _ = series.record(id, time: instant, value: density, lateness: 0)
            zones[z].samples.append(instant: instant, value: density)
            zones[z].snapshotChanged = true
        }
        if recordsZoneSamples {
            // The older buckets' sums of the last sample still hold if it was taken in this fine bucket and nothing
            // was recorded into the series since (this sample went into the bucket `instant` falls in).
            // In place: a copy of the carry out and back was a `memcpy` per sample.
            let epoch = RingGeometry.epoch(of: instant, width: RingGeometry.fineWidth)
            if zones[z].trendCarry.epoch != epoch || zones[z].trendCarry.version != versionBefore {
                zones[z].trendCarry.older = series.fineTrendOlder(id, at: instant)
                zones[z].trendCarry.epoch = epoch
            }
            zones[z].trendCarry.version = series.version(id)
            let trend = series.fineTrend(id, at: instant, older: zones[z].trendCarry.older)
            zoneSamples.append(ZoneSample(zoneIndex: z, instant: EventTime(milliseconds: instant), density: estimate.density, trend: trend))
        }
    }

    /// Hands every zone sample taken since the last call to `body`, in time order, and forgets them.
    public mutating func drainZoneSamples(_ body: (ZoneSample) -> Void) {
        for sample in zoneSamples { body(sample) }
        zoneSamples.removeAll(keepingCapacity: true)
    }

    // MARK: Zone density

    /// A sensor's current estimate of people over the area it covers, or nil if it has none.
    ///
    /// Runs after every reading of a zone member, so it reads only the unboxed copies of the definition's numbers
    /// in ``SensorState`` (reading `definition` itself would copy its strings), and reads them through a pointer.
    /// Inlined: as a call from a mutating method it was passed a 272-byte copy of the core.
    @inline(__always)
    func peopleEstimate(_ s: Int) -> (people: Double, newest: Int64)? {
        let (kind, factor, occupancy) = sensors.withUnsafeBufferPointer { sensors in
            precondition(UInt(bitPattern: s) < UInt(bitPattern: sensors.count), "unknown sensor")
            let state = sensors.baseAddress! + s
            return (state.pointee.kind, state.pointee.factor, state.pointee.flowOccupancy)
        }
        guard let kind else { return nil }
        func series(_ metric: Metric) -> SeriesID? {
            let id = sensorSeries[s * Metric.count + Int(metric.rawValue)]
            return id >= 0 ? SeriesID(id) : nil
        }
        switch kind {
        case .occupancy, .devices:
            let metric: Metric = kind == .occupancy ? .people : .devices
            guard let id = series(metric), let newest = self.series.newest(id), let last = self.series.last(id) else { return nil }
            return (last * factor, newest.milliseconds)
        case .flow:
            let newestIn = series(.peopleIn).flatMap { self.series.newest($0) }?.milliseconds ?? .min
            let newestOut = series(.peopleOut).flatMap { self.series.newest($0) }?.milliseconds ?? .min
            let newest = Swift.max(newestIn, newestOut)
            guard newest != .min else { return nil }
            return (occupancy * factor, newest)
        case .air:
            return nil
        }
    }

    struct ZoneEstimate {
        var density: Double?
        var used = 0
        var stale = 0
        var coveredM2 = 0.0
        var updatedAt: Int64 = .min
    }

    /// Copies a zone member's ``peopleEstimate(_:)`` into ``zoneMembers`` (after anything it reads changed).
    @inline(__always)
    private mutating func refreshZoneMember(_ s: Int, _ m: Int32) {
        let m = Int(m)
        if let (people, newest) = peopleEstimate(s) {
            zoneMembers[m].people = people
            zoneMembers[m].newest = newest
        } else {
            zoneMembers[m].newest = .min
        }
    }

    /// The zone's density at `instant`: Σ people ÷ Σ covered area over its sensors that are fresh at `instant`
    /// (each sensor's ``peopleEstimate(_:)``, through ``zoneMembers``). Inlined: called from the mutating
    /// ``sampleZone(_:at:)`` it was passed a copy of the whole core (a `memcpy` per zone sample).
    @inline(__always)
    func zoneEstimate(_ z: Int, at instant: Int64) -> ZoneEstimate {
        var estimate = ZoneEstimate()
        var people = 0.0
        for m in zones[z].members {
            let member = zoneMembers[m]
            guard member.newest != .min else { continue }
            if instant - member.newest > member.staleAfter {
                estimate.stale += 1
                continue
            }
            estimate.used += 1
            people += member.people
            estimate.coveredM2 += member.coveredM2
            estimate.updatedAt = Swift.max(estimate.updatedAt, member.newest)
        }
        if estimate.used > 0, estimate.coveredM2 > 0 {
            estimate.density = people / estimate.coveredM2
        }
        return estimate
    }

    // MARK: Rollups

    /// Hands every 1-minute bucket changed since the last call to `body` (sensor series and zone densities)
    /// whose minute ended at or before `cutoff` (ms); later minutes stay queued.
    public mutating func drainChangedMinutes(closedBy cutoff: Int64 = .max, _ body: (RollupSubject, EventTime, TimeBucket) -> Void) {
        let owners = seriesOwner
        let sensors = self.sensors
        let zones = self.zones
        series.drainChangedMinutes(closedBy: cutoff) { id, epoch, bucket in
            let owner = owners[Int(id.rawValue)]
            let minute = EventTime(milliseconds: Int64(epoch) * RingGeometry.coarseWidth)
            if owner.owner >= 0 {
                body(.sensor(ref: sensors[Int(owner.owner)].ref, metric: owner.metric), minute, bucket)
            } else {
                body(.zoneDensity(zone: zones[Int(-1 - owner.owner)].definition.id), minute, bucket)
            }
        }
    }

    /// Forgets queued rollup changes (after a restore: those minutes are stored already).
    public mutating func discardChangedMinutes() {
        series.drainChangedMinutes { _, _, _ in }
    }

    /// Zeroes the ingest counters (after a restore, so counts describe this run).
    public mutating func resetCounts() {
        totals = IngestCounts()
        for i in sensors.indices { sensors[i].counts = IngestCounts() }
        pictures.needsAll = true
    }

    // MARK: Snapshot

    /// An immutable picture of every zone and sensor at the current event time, built from scratch.
    ///
    /// ``snapshotChanges()`` and a ``SnapshotAssembly`` give the same value at a fraction of the cost; this
    /// one needs no mutation.
    public func snapshot() -> Snapshot {
        let now = snapshotNow
        var sensorSnapshots = sensors.indices.map { sensorSnapshot($0, at: now) }
        sensorSnapshots.sort { $0.address < $1.address }
        return Snapshot(asOf: EventTime(milliseconds: now), zones: zones.indices.map { zoneSnapshot($0, at: now) },
                        sensors: sensorSnapshots, totals: totals)
    }

    /// The event time a snapshot describes: "now", or the epoch before anything happened.
    var snapshotNow: Int64 { nowMilliseconds == .min ? 0 : nowMilliseconds }

    /// One zone as a snapshot shows it at `now`.
    func zoneSnapshot(_ z: Int, at now: Int64) -> ZoneSnapshot {
        var uncached = CoarseWindowCache(enabled: false)
        return zoneSnapshot(z, at: now, coarse: &uncached)
    }

    /// One zone as a snapshot shows it at `now`, its density windows through `coarse`.
    func zoneSnapshot(_ z: Int, at now: Int64, coarse: inout CoarseWindowCache) -> ZoneSnapshot {
        let zone = zones[z]
        let estimate = zoneEstimate(z, at: now)
        let area = zone.definition.areaM2
        let (p50, p95) = zone.samples.percentiles(since: now - Self.percentileWindow, until: now)
        // Each air metric's mean over the fresh sensors that report it, summed in sensor order.
        var air: [(metric: Metric, value: Double)] = []
        for metric in Metric.allCases where !metric.isCount {
            var sum = 0.0
            var count = 0
            for sensor in zone.sensors {
                let s = Int(sensor.rawValue)
                guard sensors[s].kind != nil, sensors[s].lastSeen != .min, now - sensors[s].lastSeen <= sensors[s].staleAfterMilliseconds
                else { continue }
                let id = sensorSeries[s * Metric.count + Int(metric.rawValue)]
                guard id >= 0, let last = series.last(SeriesID(id)) else { continue }
                sum += last
                count += 1
            }
            if count > 0 { air.append((metric, sum / Double(count))) }
        }
        return ZoneSnapshot(
            definition: zone.definition,
            people: estimate.density.map { $0 * area },
            densityPPM2: estimate.density,
            level: estimate.density.map { zone.definition.levels.level(for: $0) } ?? .normal,
            updatedAt: estimate.updatedAt == .min ? nil : EventTime(milliseconds: estimate.updatedAt),
            windows: coarse.windows(zone.densitySeries, at: now, in: series),
            p50Density15m: p50, p95Density15m: p95,
            coverage: ZoneCoverage(sensorsUsed: estimate.used, sensorsStale: estimate.stale, coveredM2: Swift.min(estimate.coveredM2, area)),
            sensors: zone.sensorAddresses,
            air: air
        )
    }

    /// One sensor as a snapshot shows it at `now`.
    func sensorSnapshot(_ s: Int, at now: Int64) -> SensorSnapshot {
        var uncached = CoarseWindowCache(enabled: false)
        return sensorSnapshot(s, at: now, coarse: &uncached)
    }

    /// One sensor as a snapshot shows it at `now`, its windows through `coarse`.
    func sensorSnapshot(_ s: Int, at now: Int64, coarse: inout CoarseWindowCache) -> SensorSnapshot {
        // Sized once: grown by appends, an air sensor's list was allocated four times (1, 2, 4, 8).
        var metrics: [MetricSnapshot] = []
        var seriesCount = 0
        for m in 0..<Metric.count where sensorSeries[s &* Metric.count &+ m] >= 0 { seriesCount += 1 }
        metrics.reserveCapacity(seriesCount)
        for metric in Metric.allCases {
            let id = sensorSeries[s * Metric.count + Int(metric.rawValue)]
            guard id >= 0, let newest = series.newest(SeriesID(id)), let last = series.last(SeriesID(id)) else { continue }
            metrics.append(MetricSnapshot(metric: metric, last: last, lastTime: newest, windows: coarse.windows(SeriesID(id), at: now, in: series)))
        }
        // The state's fields are read in place: a copy of the whole state would retain and release each of its
        // strings and arrays once more, and they are cold.
        let (address, definition, lastSeen, staleAfter, flowOccupancy, counts) = sensors.withUnsafeBufferPointer { sensors in
            precondition(UInt(bitPattern: s) < UInt(bitPattern: sensors.count), "unknown sensor")
            let state = sensors.baseAddress! + s
            return (state.pointee.address, state.pointee.definition, state.pointee.lastSeen, state.pointee.staleAfterMilliseconds,
                    state.pointee.kind == .flow ? state.pointee.flowOccupancy : nil, state.pointee.counts)
        }
        let status: SensorStatus
        if definition == nil {
            status = .unregistered
        } else if lastSeen == .min {
            status = .waiting
        } else if now - lastSeen > staleAfter {
            status = .stale
        } else {
            status = .active
        }
        let estimate = status == .active ? peopleEstimate(s)?.people : nil
        return SensorSnapshot(
            address: address, definition: definition, status: status,
            lastSeen: lastSeen == .min ? nil : EventTime(milliseconds: lastSeen),
            metrics: metrics, flowOccupancy: flowOccupancy, people: estimate, counts: counts
        )
    }

    // MARK: Restore

    /// Restores a flow sensor's running occupancy (after a restart, from the store).
    public mutating func restoreFlowOccupancy(_ sensor: SensorIndex, _ occupancy: Double) {
        let s = Int(sensor.rawValue)
        sensors[s].flowOccupancy = Swift.max(0, occupancy)
        let member = zoneMemberOfSensor[s]
        if member >= 0 { refreshZoneMember(s, member) }
        notePictureChange(s)
    }

    /// A flow sensor's running occupancy.
    public func flowOccupancy(_ sensor: SensorIndex) -> Double { sensors[Int(sensor.rawValue)].flowOccupancy }
}

/// Live state of one sensor inside the core.
@usableFromInline
struct SensorState: Sendable {
    @usableFromInline var address: SensorAddress
    var definition: SensorDefinition?
    /// Zone index, or −1 (unregistered sensors and sensors of unknown zones are never in a zone).
    var zone: Int32
    var ref: Int32
    /// Newest accepted event time of any metric (ms), `Int64.min` before the first.
    var lastSeen: Int64 = .min
    var flowOccupancy: Double = 0
    var counts = IngestCounts()
    /// Whether input changed the sensor since the last ``AggregationCore/snapshotChanges()`` (it is then
    /// in ``AggregationCore/changedSensors``).
    var pictureChanged = false
    /// The numbers of `definition` the zone estimate reads at every sample instant, unboxed (nil kind:
    /// unregistered).
    @usableFromInline let kind: SensorKind?
    let factor: Double
    let coveredM2: Double?
    let staleAfterMilliseconds: Int64

    init(address: SensorAddress, definition: SensorDefinition?, zone: Int32, ref: Int32) {
        self.address = address
        self.definition = definition
        self.zone = zone
        self.ref = ref
        kind = definition?.kind
        factor = definition?.factor ?? 1
        coveredM2 = definition?.coveredM2
        staleAfterMilliseconds = definition?.staleAfter.wholeMilliseconds ?? 0
    }
}

/// Live state of one zone inside the core.
struct ZoneState: Sendable {
    var definition: ZoneDefinition
    var densitySeries: SeriesID
    var sensors: [SensorIndex] = []
    /// The addresses of `sensors`, as every snapshot lists them (sensors join a zone only at initialisation).
    var sensorAddresses: [SensorAddress] = []
    var samples = ZoneSampleRing(capacity: AggregationCore.percentileSamples)
    /// The zone's run of ``AggregationCore/zoneMembers``.
    var members: Range<Int> = 0..<0
    /// Whether input to one of `sensors` or a new density sample may have changed the zone's snapshot since the
    /// last ``AggregationCore/snapshotChanges()`` rebuilt it.
    var snapshotChanged = true
    /// The sums of the density series' older fine buckets at the last zone sample (``SeriesTable/fineTrendOlder(_:at:)``),
    /// the fine bucket it was taken in and the series' version right after it.
    var trendCarry = TrendCarry()
    /// The event time (ms) from which the zone's snapshot may differ without input or a new sample
    /// (``AggregationCore/zoneSnapshotValidUntil(_:at:)``); `Int64.min` before the first build.
    var snapshotValidUntil: Int64 = .min

    init(definition: ZoneDefinition, densitySeries: SeriesID) {
        self.definition = definition
        self.densitySeries = densitySeries
    }
}

/// What a zone's next density sample may reuse of its last one (``ZoneState/trendCarry``).
struct TrendCarry: Sendable {
    var epoch = Int32.min
    var version: UInt32 = 0
    var older = FineTrendSums()
}

/// What the zone density estimate needs of one sensor (``AggregationCore/zoneMembers``).
struct ZoneMember: Sendable {
    /// The sensor's ``AggregationCore/peopleEstimate(_:)``: people, and the event time (ms) of its newest
    /// reading; `newest` is `Int64.min` while it has none.
    var people = 0.0
    var newest = Int64.min
    /// The sensor's `stale_after` (ms) and the area it covers (its own, or its zone's).
    let staleAfter: Int64
    let coveredM2: Double
}

/// The most recent density samples of a zone (15 minutes at the sample interval), for exact percentiles.
///
/// Invariants: samples are appended in increasing instant order, so from slot `next` on the slots run oldest
/// to newest, never-written ones (instant `Int64.min`) first. `sorted` holds the values of every written slot,
/// ascending, as of the last ``settle()``; the `unsettled` newest samples came after it, and `replaced` holds the
/// values they overwrote while there are at most ``settleLimit`` of them. So the percentiles of a window holding
/// every written sample need no sort once settled.
///
/// Appending only writes the slot: zones are sampled at every instant, but their percentiles are read only when a
/// snapshot rebuilds them, so the sorted order is brought up to date then, for every sample since at once.
struct ZoneSampleRing: Sendable {
    /// One sample: its instant (`Int64.min` for a slot never written) and its value.
    struct Slot: Sendable {
        var instant: Int64
        var value: Double
    }

    /// Instant and value side by side: appending writes one cache line, not one in each of two arrays.
    private(set) var slots: [Slot]
    private(set) var next = 0
    private(set) var sorted: [Double] = []
    /// Samples appended since the last ``settle()``.
    private(set) var unsettled = 0
    /// The values the unsettled samples overwrote, while there are at most ``settleLimit`` unsettled samples.
    private var replaced: [Double] = []

    /// Up to this many unsettled samples are merged into `sorted` in one pass; more are sorted from scratch.
    static let settleLimit = 16

    init(capacity: Int) {
        slots = Array(repeating: Slot(instant: .min, value: 0), count: capacity)
        sorted.reserveCapacity(capacity)
        replaced.reserveCapacity(Self.settleLimit)
    }

    /// Appends a sample newer than every one held, replacing the oldest when full. O(1), no allocation.
    mutating func append(instant: Int64, value: Double) {
        if slots[next].instant != .min, unsettled < Self.settleLimit { replaced.append(slots[next].value) }
        slots[next] = Slot(instant: instant, value: value)
        next = next + 1 == slots.count ? 0 : next + 1
        unsettled &+= 1
    }

    /// Brings `sorted` up to date with every sample appended since the last call, without allocating: with at
    /// most ``settleLimit`` of them (and no more than the capacity), one pass removes the values they replaced and
    /// one merges theirs in (O(capacity)); with more, the held values are sorted from scratch.
    mutating func settle() {
        guard unsettled > 0 else { return }
        defer {
            unsettled = 0
            replaced.removeAll(keepingCapacity: true)
        }
        if unsettled > Swift.min(Self.settleLimit, slots.count) || !merge() {
            sorted.removeAll(keepingCapacity: true)
            for slot in slots where slot.instant != .min { sorted.append(slot.value) }
            sorted.sort()
        }
    }

    /// Removes the `replaced` values from `sorted` and merges the unsettled samples' values in. False (with
    /// `sorted` to be rebuilt) if a replaced value is not found, which only a value that does not order (NaN) causes.
    private mutating func merge() -> Bool {
        let k = unsettled
        let n = slots.count
        replaced.sort()
        var found = 0
        sorted.withUnsafeMutableBufferPointer { sorted in
            // One pass: every value kept moves down over the removed ones.
            var kept = 0
            replaced.withUnsafeBufferPointer { replaced in
                for i in 0..<sorted.count {
                    if found < replaced.count, sorted[i] == replaced[found] {
                        found += 1
                    } else {
                        sorted[kept] = sorted[i]
                        kept += 1
                    }
                }
            }
        }
        guard found == replaced.count else { return false }
        sorted.removeLast(found)
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: Self.settleLimit) { added in
            // The newest k values, sorted by insertion (k is small).
            for j in 0..<k {
                let value = slots[(next - 1 - j + n) % n].value
                if value.isNaN { return false }
                var l = j
                while l > 0, added[l - 1] > value {
                    added[l] = added[l - 1]
                    l -= 1
                }
                added[l] = value
            }
            // Merged from the back, so each held value moves once.
            var i = sorted.count - 1
            sorted.append(contentsOf: repeatElement(0, count: k))
            sorted.withUnsafeMutableBufferPointer { sorted in
                var out = sorted.count - 1
                var l = k - 1
                while l >= 0 {
                    if i >= 0, sorted[i] > added[l] {
                        sorted[out] = sorted[i]
                        i -= 1
                    } else {
                        sorted[out] = added[l]
                        l -= 1
                    }
                    out -= 1
                }
            }
            return true
        }
    }

    /// How many slots are written, and the slot of the oldest sample.
    private var written: (count: Int, oldest: Int) {
        slots[next].instant == .min ? (next, 0) : (slots.count, next)
    }

    /// The instant of the oldest sample newer than `since`, if any.
    func oldestInstant(after since: Int64) -> Int64? {
        let (count, oldest) = written
        for k in 0..<count {
            let instant = slots[(oldest + k) % slots.count].instant
            if instant > since { return instant }
        }
        return nil
    }

    /// Nearest-rank median and 95th percentile of the samples with since < instant ≤ until. Without sorting when
    /// settled and every sample held is in the window (the usual case); otherwise the window is sorted in a
    /// temporary buffer.
    func percentiles(since: Int64, until: Int64) -> (Double?, Double?) {
        let (count, oldest) = written
        guard count > 0 else { return (nil, nil) }
        let newest = slots[(oldest + count - 1) % slots.count].instant
        if unsettled == 0, slots[oldest].instant > since, newest <= until {
            return Self.ranks(of: sorted)
        }
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: slots.count) { buffer in
            var n = 0
            for slot in slots where slot.instant > since && slot.instant <= until {
                buffer.initializeElement(at: n, to: slot.value)
                n += 1
            }
            guard n > 0 else { return (nil, nil) }
            var window = UnsafeMutableBufferPointer(rebasing: buffer[..<n])
            window.sort()
            return Self.ranks(of: window)
        }
    }

    /// The nearest-rank median and 95th percentile of ascending values (nil when there are none).
    private static func ranks<Values: RandomAccessCollection<Double>>(of window: Values) -> (Double?, Double?) where Values.Index == Int {
        guard !window.isEmpty else { return (nil, nil) }
        func rank(_ p: Double) -> Double {
            let r = Int((p * Double(window.count)).rounded(.up))
            return window[window.startIndex + Swift.max(0, Swift.min(window.count - 1, r - 1))]
        }
        return (rank(0.5), rank(0.95))
    }
}
