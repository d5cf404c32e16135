import MosquittoBroker
import Testing

@testable import Mosquitto

@Suite("Matching acknowledgements to publishes and subscriptions")
struct ClientStateTests {
    @Test("an acknowledgement after its publish clears it")
    func acknowledgementAfterPublish() {
        var acknowledgements = PublishAcknowledgements()
        acknowledgements.published(mid: 1, qos: .atLeastOnce)
        acknowledgements.published(mid: 2, qos: .exactlyOnce)
        #expect(acknowledgements.unacknowledged == 2)
        acknowledgements.reported(mid: 2)
        #expect(acknowledgements.unacknowledged == 1)
        acknowledgements.reported(mid: 1)
        #expect(acknowledgements.unacknowledged == 0)
    }

    @Test("an acknowledgement that overtakes its publish is not counted as pending")
    func acknowledgementBeforePublish() {
        var acknowledgements = PublishAcknowledgements()
        acknowledgements.reported(mid: 7)
        acknowledgements.published(mid: 7, qos: .atLeastOnce)
        #expect(acknowledgements.unacknowledged == 0)
        // The slot is free again: the next publish with id 7 waits for its own acknowledgement.
        acknowledgements.published(mid: 7, qos: .atLeastOnce)
        #expect(acknowledgements.unacknowledged == 1)
        acknowledgements.reported(mid: 7)
        #expect(acknowledgements.unacknowledged == 0)
    }

    @Test("QoS 0 publishes are never waited for, whichever side comes first")
    func qualityZero() {
        var acknowledgements = PublishAcknowledgements()
        acknowledgements.published(mid: 3, qos: .atMostOnce)
        #expect(acknowledgements.unacknowledged == 0)
        acknowledgements.reported(mid: 3)
        acknowledgements.reported(mid: 4)
        acknowledgements.published(mid: 4, qos: .atMostOnce)
        #expect(acknowledgements.unacknowledged == 0)
        acknowledgements.published(mid: 3, qos: .atLeastOnce)
        acknowledgements.published(mid: 4, qos: .atLeastOnce)
        #expect(acknowledgements.unacknowledged == 2)
    }

    @Test("acknowledgements in any order, across the whole id range")
    func manyOutOfOrder() {
        var acknowledgements = PublishAcknowledgements()
        let ids: [Int32] = [1, 2, 3, 500, 65_535]
        for id in ids { acknowledgements.published(mid: id, qos: .atLeastOnce) }
        #expect(acknowledgements.unacknowledged == ids.count)
        for (done, id) in ids.reversed().enumerated() {
            acknowledgements.reported(mid: id)
            #expect(acknowledgements.unacknowledged == ids.count - done - 1)
        }
    }

    @Test("subscriptions are sent after a fresh session, and only unconfirmed ones after a resumed one")
    func subscriptionsAcrossConnections() {
        var table = SubscriptionTable()
        let sensors = table.add(filter: "readings/+/+", qos: .atLeastOnce)
        let alerts = table.add(filter: "alerts/#", qos: .atMostOnce)
        #expect(table.add(filter: "readings/+/+", qos: .atLeastOnce) == sensors)  // no duplicate

        let first = table.subscriptionsToSend(sessionPresent: false)
        #expect(first.map(\.filter) == ["readings/+/+", "alerts/#"])
        table.sent(index: sensors, mid: 10)
        table.sent(index: alerts, mid: 11)
        #expect(!table.allAcknowledged)
        table.acknowledged(mid: 10, code: 1)
        #expect(!table.allAcknowledged)
        table.acknowledged(mid: 11, code: 0)
        #expect(table.allAcknowledged)

        let camera = table.add(filter: "cameras/#", qos: .atLeastOnce)
        table.connectionEnded()
        let resumed = table.subscriptionsToSend(sessionPresent: true)
        #expect(resumed.map(\.filter) == ["cameras/#"])
        table.sent(index: camera, mid: 12)
        table.connectionEnded()  // no SUBACK: sent again next time
        #expect(table.subscriptionsToSend(sessionPresent: true).map(\.filter) == ["cameras/#"])
        #expect(table.subscriptionsToSend(sessionPresent: false).count == 3)
    }

    @Test("a SUBACK that overtakes the recorded id, and a refusal")
    func earlyAndRefused() {
        var table = SubscriptionTable()
        let allowed = table.add(filter: "a/#", qos: .atLeastOnce)
        let denied = table.add(filter: "b/#", qos: .atLeastOnce)
        _ = table.subscriptionsToSend(sessionPresent: false)
        table.acknowledged(mid: 5, code: 1)
        table.sent(index: allowed, mid: 5)
        table.sent(index: denied, mid: 6)
        table.acknowledged(mid: 6, code: 0x80)
        #expect(!table.allAcknowledged)
        #expect(table.firstRefusal?.filter == "b/#")
        #expect(table.firstRefusal?.code == 0x80)
        #expect(table.entries.map(\.state) == [.acknowledged, .refused(code: 0x80)])
    }
}
