import StreetSenseAlerts
import StreetSenseCore

/// What the running service reports about itself when `/metrics` is scraped: the newest published snapshot and
/// the state of each hand-off, the store, the broker connection and alert delivery.
///
/// Every field is read without blocking (published snapshots, atomics or short locks): a scrape never waits for
/// the pipeline, SQLite or the broker. Fields named `…Total` are monotonic within one process.
public struct ServiceVitals: Sendable {
    /// The newest snapshot the aggregation core published (ingest counts, zones, sensors, active alerts).
    public var snapshot: Snapshot
    /// Messages waiting in the ingest queue between the MQTT thread and the pipeline.
    public var ingestQueueMessages: Int
    /// Times the MQTT thread had to wait because the ingest queue was full (backpressure to the broker).
    public var ingestProducerWaitsTotal: Int
    /// Times the pipeline thread napped under load instead of being woken per message (``IngestQueue``).
    public var ingestConsumerNapsTotal: Int
    /// Batches waiting for the store writer.
    public var storeQueueBatches: Int
    /// Whether the last commit attempt succeeded.
    public var storeWritable: Bool
    /// Commit attempts that failed (disk full, I/O error); the batch is retried.
    public var storeFailedAttemptsTotal: Int
    /// The database's size on disk (main file and write-ahead log), nil when it cannot be read.
    public var storeBytes: Int64?
    /// Whether the MQTT client is connected to the broker.
    public var brokerConnected: Bool
    /// Successful connections to the broker since start (1 + reconnects).
    public var brokerConnectsTotal: Int
    /// Clients connected to `GET /api/v1/alerts/stream`.
    public var alertStreamClients: Int
    /// Alert delivery on the MQTT alert topics and to webhooks.
    public var deliveries: AlertDeliveryStatus

    public init(
        snapshot: Snapshot, ingestQueueMessages: Int = 0, ingestProducerWaitsTotal: Int = 0, ingestConsumerNapsTotal: Int = 0, storeQueueBatches: Int = 0, storeWritable: Bool = true,
        storeFailedAttemptsTotal: Int = 0, storeBytes: Int64? = nil, brokerConnected: Bool = false, brokerConnectsTotal: Int = 0,
        alertStreamClients: Int = 0, deliveries: AlertDeliveryStatus = AlertDeliveryStatus()
    ) {
        self.snapshot = snapshot
        self.ingestQueueMessages = ingestQueueMessages
        self.ingestProducerWaitsTotal = ingestProducerWaitsTotal
        self.ingestConsumerNapsTotal = ingestConsumerNapsTotal
        self.storeQueueBatches = storeQueueBatches
        self.storeWritable = storeWritable
        self.storeFailedAttemptsTotal = storeFailedAttemptsTotal
        self.storeBytes = storeBytes
        self.brokerConnected = brokerConnected
        self.brokerConnectsTotal = brokerConnectsTotal
        self.alertStreamClients = alertStreamClients
        self.deliveries = deliveries
    }
}
