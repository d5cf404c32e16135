import Crypto
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import StreetSenseAlerts
import StreetSenseCore
import StreetSenseTesting
import Synchronization

/// An alert transition for tests: event `id` of alert 1, at 2025-05-20T10:00:00Z plus `id` seconds.
func alertEvent(
    _ id: Int64, subject: AlertSubject = .zone("plaza"), transition: AlertTransition = .raised, severity: AlertSeverity = .warning
) -> AlertEvent {
    let rule: AlertRule = subject.kind == .zone ? .crowdDensity : .sensorOffline
    return AlertEvent(
        id: AlertEventID(id), alertID: AlertID(subject.kind == .zone ? 1 : 2), rule: rule, subject: subject, metric: nil,
        severity: severity, transition: transition, at: EventTime(milliseconds: 1_747_735_200_000 + id * 1000), value: 2.75,
        peak: 3.5, acknowledgement: nil, fault: nil)
}

/// The lowercase hex HMAC-SHA256 of `body` under `key`, computed here independently of `WebhookSignature`.
func expectedSignature(body: [UInt8], key: String) -> String {
    let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(key.utf8)))
    return "sha256="
        + code.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
}

/// A real HTTP server (Hummingbird on a free loopback port) that records every POST to `/hook`. It answers the
/// statuses in `answers` first, then 200; while `hold` is true it keeps requests waiting.
final class WebhookReceiver: Sendable {
    struct Received: Sendable {
        var headers: [String: String]
        var body: [UInt8]
        var eventID: String? { headers["ce-id"] }
    }

    private let received = Mutex<[Received]>([])
    private let answers: Mutex<[HTTPResponse.Status]>
    private let holding = Mutex(false)
    private let boundPort = Mutex<Int?>(nil)
    private let group = Mutex<ServiceGroup?>(nil)
    private let task = Mutex<Task<Void, any Error>?>(nil)

    private init(answers: [HTTPResponse.Status]) {
        self.answers = Mutex(answers)
    }

    /// Starts the server and waits until it listens.
    static func start(answers: [HTTPResponse.Status] = []) async throws -> WebhookReceiver {
        let receiver = WebhookReceiver(answers: answers)
        let router = Router()
        router.post("hook") { request, _ -> HTTPResponse.Status in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            receiver.received.withLock { $0.append(Received(headers: headers, body: Array(buffer: body))) }
            while receiver.holding.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
            return receiver.answers.withLock { $0.isEmpty ? .ok : $0.removeFirst() }
        }
        var logger = Logger(label: "webhook-receiver")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in receiver.boundPort.withLock { $0 = channel.localAddress?.port } }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        receiver.group.withLock { $0 = group }
        receiver.task.withLock { $0 = Task { try await group.run() } }
        try await waitUntil("the webhook receiver to listen", timeout: .seconds(60)) { receiver.boundPort.withLock { $0 != nil } }
        return receiver
    }

    var port: Int { boundPort.withLock { $0 ?? 0 } }
    var url: String { "http://127.0.0.1:\(port)/hook" }
    var requests: [Received] { received.withLock { $0 } }

    /// Keeps requests waiting (true) or lets them answer (false).
    func hold(_ on: Bool) { holding.withLock { $0 = on } }

    func stop() async {
        hold(false)
        await group.withLock { $0 }?.triggerGracefulShutdown()
        _ = try? await task.withLock { $0 }?.value
    }

    /// Waits until `count` requests have arrived.
    @discardableResult
    func waitForRequests(_ count: Int, timeout: Duration = .seconds(30)) async throws -> [Received] {
        try await waitUntil("\(count) webhook requests", timeout: timeout, detail: { "received \(self.requests.count)" }) {
            requests.count >= count
        }
        return requests
    }
}
