import HTTPTypes
import StreetSenseAlerts
import StreetSenseCore
import StreetSenseHTTP
import Testing

/// A small history: four alerts of different rules, subjects and states (ids 1, 2, 4, 6), eight events.
enum AlertHistory {
    static let camera = SensorAddress(pilot: "helsinki-lab", sensor: "cam-01")
    static let air = SensorAddress(pilot: "citizen-air", sensor: "sds-5331")

    static func script() -> AlertScript {
        var script = AlertScript()
        let crowd = script.raise(.crowdDensity, .zone("kamppi-square"), at: 10, value: 2.6)  // 1
        let offline = script.raise(.sensorOffline, .sensor(camera), at: 20, value: 300)  // 2
        script.transition(crowd, .escalated, severity: .major, at: 30, value: 3.7)  // 3
        let pm = script.raise(.airQuality, .sensor(air), severity: .major, metric: .pm2_5, at: 40, value: 60)  // 4
        script.transition(offline, .cleared, at: 50, value: 0)  // 5
        script.raise(.sensorFaulty, .sensor(camera), fault: .stuckValue, at: 60, value: 12)  // 6
        script.transition(pm, .deEscalated, severity: .warning, at: 70, value: 52)  // 7
        script.transition(crowd, .deEscalated, severity: .warning, at: 80, value: 2.8)  // 8
        return script
    }

    static func source() -> InMemoryAlerts {
        let source = InMemoryAlerts()
        source.record(script().events)
        return source
    }
}

extension APIServices {
    static func withAlerts(_ alerts: any AlertSource, access: APIAccess = .open) -> APIServices {
        var services = APIServices.testbed()
        services.alerts = alerts
        services.access = access
        return services
    }
}

func ids(_ list: JSONValue) -> [Int] { (list["alerts"]?.array ?? []).compactMap { $0["id"]?.int } }

@Suite struct AlertAPITests {
    @Test func listsNewestFirstWithEveryFilter() async throws {
        try await withAPI(.withAlerts(AlertHistory.source())) { api in
            let list1 = try await api.json("/api/v1/alerts")
            #expect(ids(list1) == [6, 4, 2, 1])
            let list2 = try await api.json("/api/v1/alerts?state=active")
            #expect(ids(list2) == [6, 4, 1])
            let list3 = try await api.json("/api/v1/alerts?state=cleared")
            #expect(ids(list3) == [2])
            let list4 = try await api.json("/api/v1/alerts?severity=warning")
            #expect(ids(list4) == [6, 4, 2, 1])
            let list5 = try await api.json("/api/v1/alerts?rule=air_quality")
            #expect(ids(list5) == [4])
            let list6 = try await api.json("/api/v1/alerts?subject_kind=zone")
            #expect(ids(list6) == [1])
            let list7 = try await api.json("/api/v1/alerts?subject=helsinki-lab/cam-01")
            #expect(ids(list7) == [6, 2])
            let list8 = try await api.json("/api/v1/alerts?subject=kamppi-square&subject_kind=zone")
            #expect(ids(list8) == [1])
            // Last updated: offline 50 s (cleared), faulty 60 s, PM 70 s, crowd 80 s after 10:00.
            let list9 = try await api.json("/api/v1/alerts?since=2026-11-22T12:01:00%2B02:00")
            #expect(ids(list9) == [6, 4, 1])
            let list10 = try await api.json("/api/v1/alerts?since=2026-11-22T10:01:05Z")
            #expect(ids(list10) == [4, 1])
            let list11 = try await api.json("/api/v1/alerts?since=2026-11-22T10:01:15Z")
            #expect(ids(list11) == [1])
            let list12 = try await api.json("/api/v1/alerts?severity=major")
            #expect(ids(list12) == [])
        }
    }

    @Test func anAlertShowsItsNewestState() async throws {
        try await withAPI(.withAlerts(AlertHistory.source())) { api in
            let list = try await api.json("/api/v1/alerts?rule=crowd_density")
            let crowd = try #require(list["alerts"]?[0])
            #expect(crowd == .object([
                "id": .number(1), "rule": .string("crowd_density"), "subject_kind": .string("zone"), "subject_id": .string("kamppi-square"),
                "metric": .null, "fault": .null, "severity": .string("warning"), "level": .string("elevated"), "state": .string("active"),
                "acknowledged": .bool(false), "acknowledgement": .null, "raised_at": .string("2026-11-22T10:00:10.000Z"),
                "updated_at": .string("2026-11-22T10:01:20.000Z"), "cleared_at": .null, "peak": .number(3.7), "value": .number(2.8),
                "last_event_id": .number(8),
            ]))
            let cleared = try await api.json("/api/v1/alerts?state=cleared")
            let offline = try #require(cleared["alerts"]?[0])
            #expect(offline["cleared_at"] == .string("2026-11-22T10:00:50.000Z"))
            #expect(offline["subject_id"] == .string("helsinki-lab/cam-01"))
            #expect(offline["level"] == .string("sensor_offline"))
            let faultyList = try await api.json("/api/v1/alerts?rule=sensor_faulty")
            let faulty = try #require(faultyList["alerts"]?[0])
            #expect(faulty["fault"] == .string("stuck_value"))
            let pmList = try await api.json("/api/v1/alerts?rule=air_quality")
            let pm = try #require(pmList["alerts"]?[0])
            #expect(pm["metric"] == .string("pm2_5"))
            #expect(pm["level"] == .string("poor"))
            #expect(pm["peak"] == .number(60))
        }
    }

    @Test func pagesWithTheCursor() async throws {
        try await withAPI(.withAlerts(AlertHistory.source())) { api in
            var seen: [Int] = []
            var cursors: [String] = []
            var uri = "/api/v1/alerts?limit=3"
            for _ in 0..<4 {
                let page = try await api.json(uri)
                seen += ids(page)
                guard let cursor = page["next_cursor"]?.string else { break }
                cursors.append(cursor)
                uri = "/api/v1/alerts?limit=3&cursor=\(cursor)"
            }
            #expect(seen == [6, 4, 2, 1])
            #expect(cursors == ["2"])
            let exact = try await api.json("/api/v1/alerts?limit=4")
            #expect(exact["next_cursor"] == .null)
            let filtered = try await api.json("/api/v1/alerts?state=active&limit=1&cursor=6")
            #expect(ids(filtered) == [4])
            #expect(filtered["next_cursor"] == .string("4"))
        }
    }

    @Test func badListParametersAreNamed() async throws {
        try await withAPI(.withAlerts(AlertHistory.source())) { api in
            for (query, parameter) in [
                ("state=open", "state"), ("severity=minor", "severity"), ("rule=noise", "rule"), ("subject_kind=pilot", "subject_kind"),
                ("subject=a/b/c", "subject"), ("subject=a%20b", "subject"), ("since=yesterday", "since"), ("limit=0", "limit"),
                ("limit=501", "limit"), ("cursor=abc", "cursor"), ("cursor=0", "cursor"), ("states=active", "states"),
                ("state=active&state=cleared", "state"),
            ] {
                let problem = try await api.json("/api/v1/alerts?\(query)", status: 400)
                #expect(problem["parameter"]?.string == parameter, "\(query)")
                #expect(problem["type"]?.string == "/api/v1/problems/invalid-parameter")
            }
        }
    }

    @Test func detailHasEveryEventOldestFirst() async throws {
        try await withAPI(.withAlerts(AlertHistory.source())) { api in
            let crowd = try await api.json("/api/v1/alerts/1")
            #expect(crowd["state"] == .string("active"))
            let events = crowd["events"]?.array ?? []
            #expect(events.compactMap { $0["id"]?.int } == [1, 3, 8])
            #expect(events.compactMap { $0["transition"]?.string } == ["raised", "escalated", "de_escalated"])
            #expect(events.compactMap { $0["level"]?.string } == ["elevated", "high", "elevated"])
            #expect(events[1] == .object([
                "id": .number(3), "alert_id": .number(1), "transition": .string("escalated"), "severity": .string("major"),
                "level": .string("high"), "at": .string("2026-11-22T10:00:30.000Z"), "value": .number(3.7), "peak": .number(3.7),
                "acknowledgement": .null,
            ]))
            for missing in ["999", "abc", "0", "-1"] {
                let problem = try await api.json("/api/v1/alerts/\(missing)", status: 404)
                #expect(problem["detail"]?.string?.contains(missing) == true)
            }
            _ = try await api.json("/api/v1/alerts/1?verbose=1", status: 400)
        }
    }

    @Test func deliveriesShowEveryChannel() async throws {
        let source = AlertHistory.source()
        try await withAPI(.withAlerts(source)) { api in
            // Nothing configured: no MQTT publisher, no webhooks.
            let empty = try await api.json("/api/v1/alerts/deliveries")
            #expect(empty == .object(["mqtt": .null, "webhooks": .array([])]))

            source.delivery = AlertDeliveryStatus(
                mqtt: MQTTAlertStatistics(published: 7, failed: 1, pending: 2, dropped: 0, lastError: "not connected"),
                webhooks: [
                    WebhookStatistics(url: "https://ops.example/hook", delivered: 5, retries: 0),
                    WebhookStatistics(
                        url: "http://127.0.0.1:9/dead", delivered: 0, failed: 3, dropped: 4, retries: 12, pending: 1,
                        lastError: "HTTP 503", lastSuccessAt: nil, state: .failing),
                ])
            let status = try await api.json("/api/v1/alerts/deliveries")
            #expect(status["mqtt"] == .object([
                "published": .number(7), "failed": .number(1), "pending": .number(2), "dropped": .number(0), "last_error": .string("not connected"),
            ]))
            let hooks = status["webhooks"]?.array ?? []
            #expect(hooks.count == 2)
            #expect(hooks.first?["url"] == .string("https://ops.example/hook"))
            #expect(hooks.first?["state"] == .string("ok"))
            #expect(hooks.first?["delivered"] == .number(5))
            #expect(hooks.last == .object([
                "url": .string("http://127.0.0.1:9/dead"), "state": .string("failing"), "delivered": .number(0), "failed": .number(3),
                "dropped": .number(4), "retries": .number(12), "pending": .number(1), "last_error": .string("HTTP 503"),
                "last_success_at": .null,
            ]))
            _ = try await api.json("/api/v1/alerts/deliveries?verbose=1", status: 400)
            // Not taken for an alert id.
            _ = try await api.json("/api/v1/alerts/deliveries", status: 405, method: .post)
        }
    }
}

/// Acknowledgement and access control, with a real tokens file.
@Suite struct AlertAccessTests {
    static let tokens = ["ada-viewer": "v-0123456789", "olli": "o-0123456789", "root": "a-0123456789"]

    static func tokensFile() throws -> TemporaryTokensFile {
        try TemporaryTokensFile(contents: """
            # StreetSense API tokens
            \(AccessTokens.hashLine(name: "ada-viewer", role: .viewer, token: tokens["ada-viewer"]!))
            \(AccessTokens.hashLine(name: "olli", role: .operator, token: tokens["olli"]!))  # night shift

            \(AccessTokens.hashLine(name: "root", role: .admin, token: tokens["root"]!))
            """)
    }

    static func bearer(_ name: String) -> HTTPFields { [.authorization: "Bearer " + tokens[name]!] }

    static func withTokens(publicReads: Bool, _ test: @Sendable (APIClient, InMemoryAlerts) async throws -> Void) async throws {
        let file = try tokensFile()
        defer { file.remove() }
        let access = APIAccess(tokens: try AccessTokens.load(path: file.path), publicReads: publicReads)
        let source = AlertHistory.source()
        try await withAPI(.withAlerts(source, access: access)) { api in try await test(api, source) }
    }

    @Test func anOperatorAcknowledgesWithANote() async throws {
        try await Self.withTokens(publicReads: true) { api, source in
            let event = try await api.json("/api/v1/alerts/4/ack", method: .post, headers: Self.bearer("olli"), body: #"{"note": "checking the station"}"#)
            #expect(event == .object([
                "id": .number(9), "alert_id": .number(4), "transition": .string("acknowledged"), "severity": .string("warning"),
                "level": .string("poor"), "at": .string("2026-11-22T10:01:11.000Z"), "value": .number(52), "peak": .number(60),
                "acknowledgement": .object(["by": .string("olli"), "at": .string("2026-11-22T10:01:11.000Z"), "note": .string("checking the station")]),
            ]))
            #expect(source.feed.lastEventID == AlertEventID(9))
            let alert = try await api.json("/api/v1/alerts/4")
            #expect(alert["acknowledged"] == .bool(true))
            #expect(alert["acknowledgement"]?["by"] == .string("olli"))
            // An admin may acknowledge too; no body means no note.
            let admin = try await api.json("/api/v1/alerts/6/ack", method: .post, headers: Self.bearer("root"))
            #expect(admin["acknowledgement"]?["by"] == .string("root"))
            #expect(admin["acknowledgement"]?["note"] == .null)
            // An acknowledgement is not replaced.
            let again = try await api.json("/api/v1/alerts/4/ack", status: 409, method: .post, headers: Self.bearer("root"), body: "{}")
            #expect(again["type"] == .string("/api/v1/problems/conflict"))
        }
    }

    @Test func acknowledgementErrorsAreMapped() async throws {
        try await Self.withTokens(publicReads: true) { api, _ in
            let operatorToken = Self.bearer("olli")
            let twice = try await api.request("/api/v1/alerts/1/ack", method: .post, headers: operatorToken)
            #expect(twice.status == 200)
            let conflict = try await api.json("/api/v1/alerts/1/ack", status: 409, method: .post, headers: operatorToken)
            #expect(conflict["type"] == .string("/api/v1/problems/conflict"))
            #expect(conflict["detail"]?.string?.contains("acknowledged before") == true)
            let cleared = try await api.json("/api/v1/alerts/2/ack", status: 409, method: .post, headers: operatorToken)
            #expect(cleared["detail"]?.string?.contains("cleared") == true)
            _ = try await api.json("/api/v1/alerts/77/ack", status: 404, method: .post, headers: operatorToken)
            _ = try await api.json("/api/v1/alerts/x/ack", status: 404, method: .post, headers: operatorToken)
            let long = String(repeating: "n", count: Acknowledgement.maximumNoteBytes + 1)
            for body in [#"{"note": "\#(long)"}"#, "not json", "[1]", #"{"note": 5}"#, #"{"by": "mallory"}"#] {
                let problem = try await api.json("/api/v1/alerts/6/ack", status: 400, method: .post, headers: operatorToken, body: body)
                #expect(problem["type"] == .string("/api/v1/problems/invalid-body"), "\(body.prefix(20))")
            }
            let wrongMethod = try await api.request("/api/v1/alerts/6/ack")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.headers["allow"] == "POST")
        }
    }

    @Test func tokensAreCheckedBeforeAnything() async throws {
        try await Self.withTokens(publicReads: true) { api, source in
            for headers: HTTPFields in [[:], [.authorization: "Bearer wrong"], [.authorization: "Basic b2xsaTpwdw=="], [.authorization: "Bearer"]] {
                let response = try await api.request("/api/v1/alerts/6/ack", method: .post, headers: headers)
                #expect(response.status == 401)
                #expect(response.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
                #expect(response.json["type"] == .string("/api/v1/problems/unauthorized"))
            }
            // The scheme is case-insensitive.
            let lower = try await api.request("/api/v1/alerts/6/ack", method: .post, headers: [.authorization: "bearer " + Self.tokens["olli"]!])
            #expect(lower.status == 200)
            let viewer = try await api.json("/api/v1/alerts/4/ack", status: 403, method: .post, headers: Self.bearer("ada-viewer"))
            #expect(viewer["detail"]?.string?.contains("viewer") == true)
            #expect(try source.alert(id: AlertID(4))?.acknowledgement == nil)
            // Public reads: no token needed.
            _ = try await api.json("/api/v1/alerts")
            _ = try await api.json("/api/v1/zones")
        }
    }

    @Test func privateReadsNeedAViewerToken() async throws {
        try await Self.withTokens(publicReads: false) { api, _ in
            for path in ["/api/v1/alerts", "/api/v1/alerts/1", "/api/v1/zones", "/api/v1/sensors", "/api/v1/rejects", "/api/v1/zones/esplanadi"] {
                let denied = try await api.request(path)
                #expect(denied.status == 401, "\(path)")
                #expect(denied.headers["www-authenticate"] != nil, "\(path)")
                let wrong = try await api.request(path, headers: [.authorization: "Bearer o-0123456788"])
                #expect(wrong.status == 401, "\(path)")
                for name in ["ada-viewer", "olli", "root"] {
                    let allowed = try await api.request(path, headers: Self.bearer(name))
                    #expect(allowed.status == 200, "\(path) as \(name)")
                }
            }
            let head = try await api.request("/api/v1/alerts", method: .head)
            #expect(head.status == 401)
            for path in ["/healthz", "/readyz", "/api/v1/openapi.yaml"] {
                let response = try await api.request(path)
                #expect(response.status == 200, "\(path)")
            }
        }
    }

    @Test func withoutATokensFileNothingCanBeAcknowledged() async throws {
        try await withAPI(.withAlerts(AlertHistory.source())) { api in
            let problem = try await api.json("/api/v1/alerts/1/ack", status: 403, method: .post, headers: [.authorization: "Bearer anything"])
            #expect(problem["detail"]?.string?.contains("no tokens file is configured") == true)
            _ = try await api.json("/api/v1/alerts/1")
        }
    }
}
