import HTTPTypes
import Logging
import MosquittoBroker
import StreetSenseAlerts
import StreetSenseConfig
import StreetSenseCore
import StreetSenseDelivery
import StreetSenseTesting
import Testing

/// The webhook sender against real HTTP servers on loopback ports.
@Suite("Webhook sender", .serialized)
struct WebhookSenderTests {
    static let source = "/streetsense/test"
    /// Fast retries without jitter, so attempt counts and timings are predictable.
    /// The sender's warnings (given-up events) are expected here; keep the test output clean.
    static let quiet: Logger = {
        var logger = Logger(label: "webhook-sender-test")
        logger.logLevel = .critical
        return logger
    }()
    static let fastBackoff = RetryBackoff(initial: .milliseconds(20), factor: 2, maximum: .milliseconds(200), jitter: 0)

    /// Runs `sender` until `body` returns.
    static func running(_ sender: WebhookSender, feed: AlertFeed, readers: Int, _ body: () async throws -> Void) async throws {
        let task = Task { await sender.run() }
        defer { sender.stop() }
        try await waitUntil("\(readers) feed readers", timeout: .seconds(30)) { feed.readerCount == readers }
        try await body()
        sender.stop()
        await task.value
    }

    @Test("every transition is POSTed as the CloudEvents envelope, signed with the endpoint's secret")
    func deliveryAndSignature() async throws {
        let receiver = try await WebhookReceiver.start()
        let plain = try await WebhookReceiver.start()
        let feed = AlertFeed()
        let sender = WebhookSender(
            endpoints: [
                .init(url: receiver.url + "?token=t0ken", secret: Secret("s3cr3t")),
                .init(url: plain.url),
            ], feed: feed, source: Self.source, backoff: Self.fastBackoff, logger: Self.quiet)
        let events = [
            alertEvent(1), alertEvent(2, subject: .sensor(SensorAddress(pilot: "helsinki-lab", sensor: "cam-01"))),
            alertEvent(3, transition: .cleared),
        ]
        try await Self.running(sender, feed: feed, readers: 2) {
            feed.publish(events)
            let requests = try await receiver.waitForRequests(3)
            let plainRequests = try await plain.waitForRequests(3)
            let bodies = events.map { Array(AlertCloudEvent.json($0, source: Self.source).utf8) }
            #expect(requests.map(\.body) == bodies)
            #expect(requests.map(\.eventID) == ["1", "2", "3"])
            #expect(
                requests.map { $0.headers["ce-type"] } == [
                    "org.streetsense.alert.raised", "org.streetsense.alert.raised", "org.streetsense.alert.cleared",
                ])
            #expect(requests.allSatisfy { $0.headers["content-type"] == "application/cloudevents+json" })
            #expect(requests.map { $0.headers["x-streetsense-signature"] } == bodies.map { expectedSignature(body: $0, key: "s3cr3t") })
            #expect(plainRequests.map(\.body) == bodies)
            #expect(plainRequests.allSatisfy { $0.headers["x-streetsense-signature"] == nil })

            try await waitUntil("3 delivered", timeout: .seconds(30)) { sender.statistics.allSatisfy { $0.delivered == 3 } }
            let statistics = sender.statistics
            #expect(statistics.map(\.url) == [receiver.url, plain.url])
            #expect(statistics.allSatisfy { $0.failed == 0 && $0.retries == 0 && $0.dropped == 0 && $0.pending == 0 && $0.state == .ok })
            #expect(statistics.allSatisfy { $0.lastSuccessAt != nil && $0.lastError == nil })
        }
        await receiver.stop()
        await plain.stop()
    }

    @Test("a receiver that answers 500 twice gets the event on the third attempt")
    func retriesUntilSuccess() async throws {
        let receiver = try await WebhookReceiver.start(answers: [.internalServerError, .internalServerError])
        let feed = AlertFeed()
        let sender = WebhookSender(
            endpoints: [.init(url: receiver.url)], feed: feed, source: Self.source, backoff: Self.fastBackoff, logger: Self.quiet)
        try await Self.running(sender, feed: feed, readers: 1) {
            feed.publish([alertEvent(7), alertEvent(8)])
            try await waitUntil("2 delivered", timeout: .seconds(30), detail: { "\(sender.statistics)" }) { sender.statistics[0].delivered == 2 }
            // Event 7 three times (500, 500, 200), then event 8 once: order is kept across retries.
            #expect(receiver.requests.map(\.eventID) == ["7", "7", "7", "8"])
            let statistics = sender.statistics[0]
            #expect(statistics.retries == 2 && statistics.failed == 0 && statistics.state == .ok)
            #expect(statistics.lastError == "HTTP 500")
        }
        await receiver.stop()
    }

    @Test("a dead endpoint ends in failed after its attempts while a healthy one receives everything promptly")
    func deadEndpointDoesNotSlowOthers() async throws {
        let healthy = try await WebhookReceiver.start()
        let deadPort = try FreePort.loopback()
        let feed = AlertFeed()
        // 3 attempts with waits of 500 and 1000 ms: at least 1.5 s per event, 7.5 s for five.
        let slowBackoff = RetryBackoff(initial: .milliseconds(500), factor: 2, maximum: .seconds(2), jitter: 0)
        let sender = WebhookSender(
            endpoints: [.init(url: "http://127.0.0.1:\(deadPort)/hook", timeout: .milliseconds(200), maxAttempts: 3), .init(url: healthy.url)],
            feed: feed, source: Self.source, backoff: slowBackoff, logger: Self.quiet)
        try await Self.running(sender, feed: feed, readers: 2) {
            let start = ContinuousClock.now
            feed.publish((1...5).map { alertEvent(Int64($0)) })
            try await healthy.waitForRequests(5, timeout: .seconds(30))
            // The healthy endpoint got everything while the dead one was still retrying its events.
            #expect(sender.statistics[0].failed < 5)
            #expect(healthy.requests.map(\.eventID) == ["1", "2", "3", "4", "5"])

            try await waitUntil("5 failed", timeout: .seconds(60), detail: { "\(sender.statistics)" }) { sender.statistics[0].failed == 5 }
            let dead = sender.statistics[0]
            #expect(dead.delivered == 0 && dead.retries == 10 && dead.pending == 0 && dead.state == .failing)
            #expect(dead.lastError != nil && dead.lastSuccessAt == nil)
            #expect(ContinuousClock.now - start >= .milliseconds(7500))
            #expect(sender.statistics[1].delivered == 5 && sender.statistics[1].state == .ok)
        }
        await healthy.stop()
    }

    @Test("a full endpoint queue drops the oldest events and counts them")
    func queueOverflow() async throws {
        let receiver = try await WebhookReceiver.start()
        let feed = AlertFeed()
        let sender = WebhookSender(
            endpoints: [.init(url: receiver.url, queueCapacity: 3)], feed: feed, source: Self.source, backoff: Self.fastBackoff, logger: Self.quiet)
        try await Self.running(sender, feed: feed, readers: 1) {
            receiver.hold(true)
            feed.publish([alertEvent(1)])
            try await receiver.waitForRequests(1)
            // Event 1 is in flight; nine more meet a queue of three: 2…7 are dropped, 8, 9, 10 wait.
            feed.publish((2...10).map { alertEvent(Int64($0)) })
            try await waitUntil("6 dropped", timeout: .seconds(30), detail: { "\(sender.statistics)" }) { sender.statistics[0].dropped == 6 }
            #expect(sender.statistics[0].pending == 4)
            receiver.hold(false)
            try await waitUntil("4 delivered", timeout: .seconds(30), detail: { "\(sender.statistics)" }) { sender.statistics[0].delivered == 4 }
            #expect(receiver.requests.map(\.eventID) == ["1", "8", "9", "10"])
            #expect(sender.statistics[0].pending == 0 && sender.statistics[0].dropped == 6)
        }
        await receiver.stop()
    }
}
