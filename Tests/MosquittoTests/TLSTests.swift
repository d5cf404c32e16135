import MosquittoBroker
import Foundation
import Mosquitto
import StreetSenseTesting
import Testing

extension BrokerTests {
    @Suite("TLS")
    struct TLSTests {
        @Test("a client that trusts the broker's CA and presents a certificate gets its messages through")
        func verifiedRoundTrip() async throws {
            let directory = try TestCertificates.makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let certificates = try TestCertificates.generate(in: directory)
            let broker = try await TestBroker.start(
                .init(
                    tls: .init(
                        caFile: certificates.caFile, certificateFile: certificates.serverCertificateFile,
                        keyFile: certificates.serverKeyFile, requireClientCertificate: true)))
            var configuration = broker.clientConfiguration(cleanSession: true)
            configuration.port = try #require(broker.tlsPort)
            configuration.tls = .init(
                caFile: certificates.caFile, certificateFile: certificates.clientCertificateFile, keyFile: certificates.clientKeyFile)
            let subscriber = try TestSubscriber(configuration: configuration)
            defer { subscriber.stop() }
            try await subscriber.start(subscribingTo: ["tls/#"])

            let publisher = try await TestPublisher.connected(to: broker)  // plain TCP listener, same broker
            defer { publisher.stop() }
            try publisher.publish(topic: "tls/secret", payload: [0x00, 0x01, 0xFF])
            let received = try await subscriber.waitForMessages(count: 1, timeout: .seconds(30))
            #expect(received == [TestSubscriber.Message(topic: "tls/secret", payload: [0x00, 0x01, 0xFF], qos: .atLeastOnce)])
        }

        @Test("a broker certificate from an unknown CA is a connect failure; insecureSkipVerify accepts it")
        func unknownAuthority() async throws {
            let directory = try TestCertificates.makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            for name in ["broker", "other"] { try FileManager.default.createDirectory(atPath: directory + "/" + name, withIntermediateDirectories: false) }
            let brokerCertificates = try TestCertificates.generate(in: directory + "/broker", name: "Broker CA")
            let otherCertificates = try TestCertificates.generate(in: directory + "/other", name: "Other CA")
            let broker = try await TestBroker.start(
                .init(
                    tls: .init(
                        caFile: brokerCertificates.caFile, certificateFile: brokerCertificates.serverCertificateFile,
                        keyFile: brokerCertificates.serverKeyFile)))
            var configuration = broker.clientConfiguration(cleanSession: true)
            configuration.port = try #require(broker.tlsPort)
            configuration.tls = .init(caFile: otherCertificates.caFile)

            let events = ConnectionEventLog()
            let distrustful = try MosquittoClient(configuration: configuration, onConnectionEvent: { events.record($0) })
            defer { distrustful.stop() }
            try distrustful.start()
            let failure = try await events.waitForEvent("the TLS failure", timeout: .seconds(30)) { $0.connectFailure != nil }
            // Depending on timing, libmosquitto 2.0.11 fails the handshake inside `mosquitto_connect_async` (and
            // retries) or inside its network thread (which then ends); either way it is MOSQ_ERR_TLS with
            // OpenSSL's reason, which libmosquitto only logs.
            let error = try #require(failure.connectFailure)
            #expect(error.kind == .library)
            #expect(error.code == 8)
            #expect(error.message.hasPrefix("A TLS error occurred."))
            #expect(error.message.contains("certificate verify failed"))
            #expect(events.all.count == 1)
            #expect(!distrustful.isConnected)

            configuration.tls?.insecureSkipVerify = true
            let trusting = try TestSubscriber(configuration: configuration)
            defer { trusting.stop() }
            try await trusting.start(subscribingTo: ["tls/#"])
            #expect(trusting.client.isConnected)
        }
    }
}
