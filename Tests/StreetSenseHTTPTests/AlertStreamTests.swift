import HTTPTypes
import HummingbirdTesting
import StreetSenseAlerts
import StreetSenseCore
import StreetSenseHTTP
import Testing

/// `GET /api/v1/alerts/stream` over a live server on a free loopback port, read as raw bytes.
@Suite(.serialized) struct AlertStreamTests {
    static let source = "/streetsense/test"
    static let settings = AlertStreamSettings(cloudEventSource: source, heartbeatInterval: .milliseconds(100), maximumClients: 2)

    /// The eight events of ``AlertHistory`` and a ninth (the crowd alert clears).
    static let events: [AlertEvent] = {
        var script = AlertHistory.script()
        script.transition(AlertID(1), .cleared, at: 90, value: 1.2)
        return script.events
    }()

    static func expectDocumented(_ received: SSEConnection.Received, _ api: APIClient, sourceLocation: SourceLocation = #_sourceLocation) {
        let violations = api.contract.violations(
            method: "GET", path: "/api/v1/alerts/stream", status: received.status ?? 0, headers: received.headers, body: [])
        #expect(violations.isEmpty, "\(violations)", sourceLocation: sourceLocation)
        for data in received.eventData {
            let value = try? JSONValue.parse(data.utf8)
            let errors = api.contract.validator.errors(
                of: value ?? .null, against: .object(["$ref": .string("#/components/schemas/AlertCloudEvent")]))
            #expect(errors.isEmpty, "\(errors)", sourceLocation: sourceLocation)
        }
    }

    @Test func newEventsArriveAsCloudEvents() async throws {
        let alerts = InMemoryAlerts()
        alerts.record(Array(Self.events[0..<2]))
        try await withAPI(.withAlerts(alerts), alertStream: Self.settings, live: true) { api in
            let connection = try SSEConnection(port: try #require(api.client.port), path: "/api/v1/alerts/stream")
            defer { connection.close() }
            try await waitUntil("the subscription") { alerts.feed.readerCount == 1 }
            alerts.record(Array(Self.events[2..<5]))
            let received = try await connection.wait("three events") { $0.eventIDs.count >= 3 }
            #expect(received.status == 200)
            #expect(received.headers["content-type"] == "text/event-stream")
            #expect(received.headers["cache-control"] == "no-cache")
            // Events from before the connection are not sent without Last-Event-ID.
            #expect(received.eventIDs == [3, 4, 5])
            let alertBlocks = received.events.filter { $0.contains { $0.0 == "id" } }
            #expect(alertBlocks.allSatisfy { $0.map { field in field.0 } == ["id", "event", "data"] && $0[1].1 == "alert" })
            #expect(received.eventData == Self.events[2..<5].map { AlertCloudEvent.json($0, source: Self.source) })
            let escalated = try JSONValue.parse(received.eventData[0].utf8)
            #expect(escalated["id"] == .string("3"))
            #expect(escalated["type"] == .string("org.streetsense.alert.escalated"))
            #expect(escalated["subject"] == .string("zone/kamppi-square"))
            #expect(escalated["source"] == .string(Self.source))
            #expect(escalated["time"] == .string("2026-11-22T10:00:30.000Z"))
            #expect(escalated["data"]?["alert_id"] == .number(1))
            #expect(escalated["data"]?["level"] == .string("high"))
            #expect(escalated["data"]?["value"] == .number(3.7))
            Self.expectDocumented(received, api)
        }
    }

    @Test func resumesFromTheStoreThenTheFeedWithoutGapsOrRepeats() async throws {
        // The feed keeps three events; 4 and 5 reach the store only 300 ms later (a store writer that has not
        // committed yet), so a client resuming after 1 reads 2…5 from the store, reading again until 4 and 5 are
        // there, then 6…8 from the feed, then live events.
        let alerts = InMemoryAlerts(feedCapacity: 3)
        var settings = Self.settings
        settings.maximumClients = 4
        try await withAPI(.withAlerts(alerts), alertStream: settings, live: true) { api in
            let port = try #require(api.client.port)
            alerts.record(Array(Self.events[0..<3]))
            alerts.record(Array(Self.events[3..<5]), storeDelay: .milliseconds(300))
            alerts.record(Array(Self.events[5..<8]))
            let resumed = try SSEConnection(port: port, path: "/api/v1/alerts/stream", headers: ["Last-Event-ID": "1"])
            defer { resumed.close() }
            let caughtUp = try await resumed.wait("events 2…8") { $0.eventIDs.count >= 7 }
            #expect(caughtUp.eventIDs == [2, 3, 4, 5, 6, 7, 8])
            #expect(alerts.storeReads >= 2)
            #expect(caughtUp.eventData == Self.events[1..<8].map { AlertCloudEvent.json($0, source: Self.source) })

            // The query parameter resumes too; the header wins over it.
            let byQuery = try SSEConnection(port: port, path: "/api/v1/alerts/stream?last_event_id=5")
            defer { byQuery.close() }
            let both = try SSEConnection(port: port, path: "/api/v1/alerts/stream?last_event_id=2", headers: ["Last-Event-ID": "7"])
            defer { both.close() }
            // An id beyond the newest (a client of an older database) gets new events from now on.
            let ahead = try SSEConnection(port: port, path: "/api/v1/alerts/stream", headers: ["Last-Event-ID": "100"])
            defer { ahead.close() }
            try await waitUntil("four subscriptions") { alerts.feed.readerCount == 4 }

            alerts.record([Self.events[8]])
            let resumedIDs = try await resumed.wait("event 9") { $0.eventIDs.count >= 8 }.eventIDs
            #expect(resumedIDs == [2, 3, 4, 5, 6, 7, 8, 9])
            let byQueryIDs = try await byQuery.wait("events 6…9") { $0.eventIDs.count >= 4 }.eventIDs
            #expect(byQueryIDs == [6, 7, 8, 9])
            let bothIDs = try await both.wait("events 8, 9") { $0.eventIDs.count >= 2 }.eventIDs
            #expect(bothIDs == [8, 9])
            let aheadIDs = try await ahead.wait("event 9") { $0.eventIDs.count >= 1 }.eventIDs
            #expect(aheadIDs == [9])
            Self.expectDocumented(resumed.response, api)
        }
    }

    @Test func heartbeatsKeepTheStreamAlive() async throws {
        let alerts = InMemoryAlerts()
        try await withAPI(.withAlerts(alerts), alertStream: Self.settings, live: true) { api in
            let connection = try SSEConnection(port: try #require(api.client.port), path: "/api/v1/alerts/stream")
            defer { connection.close() }
            let received = try await connection.wait("two heartbeats") { $0.heartbeats >= 2 }
            #expect(received.eventIDs.isEmpty)
            #expect(received.body.hasPrefix(": heartbeat\n\n"))
        }
    }

    @Test func clientsPastTheLimitAreTurnedAwayAndDisconnectsFreeTheirPlace() async throws {
        let alerts = InMemoryAlerts()
        try await withAPI(.withAlerts(alerts), alertStream: Self.settings, live: true) { api in
            let port = try #require(api.client.port)
            let first = try SSEConnection(port: port, path: "/api/v1/alerts/stream")
            defer { first.close() }
            let second = try SSEConnection(port: port, path: "/api/v1/alerts/stream")
            defer { second.close() }
            try await waitUntil("two subscriptions") { alerts.feed.readerCount == 2 }

            let refused = try await api.request("/api/v1/alerts/stream")
            #expect(refused.status == 503)
            #expect(refused.headers["retry-after"] == "5")
            #expect(refused.json["type"] == .string("/api/v1/problems/unavailable"))

            // A client that goes away is noticed (at the next heartbeat at the latest) and unsubscribed.
            first.close()
            try await waitUntil("the first subscription to end") { alerts.feed.readerCount == 1 }
            second.close()
            try await waitUntil("the second subscription to end") { alerts.feed.readerCount == 0 }

            // Their places are free again.
            try await Task.sleep(for: .milliseconds(100))
            let third = try SSEConnection(port: port, path: "/api/v1/alerts/stream")
            defer { third.close() }
            let fourth = try SSEConnection(port: port, path: "/api/v1/alerts/stream")
            defer { fourth.close() }
            try await waitUntil("two new subscriptions") { alerts.feed.readerCount == 2 }
            alerts.record([Self.events[0]])
            let fourthIDs = try await fourth.wait("event 1") { !$0.eventIDs.isEmpty }.eventIDs
            #expect(fourthIDs == [1])
        }
    }

    @Test func badResumeIdsAreNamedAndHeadSubscribesNothing() async throws {
        let alerts = InMemoryAlerts()
        try await withAPI(.withAlerts(alerts), alertStream: Self.settings) { api in
            let header = try await api.json("/api/v1/alerts/stream", status: 400, headers: [HTTPField.Name("Last-Event-ID")!: "abc"])
            #expect(header["parameter"] == .string("Last-Event-ID"))
            let query = try await api.json("/api/v1/alerts/stream?last_event_id=-3", status: 400)
            #expect(query["parameter"] == .string("last_event_id"))
            let unknown = try await api.json("/api/v1/alerts/stream?since=2026-11-22T10:00:00Z", status: 400)
            #expect(unknown["parameter"] == .string("since"))
            for _ in 0..<3 {
                let head = try await api.request("/api/v1/alerts/stream", method: .head)
                #expect(head.status == 200)
                #expect(head.headers["content-type"] == "text/event-stream")
            }
            #expect(alerts.feed.readerCount == 0)
        }
    }
}
