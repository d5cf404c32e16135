import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// How the HTTP server protects itself: per-client rate limiting, request size limits and the CORS allowlist
/// (DESIGN §7). The defaults limit each client to 50 requests/s with bursts of 100, bodies to 16 KiB and request
/// targets to 4 KiB, and send no CORS headers.
public struct HTTPProtection: Sendable {
    /// A token bucket per client: refilled at `requestsPerSecond`, holding at most `burst` requests.
    public struct RateLimit: Sendable, Hashable {
        public var requestsPerSecond: Double
        public var burst: Int

        public init(requestsPerSecond: Double, burst: Int) {
            self.requestsPerSecond = requestsPerSecond
            self.burst = burst
        }
    }

    /// nil: no rate limiting.
    public var rateLimit: RateLimit?
    /// Origins (`https://display.example.org`) whose pages may call the API; empty: no CORS headers at all.
    public var corsAllowedOrigins: [String]
    /// Request bodies larger than this get 413.
    public var maximumBodyBytes: Int
    /// Request targets (path and query) longer than this get 414.
    public var maximumURIBytes: Int
    /// How many client buckets are kept at most; idle (full) buckets are evicted first.
    public var maximumTrackedClients: Int

    public init(
        rateLimit: RateLimit? = RateLimit(requestsPerSecond: 50, burst: 100), corsAllowedOrigins: [String] = [],
        maximumBodyBytes: Int = 16 * 1024, maximumURIBytes: Int = 4096, maximumTrackedClients: Int = 10_000
    ) {
        self.rateLimit = rateLimit
        self.corsAllowedOrigins = corsAllowedOrigins
        self.maximumBodyBytes = maximumBodyBytes
        self.maximumURIBytes = maximumURIBytes
        self.maximumTrackedClients = maximumTrackedClients
    }

    /// Paths never rate limited: probes and the metrics scrape must answer however busy the API is, and they are
    /// cheap (no store read).
    public static let rateLimitExemptPaths: Set<String> = ["/healthz", "/readyz", "/metrics"]
}

/// The request context of the StreetSense HTTP server: Hummingbird's basic context plus the client's address,
/// which rate limiting keys on.
public struct APIRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer of the connection (nil in Hummingbird's in-process test client).
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}

/// Token buckets keyed by client (`ip:…` or `token:…`), with bounded memory.
///
/// A bucket holds up to `burst` tokens and refills at `requestsPerSecond`; each request takes one. A bucket
/// that has refilled completely is the same as no bucket, so it is dropped when the table is full; if every
/// tracked client is still active, the least recently seen half is dropped (those clients start again full).
/// Times are passed in (seconds on any monotonic clock), so the arithmetic is tested without waiting.
public final class RateLimitTable: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: Double
    }

    public let limit: HTTPProtection.RateLimit
    public let capacity: Int
    private let buckets = Mutex<[String: Bucket]>([:])

    public init(limit: HTTPProtection.RateLimit, capacity: Int = 10_000) {
        self.limit = limit
        self.capacity = max(1, capacity)
    }

    /// The number of clients tracked now.
    public var trackedClients: Int { buckets.withLock { $0.count } }

    /// Takes one token from `client`'s bucket at time `now` (seconds): nil when the request may go on, else the
    /// whole seconds to wait before the next token (at least 1).
    public func take(client: String, now: Double) -> Int? {
        let rate = limit.requestsPerSecond
        let burst = Double(limit.burst)
        return buckets.withLock { buckets in
            var bucket = buckets[client] ?? Bucket(tokens: burst, updated: now)
            bucket.tokens = min(burst, bucket.tokens + max(0, now - bucket.updated) * rate)
            bucket.updated = now
            if buckets[client] == nil, buckets.count >= capacity { evict(&buckets, now: now, rate: rate, burst: burst) }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                buckets[client] = bucket
                return nil
            }
            buckets[client] = bucket
            return max(1, Int(((1 - bucket.tokens) / rate).rounded(.up)))
        }
    }

    private func evict(_ buckets: inout [String: Bucket], now: Double, rate: Double, burst: Double) {
        buckets = buckets.filter { $0.value.tokens + (now - $0.value.updated) * rate < burst }
        guard buckets.count >= capacity else { return }
        // Still full of active clients: keep the most recently seen half.
        let keep = buckets.sorted { $0.value.updated > $1.value.updated }.prefix(capacity / 2)
        buckets = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
    }
}
