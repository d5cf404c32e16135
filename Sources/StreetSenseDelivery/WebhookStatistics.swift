import StreetSenseCore

/// One webhook endpoint's delivery counters, as one consistent snapshot (for `/api/v1/status` and metrics).
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
