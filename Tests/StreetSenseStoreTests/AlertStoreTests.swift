import Foundation
import GRDB
import StreetSenseAlerts
import StreetSenseCore
import Testing

@testable import StreetSenseStore

let northGate = AlertSubject.zone("north-gate")
let southSquare = AlertSubject.zone("south-square")
let airSensor = AlertSubject.sensor(SensorAddress(pilot: "pilot-a", sensor: "aq-1"))
let camera = AlertSubject.sensor(SensorAddress(pilot: "pilot-a", sensor: "cam-2"))

/// The `alerts` row an alert's lifecycle implies (the engine's own state, independent of the store), given
/// the id of its newest event.
func expectedRow(_ alert: AlertLifecycle, lastEvent: AlertEventID) -> StoredAlert {
    StoredAlert(
        id: alert.id, rule: alert.rule, subject: alert.subject, metric: alert.metric, fault: alert.fault,
        severity: alert.severity, state: alert.state, acknowledgement: alert.acknowledgement, raisedAt: alert.raisedAt,
        updatedAt: alert.updatedAt, clearedAt: alert.clearedAt, peak: alert.peak, value: alert.value, lastEventID: lastEvent)
}

/// Every page of `alerts(filter:before:limit:)` from the start until a short page, concatenated; records a
/// failure if a page is longer than `limit`.
func allPages(_ store: SQLiteStore, _ filter: AlertFilter, limit: Int) throws -> [StoredAlert] {
    var all: [StoredAlert] = []
    var cursor: AlertID? = nil
    while true {
        let page = try store.alerts(filter: filter, before: cursor, limit: limit)
        #expect(page.count <= limit)
        all += page
        guard page.count == limit, let last = page.last else { return all }
        cursor = last.id
    }
}

/// Whether `alert` matches `filter`, decided here from the filter's documented meaning.
func matches(_ alert: StoredAlert, _ filter: AlertFilter) -> Bool {
    if let state = filter.state, alert.state != state { return false }
    if let severity = filter.severity, alert.severity != severity { return false }
    if let rule = filter.rule, alert.rule != rule { return false }
    if let kind = filter.subjectKind, alert.subject.kind != kind { return false }
    if let id = filter.subjectID, alert.subject.id != id { return false }
    if let since = filter.since, alert.raisedAt < since && alert.updatedAt < since { return false }
    return true
}

@Suite("SQLite store: alerts and alert events")
struct AlertStoreTests {
    @Test("a v1 file with readings, rollups and sensors migrates to v2 and keeps its data")
    func migratesVersion1File() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("v1.sqlite")
        let written = readings(count: 300)
        let sensor = SensorRecord(
            ref: 7, address: SensorAddress(pilot: "pilot-a", sensor: "cam-2"), firstSeen: time(0), lastSeen: time(299))
        let rollup = RollupRecord(sensorRef: 7, metric: .people, minute: time(0), count: 4, sum: 10, min: 1, max: 4)

        // A file as the v1 release left it: only the v1 migration, written by the v1 code paths.
        do {
            let pool = try DatabasePool(path: path)
            try StoreSchema.migrator.migrate(pool, upTo: "v1")
            try pool.write { db in
                try SQLiteStore.upsertSensors([sensor], db)
                try SQLiteStore.insertReadings(written, blockRows: 10_000, db)
                try SQLiteStore.upsertRollups([rollup], db)
            }
            let (applied, tables) = try pool.read { db in
                (
                    try StoreSchema.migrator.appliedIdentifiers(db),
                    try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
                )
            }
            #expect(applied == ["v1"])
            #expect(!tables.contains("alerts") && !tables.contains("alert_events"))
            try pool.close()
        }

        let store = try SQLiteStore(path: path)
        defer { try? store.close() }
        let applied = try store.pool.read { db in try StoreSchema.migrator.appliedIdentifiers(db) }
        #expect(applied == ["v1", "v2", "v3"])
        #expect(try store.storedReadingCount() == 300)
        #expect(try store.recentReadings(since: time(0)) == written)
        #expect(try store.sensors() == [sensor])
        #expect(
            try store.rollupSeries(sensorRef: 7, metric: .people, from: time(0), to: time(60_000), step: .seconds(60))
                == [SeriesPoint(start: time(0), count: 4, sum: 10, min: 1, max: 4)])
        #expect(try store.lastAlertEventID() == nil)
        #expect(try store.activeAlerts() == [])

        // The new tables work on the migrated file, next to the old readings.
        var ids = AlertEventSequence()
        let (_, raised) = try AlertLifecycle.raise(
            rule: .sensorOffline, subject: camera, severity: .warning, value: 300, at: time(600_000), eventIDs: &ids)
        try store.write(StoreBatch(readings: readings(count: 2, startingAt: 1_000), alertEvents: [raised]))
        #expect(try store.storedReadingCount() == 302)
        #expect(try store.alertEvents(after: AlertEventID(0), limit: 10) == [raised])
    }

    @Test("raised, escalated, acknowledged, de-escalated, cleared across batches: one row, five events in order")
    func lifecycleAcrossBatches() throws {
        try withStore { store, _ in
            var ids = AlertEventSequence(after: AlertEventID(100))  // ids are the engine's, not the store's
            var (alert, raised) = try AlertLifecycle.raise(
                rule: .crowdDensity, subject: northGate, severity: .warning, value: 2.75, at: time(0), eventIDs: &ids)
            let escalated = try alert.escalate(to: .critical, value: 5.25, at: time(30_000), eventIDs: &ids)
            let acknowledged = try alert.acknowledge(by: "ops-anna", note: "stewards sent", at: time(45_000), eventIDs: &ids)
            let deEscalated = try alert.deEscalate(to: .major, value: 4.0, at: time(90_000), eventIDs: &ids)
            let cleared = try alert.clear(value: 2.0, at: time(200_000), eventIDs: &ids)

            try store.write(StoreBatch(readings: readings(count: 10), alertEvents: [raised]))
            #expect(
                try store.alert(id: AlertID(101))
                    == StoredAlert(
                        id: AlertID(101), rule: .crowdDensity, subject: northGate, metric: nil, fault: nil, severity: .warning,
                        state: .active, acknowledgement: nil, raisedAt: time(0), updatedAt: time(0), clearedAt: nil,
                        peak: 2.75, value: 2.75, lastEventID: AlertEventID(101)))

            try store.write(StoreBatch(readings: readings(count: 10, startingAt: 10), alertEvents: [escalated, acknowledged]))
            let anna = try #require(Acknowledgement(by: "ops-anna", at: time(45_000), note: "stewards sent"))
            #expect(
                try store.alert(id: AlertID(101))
                    == StoredAlert(
                        id: AlertID(101), rule: .crowdDensity, subject: northGate, metric: nil, fault: nil, severity: .critical,
                        state: .active, acknowledgement: anna, raisedAt: time(0), updatedAt: time(45_000), clearedAt: nil,
                        peak: 5.25, value: 5.25, lastEventID: AlertEventID(103)))

            try store.write(StoreBatch(alertEvents: [deEscalated]))
            try store.write(StoreBatch(readings: readings(count: 10, startingAt: 20), alertEvents: [cleared]))

            let final = StoredAlert(
                id: AlertID(101), rule: .crowdDensity, subject: northGate, metric: nil, fault: nil, severity: .major,
                state: .cleared, acknowledgement: anna, raisedAt: time(0), updatedAt: time(200_000), clearedAt: time(200_000),
                peak: 5.25, value: 2.0, lastEventID: AlertEventID(105))
            #expect(try store.alert(id: AlertID(101)) == final)
            #expect(final.level == "high")
            #expect(try store.alerts(filter: AlertFilter(), before: nil, limit: 100) == [final])
            #expect(try store.storedReadingCount() == 30)

            let history = try store.alertEvents(alertID: AlertID(101))
            #expect(history == [raised, escalated, acknowledged, deEscalated, cleared])
            #expect(history.map(\.id.rawValue) == [101, 102, 103, 104, 105])
            #expect(history.map(\.transition) == [.raised, .escalated, .acknowledged, .deEscalated, .cleared])
            #expect(history.map(\.severity) == [.warning, .critical, .critical, .major, .major])
            #expect(history.map(\.peak) == [2.75, 5.25, 5.25, 5.25, 5.25])
            #expect(history.map { $0.acknowledgement != nil } == [false, false, true, true, true])
            #expect(try store.alertEvents(alertID: AlertID(102)) == [])
            #expect(try store.alert(id: AlertID(102)) == nil)
            #expect(try store.activeAlerts() == [])
            #expect(try store.lastAlertEventID() == AlertEventID(105))

            // The columns hold the documented encodings, for ad-hoc SQL.
            let row = try #require(
                try store.pool.read { db in
                    try Row.fetchOne(
                        db,
                        sql: """
                            SELECT rule, subject_kind, subject_id, severity, state, acknowledged_by, acknowledged_at, ack_note,
                            raised_at, updated_at, cleared_at, peak_value, last_value FROM alerts
                            """)
                })
            #expect(row[0] as String == "crowd_density")
            #expect(row[1] as String == "zone")
            #expect(row[2] as String == "north-gate")
            #expect(row[3] as String == "major")
            #expect(row[4] as String == "cleared")
            #expect(row[5] as String == "ops-anna")
            #expect(row[6] as Int64 == baseTime + 45_000)
            #expect(row[7] as String == "stewards sent")
            #expect(row[8] as Int64 == baseTime)
            #expect(row[9] as Int64 == baseTime + 200_000)
            #expect(row[10] as Int64 == baseTime + 200_000)
            #expect(row[11] as Double == 5.25)
            #expect(row[12] as Double == 2.0)

            // Retention removes old readings, never alerts or their events.
            let result = try store.enforceRetention(now: time(40 * 86_400_000), rawDays: 7, rollupDays: 30)
            #expect(result.readingsDeleted == 30)
            #expect(try store.storedReadingCount() == 0)
            #expect(try store.alert(id: AlertID(101)) == final)
            #expect(try store.alertEvents(alertID: AlertID(101)).count == 5)
        }
    }

    /// Thirty alerts of every rule and both subject kinds, their later transitions interleaved with other
    /// alerts' events (so alert ids are not contiguous), written in batches of 1–4 events. Returns the events
    /// in write order and the row each alert should have.
    func writeMixedAlerts(to store: SQLiteStore) throws -> (events: [AlertEvent], rows: [StoredAlert]) {
        var random = SplitMix64(state: 42)
        var ids = AlertEventSequence()
        var alerts: [AlertID: AlertLifecycle] = [:]
        var lastEvent: [AlertID: AlertEventID] = [:]
        var events: [AlertEvent] = []
        let kinds: [(AlertRule, [AlertSubject], Metric?, SensorFault?)] = [
            (.crowdDensity, [northGate, southSquare], nil, nil),
            (.buildUp, [northGate, southSquare], nil, nil),
            (.airQuality, [airSensor, southSquare], .pm10, nil),
            (.sensorOffline, [airSensor, camera], nil, nil),
            (.sensorFaulty, [airSensor], .pm2_5, .stuckValue),
        ]
        func record(_ event: AlertEvent, _ alert: AlertLifecycle) {
            events.append(event)
            alerts[alert.id] = alert
            lastEvent[alert.id] = event.id
        }
        var previous: AlertID? = nil
        for i in 0..<30 {
            let (rule, subjects, metric, fault) = kinds[random.next(below: kinds.count)]
            let subject = subjects[random.next(below: subjects.count)]
            let severity = AlertSeverity(rank: 1 + random.next(below: 2))!
            let start = Int64(i) * 60_000
            let (alert, raised) = try AlertLifecycle.raise(
                rule: rule, subject: subject, metric: metric, fault: fault, severity: severity,
                value: Double(10 + random.next(below: 90)), at: time(start), eventIDs: &ids)
            record(raised, alert)
            // The previous alert moves on after this one was raised.
            if let id = previous, var earlier = alerts[id] {
                let at = time(start + 10_000)
                switch random.next(below: 4) {
                case 0:
                    record(try earlier.escalate(to: .critical, value: 150, at: at, eventIDs: &ids), earlier)
                case 1:
                    record(try earlier.clear(value: 5, at: at, eventIDs: &ids), earlier)
                case 2:
                    record(try earlier.acknowledge(by: "ops-\(i)", note: nil, at: at, eventIDs: &ids), earlier)
                    record(try earlier.clear(value: 6, at: time(start + 20_000), eventIDs: &ids), earlier)
                default:
                    break
                }
            }
            previous = alert.id
        }
        var index = 0
        while index < events.count {
            let end = min(events.count, index + 1 + random.next(below: 4))
            try store.write(StoreBatch(readings: readings(count: 3, startingAt: Int64(index)), alertEvents: Array(events[index..<end])))
            index = end
        }
        let rows = alerts.values.map { expectedRow($0, lastEvent: lastEvent[$0.id]!) }.sorted { $0.id > $1.id }
        return (events, rows)
    }

    @Test("filters and cursor pagination visit every matching alert once, newest first")
    func filtersAndPagination() throws {
        try withStore { store, _ in
            let (_, rows) = try writeMixedAlerts(to: store)
            #expect(rows.count == 30)
            // The alert ids are not contiguous: other alerts' events took the ids in between.
            #expect(rows.first!.id.rawValue - rows.last!.id.rawValue + 1 > 30)

            for row in rows { #expect(try store.alert(id: row.id) == row) }
            #expect(try store.alert(id: AlertID(10_000)) == nil)

            let filters: [AlertFilter] = [
                AlertFilter(),
                AlertFilter(state: .active),
                AlertFilter(state: .cleared),
                AlertFilter(severity: .critical),
                AlertFilter(severity: .warning),
                AlertFilter(rule: .airQuality),
                AlertFilter(subjectKind: .sensor),
                AlertFilter(subject: northGate),
                AlertFilter(subject: airSensor, state: .cleared),
                AlertFilter(subjectID: "pilot-a/aq-1"),
                AlertFilter(since: time(15 * 60_000)),
                AlertFilter(since: time(15 * 60_000 + 10_000)),
                AlertFilter(state: .cleared, subjectKind: .zone, since: time(5 * 60_000)),
                AlertFilter(state: .active, subjectKind: .sensor),
            ]
            for filter in filters {
                let expected = rows.filter { matches($0, filter) }
                #expect(!expected.isEmpty, "\(filter) matches nothing: a weak test")
                if filter != AlertFilter() { #expect(expected.count < rows.count, "\(filter) matches everything") }
                for limit in [1, 4, 7, 100] {
                    let paged = try allPages(store, filter, limit: limit)
                    #expect(paged == expected, "\(filter), limit \(limit)")
                }
            }
            // A page starts strictly below its cursor.
            let page = try store.alerts(filter: AlertFilter(), before: rows[5].id, limit: 3)
            #expect(page == Array(rows[6..<9]))
            #expect(try store.alerts(filter: AlertFilter(), before: rows.last!.id, limit: 10) == [])
            #expect(try store.alerts(filter: AlertFilter(), before: nil, limit: 0) == [])
            #expect(try store.alerts(filter: AlertFilter(subject: .zone("elsewhere")), before: nil, limit: 10) == [])
        }
    }

    @Test("alert events after any id: exactly the later events, ascending, also while more are written")
    func eventsAfterEveryPosition() throws {
        try withStore { store, _ in
            let (events, rows) = try writeMixedAlerts(to: store)
            #expect(events.map(\.id.rawValue) == Array(1...Int64(events.count)))

            for k in 0...events.count {
                let after = k == 0 ? AlertEventID(0) : events[k - 1].id
                let remaining = Array(events[k...])
                #expect(try store.alertEvents(after: after, limit: 10_000) == remaining, "after \(after)")
                // Resuming page by page from the last id received.
                var resumed: [AlertEvent] = []
                var cursor = after
                while true {
                    let page = try store.alertEvents(after: cursor, limit: 3)
                    #expect(page.count <= 3)
                    resumed += page
                    guard let last = page.last else { break }
                    cursor = last.id
                }
                #expect(resumed == remaining, "paged after \(after)")
            }
            #expect(try store.alertEvents(after: AlertEventID(-5), limit: 10_000) == events)
            #expect(try store.alertEvents(after: AlertEventID(Int64.max), limit: 10) == [])
            #expect(try store.alertEvents(after: AlertEventID(0), limit: 0) == [])

            // Each alert's history is its own events, oldest first.
            for row in rows {
                let own = events.filter { $0.alertID == row.id }
                #expect(try store.alertEvents(alertID: row.id) == own)
                #expect(own.last?.id == row.lastEventID)
            }

            // A subscriber that read up to the last event sees exactly the events written afterwards.
            let seen = try #require(events.last?.id)
            var ids = AlertEventSequence(after: seen)
            var (alert, raised) = try AlertLifecycle.raise(
                rule: .buildUp, subject: southSquare, severity: .warning, value: 1.4, at: time(3_600_000), eventIDs: &ids)
            let cleared = try alert.clear(value: 0.2, at: time(3_700_000), eventIDs: &ids)
            try store.write(StoreBatch(alertEvents: [raised]))
            #expect(try store.alertEvents(after: seen, limit: 10) == [raised])
            try store.write(StoreBatch(alertEvents: [cleared]))
            #expect(try store.alertEvents(after: raised.id, limit: 10) == [cleared])
            #expect(try store.alertEvents(after: seen, limit: 10) == [raised, cleared])
            #expect(try store.lastAlertEventID() == cleared.id)
        }
    }

    @Test("active alerts round-trip through AlertLifecycle(restoringID:) and restore an engine")
    func restoreActiveAlerts() throws {
        try withStore { store, _ in
            #expect(try store.activeAlerts() == [])
            #expect(try store.lastAlertEventID() == nil)

            var ids = AlertEventSequence(after: AlertEventID(40))
            var batch: [AlertEvent] = []
            // Critical crowd alert, acknowledged without a note.
            var crowd = try AlertLifecycle.raise(
                rule: .crowdDensity, subject: northGate, severity: .warning, value: 2.6, at: time(0), eventIDs: &ids)
            batch.append(crowd.event)
            batch.append(try crowd.alert.escalate(to: .critical, value: 5.5, at: time(60_000), eventIDs: &ids))
            batch.append(try crowd.alert.acknowledge(by: "ops-anna", note: nil, at: time(70_000), eventIDs: &ids))
            batch.append(try crowd.alert.deEscalate(to: .major, value: 4.1, at: time(80_000), eventIDs: &ids))
            // Very poor PM2.5 at a sensor, acknowledged with a note.
            var air = try AlertLifecycle.raise(
                rule: .airQuality, subject: airSensor, metric: .pm2_5, severity: .major, value: 61.5, at: time(5_000),
                eventIDs: &ids)
            batch.append(air.event)
            batch.append(try air.alert.acknowledge(by: "ops-ben", note: "street works nearby", at: time(90_000), eventIDs: &ids))
            // A stuck sensor, not acknowledged.
            let faulty = try AlertLifecycle.raise(
                rule: .sensorFaulty, subject: airSensor, metric: .pm10, fault: .stuckValue, severity: .warning, value: 1,
                at: time(100_000), eventIDs: &ids)
            batch.append(faulty.event)
            // Two cleared alerts, which are not restored.
            var offline = try AlertLifecycle.raise(
                rule: .sensorOffline, subject: camera, severity: .warning, value: 300, at: time(0), eventIDs: &ids)
            batch.append(offline.event)
            batch.append(try offline.alert.clear(value: 310, at: time(120_000), eventIDs: &ids))
            var buildUp = try AlertLifecycle.raise(
                rule: .buildUp, subject: southSquare, severity: .warning, value: 1.2, at: time(0), eventIDs: &ids)
            batch.append(buildUp.event)
            batch.append(try buildUp.alert.clear(value: 0.1, at: time(130_000), eventIDs: &ids))
            try store.write(StoreBatch(alertEvents: Array(batch[0..<5])))
            try store.write(StoreBatch(readings: readings(count: 4), alertEvents: Array(batch[5...])))

            let restored = try store.activeAlerts()
            #expect(restored == [crowd.alert, air.alert, faulty.alert])
            #expect(restored[0].acknowledgement == Acknowledgement(by: "ops-anna", at: time(70_000), note: nil))
            #expect(restored[0].severity == .major && restored[0].peak == 5.5 && restored[0].value == 4.1)
            #expect(restored[1].acknowledgement == Acknowledgement(by: "ops-ben", at: time(90_000), note: "street works nearby"))
            #expect(restored[2].fault == .stuckValue && restored[2].metric == .pm10)
            let last = try #require(try store.lastAlertEventID())
            #expect(last == AlertEventID(40 + 11))

            // A fresh engine takes them back and continues the ids after the stored ones.
            var engine = AlertEngine()
            _ = engine.registerZone(id: "north-gate")
            _ = engine.registerZone(id: "south-square")
            _ = engine.registerSensor(SensorAddress(pilot: "pilot-a", sensor: "aq-1"))
            _ = engine.registerSensor(SensorAddress(pilot: "pilot-a", sensor: "cam-2"))
            var events: [AlertEvent] = []
            try engine.restore(activeAlerts: restored, lastEventID: last, at: time(200_000), into: &events)
            #expect(events.isEmpty)
            #expect(engine.activeAlerts == restored)
            let again = #expect(throws: AlertError.self) {
                try engine.acknowledge(alertID: crowd.alert.id, by: "ops-carl", at: time(210_000))
            }
            #expect(again?.code == .alreadyAcknowledged)
            let ack = try engine.acknowledge(alertID: faulty.alert.id, by: "ops-carl", note: "ticket 17", at: time(210_000))
            #expect(ack.id == AlertEventID(52))
            try store.write(StoreBatch(alertEvents: [ack]))
            #expect(try store.activeAlerts() == engine.activeAlerts)
            #expect(try store.lastAlertEventID() == AlertEventID(52))
        }
    }

    @Test("a batch with an alert event the store refuses rolls back whole, readings too")
    func refusedEventRollsBackTheBatch() throws {
        try withStore { store, _ in
            var ids = AlertEventSequence(after: AlertEventID(10))
            var (alert, raised) = try AlertLifecycle.raise(
                rule: .crowdDensity, subject: northGate, severity: .warning, value: 2.8, at: time(0), eventIDs: &ids)
            let escalated = try alert.escalate(to: .major, value: 3.9, at: time(30_000), eventIDs: &ids)
            try store.write(StoreBatch(readings: readings(count: 3), alertEvents: [raised]))
            let before = try #require(try store.alert(id: alert.id))

            /// Writes `events` with five readings and a rollup, and expects the whole batch refused.
            func expectRefused(_ events: [AlertEvent], _ reason: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
                let rollup = RollupRecord(sensorRef: 1, metric: .people, minute: time(0), count: 1, sum: 1, min: 1, max: 1)
                let error = #expect(throws: StoreError.self, sourceLocation: sourceLocation) {
                    try store.write(StoreBatch(readings: readings(count: 5, startingAt: 100), rollups: [rollup], alertEvents: events))
                }
                #expect(error?.code == .constraintViolation, "\(reason): \(String(describing: error))", sourceLocation: sourceLocation)
                #expect(try store.storedReadingCount() == 3, "\(reason)", sourceLocation: sourceLocation)
                #expect(
                    try store.rollupSeries(sensorRef: 1, metric: .people, from: time(0), to: time(60_000), step: .seconds(60)) == [],
                    "\(reason)", sourceLocation: sourceLocation)
                #expect(try store.alertEvents(after: AlertEventID(0), limit: 100) == [raised], "\(reason)", sourceLocation: sourceLocation)
                #expect(try store.alert(id: alert.id) == before, "\(reason)", sourceLocation: sourceLocation)
            }

            // A valid escalation followed by the raised event again: the escalation goes too.
            try expectRefused([escalated, raised], "a repeated event id")
            // A new alert whose id is below the newest stored event id (valid in every other way).
            var stale = AlertEventSequence(after: AlertEventID(4))
            let (_, early) = try AlertLifecycle.raise(
                rule: .buildUp, subject: southSquare, severity: .warning, value: 1.3, at: time(0), eventIDs: &stale)
            #expect(early.id == AlertEventID(5))
            try expectRefused([early], "an event id below the stored ones")
            // A transition of an alert never raised here.
            var orphan = escalated
            orphan.alertID = AlertID(77)
            orphan.id = AlertEventID(78)
            let orphanError = #expect(throws: StoreError.self) { try store.write(StoreBatch(alertEvents: [orphan])) }
            #expect(orphanError?.message.contains("alert 77 has no stored raised event") == true)
            try expectRefused([orphan], "an alert never raised")
            // An event that names another subject than its alert.
            var moved = escalated
            moved.subject = southSquare
            try expectRefused([moved], "a changed subject")
            // A raised event whose alert id is not its own id.
            var misnumbered = raised
            misnumbered.id = AlertEventID(15)
            misnumbered.alertID = AlertID(14)
            try expectRefused([misnumbered], "a raised event with another alert id")
            // A value SQLite cannot store as REAL NOT NULL.
            var notANumber = escalated
            notANumber.value = .nan
            try expectRefused([notANumber], "a NaN value")

            // The same good escalation, retried alone, is stored.
            try store.write(StoreBatch(readings: readings(count: 5, startingAt: 100), alertEvents: [escalated]))
            #expect(try store.storedReadingCount() == 8)
            #expect(try store.alert(id: alert.id)?.severity == .major)

            // An acknowledgement is never replaced, and a cleared alert never changes.
            let acknowledged = try alert.acknowledge(by: "ops-anna", note: nil, at: time(40_000), eventIDs: &ids)
            try store.write(StoreBatch(alertEvents: [acknowledged]))
            let afterAck = try #require(try store.alert(id: alert.id))
            var replaced = try alert.escalate(to: .critical, value: 5.1, at: time(50_000), eventIDs: &ids)
            replaced.acknowledgement = Acknowledgement(by: "ops-ben", at: time(50_000), note: nil)
            var dropped = replaced
            dropped.acknowledgement = nil
            for event in [replaced, dropped] {
                let error = #expect(throws: StoreError.self) {
                    try store.write(StoreBatch(readings: readings(count: 1, startingAt: 200), alertEvents: [event]))
                }
                #expect(error?.code == .constraintViolation)
                #expect(try store.alert(id: alert.id) == afterAck)
            }
            var copy = alert
            let cleared = try copy.clear(value: 1.0, at: time(60_000), eventIDs: &ids)
            try store.write(StoreBatch(alertEvents: [cleared]))
            var afterClear = cleared
            afterClear.id = AlertEventID(cleared.id.rawValue + 1)
            afterClear.transition = .deEscalated
            afterClear.severity = .warning
            let error = #expect(throws: StoreError.self) {
                try store.write(StoreBatch(readings: readings(count: 1, startingAt: 300), alertEvents: [afterClear]))
            }
            #expect(error?.code == .constraintViolation)
            #expect(try store.storedReadingCount() == 8)
            #expect(try store.alertEvents(alertID: alert.id).map(\.transition) == [.raised, .escalated, .acknowledged, .cleared])
        }
    }

    @Test("alert queries use their indexes")
    func alertQueriesUseIndexes() throws {
        try withStore { store, _ in
            let plans: [(String, String)] = [
                ("SELECT id FROM alerts WHERE id < 9 AND state = 'active' ORDER BY id DESC LIMIT 5", "alerts_by_state"),
                ("SELECT id FROM alerts WHERE id < 9 AND subject_kind = 'zone' AND subject_id = 'a' ORDER BY id DESC LIMIT 5", "alerts_by_subject"),
                ("SELECT id FROM alerts WHERE id < 9 AND severity = 'major' ORDER BY id DESC LIMIT 5", "alerts_by_severity"),
                ("\(SQLiteStore.alertEventSelect) WHERE e.alert_id = 3 ORDER BY e.id", "alert_events_by_alert"),
                ("\(SQLiteStore.alertEventSelect) WHERE e.id > 3 ORDER BY e.id LIMIT 5", "SEARCH e USING INTEGER PRIMARY KEY (rowid>?)"),
            ]
            for (sql, expected) in plans {
                let plan = try store.pool.read { db in
                    try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String }
                }
                #expect(plan.contains { $0.contains(expected) }, "\(sql): \(plan)")
                #expect(plan.allSatisfy { !$0.contains("SCAN") && !$0.contains("TEMP B-TREE") }, "\(sql): \(plan)")
            }
        }
    }
}
