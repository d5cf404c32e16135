import MosquittoBroker
import Mosquitto
import StreetSenseTesting
import Testing

extension BrokerTests {
    @Suite("Username and password")
    struct AuthenticationTests {
        static let users = ["sensor-gateway": "correct horse battery"]

        @Test("the right password connects and delivers", arguments: [MosquittoClient.Configuration.ProtocolVersion.v311, .v5])
        func rightPassword(version: MosquittoClient.Configuration.ProtocolVersion) async throws {
            let broker = try await TestBroker.start(.init(users: Self.users))
            var configuration = broker.clientConfiguration(cleanSession: true, protocolVersion: version)
            configuration.credentials = .init(username: "sensor-gateway", password: "correct horse battery")
            let subscriber = try TestSubscriber(configuration: configuration)
            defer { subscriber.stop() }
            try await subscriber.start(subscribingTo: ["auth/#"])

            configuration.clientID = TestBroker.uniqueClientID("auth-publisher")
            let publisher = try TestPublisher(configuration: configuration)
            defer { publisher.stop() }
            try await publisher.start()
            try publisher.publish(topic: "auth/ok", text: "hello")
            let received = try await subscriber.waitForMessages(count: 1, timeout: .seconds(30))
            #expect(received == [TestSubscriber.Message(topic: "auth/ok", payload: Array("hello".utf8), qos: .atLeastOnce)])
        }

        @Test("a wrong password is a connect failure with the broker's reason")
        func wrongPasswordMQTT311() async throws {
            let broker = try await TestBroker.start(.init(users: Self.users))
            let (failure, willRetry, client) = try await connectWithWrongPassword(broker: broker, version: .v311)
            defer { client.stop() }
            #expect(failure.kind == .connectionRefused)
            #expect(failure.code == 5)
            #expect(failure.message == "Connection Refused: not authorised.")
            #expect(willRetry)  // libmosquitto keeps retrying MQTT 3.1.1 refusals, with backoff
            #expect(!client.isConnected)
            #expect(!failure.description.contains("wrong-secret"))
        }

        /// mosquitto 2.0.11 answers a wrong password with 135 (not authorized), not 134 (bad user name or
        /// password), and libmosquitto ends its network thread on any MQTT 5 refusal.
        @Test("MQTT 5: a wrong password is reason code 135 and libmosquitto stops retrying")
        func wrongPasswordMQTT5() async throws {
            let broker = try await TestBroker.start(.init(users: Self.users))
            let (failure, willRetry, client) = try await connectWithWrongPassword(broker: broker, version: .v5)
            defer { client.stop() }
            #expect(failure.kind == .reasonCode)
            #expect(failure.code == 135)
            #expect(failure.message == "Not authorized")
            #expect(!willRetry)
            #expect(!client.isConnected)
        }

        private func connectWithWrongPassword(
            broker: TestBroker, version: MosquittoClient.Configuration.ProtocolVersion
        ) async throws -> (MosquittoError, Bool, MosquittoClient) {
            var configuration = broker.clientConfiguration(cleanSession: true, protocolVersion: version)
            configuration.credentials = .init(username: "sensor-gateway", password: "wrong-secret")
            #expect(!configuration.description.contains("wrong-secret"))
            let events = ConnectionEventLog()
            let client = try MosquittoClient(configuration: configuration, onConnectionEvent: { events.record($0) })
            try client.start()
            let event = try await events.waitForEvent("the refusal", timeout: .seconds(30)) { $0.connectFailure != nil }
            guard case .connectFailed(let error, let willRetry) = event else { throw WaitTimeout(what: "refusal", timeout: .zero, detail: "\(event)") }
            try await waitUntil("the broker to log the refusal", timeout: .seconds(30), detail: { broker.log }) {
                broker.log.contains("not authorised")
            }
            return (error, willRetry, client)
        }
    }
}
