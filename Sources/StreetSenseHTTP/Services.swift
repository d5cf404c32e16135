import StreetSenseAlerts
import StreetSenseCore

/// Where the API reads live state: the newest immutable ``Snapshot`` the aggregation core's owner published.
///
/// Handlers call ``currentSnapshot()`` once per request and answer from that value only; they never touch
/// live state. The call must be cheap and must not block (for example a lock-protected or atomic reference).
public protocol SnapshotSource: Sendable {
    /// The newest published snapshot.
    func currentSnapshot() -> Snapshot
}

/// Where the API reads stored history: 1-minute rollups and the bounded rejects table.
///
/// Every method is a blocking read (SQLite); the API calls them on its own dispatch queues, never on the
/// event loop or the cooperative thread pool. Any error becomes a `500` problem response.
public protocol HistorySource: Sendable {
    /// The rollups of one sensor's metric in `[from, to)`, aggregated into buckets of `step`, oldest first.
    func sensorSeries(_ address: SensorAddress, metric: Metric, from: EventTime, to: EventTime, step: Duration) throws -> [SeriesPoint]
    /// The rollups of one zone's density series in `[from, to)`, aggregated into buckets of `step`, oldest first.
    func zoneDensitySeries(zone: String, from: EventTime, to: EventTime, step: Duration) throws -> [SeriesPoint]
    /// Stored rejects, newest first (descending id), optionally of one pilot and one reason, with
    /// `id < cursor` when a cursor is given, at most `limit` of them.
    func rejects(pilot: String?, reason: RejectReason?, before cursor: Int64?, limit: Int) throws -> [RejectRecord]
}

/// One row of the bounded rejects table: what arrived, on which topic, and why it was rejected.
///
/// `payloadExcerpt` is printable text: at most the first KiB of the payload, with bytes that are not UTF-8
/// escaped by the store. `pilot` and `sensor` are nil when the topic did not name them.
public struct RejectRecord: Sendable, Hashable {
    /// Increasing with arrival; the rejects listing pages by it.
    public var id: Int64
    public var received: EventTime
    public var pilot: String?
    public var sensor: String?
    public var topic: String
    public var reason: RejectReason
    public var detail: String
    public var payloadExcerpt: String

    public init(
        id: Int64, received: EventTime, pilot: String?, sensor: String?, topic: String, reason: RejectReason, detail: String,
        payloadExcerpt: String
    ) {
        self.id = id
        self.received = received
        self.pilot = pilot
        self.sensor = sensor
        self.topic = topic
        self.reason = reason
        self.detail = detail
        self.payloadExcerpt = payloadExcerpt
    }
}

/// One condition of readiness (for example "broker connected" or "store writable").
public struct ReadinessCheck: Sendable, Hashable {
    /// A short snake_case name such as `broker` or `store`.
    public var name: String
    public var ok: Bool
    /// What the check saw, for an operator (`connected to mqtt://127.0.0.1:1883`, `last commit 40 ms ago`).
    public var detail: String

    public init(name: String, ok: Bool, detail: String) {
        self.name = name
        self.ok = ok
        self.detail = detail
    }
}

/// Tells `/readyz` whether the service can do its work. Must be cheap and must not block.
public protocol ReadinessProbe: Sendable {
    /// The current checks; the service is ready when every one is ok (and when there are none).
    func readiness() -> [ReadinessCheck]
}

/// Where the API reads and changes alerts: the stored alerts and their events, the acknowledgement path into
/// the pipeline, and the live feed (DESIGN §5).
///
/// The read methods block (SQLite); the API calls them on its own dispatch queues, never on the event loop or
/// the cooperative thread pool. Any error they throw becomes a `500` problem response.
public protocol AlertSource: Sendable {
    /// Alerts matching `filter`, newest first (descending id), with `id < before` when given, at most `limit`.
    func alerts(filter: AlertFilter, before: AlertID?, limit: Int) throws -> [StoredAlert]
    /// One alert, or nil if no alert has this id.
    func alert(id: AlertID) throws -> StoredAlert?
    /// Every event of one alert, oldest first.
    func alertEvents(alertID: AlertID) throws -> [AlertEvent]
    /// Stored events with `id > after`, oldest first, at most `limit` (for SSE clients that resume).
    func alertEvents(after: AlertEventID, limit: Int) throws -> [AlertEvent]
    /// Acknowledges an active alert on the pipeline's thread and returns the `acknowledged` event (which is
    /// also published on ``feed`` and stored). Throws ``AlertError`` for an unknown or cleared alert
    /// (`alert_not_active`, `already_cleared`), an alert acknowledged before (`already_acknowledged`) or an
    /// invalid name or note (`invalid_acknowledgement`).
    func acknowledge(alertID: AlertID, by: String, note: String?) async throws -> AlertEvent
    /// The live feed of alert events.
    var feed: AlertFeed { get }
    /// How delivery on MQTT and to webhooks stands now. Must be cheap and must not block.
    func deliveryStatus() -> AlertDeliveryStatus
}

/// Everything the API needs from the rest of the application.
public struct APIServices: Sendable {
    public var snapshots: any SnapshotSource
    public var history: any HistorySource
    public var readiness: any ReadinessProbe
    /// Alerts and their live feed; nil leaves the `/api/v1/alerts` routes out.
    public var alerts: (any AlertSource)?
    /// Who may read and who may acknowledge.
    public var access: APIAccess

    public init(
        snapshots: any SnapshotSource, history: any HistorySource, readiness: any ReadinessProbe, alerts: (any AlertSource)? = nil,
        access: APIAccess = .open
    ) {
        self.snapshots = snapshots
        self.history = history
        self.readiness = readiness
        self.alerts = alerts
        self.access = access
    }
}
