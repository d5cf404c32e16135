import StreetSenseAlerts
import StreetSenseHTTP
import StreetSensePipeline
import StreetSenseStore

/// Adapts the service to the API's ``AlertSource``: alert history from SQLite, acknowledgements through the
/// pipeline thread (the only owner of the alert engine), and the live feed.
struct StoreAlerts: AlertSource {
    let store: SQLiteStore
    let runner: PipelineRunner
    let feed: AlertFeed
    /// The delivery channels' counters (MQTT publisher, webhooks), read at request time.
    let delivery: @Sendable () -> AlertDeliveryStatus

    func alerts(filter: AlertFilter, before: AlertID?, limit: Int) throws -> [StoredAlert] {
        try store.alerts(filter: filter, before: before, limit: limit)
    }

    func alert(id: AlertID) throws -> StoredAlert? { try store.alert(id: id) }

    func alertEvents(alertID: AlertID) throws -> [AlertEvent] { try store.alertEvents(alertID: alertID) }

    func alertEvents(after: AlertEventID, limit: Int) throws -> [AlertEvent] { try store.alertEvents(after: after, limit: limit) }

    func acknowledge(alertID: AlertID, by: String, note: String?) async throws -> AlertEvent {
        try await runner.acknowledge(alertID: alertID, by: by, note: note)
    }

    func deliveryStatus() -> AlertDeliveryStatus { delivery() }
}
