import CMosquitto
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An MQTT client on libmosquitto: it connects to one broker, keeps the connection up on libmosquitto's own
/// network thread, subscribes, publishes, and hands every incoming message to one handler.
///
/// Threading: `onMessage` and `onConnectionEvent` run on the network thread, one at a time (and
/// `onConnectionEvent` also on the thread that calls `start()` when the first connect fails at once).
/// Handlers must not call `start()` or `stop()` (that would join the network thread from itself), and
/// while a handler runs no other message is read, so a handler that waits for room in a bounded queue
/// slows the broker down instead of losing messages. Every other method may be called from any thread.
///
/// Lifecycle: `start()` connects asynchronously and starts the network thread, which reconnects by itself
/// with the configured backoff; `stop()` disconnects and joins it; both are idempotent and a stopped
/// client can be started again. The `mosquitto *` handle lives as long as the client.
public final class MosquittoClient: @unchecked Sendable {
    // `@unchecked Sendable`: the only non-Sendable stored property is the `mosquitto *` handle. libmosquitto
    // 2.0 guards the handle's state with its own mutexes once `mosquitto_loop_start` made it threaded, so
    // `mosquitto_publish` and `mosquitto_subscribe` may be called from any thread while the network thread
    // runs; `start()` and `stop()`, which are not safe to overlap, are serialized by `lifecycle`. Swift state
    // touched from both sides lives in `shared` (a Mutex) or in atomics, and the handlers are immutable
    // `@Sendable` closures.

    /// A change of the connection, as seen by the network thread.
    public enum ConnectionEvent: Sendable, Hashable {
        /// The broker accepted CONNECT. `sessionPresent` is true when it resumed a stored session, so the
        /// subscriptions it had are still in place and queued QoS 1 messages follow.
        case connected(sessionPresent: Bool)
        /// A connect attempt failed: the TCP or TLS connect, or the broker refused CONNECT (MQTT 3.1.1 return
        /// code or MQTT 5 reason code, such as a wrong password). `willRetry` says whether the network
        /// thread keeps trying: libmosquitto 2.0.11 stops for MQTT 5 refusals, TLS and protocol errors.
        case connectFailed(MosquittoError, willRetry: Bool)
        /// An accepted connection ended. The error is `nil` after `stop()`; otherwise it is the library error
        /// (lost connection, keep-alive timeout) or the MQTT 5 reason code of the broker's DISCONNECT.
        case disconnected(MosquittoError?, willRetry: Bool)
    }

    /// Receives every message, on the network thread.
    public typealias MessageHandler = @Sendable (borrowing IncomingMessage) -> Void
    /// Receives every connection event.
    public typealias ConnectionEventHandler = @Sendable (ConnectionEvent) -> Void
    /// Receives libmosquitto's own log lines (TLS failures are explained only there), on the network thread
    /// or on whichever thread is calling into the client at the time.
    public typealias LogHandler = @Sendable (LogLevel, String) -> Void

    /// The level of a libmosquitto log line.
    public enum LogLevel: Sendable, Hashable {
        case debug, information, notice, warning, error
    }

    /// Swift state shared by the callers and the network thread.
    private struct SharedState: Sendable {
        var acknowledgements = PublishAcknowledgements()
        var subscriptions = SubscriptionTable()
        /// `stop()` is under way: callbacks disconnect instead of carrying on.
        var stopRequested = false
        /// The broker accepted CONNECT on the current socket.
        var connectionAccepted = false
        /// A refused CONNACK was reported; the disconnect that follows it is not reported again.
        var refusalReported = false
        /// Between `start()` and the first CONNACK or disconnect. A TLS failure now surfaces inside
        /// `mosquitto_loop`, which ends the network thread, mostly without calling `on_disconnect`; later
        /// TLS failures happen in `mosquitto_reconnect`, which the thread retries without any callback.
        var firstConnectPending = false
        /// `start()` is inside `mosquitto_connect_bind_async` and reports what fails there itself.
        var connectCallInProgress = false
        /// A TLS failure was reported since the last accepted CONNACK; repeats are not reported again.
        var tlsFailureReported = false
        /// The first OpenSSL error line libmosquitto logged since then: the only place that says why.
        var tlsErrorText: String?
    }

    public let configuration: Configuration
    private let handle: OpaquePointer
    private let onMessage: MessageHandler
    private let onConnectionEvent: ConnectionEventHandler
    private let onLog: LogHandler?
    private let shared = Mutex(SharedState())
    /// Whether the network thread runs (between `start()` and `stop()`).
    private let lifecycle = Mutex(false)
    private let connected = Atomic<Bool>(false)
    private let rejectedPublishes = Atomic<Int>(0)

    /// Creates a client and applies `configuration` to a new libmosquitto handle; nothing is sent before
    /// `start()`.
    ///
    /// - Throws: `MosquittoError` with kind `.invalidConfiguration` for settings libmosquitto would refuse
    ///   (a persistent session without client id, a port out of range, an unreadable TLS file…).
    public init(
        configuration: Configuration,
        onMessage: @escaping MessageHandler = { _ in },
        onConnectionEvent: @escaping ConnectionEventHandler = { _ in },
        onLog: LogHandler? = nil
    ) throws(MosquittoError) {
        try configuration.validate()
        let initialization = initializeLibraryOnce()
        guard initialization == MOSQ_ERR_SUCCESS.rawValue else { throw .library(initialization, "initialize libmosquitto") }
        guard let handle = mosquitto_new(configuration.clientID, configuration.cleanSession, nil) else {
            throw .library(errno == ENOMEM ? MOSQ_ERR_NOMEM.rawValue : MOSQ_ERR_INVAL.rawValue, "create the client")
        }
        self.configuration = configuration
        self.handle = handle
        self.onMessage = onMessage
        self.onConnectionEvent = onConnectionEvent
        self.onLog = onLog
        // From here on `deinit` runs if anything throws, and destroys the handle.
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
        try applyOptions()
        installCallbacks()
    }

    deinit {
        stop()
        mosquitto_destroy(handle)
    }

    // MARK: - State

    /// Whether the broker has accepted the current connection.
    public var isConnected: Bool { connected.load(ordering: .acquiring) }

    /// QoS 1 and 2 publishes that the broker has not acknowledged yet (PUBACK or PUBCOMP).
    public var unacknowledgedPublishCount: Int { shared.withLock { $0.acknowledgements.unacknowledged } }

    /// MQTT 5: acknowledgements whose reason code said the broker refused the message (for example 135,
    /// not authorized by the ACL). MQTT 3.1.1 brokers acknowledge such publishes as if they succeeded.
    public var rejectedPublishCount: Int { rejectedPublishes.load(ordering: .relaxed) }

    // MARK: - Lifecycle

    /// Starts connecting and starts the network thread, which reconnects by itself after any loss.
    ///
    /// A connect that fails at once (nothing listening, a name that does not resolve) is reported as
    /// `.connectFailed(_, willRetry: true)` and retried; it does not throw. Does nothing if already started.
    ///
    /// - Throws: `MosquittoError` when libmosquitto refuses to even try (invalid settings, TLS files it
    ///   cannot load) or cannot start its thread.
    public func start() throws(MosquittoError) {
        try lifecycle.withLock { (running: inout Bool) throws(MosquittoError) in
            if running { return }
            if configuration.sendsSessionExpiry { try storeSessionExpiryForEveryConnect() }
            shared.withLock { state in
                state.stopRequested = false
                state.connectionAccepted = false
                state.refusalReported = false
                state.tlsFailureReported = false
                state.tlsErrorText = nil
                state.firstConnectPending = true
                state.connectCallInProgress = true
            }
            let keepAlive = Int32(configuration.keepAliveSeconds)
            let connectResult = mosquitto_connect_bind_async(handle, configuration.host, Int32(configuration.port), keepAlive, nil)
            var connectError = MosquittoError.library(connectResult, connectOperation)
            let tlsErrorText = shared.withLock { state in
                state.connectCallInProgress = false
                if connectResult != MOSQ_ERR_SUCCESS.rawValue { state.firstConnectPending = false }
                if connectResult == MOSQ_ERR_TLS.rawValue { state.tlsFailureReported = true }
                return state.tlsErrorText
            }
            if connectResult == MOSQ_ERR_TLS.rawValue, let tlsErrorText { connectError.message += " " + tlsErrorText }
            switch connectResult {
            case MOSQ_ERR_SUCCESS.rawValue:
                break
            case MOSQ_ERR_INVAL.rawValue, MOSQ_ERR_NOMEM.rawValue, MOSQ_ERR_NOT_SUPPORTED.rawValue:
                throw connectError
            default:
                // Nothing listening, a name that does not resolve, a failed TLS handshake: the network thread
                // retries these with `mosquitto_reconnect`.
                onConnectionEvent(.connectFailed(connectError, willRetry: true))
            }
            let loopResult = mosquitto_loop_start(handle)
            guard loopResult == MOSQ_ERR_SUCCESS.rawValue else { throw .library(loopResult, "start the network thread") }
            running = true
        }
    }

    /// Sends DISCONNECT, stops the network thread and waits for it. Safe to call more than once; never call
    /// it from a handler. QoS 1 publishes still unacknowledged stay in the library's memory and are resent
    /// after the next `start()` when the session is persistent.
    public func stop() {
        lifecycle.withLock { running in
            guard running else { return }
            shared.withLock { $0.stopRequested = true }
            _ = mosquitto_disconnect(handle)
            _ = mosquitto_loop_stop(handle, false)
            running = false
            connected.store(false, ordering: .releasing)
            shared.withLock { state in
                state.connectionAccepted = false
                state.subscriptions.connectionEnded()
            }
        }
    }

    /// Waits until the broker has accepted a connection.
    public func waitUntilConnected(timeout: Duration) async throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while !isConnected {
            guard ContinuousClock.now < deadline else {
                throw MosquittoError.timeout("connect to \(configuration.host):\(configuration.port)", after: timeout)
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    // MARK: - Subscribing

    /// Subscribes to `filter` now if connected, and again after every connect on which the broker had no
    /// stored session for this client, so the subscription outlives broker restarts and clean sessions.
    ///
    /// - Throws: `MosquittoError` for a filter that is not valid MQTT, or if libmosquitto cannot queue it.
    public func subscribe(_ filter: String, qos: QualityOfService) throws(MosquittoError) {
        let check = mosquitto_sub_topic_check(filter)
        guard check == MOSQ_ERR_SUCCESS.rawValue, !filter.utf8.contains(0) else {
            throw .library(check == MOSQ_ERR_SUCCESS.rawValue ? MOSQ_ERR_INVAL.rawValue : check, "subscribe to \"\(filter)\"")
        }
        let index = shared.withLock { $0.subscriptions.add(filter: filter, qos: qos) }
        guard isConnected else { return }
        let result = sendSubscription(index: index, filter: filter, qos: qos)
        guard result == MOSQ_ERR_SUCCESS.rawValue || result == MOSQ_ERR_NO_CONN.rawValue else {
            throw .library(result, "subscribe to \"\(filter)\"")
        }
    }

    /// Waits until the client is connected and the broker has confirmed every subscription (SUBACK).
    ///
    /// - Throws: `MosquittoError` with the SUBACK code when the broker refused a subscription, or kind
    ///   `.timeout`.
    public func waitForSubscriptions(timeout: Duration) async throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let (done, refusal) = shared.withLock { state in
                (state.subscriptions.allAcknowledged, state.subscriptions.firstRefusal)
            }
            if let refusal { throw MosquittoError.reason(refusal.code, "subscribe to \"\(refusal.filter)\"") }
            if done && isConnected { return }
            guard ContinuousClock.now < deadline else { throw MosquittoError.timeout("wait for SUBACK", after: timeout) }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    private func sendSubscription(index: Int, filter: String, qos: QualityOfService) -> Int32 {
        var mid: Int32 = 0
        let result = mosquitto_subscribe(handle, &mid, filter, Int32(qos.rawValue))
        if result == MOSQ_ERR_SUCCESS.rawValue {
            shared.withLock { $0.subscriptions.sent(index: index, mid: mid) }
        }
        return result
    }

    // MARK: - Publishing

    /// Queues a message and returns its message id. QoS 1 and 2 messages are queued even while
    /// disconnected (in memory, without limit) and sent after the next connect; QoS 0 ones then fail with
    /// `MOSQ_ERR_NO_CONN`.
    ///
    /// - Throws: `MosquittoError` for an invalid topic (wildcards, bad UTF-8), an oversized payload, or no
    ///   connection at QoS 0.
    @discardableResult
    public func publish(topic: String, payload: Span<UInt8>, qos: QualityOfService, retain: Bool = false) throws(MosquittoError) -> Int {
        let operation = "publish to \"\(topic)\""
        guard payload.count <= 268_435_455 else { throw .library(MOSQ_ERR_PAYLOAD_SIZE.rawValue, operation) }
        guard !topic.utf8.contains(0) else { throw .library(MOSQ_ERR_INVAL.rawValue, operation) }
        var mid: Int32 = 0
        let result = payload.withUnsafeBufferPointer { buffer in
            mosquitto_publish(handle, &mid, topic, Int32(buffer.count), buffer.baseAddress, Int32(qos.rawValue), retain)
        }
        // For QoS 1 and 2, libmosquitto 2.0.11 appends the message to its outgoing queue before it tries to
        // send it, and reports MOSQ_ERR_NO_CONN when there is no socket: the message is queued all the same
        // and goes out after the next CONNACK (lib/actions.c, lib/messages_mosq.c). That is a success here.
        let queuedWhileDisconnected = result == MOSQ_ERR_NO_CONN.rawValue && qos != .atMostOnce
        guard result == MOSQ_ERR_SUCCESS.rawValue || queuedWhileDisconnected else { throw .library(result, operation) }
        shared.withLock { $0.acknowledgements.published(mid: mid, qos: qos) }
        return Int(mid)
    }

    /// Queues a message and returns its message id; see `publish(topic:payload:qos:retain:)` with a span.
    @discardableResult
    public func publish(topic: String, payload: [UInt8], qos: QualityOfService, retain: Bool = false) throws(MosquittoError) -> Int {
        try payload.withUnsafeBufferPointer { (buffer) throws(MosquittoError) -> Int in
            try publish(topic: topic, payload: buffer.span, qos: qos, retain: retain)
        }
    }

    /// Waits until the broker has acknowledged every QoS 1 and 2 message published so far (PUBACK or
    /// PUBCOMP received, `on_publish` called). Use it before stopping a publisher that must not lose
    /// messages: libmosquitto drops what is still in flight at `stop()` unless the session is resumed.
    ///
    /// - Throws: `MosquittoError` with kind `.timeout`, or `CancellationError`.
    public func waitForAcknowledgements(timeout: Duration) async throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while unacknowledgedPublishCount > 0 {
            guard ContinuousClock.now < deadline else {
                throw MosquittoError.timeout("wait for \(unacknowledgedPublishCount) publish acknowledgements", after: timeout)
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    // MARK: - Setup

    private func applyOptions() throws(MosquittoError) {
        func check(_ result: Int32, _ what: String) throws(MosquittoError) {
            guard result == MOSQ_ERR_SUCCESS.rawValue else {
                throw MosquittoError(
                    kind: .invalidConfiguration, code: Int(result), message: String(cString: mosquitto_strerror(result)),
                    operation: "set \(what)")
            }
        }
        // libmosquitto's default protocol is MQTT 3.1, not 3.1.1.
        let version = configuration.protocolVersion == .v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311
        try check(mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, version), "the protocol version")
        try check(mosquitto_int_option(handle, MOSQ_OPT_TCP_NODELAY, configuration.tcpNoDelay ? 1 : 0), "TCP_NODELAY")
        let delay = configuration.reconnectDelay
        try check(
            mosquitto_reconnect_delay_set(handle, UInt32(delay.minimumSeconds), UInt32(delay.maximumSeconds), delay.exponentialBackoff),
            "the reconnect delay")
        try check(mosquitto_max_inflight_messages_set(handle, UInt32(configuration.maxInflightMessages)), "max inflight messages")
        if let receiveMaximum = configuration.receiveMaximum, configuration.protocolVersion == .v5 {
            try check(mosquitto_int_option(handle, MOSQ_OPT_RECEIVE_MAXIMUM, Int32(receiveMaximum)), "the receive maximum")
        }
        if let credentials = configuration.credentials {
            try check(mosquitto_username_pw_set(handle, credentials.username, credentials.password), "the username and password")
        }
        if let tls = configuration.tls {
            if let caFile = tls.caFile {
                try check(mosquitto_tls_set(handle, caFile, nil, tls.certificateFile, tls.keyFile, nil), "TLS files (are they readable?)")
            } else if tls.certificateFile == nil {
                try check(mosquitto_int_option(handle, MOSQ_OPT_TLS_USE_OS_CERTS, 1), "TLS with the system's certificate authorities")
            } else {
                throw .invalidConfiguration("a TLS client certificate needs caFile as well")
            }
            if tls.insecureSkipVerify {
                try check(mosquitto_tls_insecure_set(handle, true), "TLS without host name check")
                try check(mosquitto_tls_opts_set(handle, 0 /* SSL_VERIFY_NONE */, nil, nil), "TLS without verification")
            }
        }
    }

    /// libmosquitto 2.0 has no asynchronous connect that takes CONNECT properties, and MQTT 5 needs the
    /// Session Expiry Interval on every CONNECT, reconnects included, or the broker drops the session at
    /// the next disconnect. `mosquitto_connect_bind_v5` copies its properties into the handle
    /// (`mosq->connect_properties`, sent by every later connect and reconnect) before it checks the
    /// port, so calling it with port -1 stores them and returns `MOSQ_ERR_INVAL` without connecting
    /// (lib/connect.c in 2.0.11). The MQTT 5 session tests fail if a later libmosquitto changes that.
    private func storeSessionExpiryForEveryConnect() throws(MosquittoError) {
        var properties: OpaquePointer? = nil
        defer { mosquitto_property_free_all(&properties) }
        let added = mosquitto_property_add_int32(
            &properties, Int32(MQTT_PROP_SESSION_EXPIRY_INTERVAL.rawValue), configuration.sessionExpirySeconds)
        guard added == MOSQ_ERR_SUCCESS.rawValue else { throw .library(added, "set the session expiry interval") }
        let stored = mosquitto_connect_bind_v5(handle, configuration.host, -1, Int32(configuration.keepAliveSeconds), nil, properties)
        guard stored == MOSQ_ERR_INVAL.rawValue else {
            throw MosquittoError(
                kind: .library, code: Int(stored),
                message: "this libmosquitto did not store CONNECT properties as 2.0.11 does",
                operation: "set the session expiry interval")
        }
    }

    private func installLogCallback() {
        mosquitto_log_callback_set(handle) { _, context, level, text in
            guard let context, let text else { return }
            let logLevel: LogLevel =
                switch level {
                case MOSQ_LOG_ERR: .error
                case MOSQ_LOG_WARNING: .warning
                case MOSQ_LOG_NOTICE: .notice
                case MOSQ_LOG_INFO: .information
                default: .debug
                }
            Unmanaged<MosquittoClient>.fromOpaque(context)._withUnsafeGuaranteedRef { client in
                // Per-packet lines are debug: no String for them unless a handler reads them.
                guard logLevel != .debug || client.onLog != nil else { return }
                client.handleLog(level: logLevel, text: String(cString: text))
            }
        }
    }

    private func installCallbacks() {
        // Installed only when someone reads it: with a log callback set, libmosquitto formats a line for every
        // packet (a malloc and a vsnprintf for each PUBLISH received and each PUBACK sent, then a Swift String
        // here), which is work on the network thread per message. TLS needs it: its handshake failures are
        // visible only in the log (see `handleLog`).
        if configuration.tls != nil || onLog != nil {
            installLogCallback()
        }
        mosquitto_connect_with_flags_callback_set(handle) { _, context, code, flags in
            guard let context else { return }
            Unmanaged<MosquittoClient>.fromOpaque(context)._withUnsafeGuaranteedRef { client in
                client.handleConnectionAcknowledgement(code: code, flags: flags)
            }
        }
        mosquitto_disconnect_callback_set(handle) { _, context, code in
            guard let context else { return }
            Unmanaged<MosquittoClient>.fromOpaque(context)._withUnsafeGuaranteedRef { client in
                client.handleDisconnect(code: code)
            }
        }
        mosquitto_subscribe_callback_set(handle) { _, context, mid, count, granted in
            guard let context else { return }
            let code: Int32 = if count > 0, let granted { granted[0] } else { 0x80 }
            Unmanaged<MosquittoClient>.fromOpaque(context)._withUnsafeGuaranteedRef { client in
                client.shared.withLock { $0.subscriptions.acknowledged(mid: mid, code: code) }
            }
        }
        mosquitto_publish_v5_callback_set(handle) { _, context, mid, reasonCode, _ in
            guard let context else { return }
            Unmanaged<MosquittoClient>.fromOpaque(context)._withUnsafeGuaranteedRef { client in
                client.shared.withLock { $0.acknowledgements.reported(mid: mid) }
                if reasonCode >= 0x80 { client.rejectedPublishes.add(1, ordering: .relaxed) }
            }
        }
        mosquitto_message_callback_set(handle) { _, context, message in
            guard let context, let message else { return }
            Unmanaged<MosquittoClient>.fromOpaque(context)._withUnsafeGuaranteedRef { client in
                client.deliver(message)
            }
        }
    }

    // MARK: - Network thread

    private func deliver(_ message: UnsafePointer<mosquitto_message>) {
        let topic = UnsafeRawPointer(message.pointee.topic)?.assumingMemoryBound(to: UInt8.self)
        let topicCount = message.pointee.topic.map { strlen($0) } ?? 0
        let payload = UnsafeRawPointer(message.pointee.payload)?.assumingMemoryBound(to: UInt8.self)
        let view = IncomingMessage(
            topic: topic, topicCount: topicCount, payload: payload, payloadCount: Int(max(0, message.pointee.payloadlen)),
            qos: QualityOfService(rawValue: Int(message.pointee.qos)) ?? .atMostOnce, retain: message.pointee.retain)
        onMessage(view)
    }

    private var connectOperation: String { "connect to \(configuration.host):\(configuration.port)" }

    /// Forwards libmosquitto's log line, and turns the first TLS failure of a connect attempt into a
    /// `.connectFailed` event: libmosquitto 2.0.11 logs the OpenSSL error and then either ends its network
    /// thread without a callback (first connect) or retries without a callback (reconnects).
    private func handleLog(level: LogLevel, text: String) {
        onLog?(level, text)
        guard level == .error, text.hasPrefix("OpenSSL Error") || text.hasPrefix("Error: host name verification failed") else { return }
        let willRetry: Bool? = shared.withLock { state in
            if !state.tlsFailureReported && state.tlsErrorText == nil { state.tlsErrorText = text }
            guard !state.connectCallInProgress, !state.connectionAccepted, !state.stopRequested, !state.tlsFailureReported else {
                return nil
            }
            state.tlsFailureReported = true
            defer { state.firstConnectPending = false }
            return !state.firstConnectPending
        }
        if let willRetry {
            let error = MosquittoError(
                kind: .library, code: Int(MOSQ_ERR_TLS.rawValue), message: "A TLS error occurred. \(text)", operation: connectOperation)
            onConnectionEvent(.connectFailed(error, willRetry: willRetry))
        }
    }

    private func handleConnectionAcknowledgement(code: Int32, flags: Int32) {
        if code != 0 {
            shared.withLock { state in
                state.refusalReported = true
                state.firstConnectPending = false
            }
            let operation = connectOperation
            // In MQTT 5 every refusal makes libmosquitto's handle__connack return MOSQ_ERR_PROTOCOL, which
            // ends the network thread; MQTT 3.1.1 refusals (1…5) give MOSQ_ERR_CONN_REFUSED and a retry.
            if configuration.protocolVersion == .v5 {
                onConnectionEvent(.connectFailed(.reason(code, operation), willRetry: false))
            } else {
                onConnectionEvent(.connectFailed(.connack(code, operation), willRetry: !stopRequested))
            }
            return
        }
        let sessionPresent = flags & 1 != 0
        let (stopping, toSend) = shared.withLock { state in
            state.connectionAccepted = true
            state.refusalReported = false
            state.firstConnectPending = false
            state.tlsFailureReported = false
            state.tlsErrorText = nil
            return (state.stopRequested, state.stopRequested ? [] : state.subscriptions.subscriptionsToSend(sessionPresent: sessionPresent))
        }
        if stopping {
            // `stop()` raced with a reconnect that had already begun: end this connection too, so that the
            // network thread sees the disconnected state and `mosquitto_loop_stop` can join it.
            _ = mosquitto_disconnect(handle)
            return
        }
        connected.store(true, ordering: .releasing)
        for subscription in toSend {
            _ = sendSubscription(index: subscription.index, filter: subscription.filter, qos: subscription.qos)
        }
        onConnectionEvent(.connected(sessionPresent: sessionPresent))
    }

    private var stopRequested: Bool { shared.withLock { $0.stopRequested } }

    /// libmosquitto reports its own `MOSQ_ERR_*` codes here, 0 after our DISCONNECT, and the reason code of
    /// a DISCONNECT sent by an MQTT 5 broker (which also ends the network thread).
    private func handleDisconnect(code: Int32) {
        connected.store(false, ordering: .releasing)
        let (wasAccepted, alreadyReported, stopping, tlsErrorText) = shared.withLock { state in
            defer {
                state.connectionAccepted = false
                state.refusalReported = false
                state.firstConnectPending = false
                state.subscriptions.connectionEnded()
            }
            let tlsReported = code == MOSQ_ERR_TLS.rawValue && state.tlsFailureReported
            if code == MOSQ_ERR_TLS.rawValue { state.tlsFailureReported = true }
            return (state.connectionAccepted, state.refusalReported || tlsReported, state.stopRequested, state.tlsErrorText)
        }
        if stopping {
            _ = mosquitto_disconnect(handle)  // see handleConnectionAcknowledgement
            if wasAccepted { onConnectionEvent(.disconnected(nil, willRetry: false)) }
            return
        }
        let operation = "connection to \(configuration.host):\(configuration.port)"
        let error: MosquittoError
        let willRetry: Bool
        if code >= 0x80 || code == 0 {
            error =
                code == 0
                ? MosquittoError(kind: .reasonCode, code: 0, message: "The broker ended the connection.", operation: operation)
                : .reason(code, operation)
            willRetry = false
        } else {
            var libraryError = MosquittoError.library(code, operation)
            if code == MOSQ_ERR_TLS.rawValue, let tlsErrorText { libraryError.message += " " + tlsErrorText }
            error = libraryError
            willRetry = !Self.codesThatEndTheNetworkThread.contains(code)
        }
        if wasAccepted {
            onConnectionEvent(.disconnected(error, willRetry: willRetry))
        } else if !alreadyReported {
            onConnectionEvent(.connectFailed(error, willRetry: willRetry))
        }
    }

    /// The errors on which `mosquitto_loop_forever` returns instead of reconnecting (lib/loop.c, 2.0.11).
    private static let codesThatEndTheNetworkThread: Set<Int32> = [
        MOSQ_ERR_NOMEM.rawValue, MOSQ_ERR_PROTOCOL.rawValue, MOSQ_ERR_INVAL.rawValue, MOSQ_ERR_NOT_FOUND.rawValue,
        MOSQ_ERR_TLS.rawValue, MOSQ_ERR_PAYLOAD_SIZE.rawValue, MOSQ_ERR_NOT_SUPPORTED.rawValue, MOSQ_ERR_AUTH.rawValue,
        MOSQ_ERR_ACL_DENIED.rawValue, MOSQ_ERR_UNKNOWN.rawValue, MOSQ_ERR_EAI.rawValue, MOSQ_ERR_PROXY.rawValue,
    ]
}

@available(*, unavailable, message: "IncomingMessage is a borrowed view; copy its bytes inside the handler")
extension IncomingMessage: Sendable {}
