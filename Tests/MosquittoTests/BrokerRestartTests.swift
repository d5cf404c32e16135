import MosquittoBroker
import Mosquitto
import StreetSenseTesting
import Testing

extension BrokerTests {
    @Suite("Broker restarts")
    struct BrokerRestartTests {
        @Test(
            "the client reconnects by itself and its persistent session still delivers",
            arguments: [MosquittoClient.Configuration.ProtocolVersion.v311, .v5])
        func reconnectAfterRestart(version: MosquittoClient.Configuration.ProtocolVersion) async throws {
            let broker = try await TestBroker.start(.init(persistence: true))
            let configuration = broker.clientConfiguration(
                clientID: TestBroker.uniqueClientID("restart"), cleanSession: false, protocolVersion: version, sessionExpirySeconds: 300)
            let subscriber = try TestSubscriber(configuration: configuration)
            defer { subscriber.stop() }
            try await subscriber.start(subscribingTo: ["restart/#"], qos: .atLeastOnce)
            let publisher = try await TestPublisher.connected(to: broker, protocolVersion: version)
            defer { publisher.stop() }

            try await broker.restart()  // SIGTERM: mosquitto saves sessions, then starts again on the same port
            try await subscriber.events.waitForEvent("the automatic reconnect", timeout: .seconds(10)) {
                $0 == .connected(sessionPresent: true)
            }
            let events = subscriber.events.all
            #expect(events.first == .connected(sessionPresent: false))
            let disconnectIndex = try #require(events.firstIndex(where: { $0.isDisconnected }))
            let reconnectIndex = try #require(events.firstIndex(of: .connected(sessionPresent: true)))
            #expect(disconnectIndex < reconnectIndex)
            if case .disconnected(let error, let willRetry) = events[disconnectIndex] {
                #expect(error != nil)
                #expect(willRetry)
            }
            #expect(subscriber.client.isConnected)

            // The subscription came back with the session (no SUBSCRIBE was sent again).
            try await waitUntil("the publisher to reconnect", timeout: .seconds(10)) { publisher.client.isConnected }
            for index in 0..<50 { try publisher.publish(topic: "restart/sensor-1", text: "after-\(index)") }
            try publisher.publish(topic: "restart/sensor-1", text: "marker-1")
            try await publisher.waitForAcknowledgements()
            let received = try await subscriber.waitForMessages(count: 51, timeout: .seconds(30))
            let firstSession = received.map { String(decoding: $0.payload, as: UTF8.self) }
            #expect(firstSession == (0..<50).map { "after-\($0)" } + ["marker-1"])

            // The reconnect still carried the session expiry (MQTT 5): the session outlives a disconnect.
            subscriber.stop()
            for index in 0..<10 { try publisher.publish(topic: "restart/sensor-1", text: "away-\(index)") }
            try await publisher.waitForAcknowledgements()
            let again = try TestSubscriber(configuration: configuration)
            defer { again.stop() }
            try await again.start()
            #expect(again.events.all.first == .connected(sessionPresent: true))
            try publisher.publish(topic: "restart/sensor-1", text: "marker-2")
            try await waitUntil("marker-2", timeout: .seconds(30), detail: { "\(again.messages)" }) {
                again.messages.last.map { String(decoding: $0.payload, as: UTF8.self) } == "marker-2"
            }
            // Rarely, the last PUBACKs of the first connection never leave libmosquitto before `stop()` closes
            // the socket, and the broker sends those messages again: duplicates of what was already handled,
            // never losses. Everything else arrives exactly once, in order.
            let secondSession = again.messages.map { String(decoding: $0.payload, as: UTF8.self) }
            let redelivered = secondSession.filter { firstSession.contains($0) }
            #expect(redelivered == Array(firstSession.suffix(redelivered.count)))
            #expect(secondSession.filter { !firstSession.contains($0) } == (0..<10).map { "away-\($0)" } + ["marker-2"])
        }

        @Test("a connect to a port where nothing listens is reported and retried, not thrown")
        func nothingListening() async throws {
            let port = try FreePort.loopback()
            let events = ConnectionEventLog()
            let client = try MosquittoClient(
                configuration: .init(host: "127.0.0.1", port: port, clientID: "nobody-home", cleanSession: true),
                onConnectionEvent: { events.record($0) })
            defer { client.stop() }
            try client.start()
            let failure = try await events.waitForEvent("a connect failure", timeout: .seconds(30)) { $0.connectFailure != nil }
            guard case .connectFailed(let error, let willRetry) = failure else { Issue.record("not a failure: \(failure)"); return }
            #expect(error.kind == .library)
            #expect(error.message == "Connection refused")
            #expect(willRetry)
            #expect(!client.isConnected)
            client.stop()
            client.stop()  // stopping twice is harmless
        }
    }
}
