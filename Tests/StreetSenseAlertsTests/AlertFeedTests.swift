import Foundation
import StreetSenseCore
import Testing

@testable import StreetSenseAlerts

/// An event of alert 1 with id `id` (a raise for id 1, escalations after).
private func event(_ id: Int64, subject: String = square) -> AlertEvent {
    AlertEvent(
        id: AlertEventID(id), alertID: AlertID(1), rule: .crowdDensity, subject: .zone(subject), metric: nil,
        severity: id == 1 ? .warning : .major, transition: id == 1 ? .raised : .escalated, at: at(Double(id)),
        value: 2.5 + Double(id) / 10, peak: 2.5 + Double(id) / 10, acknowledgement: nil, fault: nil)
}

/// Takes `count` events from a subscription's stream (fails the test after 5 s).
private func take(_ count: Int, from subscription: AlertSubscription) async throws -> [AlertEvent] {
    try await withThrowingTaskGroup(of: [AlertEvent].self) { group in
        group.addTask {
            var taken: [AlertEvent] = []
            for await event in subscription.events {
                taken.append(event)
                if taken.count == count { break }
            }
            return taken
        }
        group.addTask {
            try await Task.sleep(for: .seconds(5))
            throw CancellationError()
        }
        let first = try await group.next() ?? []
        group.cancelAll()
        return first
    }
}

@Suite("Alert feed: live delivery and resuming without gaps or repeats")
struct AlertFeedTests {
    @Test("a subscriber gets every later event once, in order; events at or below the last id are ignored")
    func liveInOrder() async throws {
        let feed = AlertFeed(capacity: 8, lastEventID: AlertEventID(0))
        let subscription = feed.subscribe(after: nil)
        #expect(subscription.backlog.isEmpty && subscription.missing == nil)
        feed.publish([event(1), event(2)])
        feed.publish([event(2), event(3)])  // 2 again: ignored
        let got = try await take(3, from: subscription)
        #expect(got.map(\.id.rawValue) == [1, 2, 3])
        #expect(feed.lastEventID == AlertEventID(3))
    }

    @Test("resuming after an id the ring still holds gives exactly the later events as backlog")
    func resumeFromRing() async throws {
        let feed = AlertFeed(capacity: 8, lastEventID: AlertEventID(0))
        feed.publish((1...5).map { event($0) })
        let subscription = feed.subscribe(after: AlertEventID(2))
        #expect(subscription.missing == nil)
        #expect(subscription.backlog.map(\.id.rawValue) == [3, 4, 5])
        feed.publish([event(6)])
        #expect(try await take(1, from: subscription).map(\.id.rawValue) == [6])
    }

    @Test("resuming from before the ring names the ids to read from the store, then the ring's events")
    func resumeBeforeRing() {
        let feed = AlertFeed(capacity: 4, lastEventID: AlertEventID(0))
        feed.publish((1...10).map { event($0) })  // the ring keeps 7...10
        let subscription = feed.subscribe(after: AlertEventID(3))
        #expect(subscription.missing == AlertEventID(4)...AlertEventID(6))
        #expect(subscription.backlog.map(\.id.rawValue) == [7, 8, 9, 10])
        // After a restart the ring is empty: everything after the id is in the store.
        let restarted = AlertFeed(capacity: 4, lastEventID: AlertEventID(10))
        let resumed = restarted.subscribe(after: AlertEventID(5))
        #expect(resumed.missing == AlertEventID(6)...AlertEventID(10))
        #expect(resumed.backlog.isEmpty)
        // Up to date: nothing missing, nothing in the backlog.
        let current = restarted.subscribe(after: AlertEventID(10))
        #expect(current.missing == nil && current.backlog.isEmpty)
    }

    @Test("a reader more than its buffer behind is ended as too slow; others keep receiving")
    func slowReaderIsEnded() async throws {
        let feed = AlertFeed(capacity: 64, lastEventID: AlertEventID(0))
        let slow = feed.subscribe(after: nil, bufferLimit: 2)
        let fast = feed.subscribe(after: nil, bufferLimit: 100)
        #expect(feed.readerCount == 2)
        feed.publish((1...5).map { event($0) })
        #expect(slow.endReason == .tooSlow)
        #expect(feed.readerCount == 1)
        var slowGot: [Int64] = []
        for await e in slow.events { slowGot.append(e.id.rawValue) }
        #expect(slowGot == [1, 2])  // what it had buffered; it resumes after 2
        #expect(try await take(5, from: fast).map(\.id.rawValue) == [1, 2, 3, 4, 5])
        let resumed = feed.subscribe(after: AlertEventID(2))
        #expect(resumed.backlog.map(\.id.rawValue) == [3, 4, 5])
    }

    @Test("cancelling ends the stream and removes the reader")
    func cancel() async {
        let feed = AlertFeed()
        let subscription = feed.subscribe(after: nil)
        #expect(feed.readerCount == 1)
        subscription.cancel()
        for await _ in subscription.events { Issue.record("no event expected") }
        #expect(subscription.endReason == .cancelled)
        #expect(feed.readerCount == 0)
    }

    @Test("the CloudEvents envelope parses as JSON with the alert's fields")
    func cloudEvent() throws {
        var e = event(2, subject: "kamppi \"square\"")
        e.acknowledgement = Acknowledgement(by: "operator-1", at: at(3), note: "line1\nline2")
        let text = AlertCloudEvent.json(e, source: "/streetsense/test")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["specversion"] as? String == "1.0")
        #expect(object["id"] as? String == "2")
        #expect(object["type"] as? String == "org.streetsense.alert.escalated")
        #expect(object["subject"] as? String == "zone/kamppi \"square\"")
        #expect(object["time"] as? String == at(2).rfc3339)
        let data = try #require(object["data"] as? [String: Any])
        #expect(data["alert_id"] as? Int == 1)
        #expect(data["level"] as? String == "high")
        #expect(data["state"] as? String == "active")
        #expect(data["value"] as? Double == 2.7)
        let ack = try #require(data["acknowledgement"] as? [String: Any])
        #expect(ack["note"] as? String == "line1\nline2")
        #expect(data["metric"] is NSNull)
    }
}
