import Foundation
import StreetSenseAlerts
import StreetSenseCore
import StreetSenseHTTP
import Synchronization

/// The application's side of the alerts API, in memory: a list of stored events (the `alerts` rows are folded
/// from them, as the store does) and a real ``AlertFeed``. Acknowledging appends and publishes an event, as the
/// pipeline does. Events can be made visible to store reads only later, as a store writer that has not
/// committed yet.
final class InMemoryAlerts: AlertSource {
    let feed: AlertFeed
    private let state = Mutex<State>(State())

    struct State {
        var stored: [AlertEvent] = []
        /// Events published but not yet visible to reads, with the time they become visible.
        var pending: [(AlertEvent, ContinuousClock.Instant)] = []
        var storeReads = 0
        var delivery = AlertDeliveryStatus()
    }

    init(feedCapacity: Int = 4096) {
        feed = AlertFeed(capacity: feedCapacity)
    }

    /// Stores `events` (visible to reads after `storeDelay`) and publishes them on the feed.
    func record(_ events: [AlertEvent], storeDelay: Duration = .zero) {
        let visible = ContinuousClock.now + storeDelay
        state.withLock { state in
            if storeDelay == .zero { state.stored += events } else { state.pending += events.map { ($0, visible) } }
        }
        feed.publish(events)
    }

    /// What ``deliveryStatus()`` answers.
    var delivery: AlertDeliveryStatus {
        get { state.withLock { $0.delivery } }
        set { state.withLock { $0.delivery = newValue } }
    }

    func deliveryStatus() -> AlertDeliveryStatus { delivery }

    /// How many times `alertEvents(after:limit:)` was called.
    var storeReads: Int { state.withLock { $0.storeReads } }

    private func visibleEvents() -> [AlertEvent] {
        state.withLock { state in
            let now = ContinuousClock.now
            state.stored += state.pending.filter { $0.1 <= now }.map(\.0)
            state.pending.removeAll { $0.1 <= now }
            state.stored.sort { $0.id < $1.id }
            return state.stored
        }
    }

    private func storedAlerts() -> [StoredAlert] {
        var alerts: [AlertID: StoredAlert] = [:]
        for event in visibleEvents() {
            if event.transition == .raised {
                alerts[event.alertID] = StoredAlert(
                    id: event.alertID, rule: event.rule, subject: event.subject, metric: event.metric, fault: event.fault,
                    severity: event.severity, state: .active, acknowledgement: event.acknowledgement, raisedAt: event.at, updatedAt: event.at,
                    clearedAt: nil, peak: event.peak, value: event.value, lastEventID: event.id)
            } else if var alert = alerts[event.alertID] {
                alert.severity = event.severity
                alert.acknowledgement = event.acknowledgement
                alert.updatedAt = event.at
                alert.peak = event.peak
                alert.value = event.value
                alert.lastEventID = event.id
                if event.transition == .cleared {
                    alert.state = .cleared
                    alert.clearedAt = event.at
                }
                alerts[event.alertID] = alert
            }
        }
        return alerts.values.sorted { $0.id > $1.id }
    }

    func alerts(filter: AlertFilter, before: AlertID?, limit: Int) throws -> [StoredAlert] {
        let matching = storedAlerts().filter { alert in
            (filter.state == nil || alert.state == filter.state) && (filter.severity == nil || alert.severity == filter.severity)
                && (filter.rule == nil || alert.rule == filter.rule) && (filter.subjectKind == nil || alert.subject.kind == filter.subjectKind)
                && (filter.subjectID == nil || alert.subject.id == filter.subjectID) && (filter.since.map { alert.updatedAt >= $0 } ?? true)
                && (before.map { alert.id < $0 } ?? true)
        }
        return Array(matching.prefix(limit))
    }

    func alert(id: AlertID) throws -> StoredAlert? { storedAlerts().first { $0.id == id } }

    func alertEvents(alertID: AlertID) throws -> [AlertEvent] { visibleEvents().filter { $0.alertID == alertID } }

    func alertEvents(after: AlertEventID, limit: Int) throws -> [AlertEvent] {
        state.withLock { $0.storeReads += 1 }
        return Array(visibleEvents().filter { $0.id > after }.prefix(limit))
    }

    func acknowledge(alertID: AlertID, by: String, note: String?) async throws -> AlertEvent {
        guard let alert = storedAlerts().first(where: { $0.id == alertID }), alert.state == .active else {
            throw AlertError(.alertNotActive, alertID: alertID, "no active alert has this id")
        }
        guard alert.acknowledgement == nil else { throw AlertError(.alreadyAcknowledged, alertID: alertID, "acknowledged before") }
        let at = alert.updatedAt + .seconds(1)
        guard let acknowledgement = Acknowledgement(by: by, at: at, note: note) else {
            throw AlertError(.invalidAcknowledgement, alertID: alertID, "invalid acknowledgement")
        }
        let event = AlertEvent(
            id: AlertEventID(feed.lastEventID.rawValue + 1), alertID: alertID, rule: alert.rule, subject: alert.subject, metric: alert.metric,
            severity: alert.severity, transition: .acknowledged, at: at, value: alert.value, peak: alert.peak, acknowledgement: acknowledgement,
            fault: alert.fault)
        record([event])
        return event
    }
}

/// Alert events for tests, numbered as the engine numbers them.
struct AlertScript {
    private(set) var events: [AlertEvent] = []
    private var nextID: Int64 = 1

    private mutating func take() -> AlertEventID {
        defer { nextID += 1 }
        return AlertEventID(nextID)
    }

    /// Raises an alert and returns its id.
    @discardableResult
    mutating func raise(
        _ rule: AlertRule, _ subject: AlertSubject, severity: AlertSeverity = .warning, metric: Metric? = nil, fault: SensorFault? = nil,
        at seconds: Double, value: Double
    ) -> AlertID {
        let id = take()
        events.append(
            AlertEvent(
                id: id, alertID: AlertID(id.rawValue), rule: rule, subject: subject, metric: metric, severity: severity, transition: .raised,
                at: at(seconds), value: value, peak: value, acknowledgement: nil, fault: fault))
        return AlertID(id.rawValue)
    }

    /// A later transition of `alert`, carrying its previous event's acknowledgement and peak.
    mutating func transition(_ alert: AlertID, _ transition: AlertTransition, severity: AlertSeverity? = nil, at seconds: Double, value: Double) {
        let previous = events.last { $0.alertID == alert }!
        events.append(
            AlertEvent(
                id: take(), alertID: alert, rule: previous.rule, subject: previous.subject, metric: previous.metric,
                severity: severity ?? previous.severity, transition: transition, at: at(seconds), value: value, peak: max(previous.peak, value),
                acknowledgement: previous.acknowledgement, fault: previous.fault))
    }
}

/// A tokens file in a fresh temporary folder, removed by ``remove()``.
struct TemporaryTokensFile {
    let folder: URL
    let path: String

    init(contents: String) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("streetsense-tokens-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        path = folder.appendingPathComponent("tokens").path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }
}
