import StreetSenseAlerts
import StreetSenseCore
import StreetSenseDelivery
import Testing

/// The pure parts of delivery: topics, backoff, the drop-oldest queue, the signature.
@Suite("Delivery parts")
struct DeliveryPartsTests {
    @Test("a zone and a sensor subject give their alert topics")
    func topics() {
        #expect(AlertTopic.topic(for: .zone("plaza"), prefix: "streetsense/v1") == "streetsense/v1/alerts/zone/plaza")
        let sensor = AlertSubject.sensor(SensorAddress(pilot: "helsinki-lab", sensor: "cam-01"))
        #expect(AlertTopic.topic(for: sensor, prefix: "streetsense/v1/") == "streetsense/v1/alerts/sensor/helsinki-lab/cam-01")
        #expect(AlertTopic.filter(prefix: "streetsense/v1") == "streetsense/v1/alerts/#")
    }

    @Test("backoff doubles from 1 s up to 60 s, and jitter only shortens it")
    func backoff() {
        let plain = RetryBackoff(jitter: 0)
        let waits = (1...8).map { plain.nominalDelay(beforeRetry: $0) }
        #expect(waits == [1, 2, 4, 8, 16, 32, 60, 60].map { Duration.seconds($0) })
        var random = SystemRandomNumberGenerator()
        #expect(plain.delay(beforeRetry: 3, using: &random) == .seconds(4))
        let jittered = RetryBackoff()
        for retry in 1...10 {
            let nominal = jittered.nominalDelay(beforeRetry: retry)
            let wait = jittered.delay(beforeRetry: retry, using: &random)
            #expect(wait <= nominal && wait >= nominal * 0.8, "retry \(retry): \(wait) vs \(nominal)")
        }
        let fast = RetryBackoff(initial: .milliseconds(10), factor: 3, maximum: .milliseconds(100), jitter: 0)
        #expect((1...4).map { fast.nominalDelay(beforeRetry: $0) } == [10, 30, 90, 100].map { Duration.milliseconds($0) })
    }

    @Test("a full queue drops its oldest element and counts it")
    func dropOldest() {
        var queue = DropOldestQueue<Int>(capacity: 3)
        for value in 1...5 { queue.append(value) }
        #expect(queue.count == 3 && queue.dropped == 2)
        #expect(queue.popFirst() == 3)
        queue.append(6)
        #expect(queue.dropped == 2)
        #expect([queue.popFirst(), queue.popFirst(), queue.popFirst(), queue.popFirst()] == [4, 5, 6, nil])
    }

    @Test("the signature is HMAC-SHA256 in hex (RFC 4231 test case 2)")
    func signature() {
        #expect(
            WebhookSignature.value(body: Array("what do ya want for nothing?".utf8), secret: "Jefe")
                == "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }
}
