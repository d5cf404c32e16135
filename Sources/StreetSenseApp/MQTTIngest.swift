import Logging
import Mosquitto
import StreetSenseConfig
import StreetSenseCore
import StreetSenseDecoding
import StreetSensePipeline
import Synchronization

/// The MQTT source of the pipeline: a persistent-session libmosquitto client subscribed at QoS 1 to
/// `{prefix}/readings/#`, whose network thread copies each message into the ``IngestQueue``.
///
/// libmosquitto acknowledges a QoS 1 message before its callback runs (eclipse/mosquitto issue 2884), so a
/// reading is safe once the store batch holding it commits (≤ 250 ms later). When the pipeline is behind, the
/// callback waits on the queue, the network thread stops reading the socket, and the broker holds the backlog
/// in our persistent session.
public final class MQTTIngest: Sendable {
    /// The broker connection as readiness reports it.
    public struct ConnectionState: Sendable, Hashable {
        public var connected = false
        public var lastError: String?
        public var connects = 0
    }

    private let client: MosquittoClient
    /// The connection, also used to publish alert transitions.
    var mqttClient: MosquittoClient { client }
    private let filter: String
    private let state = ConnectionStateCell()
    private let logger: Logger

    public init(settings: MQTTSettings, queue: IngestQueue, logger: Logger) throws {
        self.logger = logger
        self.filter = try ReadingTopic(prefix: settings.topicPrefix).subscriptionFilter
        let configuration = MosquittoClient.Configuration(settings)
        let state = self.state
        client = try MosquittoClient(
            configuration: configuration,
            onMessage: { message in
                let arrival = EventTime.now
                message.withTopic { topic in
                    message.withPayload { payload in
                        _ = queue.append(topic: topic, payload: payload, arrival: arrival)
                    }
                }
            },
            onConnectionEvent: { event in
                switch event {
                case .connected(let sessionPresent):
                    state.value.withLock { $0.connected = true; $0.lastError = nil; $0.connects += 1 }
                    logger.info("connected to the broker", metadata: ["session_present": .stringConvertible(sessionPresent)])
                case .connectFailed(let error, let willRetry):
                    state.value.withLock { $0.connected = false; $0.lastError = error.description }
                    logger.error("broker connection failed", metadata: ["error": .string(error.description), "will_retry": .stringConvertible(willRetry)])
                case .disconnected(let error, let willRetry):
                    state.value.withLock { $0.connected = false; $0.lastError = error?.description }
                    if let error {
                        logger.warning("disconnected from the broker", metadata: ["error": .string(error.description), "will_retry": .stringConvertible(willRetry)])
                    }
                }
            }
        )
    }

    /// Subscribes and starts the network thread; it reconnects by itself with exponential backoff.
    public func start() throws {
        try client.subscribe(filter, qos: .atLeastOnce)
        try client.start()
        logger.info("subscribing", metadata: ["filter": .string(filter), "broker": .string("\(client.configuration.host):\(client.configuration.port)")])
    }

    /// Disconnects and joins the network thread: no message arrives after this returns.
    public func stop() {
        client.stop()
    }

    public var connectionState: ConnectionState { state.value.withLock { $0 } }
}

/// The connection state shared by the network thread's callbacks and readiness readers.
private final class ConnectionStateCell: Sendable {
    let value = Mutex(MQTTIngest.ConnectionState())
}

extension MosquittoClient.Configuration {
    /// The client configuration for StreetSense's subscription: fixed client id, persistent session (with a
    /// session expiry for MQTT 5), TCP_NODELAY, exponential reconnect backoff 1–30 s.
    init(_ settings: MQTTSettings) {
        self.init(
            host: settings.host,
            port: settings.port,
            clientID: settings.clientID,
            cleanSession: false,
            protocolVersion: settings.protocolVersion == .v5 ? .v5 : .v311,
            sessionExpirySeconds: UInt32(clamping: (settings.sessionExpiry ?? MQTTSettings.defaultSessionExpiry).components.seconds),
            keepAliveSeconds: Int(settings.keepalive.components.seconds),
            credentials: settings.username.map { Credentials(username: $0, password: settings.password?.plaintext) },
            tls: settings.tls.map { TLS(caFile: $0.caFile, certificateFile: $0.certFile, keyFile: $0.keyFile, insecureSkipVerify: $0.insecure) },
            tcpNoDelay: true,
            reconnectDelay: ReconnectDelay(minimumSeconds: 1, maximumSeconds: 30, exponentialBackoff: true),
            maxInflightMessages: 100,
            receiveMaximum: settings.protocolVersion == .v5 ? 1000 : nil
        )
    }
}
