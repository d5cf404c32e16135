import Foundation
import StreetSenseCore
import StreetSenseHTTP
import Testing

@Suite struct ZoneAPITests {
    /// Kamppi square: the camera's latest count (240) over its 400 m², plus the gate's occupancy (500 in − 100
    /// out) over the whole 1200 m² zone.
    static let squareDensity = (240.0 + (500.0 - 100.0)) / (400.0 + 1200.0)
    /// Esplanadi: 3000 Wi-Fi devices × 0.5 people per device over the 2000 m² the access point covers.
    static let parkDensity = 3000.0 * 0.5 / 2000.0

    @Test func listsEveryZoneWithDensityAsPeopleOverTheCoveredArea() async throws {
        try await withAPI(.testbed()) { api in
            let body = try await api.json("/api/v1/zones")
            #expect(body["as_of"]?.string == "2026-11-22T10:01:00.000Z")
            let zones = try #require(body["zones"]?.array)
            #expect(zones.map { $0["id"]?.string } == ["kamppi-square", "esplanadi", "empty-lot"])
            #expect(zones[0]["density_ppm2"]?.double == Self.squareDensity)
            #expect(zones[0]["people"]?.double == Self.squareDensity * 1200)
            #expect(zones[1]["density_ppm2"]?.double == Self.parkDensity)
            #expect(zones[1]["people"]?.double == Self.parkDensity * 5000)
            #expect(zones[1]["area_m2"]?.double == 5000)
            // Nothing covers the empty lot: unknown, not zero.
            #expect(zones[2]["people"] == .null)
            #expect(zones[2]["density_ppm2"] == .null)
            #expect(zones[2]["updated_at"] == .null)
            #expect(zones[2]["level"]?.string == "normal")
            #expect(zones[2]["coverage"] == .object(["sensors_used": .number(0), "sensors_stale": .number(0), "covered_m2": .number(0)]))
        }
    }

    @Test func oneZoneHasTheShapeOfTheDesignExample() async throws {
        try await withAPI(.testbed()) { api in
            let zone = try await api.json("/api/v1/zones/kamppi-square")
            #expect(zone["id"]?.string == "kamppi-square")
            #expect(zone["name"]?.string == "Kamppi square")
            #expect(zone["area_m2"]?.double == 1200)
            #expect(zone["density_ppm2"]?.double == Self.squareDensity)
            #expect(zone["people"]?.double == Self.squareDensity * 1200)
            #expect(zone["level"]?.string == "normal")
            // The newest reading in the estimate is the camera's at 30 s.
            #expect(zone["updated_at"]?.string == "2026-11-22T10:00:30.000Z")
            // Camera 400 m² + gate 1200 m², capped at the zone's area.
            #expect(zone["coverage"] == .object(["sensors_used": .number(2), "sensors_stale": .number(0), "covered_m2": .number(1200)]))
            #expect(zone["sensors"] == .array([
                .object(["pilot": .string("helsinki-lab"), "id": .string("cam-01")]),
                .object(["pilot": .string("helsinki-lab"), "id": .string("gate-n")]),
                .object(["pilot": .string("citizen-air"), "id": .string("sds-5331")]),
            ]))
            #expect(zone["air"] == .object(["pm2_5_ugm3": .number(12.5), "pm10_ugm3": .number(20)]))
            #expect(zone["active_alerts"] == .array([]))
            // The density is sampled every 5 s; the 1-minute window at 60 s holds the samples in the buckets
            // 10–20 s … 60–70 s (bucket resolution): 10, 15, …, 60 s. The density was 600/1600 before the
            // camera's second count and 640/1600 after it.
            let oneMinute = try #require(zone["windows"]?["1m"])
            #expect(oneMinute["count"]?.int == 11)
            #expect(oneMinute["min"]?.double == 600.0 / 1600.0)
            #expect(oneMinute["max"]?.double == Self.squareDensity)
            #expect(Set(zone["windows"]?.object?.keys.map { $0 } ?? []) == ["1m", "5m", "15m", "1h"])
            // Samples in (−840 s, 60 s]: at 0 s only the camera's reading stamped 0 s counts (200/400 = 0.5);
            // at 5…25 s the gate too (600/1600); at 30…60 s the camera's second count (640/1600). Sorted:
            // 5 × 0.375, 7 × 0.4, 1 × 0.5; nearest rank 7 of 13 is 0.4 and rank 13 is 0.5.
            #expect(zone["p50_density_15m"]?.double == Self.squareDensity)
            #expect(zone["p95_density_15m"]?.double == 0.5)
        }
    }

    @Test func zonesCarryTheirOutlineAsGeoJSONAndTheirDensityLevels() async throws {
        try await withAPI(.testbed()) { api in
            let zones = try #require(try await api.json("/api/v1/zones")["zones"]?.array)
            let ring = JSONValue.array(Testbed.squareRing.map { .array($0.map { .number($0) }) })
            #expect(zones[0]["geometry"] == .object(["type": .string("Polygon"), "coordinates": .array([ring])]))
            #expect(zones[0]["density_levels"] == .object(["elevated": .number(2.5), "high": .number(3.5), "critical": .number(5)]))
            // The park has its own levels; the lot was configured without an outline.
            #expect(zones[1]["density_levels"] == .object(["elevated": .number(2), "high": .number(3), "critical": .number(4.5)]))
            #expect(zones[2]["geometry"] == .null)
            let zone = try await api.json("/api/v1/zones/kamppi-square")
            #expect(zone["geometry"] == zones[0]["geometry"])
        }
    }

    @Test func anUnknownZoneIsAProblem() async throws {
        try await withAPI(.testbed()) { api in
            let problem = try await api.json("/api/v1/zones/nowhere", status: 404)
            #expect(problem["type"]?.string == "/api/v1/problems/not-found")
            #expect(problem["status"]?.int == 404)
            #expect(problem["instance"]?.string == "/api/v1/zones/nowhere")
            #expect(problem["detail"]?.string == "no zone 'nowhere'")
        }
    }

    @Test func zonesArePagedInConfigurationOrder() async throws {
        try await withAPI(.testbed()) { api in
            let whole = try await api.json("/api/v1/zones")
            #expect(whole["next_cursor"] == .null)
            #expect(whole["zones"]?.array?.count == 3)
            var ids: [String] = []
            var cursors: [String] = []
            var uri = "/api/v1/zones?limit=2"
            while true {
                let page = try await api.json(uri)
                #expect(page["as_of"]?.string == "2026-11-22T10:01:00.000Z")
                ids += try #require(page["zones"]?.array).compactMap { $0["id"]?.string }
                guard let cursor = page["next_cursor"]?.string else { break }
                cursors.append(cursor)
                uri = "/api/v1/zones?limit=2&cursor=\(cursor)"
            }
            #expect(ids == ["kamppi-square", "esplanadi", "empty-lot"])
            #expect(cursors.count == 1)
            // A page that ends exactly at the last zone has no next page.
            #expect(try await api.json("/api/v1/zones?limit=3")["next_cursor"] == .null)
            let single = try await api.json("/api/v1/zones?limit=1&cursor=\(cursors[0])")
            #expect(single["zones"]?.array?.map { $0["id"]?.string } == ["empty-lot"])
        }
    }

    @Test func zonePagingRejectsBadLimitsAndCursors() async throws {
        try await withAPI(.testbed()) { api in
            for query in ["limit=0", "limit=1001", "limit=ten", "cursor=abc", "cursor=" + ForgedCursor.forSensor] {
                let problem = try await api.json("/api/v1/zones?\(query)", status: 400)
                #expect(problem["parameter"]?.string == String(query.prefix { $0 != "=" }), "\(query)")
                #expect(problem["type"]?.string == "/api/v1/problems/invalid-parameter")
            }
            // A well-formed cursor naming a zone that is not configured (any more).
            let gone = try await api.json("/api/v1/zones?cursor=" + ForgedCursor.forRemovedZone, status: 400)
            #expect(gone["parameter"]?.string == "cursor")
            #expect(gone["detail"]?.string?.contains("no longer configured") == true)
            #expect(try await api.json("/api/v1/zones?page=2", status: 400)["parameter"]?.string == "page")
        }
    }

    @Test func anAcknowledgementShowsInTheZoneListThoughNoZoneChanged() async throws {
        @Sendable func alert(acknowledged: Bool) -> ActiveAlertSummary {
            ActiveAlertSummary(
                id: 7, rule: "crowd_density", subjectKind: "zone", subjectID: "esplanadi", metric: nil, severity: "major",
                level: "high", acknowledged: acknowledged, raisedAt: at(30), updatedAt: at(30), value: 3.6, peak: 3.6)
        }
        let snapshot = {
            var snapshot = Testbed.snapshot()
            snapshot.activeAlerts = [alert(acknowledged: false)]
            return snapshot
        }()
        let snapshots = PublishedSnapshots(snapshot)
        try await withAPI(.testbed(snapshots: snapshots)) { api in
            let before = try await api.json("/api/v1/zones")
            #expect(before["zones"]?[1]?["active_alerts"]?[0]?["acknowledged"] == .bool(false))
            // What the pipeline publishes after an acknowledgement: the same as_of and the same zones array
            // (no zone changed), a new list of active alerts.
            var acknowledged = snapshot
            acknowledged.activeAlerts = [alert(acknowledged: true)]
            snapshots.publish(acknowledged)
            let after = try await api.json("/api/v1/zones")
            #expect(after["as_of"] == before["as_of"])
            #expect(after["zones"]?[1]?["active_alerts"]?[0]?["acknowledged"] == .bool(true))
        }
    }

    @Test func theZoneListIsEncodedOncePerSnapshot() async throws {
        let snapshots = PublishedSnapshots(Testbed.snapshot())
        try await withAPI(.testbed(snapshots: snapshots)) { api in
            let first = try await api.request("/api/v1/zones")
            let second = try await api.request("/api/v1/zones")
            #expect(first.body == second.body)
            // A new snapshot with the same as_of but a changed zone (a reading at exactly 60 s) is not served
            // from the cache.
            var core = Testbed.core()
            var dispositions: [ReadingDisposition] = []
            core.apply(
                sensor: core.index(of: Testbed.wifi.address)!, readings: [DecodedReading(metric: .devices, value: 4000, time: at(60))],
                arrival: at(60), dispositions: &dispositions
            )
            snapshots.publish(core.snapshot())
            let third = try await api.json("/api/v1/zones")
            #expect(third["as_of"]?.string == "2026-11-22T10:01:00.000Z")
            #expect(third["zones"]?[1]?["density_ppm2"]?.double == 4000 * 0.5 / 2000)
        }
    }
}

/// Cursors written as the API writes them (base64url of the text the API encodes), for requests that must fail.
private enum ForgedCursor {
    /// A sensor listing's cursor ("pilot/sensor"), which the zone listing must refuse.
    static let forSensor = base64URL("helsinki-lab/cam-01")
    /// A zone cursor naming a zone the testbed does not configure.
    static let forRemovedZone = base64URL("zone:old-market")

    static func base64URL(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
