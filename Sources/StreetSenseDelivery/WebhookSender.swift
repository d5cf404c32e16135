import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import StreetSenseAlerts
import StreetSenseConfig
import StreetSenseCore
import Synchronization

/// POSTs every alert transition of an ``AlertFeed`` to each configured webhook endpoint.
///
/// Each request carries the CloudEvents envelope (``AlertCloudEvent``) as its body with `Content-Type:
/// application/cloudevents+json`, the `ce-id` and `ce-type` headers, and, when the endpoint has a secret,
/// `X-StreetSense-Signature: sha256=<hex HMAC-SHA256 of the body>` (``WebhookSignature``). A 2xx answer delivers
/// the event; any other answer, a connection error or a timeout is retried after ``RetryBackoff`` waits, up to the
/// endpoint's `maxAttempts`, after which the event is counted as failed and the next one is sent.
///
/// Every endpoint has its own feed subscription, its own bounded queue (the oldest event dropped and counted when
/// full) and its own task, so a dead or slow endpoint never slows the feed, the pipeline or the other endpoints.
/// Invariant: each endpoint receives its events in id order, one request at a time. All endpoints share one
/// `HTTPClient`, shut down when ``run()`` returns.
public final class WebhookSender: Service, Sendable {
    /// One endpoint's delivery state.
    final class Endpoint: Sendable {
        let settings: AlertDeliverySettings.Webhook
        let inbox: EventInbox
        let statistics: Mutex<WebhookStatistics>

        init(settings: AlertDeliverySettings.Webhook) {
            self.settings = settings
            self.inbox = EventInbox(capacity: settings.queueCapacity)
            self.statistics = Mutex(WebhookStatistics(url: settings.redactedURL))
        }
    }


    public let source: String
    public let backoff: RetryBackoff
    private let endpoints: [Endpoint]
    private let feed: AlertFeed
    private let logger: Logger
    private let lifecycle = DeliveryRun()

    /// - Parameters:
    ///   - endpoints: the configured webhooks (`alerts.webhooks`).
    ///   - feed: the live alert events.
    ///   - source: the CloudEvents `source` of every envelope.
    ///   - backoff: the waits between attempts (tests shorten them).
    public init(
        endpoints: [AlertDeliverySettings.Webhook], feed: AlertFeed, source: String = "/streetsense", backoff: RetryBackoff = RetryBackoff(),
        logger: Logger = Logger(label: "streetsense.alerts.webhooks")
    ) {
        self.endpoints = endpoints.map { Endpoint(settings: $0) }
        self.feed = feed
        self.source = source
        self.backoff = backoff
        self.logger = logger
    }

    /// Every endpoint's counters, in configuration order.
    public var statistics: [WebhookStatistics] {
        endpoints.map { endpoint in
            let pendingQueued = endpoint.inbox.count
            let dropped = endpoint.inbox.dropped
            return endpoint.statistics.withLock { statistics in
                var copy = statistics
                copy.pending += pendingQueued
                copy.dropped = dropped
                return copy
            }
        }
    }

    /// Delivers until ``stop()``, task cancellation or graceful shutdown; events published on the feed after `run()`
    /// started are delivered. Events still queued at the end are not sent (they stay counted as pending).
    public func run() async {
        await lifecycle.run { await self.deliver() }
    }

    /// Ends ``run()``.
    public func stop() {
        lifecycle.stop()
    }

    private func deliver() async {
        guard !endpoints.isEmpty else {
            // Nothing to deliver to: wait for the stop.
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
            return
        }
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        await withTaskGroup(of: Void.self) { group in
            for endpoint in endpoints {
                let bufferLimit = max(1024, min(endpoint.settings.queueCapacity, 65_536))
                group.addTask { await pumpFeed(self.feed, into: endpoint.inbox, bufferLimit: bufferLimit) }
                group.addTask { await self.deliveryLoop(endpoint, client: client) }
            }
        }
        do {
            try await client.shutdown()
        } catch {
            logger.warning("webhook HTTP client did not shut down cleanly", metadata: ["error": "\(error)"])
        }
    }

    private func deliveryLoop(_ endpoint: Endpoint, client: HTTPClient) async {
        var random = SystemRandomNumberGenerator()
        let settings = endpoint.settings
        while let event = await endpoint.inbox.next() {
            endpoint.statistics.withLock { $0.pending = 1 }
            defer { endpoint.statistics.withLock { $0.pending = 0 } }
            let body = Array(AlertCloudEvent.json(event, source: source).utf8)
            var attempt = 1
            while true {
                let error = await post(event, body: body, to: settings, client: client)
                if Task.isCancelled { return }
                guard let error else {
                    endpoint.statistics.withLock {
                        $0.delivered += 1
                        $0.lastSuccessAt = Self.now()
                        $0.state = .ok
                    }
                    break
                }
                if attempt >= settings.maxAttempts {
                    endpoint.statistics.withLock {
                        $0.failed += 1
                        $0.lastError = error
                        $0.state = .failing
                    }
                    logger.warning(
                        "webhook gave up on an alert event",
                        metadata: ["url": "\(settings.redactedURL)", "event": "\(event.id)", "attempts": "\(attempt)", "error": "\(error)"])
                    break
                }
                endpoint.statistics.withLock {
                    $0.retries += 1
                    $0.lastError = error
                    $0.state = .retrying
                }
                do {
                    try await Task.sleep(for: backoff.delay(beforeRetry: attempt, using: &random))
                } catch {
                    return
                }
                attempt += 1
            }
        }
    }

    /// One attempt; nil when the endpoint answered 2xx, else why not.
    private func post(_ event: AlertEvent, body: [UInt8], to settings: AlertDeliverySettings.Webhook, client: HTTPClient) async -> String? {
        var request = HTTPClientRequest(url: settings.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/cloudevents+json")
        request.headers.add(name: "User-Agent", value: "StreetSense")
        request.headers.add(name: "ce-id", value: String(event.id.rawValue))
        request.headers.add(name: "ce-type", value: AlertCloudEvent.type(of: event.transition))
        if let secret = settings.secret {
            request.headers.add(name: WebhookSignature.headerName, value: WebhookSignature.value(body: body, secret: secret.plaintext))
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        let timeout = TimeAmount.nanoseconds(settings.timeout.wholeNanoseconds)
        do {
            let response = try await client.execute(request, timeout: timeout)
            // Read (and discard) the answer so the connection can be reused.
            _ = try await response.body.collect(upTo: 1 << 20)
            let status = response.status.code
            return (200..<300).contains(status) ? nil : "HTTP \(status)"
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            return "timed out after \(settings.timeout)"
        } catch {
            return Self.describe(error)
        }
    }

    /// An error's text without anything from the URL's query (`HTTPClientError` texts name no URL).
    static func describe(_ error: any Error) -> String {
        String("\(error)".prefix(300))
    }

    static func now() -> EventTime {
        EventTime(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded()))
    }
}
