import MosquittoBroker
import Mosquitto
import Testing

@Suite("Client configuration and errors, without a broker")
struct ConfigurationTests {
    static func configuration() -> MosquittoClient.Configuration {
        MosquittoClient.Configuration(host: "127.0.0.1", port: 1883, clientID: "streetsense-ingest")
    }

    @Test("defaults: MQTT 3.1.1, persistent session, TCP_NODELAY, backoff 1…30 s")
    func defaults() {
        let configuration = Self.configuration()
        #expect(configuration.protocolVersion == .v311)
        #expect(!configuration.cleanSession)
        #expect(configuration.tcpNoDelay)
        #expect(configuration.reconnectDelay == .init(minimumSeconds: 1, maximumSeconds: 30, exponentialBackoff: true))
        #expect(configuration.maxInflightMessages == 20)
    }

    /// Each invalid configuration with the message that names its problem.
    static let invalidConfigurations: [(MosquittoClient.Configuration, String)] = {
        func changed(_ change: (inout MosquittoClient.Configuration) -> Void) -> MosquittoClient.Configuration {
            var configuration = configuration()
            change(&configuration)
            return configuration
        }
        return [
            (changed { $0.clientID = nil }, "a persistent session (cleanSession == false) needs a fixed client id"),
            (changed { $0.port = 0 }, "port 0 is not in 1…65535"),
            (changed { $0.port = 70_000 }, "port 70000 is not in 1…65535"),
            (changed { $0.keepAliveSeconds = 3 }, "keep-alive 3 s is not 0 or 5…65535"),
            (changed { $0.host = "" }, "the broker host is empty"),
            (changed { $0.reconnectDelay.minimumSeconds = 0 }, "reconnect delay 0…30 s needs 1 ≤ minimum ≤ maximum"),
            (changed { $0.tls = .init(caFile: "/x", certificateFile: "/y") }, "a TLS client certificate needs both certificateFile and keyFile"),
        ]
    }()

    @Test("settings libmosquitto would refuse are named before anything is sent", arguments: invalidConfigurations)
    func invalid(configuration: MosquittoClient.Configuration, message: String) {
        let error = #expect(throws: MosquittoError.self) { try MosquittoClient(configuration: configuration) }
        #expect(error?.kind == .invalidConfiguration)
        #expect(error?.message == message)
    }

    @Test("a TLS CA file that does not exist is refused when the client is made")
    func missingCAFile() {
        var configuration = Self.configuration()
        configuration.tls = .init(caFile: "/nonexistent/ca.crt")
        let error = #expect(throws: MosquittoError.self) { try MosquittoClient(configuration: configuration) }
        #expect(error?.kind == .invalidConfiguration)
        #expect(error?.operation == "set TLS files (are they readable?)")
    }

    @Test("the password appears in no description, mirror or dump")
    func passwordIsRedacted() {
        var configuration = Self.configuration()
        configuration.credentials = .init(username: "gateway", password: "s3cret-pa55")
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in [configuration.description, String(describing: configuration), String(reflecting: configuration), dumped] {
            #expect(!text.contains("s3cret-pa55"))
        }
        #expect(configuration.description.contains("username: gateway"))
        #expect(configuration.description.contains("password: <redacted>"))
    }

    @Test("invalid topics and filters are errors, not crashes")
    func invalidTopics() throws {
        let client = try MosquittoClient(configuration: Self.configuration())
        let filterError = #expect(throws: MosquittoError.self) { try client.subscribe("readings/#/more", qos: .atLeastOnce) }
        #expect(filterError?.code == 3)
        #expect(filterError?.message == "Invalid function arguments provided.")
        let topicError = #expect(throws: MosquittoError.self) { try client.publish(topic: "readings/+", payload: [1], qos: .atLeastOnce) }
        #expect(topicError?.description == "publish to \"readings/+\": Invalid function arguments provided. (libmosquitto error 3)")
    }

    @Test("before start, QoS 0 fails with no connection while QoS 1 is queued for later")
    func publishBeforeStart() throws {
        let client = try MosquittoClient(configuration: Self.configuration())
        let error = #expect(throws: MosquittoError.self) { try client.publish(topic: "a", payload: [1], qos: .atMostOnce) }
        #expect(error?.code == 4)
        let first = try client.publish(topic: "a", payload: [1], qos: .atLeastOnce)
        let second = try client.publish(topic: "a", payload: [], qos: .atLeastOnce)
        #expect(second != first)
        #expect(client.unacknowledgedPublishCount == 2)
        #expect(!client.isConnected)
        client.stop()  // never started: nothing to do
    }
}
