extension MosquittoClient {
    /// Everything a client needs to connect: broker address, identity, session, security and tuning.
    ///
    /// The defaults suit a long-lived subscriber on a broker nearby: MQTT 3.1.1, a persistent session
    /// (`cleanSession == false`, which needs a fixed `clientID`), `TCP_NODELAY` on, and reconnect backoff
    /// from 1 s to 30 s. `description` never shows the password.
    public struct Configuration: Sendable, CustomStringConvertible, CustomReflectable {
        /// The MQTT protocol version of the CONNECT packet.
        public enum ProtocolVersion: Sendable, Hashable, CustomStringConvertible {
            /// MQTT 3.1.1: a persistent session is `cleanSession == false` and a fixed client id.
            case v311
            /// MQTT 5: a persistent session also needs `sessionExpirySeconds > 0`, sent as the Session Expiry
            /// Interval on CONNECT; without it the broker ends the session at disconnect.
            case v5

            public var description: String { self == .v311 ? "MQTT 3.1.1" : "MQTT 5" }
        }

        /// A username and its password. The password is never part of any description or log line.
        public struct Credentials: Sendable, Hashable, CustomStringConvertible, CustomReflectable {
            public var username: String
            public var password: String?

            public init(username: String, password: String?) {
                self.username = username
                self.password = password
            }

            public var description: String {
                "Credentials(username: \(username), password: \(password == nil ? "none" : "<redacted>"))"
            }

            public var customMirror: Mirror {
                Mirror(self, children: ["username": username, "password": password == nil ? "none" : "<redacted>"])
            }
        }

        /// TLS settings. Paths are files in PEM format.
        public struct TLS: Sendable, Hashable {
            /// Certificate authorities to trust; `nil` trusts the operating system's store.
            public var caFile: String?
            /// A client certificate, for brokers that require one (`require_certificate true`).
            public var certificateFile: String?
            /// The private key of `certificateFile`.
            public var keyFile: String?
            /// Skips verification of the broker's certificate chain and host name. For tests only: it makes
            /// the connection open to anyone in the middle.
            public var insecureSkipVerify: Bool

            public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, insecureSkipVerify: Bool = false) {
                self.caFile = caFile
                self.certificateFile = certificateFile
                self.keyFile = keyFile
                self.insecureSkipVerify = insecureSkipVerify
            }
        }

        /// How long the library thread waits between reconnect attempts.
        ///
        /// With `exponentialBackoff`, libmosquitto 2.0 waits `minimumSeconds × n²` before attempt n (1, 4, 9,
        /// 16, 25 s…), capped at `maximumSeconds`; without it, `minimumSeconds × n`. The count restarts after
        /// every accepted CONNACK.
        public struct ReconnectDelay: Sendable, Hashable {
            public var minimumSeconds: Int
            public var maximumSeconds: Int
            public var exponentialBackoff: Bool

            public init(minimumSeconds: Int = 1, maximumSeconds: Int = 30, exponentialBackoff: Bool = true) {
                self.minimumSeconds = minimumSeconds
                self.maximumSeconds = maximumSeconds
                self.exponentialBackoff = exponentialBackoff
            }
        }

        public var host: String
        public var port: Int
        /// The client identifier. Required when `cleanSession` is false, since the broker finds a stored
        /// session by it; `nil` lets the library or broker pick one.
        public var clientID: String?
        /// `true` starts a fresh session at every connect and drops it at disconnect (Clean Start in MQTT 5).
        public var cleanSession: Bool
        public var protocolVersion: ProtocolVersion
        /// MQTT 5 only: how long the broker keeps the session after a disconnect. Sent on CONNECT when
        /// `cleanSession` is false and this is above 0; `UInt32.max` means never expire.
        public var sessionExpirySeconds: UInt32
        /// Seconds between PINGREQs when idle: 0 (never), or 5…65535.
        public var keepAliveSeconds: Int
        public var credentials: Credentials?
        public var tls: TLS?
        /// Sets `TCP_NODELAY` on the socket. Without it on both ends, small messages wait up to 40 ms.
        public var tcpNoDelay: Bool
        public var reconnectDelay: ReconnectDelay
        /// How many QoS 1 and 2 publishes may be unacknowledged at once; more wait in the library's queue.
        /// libmosquitto's default is 20. In MQTT 5 the broker's Receive Maximum may lower it.
        public var maxInflightMessages: Int
        /// MQTT 5 only: how many QoS 1 and 2 messages the broker may have unacknowledged towards this client
        /// (Receive Maximum). `nil` keeps the library's default of 20.
        public var receiveMaximum: Int?

        public init(
            host: String,
            port: Int = 1883,
            clientID: String? = nil,
            cleanSession: Bool = false,
            protocolVersion: ProtocolVersion = .v311,
            sessionExpirySeconds: UInt32 = 86_400,
            keepAliveSeconds: Int = 30,
            credentials: Credentials? = nil,
            tls: TLS? = nil,
            tcpNoDelay: Bool = true,
            reconnectDelay: ReconnectDelay = ReconnectDelay(),
            maxInflightMessages: Int = 20,
            receiveMaximum: Int? = nil
        ) {
            self.host = host
            self.port = port
            self.clientID = clientID
            self.cleanSession = cleanSession
            self.protocolVersion = protocolVersion
            self.sessionExpirySeconds = sessionExpirySeconds
            self.keepAliveSeconds = keepAliveSeconds
            self.credentials = credentials
            self.tls = tls
            self.tcpNoDelay = tcpNoDelay
            self.reconnectDelay = reconnectDelay
            self.maxInflightMessages = maxInflightMessages
            self.receiveMaximum = receiveMaximum
        }

        /// Whether CONNECT carries a Session Expiry Interval.
        var sendsSessionExpiry: Bool {
            protocolVersion == .v5 && !cleanSession && sessionExpirySeconds > 0
        }

        /// Checks what libmosquitto would reject later with a bare `MOSQ_ERR_INVAL`, and says what is wrong.
        func validate() throws(MosquittoError) {
            if host.isEmpty { throw .invalidConfiguration("the broker host is empty") }
            if host.utf8.contains(0) { throw .invalidConfiguration("the broker host contains a NUL byte") }
            if !(1...65_535).contains(port) { throw .invalidConfiguration("port \(port) is not in 1…65535") }
            if let clientID {
                if clientID.isEmpty { throw .invalidConfiguration("the client id is empty; use nil to let the broker pick one") }
                if clientID.utf8.count > 65_535 || clientID.utf8.contains(0) {
                    throw .invalidConfiguration("the client id is longer than 65535 bytes or contains a NUL byte")
                }
            } else if !cleanSession {
                throw .invalidConfiguration("a persistent session (cleanSession == false) needs a fixed client id")
            }
            if keepAliveSeconds != 0 && !(5...65_535).contains(keepAliveSeconds) {
                throw .invalidConfiguration("keep-alive \(keepAliveSeconds) s is not 0 or 5…65535")
            }
            if reconnectDelay.minimumSeconds < 1 || reconnectDelay.maximumSeconds < reconnectDelay.minimumSeconds {
                throw .invalidConfiguration(
                    "reconnect delay \(reconnectDelay.minimumSeconds)…\(reconnectDelay.maximumSeconds) s needs 1 ≤ minimum ≤ maximum")
            }
            if !(1...65_535).contains(maxInflightMessages) {
                throw .invalidConfiguration("max inflight messages \(maxInflightMessages) is not in 1…65535")
            }
            if let receiveMaximum, !(1...65_535).contains(receiveMaximum) {
                throw .invalidConfiguration("receive maximum \(receiveMaximum) is not in 1…65535")
            }
            if let tls, (tls.certificateFile == nil) != (tls.keyFile == nil) {
                throw .invalidConfiguration("a TLS client certificate needs both certificateFile and keyFile")
            }
        }

        public var description: String {
            var parts = [
                "host: \(host)", "port: \(port)", "clientID: \(clientID ?? "none")", "cleanSession: \(cleanSession)",
                "protocol: \(protocolVersion)",
            ]
            if protocolVersion == .v5 { parts.append("sessionExpirySeconds: \(sessionExpirySeconds)") }
            parts.append("keepAliveSeconds: \(keepAliveSeconds)")
            if let credentials { parts.append("credentials: \(credentials)") }
            if let tls { parts.append("tls: \(tls)") }
            return "MosquittoClient.Configuration(\(parts.joined(separator: ", ")))"
        }

        public var customMirror: Mirror {
            Mirror(
                self,
                children: [
                    "host": host, "port": port, "clientID": clientID as Any, "cleanSession": cleanSession,
                    "protocolVersion": protocolVersion, "sessionExpirySeconds": sessionExpirySeconds,
                    "keepAliveSeconds": keepAliveSeconds, "credentials": credentials as Any, "tls": tls as Any,
                    "tcpNoDelay": tcpNoDelay, "reconnectDelay": reconnectDelay, "maxInflightMessages": maxInflightMessages,
                    "receiveMaximum": receiveMaximum as Any,
                ])
        }
    }
}
