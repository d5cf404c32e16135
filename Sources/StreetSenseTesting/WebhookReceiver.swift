import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A real HTTP server (Hummingbird on a free loopback port) that records every POST to `/hook`. It answers the
/// statuses in `answers` first, then 200; while `hold` is true it keeps requests waiting.
public final class WebhookReceiver: Sendable {
    /// One request: its headers (canonical names) and body.
    public struct Received: Sendable {
        public var headers: [String: String]
        public var body: [UInt8]
        /// The body as text.
        public var text: String { String(decoding: body, as: UTF8.self) }
        public var eventID: String? { headers["ce-id"] }
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
    public static func start(answers: [HTTPResponse.Status] = []) async throws -> WebhookReceiver {
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

    public var port: Int { boundPort.withLock { $0 ?? 0 } }
    public var url: String { "http://127.0.0.1:\(port)/hook" }
    public var requests: [Received] { received.withLock { $0 } }

    /// Keeps requests waiting (true) or lets them answer (false).
    public func hold(_ on: Bool) { holding.withLock { $0 = on } }

    public func stop() async {
        hold(false)
        await group.withLock { $0 }?.triggerGracefulShutdown()
        _ = try? await task.withLock { $0 }?.value
    }

    /// Waits until `count` requests have arrived.
    @discardableResult
    public func waitForRequests(_ count: Int, timeout: Duration = .seconds(30)) async throws -> [Received] {
        try await waitUntil("\(count) webhook requests", timeout: timeout, detail: { "received \(self.requests.count)" }) {
            requests.count >= count
        }
        return requests
    }
}
