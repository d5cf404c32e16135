import StreetSenseCore

/// One webhook endpoint's delivery counters, as one consistent snapshot (served at `/api/v1/alerts/deliveries`).
///
/// `url` is the endpoint without credentials, query or fragment. `state` is `ok` when the last event was delivered
/// (or none came yet), `retrying` while the current event is being retried, `failing` when the last event was
/// given up after its last attempt.
public struct WebhookStatistics: Sendable, Hashable {
    /// Where an endpoint stands.
    public enum State: String, Sendable, Hashable {
        case ok
        case retrying
        case failing
    }

    public var url: String
    /// Events the endpoint answered with 2xx.
    public var delivered: Int
    /// Events given up after `max_attempts`.
    public var failed: Int
    /// Events dropped unsent because the queue was full (or the feed had moved past them).
    public var dropped: Int
    /// Attempts after the first one, over all events.
    public var retries: Int
    /// Events queued or in flight.
    public var pending: Int
    /// The last failed attempt's reason (`HTTP 500`, a connection error, a timeout); never holds the secret.
    public var lastError: String?
    /// Wall-clock time of the last delivery.
    public var lastSuccessAt: EventTime?
    public var state: State

    public init(
        url: String, delivered: Int = 0, failed: Int = 0, dropped: Int = 0, retries: Int = 0, pending: Int = 0,
        lastError: String? = nil, lastSuccessAt: EventTime? = nil, state: State = .ok
    ) {
        self.url = url
        self.delivered = delivered
        self.failed = failed
        self.dropped = dropped
        self.retries = retries
        self.pending = pending
        self.lastError = lastError
        self.lastSuccessAt = lastSuccessAt
        self.state = state
    }
}

/// The MQTT alert publisher's counters since start, as one consistent snapshot.
///
/// Invariant: every transition the publisher took from the feed is in exactly one of `published`, `failed`,
/// `pending` or `dropped`.
public struct MQTTAlertStatistics: Sendable, Hashable {
    /// Transitions handed to the client (queued in libmosquitto, sent at QoS 1).
    public var published: Int
    /// Publish calls that threw.
    public var failed: Int
    /// Transitions waiting for a connection or for their turn.
    public var pending: Int
    /// Transitions dropped because the queue was full (or the feed had moved past them).
    public var dropped: Int
    /// The last publish error.
    public var lastError: String?

    public init(published: Int = 0, failed: Int = 0, pending: Int = 0, dropped: Int = 0, lastError: String? = nil) {
        self.published = published
        self.failed = failed
        self.pending = pending
        self.dropped = dropped
        self.lastError = lastError
    }
}

/// How alert delivery stands on every channel besides the SSE feed: the MQTT alert topics (nil when the
/// service publishes no alerts on MQTT) and each configured webhook, in configuration order.
public struct AlertDeliveryStatus: Sendable, Hashable {
    public var mqtt: MQTTAlertStatistics?
    public var webhooks: [WebhookStatistics]

    public init(mqtt: MQTTAlertStatistics? = nil, webhooks: [WebhookStatistics] = []) {
        self.mqtt = mqtt
        self.webhooks = webhooks
    }
}
