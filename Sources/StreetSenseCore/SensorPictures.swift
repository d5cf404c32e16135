import CMemoryHints

/// The bookkeeping behind ``AggregationCore/snapshotChanges()``: which sensor pictures a
/// ``SnapshotAssembly`` holds, where, and until when each stays exact (each zone's counterpart is in its
/// ``ZoneState``: `snapshotChanged` and `snapshotValidUntil`).
///
/// A sensor's picture (its ``SensorSnapshot``) is a function of its own state and of "now" through three
/// things only: the 10 s fine epoch (its 1- and 5-minute windows), the 60 s coarse epoch (15 minutes, 1 hour)
/// and whether `now − lastSeen` exceeds its staleness limit. So a picture stays exact until new input for that
/// sensor (``SensorState/pictureChanged``) or until `now` reaches its `validUntil`.
///
/// Invariant: `order` holds the first `order.count` sensor indexes exactly once, sorted by address, which is
/// the order of the assembly's sensor list; `position` and `validUntil` have one entry per index in `order`.
struct SensorPictures: Sendable {
    /// Sensor indexes in address order, the order of ``Snapshot/sensors``.
    var order: [Int32] = []
    /// For each sensor index, its position in `order`.
    var position: [Int32] = []
    /// For each sensor index, the event time (ms) from which its picture may differ without new input.
    var validUntil: [Int64] = []
    /// How many ``SnapshotChanges`` have been taken.
    var sequence = 0
    /// The next changes must carry every picture (the first ones, and after ``AggregationCore/resetCounts()``).
    var needsAll = true
    /// Scratch: the known sensors whose pictures time moved, kept between calls for its capacity.
    var due: [Int32] = []
    /// The 15-minute and 1-hour windows last worked out for each series.
    var coarse = CoarseWindowCache()
    /// The coarse epoch (minute) of the previous changes' "now": when it moved, every cached coarse window is
    /// from an earlier minute, so refreshing a picture reads its coarse rings.
    var minute: Int32 = .min
}

/// The 15-minute and 1-hour windows of each series as last worked out for a snapshot, with the minute and the
/// series version (``SeriesTable/version(_:)``) they were worked out at.
///
/// Those windows depend only on the series' buckets and on the minute of "now", so an entry whose minute and
/// version both match is exact: a picture refreshed because its 10 s epoch moved (five times in six) reads one
/// entry instead of scanning 60 buckets (30 cache lines, mostly cold).
struct CoarseWindowCache: Sendable {
    struct Entry: Sendable {
        var minute: Int32 = .min
        var version: UInt32 = 0
        var fifteenMinutes = WindowSummary.empty
        var oneHour = WindowSummary.empty
    }

    /// Indexed by series id; grown on demand.
    private(set) var entries: [Entry] = []
    /// A disabled cache remembers nothing: every call works out every window (full rebuilds, for reference).
    let enabled: Bool

    init(enabled: Bool = true) { self.enabled = enabled }

    /// The four windows of series `id` at `now` (ms), indexed by ``WindowLength/rawValue``; equal to
    /// ``SeriesTable/windows(_:at:)``.
    mutating func windows(_ id: SeriesID, at now: Int64, in table: SeriesTable) -> WindowSummaries {
        guard enabled else { return table.windows(id, at: now) }
        let s = Int(id.rawValue)
        if s >= entries.count { entries.append(contentsOf: repeatElement(Entry(), count: s + 1 - entries.count)) }
        let minute = RingGeometry.epoch(of: now, width: RingGeometry.coarseWidth)
        let version = table.version(id)
        let (oneMinute, fiveMinutes) = table.fineWindows(id, at: now)
        if entries[s].minute != minute || entries[s].version != version {
            let (fifteenMinutes, oneHour) = table.coarseWindows(id, at: now)
            entries[s] = Entry(minute: minute, version: version, fifteenMinutes: fifteenMinutes, oneHour: oneHour)
        }
        return WindowSummaries(
            oneMinute: oneMinute, fiveMinutes: fiveMinutes, fifteenMinutes: entries[s].fifteenMinutes, oneHour: entries[s].oneHour)
    }

    /// Starts loading the entry of series `id`. A hint only.
    func prefetch(_ id: SeriesID) {
        let s = Int(id.rawValue)
        guard s >= 0, s < entries.count else { return }
        entries.withUnsafeBufferPointer { streetsense_prefetch_range_for_read($0.baseAddress! + s, MemoryLayout<Entry>.stride) }
    }
}

/// What changed in a core's snapshot since the previous ``SnapshotChanges`` taken from it: the totals (always
/// whole), and only the sensor pictures and zone snapshots that new input, new density samples or time changed.
///
/// Taking them costs the pipeline thread the changed sensors and zones plus a scan of one integer per sensor
/// and one per zone. Turning them into a ``Snapshot`` (``SnapshotAssembly``) costs a copy of the sensor and
/// zone lists, which HTTP readers share, and can run on another thread.
///
/// Invariant: either `allZones` holds every zone in configuration order and `updatedZones` is empty, or
/// `allZones` is nil and `updatedZones` holds each changed zone once, by its position in that order.
public struct SnapshotChanges: Sendable {
    /// 1 for the first changes taken from a core, then 2, 3, …: an assembly must apply every one, in order.
    public let sequence: Int
    public let asOf: EventTime
    public let totals: IngestCounts
    /// Every active alert (the pipeline fills it from its alert engine).
    public var activeAlerts: [ActiveAlertSummary] = []
    /// Every picture in address order, when the list is replaced whole (the first changes, and after a reset).
    let all: [SensorSnapshot]?
    /// New sensors, each inserted at its position in address order, applied in this order before `updated`.
    let inserted: [(position: Int, picture: SensorSnapshot)]
    /// Pictures replaced, at their positions after the insertions (each position once).
    var updated: [(position: Int, picture: SensorSnapshot)]
    /// Every zone in configuration order, when the list is replaced whole (the first changes, and after a reset).
    let allZones: [ZoneSnapshot]?
    /// Zones replaced, at their positions in configuration order (zones never come or go after the first changes).
    var updatedZones: [(position: Int, zone: ZoneSnapshot)]

    /// How many sensor pictures these changes carry (what the pipeline thread built).
    public var picturesBuilt: Int { (all?.count ?? 0) + inserted.count + updated.count }
    /// How many zone snapshots these changes carry (what the pipeline thread built).
    public var zonesBuilt: Int { (allZones?.count ?? 0) + updatedZones.count }
}

/// Turns a core's ``SnapshotChanges`` into ``Snapshot``s: holds the sensor and zone lists and their indexes
/// between snapshots and applies each change to them.
///
/// Invariant: it has applied changes 1 … `sequence` of one core, each once, in order; `zoneIndex` maps each
/// zone id in `zones` to its position.
public struct SnapshotAssembly: Sendable {
    private var sequence = 0
    private var pictures: [SensorSnapshot] = []
    private var sensorIndex: [SensorAddress: Int] = [:]
    private var zones: [ZoneSnapshot] = []
    private var zoneIndex: [String: Int] = [:]

    public init() {}

    /// Applies the next changes and returns the snapshot they describe.
    ///
    /// - Precondition: `changes` are the next ones from the core this assembly follows (two assemblies cannot
    ///   share a core's changes: each would miss the other's).
    public mutating func apply(_ changes: consuming SnapshotChanges) -> Snapshot {
        precondition(changes.sequence == sequence + 1, "snapshot changes \(changes.sequence) after \(sequence): skipped or shared")
        sequence = changes.sequence
        if let all = changes.all {
            pictures = all
        }
        for (position, picture) in changes.inserted { pictures.insert(picture, at: position) }
        // Taken out of the changes, so that (when the caller handed them over) the pictures move instead of being
        // copied: a copy retains each one's strings and arrays, which are cold on this thread.
        var updated = changes.updated
        changes.updated = []
        if !updated.isEmpty {
            updated.withUnsafeMutableBufferPointer { updated in
                if changes.all == nil, changes.inserted.isEmpty, updated.count &* 4 >= pictures.count {
                    pictures = Self.replacing(in: pictures, count: updated.count, position: { updated[$0].position }) { k in
                        var picture = SensorSnapshot.placeholder
                        swap(&picture, &updated[k].picture)
                        return picture
                    }
                } else {
                    for k in updated.indices { swap(&pictures[updated[k].position], &updated[k].picture) }
                }
            }
        }
        if changes.all != nil || !changes.inserted.isEmpty {
            sensorIndex = Dictionary(uniqueKeysWithValues: pictures.enumerated().map { ($1.address, $0) })
        }
        if let allZones = changes.allZones {
            zones = allZones
            zoneIndex = Dictionary(uniqueKeysWithValues: zones.enumerated().map { ($1.definition.id, $0) })
        }
        var updatedZones = changes.updatedZones
        changes.updatedZones = []
        if !updatedZones.isEmpty {
            updatedZones.withUnsafeMutableBufferPointer { updated in
                if updated.count &* 4 >= zones.count {
                    zones = Self.replacing(in: zones, count: updated.count, position: { updated[$0].position }) { k in
                        var zone = ZoneSnapshot.placeholder
                        swap(&zone, &updated[k].zone)
                        return zone
                    }
                } else {
                    for k in updated.indices { swap(&zones[updated[k].position], &updated[k].zone) }
                }
            }
        }
        var snapshot = Snapshot(
            asOf: changes.asOf, zones: zones, sensors: pictures, totals: changes.totals, zoneIndex: zoneIndex,
            sensorIndex: sensorIndex)
        snapshot.activeAlerts = changes.activeAlerts
        return snapshot
    }

    /// `old` with `count` values replaced, the k-th at `position(k)` by `take(k)`, as a new list: when most
    /// values change (a replay, where time moves every picture), this beats copying the list that HTTP readers
    /// still share and then replacing most of it. `take` moves each new value out of the changes (leaving a
    /// placeholder there), so nothing is copied but the values that stay.
    private static func replacing<Value>(
        in old: [Value], count: Int, position: (Int) -> Int, take: (Int) -> Value
    ) -> [Value] {
        var source = [Int32](repeating: -1, count: old.count)
        for k in 0..<count { source[position(k)] = Int32(truncatingIfNeeded: k) }
        return [Value](unsafeUninitializedCapacity: old.count) { list, initialized in
            for p in 0..<old.count {
                let k = Int(source[p])
                (list.baseAddress! + p).initialize(to: k >= 0 ? take(k) : old[p])
            }
            initialized = old.count
        }
    }
}

extension AggregationCore {
    /// Marks a sensor's picture as changed by input (once until the next changes are taken). On the
    /// per-message path: one test and, the first time, one append.
    @inline(__always)
    mutating func notePictureChange(_ s: Int) {
        if !sensors[s].pictureChanged {
            sensors[s].pictureChanged = true
            changedSensors.append(Int32(truncatingIfNeeded: s))
        }
    }

    /// What changed since the previous call: the pictures of sensors that got input or whose windows or status
    /// moved with time, new sensors, and the zones whose snapshot input, a density sample or time can have
    /// changed (see ``zoneSnapshotValidUntil(_:at:)``). A ``SnapshotAssembly`` applying every call's result in
    /// order gives the same snapshot as ``snapshot()``.
    public mutating func snapshotChanges() -> SnapshotChanges {
        // Out of `pictures` while in use, so that building a picture (which reads the core) can update it.
        var coarse = pictures.coarse
        pictures.coarse = CoarseWindowCache()
        defer { pictures.coarse = coarse }
        return takeChanges(at: snapshotNow, coarse: &coarse)
    }

    private mutating func takeChanges(at now: Int64, coarse: inout CoarseWindowCache) -> SnapshotChanges {
        pictures.sequence += 1
        // Many new sensors (the first call, a reset, or a burst of strangers) are cheaper as one sorted list.
        let newCount = sensors.count - pictures.order.count
        if pictures.needsAll || newCount * 8 > sensors.count {
            return allPictures(at: now, coarse: &coarse)
        }
        var inserted: [(position: Int, picture: SensorSnapshot)] = []
        if newCount > 0 {
            for s in pictures.order.count..<sensors.count {
                let address = sensors[s].address
                var low = 0, high = pictures.order.count
                while low < high {
                    let mid = (low + high) / 2
                    if sensors[Int(pictures.order[mid])].address < address { low = mid + 1 } else { high = mid }
                }
                pictures.order.insert(Int32(s), at: low)
                inserted.append((low, sensorSnapshot(s, at: now, coarse: &coarse)))
                pictures.validUntil.append(pictureValidUntil(s, at: now))
            }
            pictures.position = [Int32](repeating: 0, count: sensors.count)
            for (i, s) in pictures.order.enumerated() { pictures.position[Int(s)] = Int32(i) }
        }
        let known = sensors.count - newCount
        var updated: [(position: Int, picture: SensorSnapshot)] = []
        updated.reserveCapacity(changedSensors.count)
        // Taken out while walked (and put back emptied), so that its buffer stays unique and keeps its capacity.
        var changed = changedSensors
        changedSensors = []
        for i in changed.indices {
            prefetchAhead(of: i, in: changed, coarse: coarse, rings: true)
            let s = Int(changed[i])
            sensors[s].pictureChanged = false
            // Input to a sensor can change its zone's estimate, coverage and air means.
            let zone = Int(sensors[s].zone)
            if zone >= 0 { zones[zone].snapshotChanged = true }
            if s < known { updated.append(refreshPicture(s, at: now, coarse: &coarse)) }
        }
        changed.removeAll(keepingCapacity: true)
        changedSensors = changed
        // Listed first (the refreshes above moved their sensors' limits past now), so that each picture's memory
        // can be asked for a few pictures ahead.
        var due = pictures.due
        pictures.due = []
        due.removeAll(keepingCapacity: true)
        for s in 0..<known where pictures.validUntil[s] <= now { due.append(Int32(truncatingIfNeeded: s)) }
        // In a new minute the coarse windows are worked out again from the rings (at replay pace, most snapshots).
        let minute = RingGeometry.epoch(of: now, width: RingGeometry.coarseWidth)
        let newMinute = minute != pictures.minute
        pictures.minute = minute
        for i in due.indices {
            prefetchAhead(of: i, in: due, coarse: coarse, rings: newMinute)
            updated.append(refreshPicture(Int(due[i]), at: now, coarse: &coarse))
        }
        pictures.due = due
        var updatedZones: [(position: Int, zone: ZoneSnapshot)] = []
        for z in zones.indices where zones[z].snapshotChanged || zones[z].snapshotValidUntil <= now {
            updatedZones.append((z, refreshZone(z, at: now, coarse: &coarse)))
        }
        return SnapshotChanges(
            sequence: pictures.sequence, asOf: EventTime(milliseconds: now), totals: totals, all: nil, inserted: inserted,
            updated: updated, allZones: nil, updatedZones: updatedZones)
    }

    private mutating func allPictures(at now: Int64, coarse: inout CoarseWindowCache) -> SnapshotChanges {
        for s in changedSensors { sensors[Int(s)].pictureChanged = false }
        changedSensors.removeAll(keepingCapacity: true)
        var order = (0..<Int32(sensors.count)).map { $0 }
        order.sort { sensors[Int($0)].address < sensors[Int($1)].address }
        var position = [Int32](repeating: 0, count: sensors.count)
        for (i, s) in order.enumerated() { position[Int(s)] = Int32(i) }
        pictures.order = order
        pictures.position = position
        pictures.validUntil = sensors.indices.map { pictureValidUntil($0, at: now) }
        pictures.needsAll = false
        return SnapshotChanges(
            sequence: pictures.sequence, asOf: EventTime(milliseconds: now), totals: totals,
            all: order.map { s in sensorSnapshot(Int(s), at: now, coarse: &coarse) },
            inserted: [], updated: [],
            allZones: zones.indices.map { refreshZone($0, at: now, coarse: &coarse) }, updatedZones: [])
    }

    /// How many pictures ahead ``snapshotChanges()`` asks for a sensor's rings; its state and series ids are asked
    /// for twice as far ahead. Measured with `streetsense-corebench --only snapshot --interval 10000`.
    static let picturePrefetchDistance = 2

    /// Starts loading the memory of the pictures `list[i + d]` (series headers, fine rings, cached coarse
    /// windows, and with `rings` the coarse rings too: new input or a new minute means they are read) and
    /// `list[i + 2d]` (state, series ids).
    @inline(__always)
    private mutating func prefetchAhead(of i: Int, in list: [Int32], coarse: borrowing CoarseWindowCache, rings: Bool) {
        let d = Self.picturePrefetchDistance
        if i &+ 2 &* d < list.count { prefetchSensor(SensorIndex(list[i &+ 2 &* d])) }
        if i &+ d < list.count {
            let s = Int(list[i &+ d])
            for m in 0..<Metric.count {
                let id = sensorSeries[s &* Metric.count &+ m]
                guard id >= 0 else { continue }
                series.prefetchRings(SeriesID(id), coarse: rings)
                coarse.prefetch(SeriesID(id))
            }
        }
    }

    private mutating func refreshPicture(_ s: Int, at now: Int64, coarse: inout CoarseWindowCache) -> (position: Int, picture: SensorSnapshot) {
        pictures.validUntil[s] = pictureValidUntil(s, at: now)
        return (Int(pictures.position[s]), sensorSnapshot(s, at: now, coarse: &coarse))
    }

    private mutating func refreshZone(_ z: Int, at now: Int64, coarse: inout CoarseWindowCache) -> ZoneSnapshot {
        zones[z].snapshotChanged = false
        zones[z].snapshotValidUntil = zoneSnapshotValidUntil(z, at: now)
        zones[z].samples.settle()
        return zoneSnapshot(z, at: now, coarse: &coarse)
    }

    /// The first event time after `now` at which sensor `s`'s picture can differ from the one built at `now`
    /// without new input: its status turning stale, or a bucket leaving one of its windows (`Int64.max` if
    /// neither can happen).
    func pictureValidUntil(_ s: Int, at now: Int64) -> Int64 {
        let last = sensors[s].lastSeen
        guard last != .min else { return .max }
        var until = Int64.max
        if sensors[s].definition != nil {
            let staleAt = last &+ sensors[s].staleAfterMilliseconds &+ 1
            if staleAt > now { until = staleAt }
        }
        return Swift.min(until, Self.windowsValidUntil(newest: last, at: now))
    }

    /// The first event time after `now` at which the windows of a series whose newest reading is at `newest`
    /// can differ from those at `now` without a new reading (`Int64.max` if they cannot).
    static func windowsValidUntil(newest: Int64, at now: Int64) -> Int64 {
        // Every bucket holds readings no newer than `newest`; windows change only when the epoch of now moves
        // while a bucket that the move can drop still holds something.
        let fineNow = Int64(RingGeometry.epoch(of: now, width: RingGeometry.fineWidth))
        let coarseNow = Int64(RingGeometry.epoch(of: now, width: RingGeometry.coarseWidth))
        if Int64(RingGeometry.epoch(of: newest, width: RingGeometry.fineWidth)) > fineNow - Int64(RingGeometry.fineSlots) {
            return (fineNow + 1) * RingGeometry.fineWidth
        } else if Int64(RingGeometry.epoch(of: newest, width: RingGeometry.coarseWidth)) > coarseNow - Int64(RingGeometry.coarseSlots) {
            return (coarseNow + 1) * RingGeometry.coarseWidth
        }
        return .max
    }

    /// The first event time after `now` at which zone `z`'s snapshot can differ from the one built at `now`
    /// without input to one of its sensors or a new density sample (`Int64.max` if it cannot).
    ///
    /// A zone's snapshot (``zoneSnapshot(_:at:)``) reads its sensors' states, its density samples and density
    /// series, and "now" through four things only: whether each sensor's people estimate is fresh
    /// (`now − newest ≤ staleAfter`, newest of the metric the estimate reads), whether each sensor is fresh for
    /// the air means (`now − lastSeen ≤ staleAfter`), which samples are in the 15-minute percentile window, and
    /// the epochs of its density windows. Input marks the zone changed (``snapshotChanges()``), a sample
    /// marks it in ``sampleZone(_:at:)``; this gives the earliest of the four moves.
    func zoneSnapshotValidUntil(_ z: Int, at now: Int64) -> Int64 {
        var until = Int64.max
        func freshUntil(_ newest: Int64, _ s: Int) {
            let staleAt = newest &+ sensors[s].staleAfterMilliseconds &+ 1
            if staleAt > now, staleAt < until { until = staleAt }
        }
        for sensor in zones[z].sensors {
            let s = Int(sensor.rawValue)
            guard let kind = sensors[s].kind, sensors[s].lastSeen != .min else { continue }
            freshUntil(sensors[s].lastSeen, s)
            if kind.estimatesPeople, let newest = peopleEstimate(s)?.newest { freshUntil(newest, s) }
        }
        if let oldest = zones[z].samples.oldestInstant(after: now - Self.percentileWindow) {
            until = Swift.min(until, oldest + Self.percentileWindow)
        }
        if let newest = series.newest(zones[z].densitySeries) {
            until = Swift.min(until, Self.windowsValidUntil(newest: newest.milliseconds, at: now))
        }
        return until
    }
}
