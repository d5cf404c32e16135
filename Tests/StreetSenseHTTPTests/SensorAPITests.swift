import StreetSenseCore
import StreetSenseHTTP
import Testing

@Suite struct SensorAPITests {
    static let sortedAddresses = [
        "citizen-air/sds-5331", "helsinki-lab/cam-01", "helsinki-lab/cam-02", "helsinki-lab/cam-99", "helsinki-lab/gate-n", "wifi-co/ap-7",
    ]

    static func addresses(_ body: JSONValue) -> [String] {
        (body["sensors"]?.array ?? []).map { "\($0["pilot"]?.string ?? "?")/\($0["id"]?.string ?? "?")" }
    }

    @Test func pagesThroughEverySensorInAddressOrder() async throws {
        try await withAPI(.testbed()) { api in
            var seen: [String] = []
            var uri = "/api/v1/sensors?limit=4"
            var pages = 0
            while pages < 10 {
                let page = try await api.json(uri)
                seen += Self.addresses(page)
                pages += 1
                guard let cursor = page["next_cursor"]?.string else {
                    #expect(page["next_cursor"] == .null)
                    break
                }
                uri = "/api/v1/sensors?limit=4&cursor=\(cursor)"
            }
            #expect(pages == 2)
            #expect(seen == Self.sortedAddresses)
            // A page that ends exactly at the last sensor has no next cursor.
            let exact = try await api.json("/api/v1/sensors?limit=6")
            #expect(Self.addresses(exact) == Self.sortedAddresses)
            #expect(exact["next_cursor"] == .null)
        }
    }

    @Test func filtersByPilotZoneAndStatus() async throws {
        try await withAPI(.testbed()) { api in
            #expect(Self.addresses(try await api.json("/api/v1/sensors?pilot=helsinki-lab")) == Array(Self.sortedAddresses[1...4]))
            #expect(Self.addresses(try await api.json("/api/v1/sensors?zone=esplanadi")) == ["helsinki-lab/cam-02", "wifi-co/ap-7"])
            #expect(Self.addresses(try await api.json("/api/v1/sensors?status=unregistered")) == ["helsinki-lab/cam-99"])
            #expect(Self.addresses(try await api.json("/api/v1/sensors?status=waiting&pilot=helsinki-lab")) == ["helsinki-lab/cam-02"])
            // Filters and the cursor work together: the second helsinki-lab sensor after the first page of one.
            let first = try await api.json("/api/v1/sensors?pilot=helsinki-lab&limit=1")
            let cursor = try #require(first["next_cursor"]?.string)
            #expect(Self.addresses(try await api.json("/api/v1/sensors?pilot=helsinki-lab&limit=1&cursor=\(cursor)")) == ["helsinki-lab/cam-02"])
            // An empty value is no filter.
            #expect(Self.addresses(try await api.json("/api/v1/sensors?pilot=")) == Self.sortedAddresses)
        }
    }

    @Test func listEntriesSummariseEachSensor() async throws {
        try await withAPI(.testbed()) { api in
            let sensors = try #require(try await api.json("/api/v1/sensors")["sensors"]?.array)
            let camera = try #require(sensors.first { $0["id"]?.string == "cam-01" })
            var cameraCounts = try #require(camera["counts"]?.object)
            cameraCounts["rejects_by_reason"] = nil
            var withoutCounts = try #require(camera.object)
            withoutCounts["counts"] = nil
            #expect(JSONValue.object(withoutCounts) == .object([
                "pilot": .string("helsinki-lab"), "id": .string("cam-01"), "status": .string("active"), "kind": .string("occupancy"),
                "zone": .string("kamppi-square"), "last_seen": .string("2026-11-22T10:00:30.000Z"), "people": .number(240),
                "position": .array([.number(24.93492), .number(60.16905)]),
            ]))
            #expect(JSONValue.object(cameraCounts) == .object([
                "messages": .number(2), "accepted": .number(2), "rejected": .number(0), "duplicate": .number(0), "late": .number(0),
            ]))
            // The list carries each sensor's rejects by reason (the dashboard's sensor table shows them).
            let air = try #require(sensors.first { $0["id"]?.string == "sds-5331" })
            #expect(air["counts"]?["rejects_by_reason"]?["kind_mismatch"]?.int == 1)
            #expect(air["counts"]?["rejects_by_reason"]?["malformed_json"]?.int == 1)
            #expect(air["counts"]?["rejects_by_reason"]?.object?.count == RejectReason.allCases.count)
            let stranger = try #require(sensors.first { $0["id"]?.string == "cam-99" })
            #expect(stranger["status"]?.string == "unregistered")
            #expect(stranger["kind"] == .null)
            #expect(stranger["zone"] == .null)
            #expect(stranger["position"] == .null)
            // A registered sensor without a configured position has a null one, not a missing one.
            let gate = try #require(sensors.first { $0["id"]?.string == "gate-n" })
            #expect(gate["position"] == .null)
        }
    }

    @Test func rejectsBadListParameters() async throws {
        try await withAPI(.testbed()) { api in
            for (query, parameter) in [
                ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=ten", "limit"), ("status=asleep", "status"),
                ("pilot=bad%20id", "pilot"), ("cursor=not-a-cursor", "cursor"), ("pilots=helsinki-lab", "pilots"),
                ("pilot=a&pilot=b", "pilot"),
            ] {
                let problem = try await api.json("/api/v1/sensors?\(query)", status: 400)
                #expect(problem["type"]?.string == "/api/v1/problems/invalid-parameter")
                #expect(problem["parameter"]?.string == parameter, "\(query)")
                #expect(problem["detail"]?.string?.hasPrefix("query parameter '\(parameter)' ") == true)
            }
        }
    }

    @Test func oneSensorShowsItsMetricsCountsAndConfiguration() async throws {
        try await withAPI(.testbed()) { api in
            let camera = try await api.json("/api/v1/sensors/helsinki-lab/cam-01")
            #expect(camera["status"]?.string == "active")
            #expect(camera["kind"]?.string == "occupancy")
            #expect(camera["zone"]?.string == "kamppi-square")
            #expect(camera["factor"]?.double == 1)
            #expect(camera["covered_m2"]?.double == 400)
            #expect(camera["stale_after_s"]?.double == 300)
            #expect(camera["people"]?.double == 240)
            #expect(camera["flow_occupancy"] == .null)
            #expect(camera["position"] == .array([.number(24.93492), .number(60.16905)]))
            #expect(camera["as_of"]?.string == "2026-11-22T10:01:00.000Z")
            let people = try #require(camera["metrics"]?["people"])
            #expect(people["unit"]?.string == "count")
            #expect(people["last"]?.double == 240)
            #expect(people["last_at"]?.string == "2026-11-22T10:00:30.000Z")
            // At 60 s the 1-minute window holds readings with 0 s < t ≤ 60 s: only 240 at 30 s.
            #expect(people["windows"]?["1m"] == .object([
                "count": .number(1), "mean": .number(240), "min": .number(240), "max": .number(240), "rate_per_minute": .null,
            ]))
            // The 5-minute window holds both; two buckets 30 s apart going 200 → 240 rise 80 per minute.
            #expect(people["windows"]?["5m"] == .object([
                "count": .number(2), "mean": .number(220), "min": .number(200), "max": .number(240), "rate_per_minute": .number(80),
            ]))
            #expect(camera["counts"]?["messages"]?.int == 2)
            #expect(camera["counts"]?["accepted"]?.int == 2)

            let gate = try await api.json("/api/v1/sensors/helsinki-lab/gate-n")
            let occupancy: Double = 500 - 100
            #expect(gate["flow_occupancy"]?.double == occupancy)
            #expect(gate["people"]?.double == occupancy)
            #expect(gate["covered_m2"]?.double == 1200)  // the whole zone
            #expect(gate["metrics"]?["people_in"]?["last"]?.double == 500)
            #expect(gate["metrics"]?["people_out"]?["last"]?.double == 100)

            // The air station: one message of two readings, one of a people count it cannot measure
            // (kind_mismatch), one malformed message.
            let air = try await api.json("/api/v1/sensors/citizen-air/sds-5331")
            #expect(air["people"] == .null)
            #expect(air["covered_m2"] == .null)
            #expect(Set(air["metrics"]?.object?.keys.map { $0 } ?? []) == ["pm2_5", "pm10"])
            #expect(air["metrics"]?["pm2_5"]?["unit"]?.string == "ug/m3")
            let counts = try #require(air["counts"])
            #expect(counts["messages"]?.int == 3)
            #expect(counts["accepted"]?.int == 2)
            #expect(counts["rejected"]?.int == 2)
            #expect(counts["duplicate"]?.int == 0)
            #expect(counts["late"]?.int == 0)
            let byReason = try #require(counts["rejects_by_reason"]?.object)
            #expect(byReason.count == RejectReason.allCases.count)
            #expect(byReason["kind_mismatch"]?.int == 1)
            #expect(byReason["malformed_json"]?.int == 1)
            #expect(byReason.values.compactMap(\.int).reduce(0, +) == 2)
        }
    }

    @Test func unregisteredAndSilentSensorsSayWhatIsUnknown() async throws {
        try await withAPI(.testbed()) { api in
            let stranger = try await api.json("/api/v1/sensors/helsinki-lab/cam-99")
            #expect(stranger["status"]?.string == "unregistered")
            for key in ["kind", "zone", "factor", "covered_m2", "stale_after_s", "people", "flow_occupancy", "position"] {
                #expect(stranger[key] == .null, "\(key)")
            }
            #expect(stranger["metrics"]?["people"]?["last"]?.double == 5)
            let silent = try await api.json("/api/v1/sensors/helsinki-lab/cam-02")
            #expect(silent["status"]?.string == "waiting")
            #expect(silent["last_seen"] == .null)
            #expect(silent["metrics"] == .object([:]))
            // The same sensor id under another pilot is another sensor.
            let problem = try await api.json("/api/v1/sensors/wifi-co/cam-02", status: 404)
            #expect(problem["detail"]?.string == "no sensor 'cam-02' of pilot 'wifi-co'")
        }
    }
}
