import HTTPTypes
import StreetSenseCore
import StreetSenseHTTP
import Testing

/// Pilot-scoped tokens, rejects behind a token, rate limits, size limits and the CORS allowlist.
@Suite struct SecurityAPITests {
    static let tokens: [String: String] = [
        "lab-viewer": "lab-viewer-token-5e1f", "city": "city-wide-token-77aa", "two-pilots": "two-pilots-token-c0de",
    ]

    static func access(publicReads: Bool) throws -> APIAccess {
        let text = """
            \(AccessTokens.hashLine(name: "lab-viewer", role: .viewer, token: tokens["lab-viewer"]!, pilots: ["helsinki-lab"]))
            \(AccessTokens.hashLine(name: "city", role: .operator, token: tokens["city"]!))
            \(AccessTokens.hashLine(name: "two-pilots", role: .viewer, token: tokens["two-pilots"]!, pilots: ["helsinki-lab", "citizen-air"]))
            """
        return APIAccess(tokens: try AccessTokens(parsing: text, file: "tokens"), publicReads: publicReads)
    }

    static func bearer(_ name: String) -> HTTPFields { [.authorization: "Bearer " + tokens[name]!] }

    static func services(publicReads: Bool) throws -> APIServices {
        var services = APIServices.testbed(history: InMemoryHistory(records: RejectsAPITests.records))
        services.access = try access(publicReads: publicReads)
        return services
    }

    @Test func theTokensFileScopesATokenToItsPilots() throws {
        let text = "lab viewer \(AccessTokens.digest(of: "t1")) pilots=helsinki-lab,citizen-air,helsinki-lab\nall admin \(AccessTokens.digest(of: "t2"))\n"
        let tokens = try AccessTokens(parsing: text, file: "tokens")
        #expect(tokens.grant(forBearer: "t1") == AccessGrant(name: "lab", role: .viewer, pilots: ["citizen-air", "helsinki-lab"]))
        #expect(tokens.grant(forBearer: "t1")?.covers(pilot: "wifi-co") == false)
        #expect(tokens.grant(forBearer: "t2")?.pilots == nil)
        #expect(tokens.grant(forBearer: "t2")?.covers(pilot: "wifi-co") == true)
        #expect(
            AccessTokens.hashLine(name: "lab", role: .viewer, token: "t1", pilots: ["helsinki-lab"])
                == "lab viewer \(AccessTokens.digest(of: "t1")) pilots=helsinki-lab")
        let cases: [(String, String)] = [
            ("lab viewer \(AccessTokens.digest(of: "t1")) helsinki-lab\n", "tokens:1: the fourth field must be 'pilots=<pilot>,<pilot>…' (the pilots the token is scoped to)"),
            ("lab viewer \(AccessTokens.digest(of: "t1")) pilots=a,,b\n", "tokens:1: the pilot '' in pilots= must match [A-Za-z0-9_.-]{1,64}"),
            ("lab viewer \(AccessTokens.digest(of: "t1")) pilots=a/b\n", "tokens:1: the pilot 'a/b' in pilots= must match [A-Za-z0-9_.-]{1,64}"),
        ]
        for (text, message) in cases {
            let error = #expect(throws: AccessTokensError.self) { try AccessTokens(parsing: text, file: "tokens") }
            #expect(error?.description == message)
        }
    }

    @Test func aScopedTokenSeesOnlyItsPilotsSensorsAndSeries() async throws {
        try await withAPI(try Self.services(publicReads: false)) { api in
            let lab = try await api.json("/api/v1/sensors", headers: Self.bearer("lab-viewer"))
            let labPilots = Set((lab["sensors"]?.array ?? []).compactMap { $0["pilot"]?.string })
            #expect(labPilots == ["helsinki-lab"])
            let city = try await api.json("/api/v1/sensors", headers: Self.bearer("city"))
            #expect(lab["sensors"]?.array?.count == city["sensors"]?.array?.filter { $0["pilot"] == .string("helsinki-lab") }.count)
            #expect(Set((city["sensors"]?.array ?? []).compactMap { $0["pilot"]?.string }) == ["helsinki-lab", "citizen-air", "wifi-co"])
            let two = try await api.json("/api/v1/sensors", headers: Self.bearer("two-pilots"))
            #expect(Set((two["sensors"]?.array ?? []).compactMap { $0["pilot"]?.string }) == ["helsinki-lab", "citizen-air"])

            // Naming another pilot is 403, whether or not the sensor exists.
            for uri in [
                "/api/v1/sensors?pilot=citizen-air", "/api/v1/sensors/citizen-air/sds-5331", "/api/v1/sensors/citizen-air/nothing-here",
                "/api/v1/sensors/citizen-air/sds-5331/series?metric=pm2_5",
            ] {
                let problem = try await api.json(uri, status: 403, headers: Self.bearer("lab-viewer"))
                #expect(problem["type"] == .string("/api/v1/problems/forbidden"))
                #expect(problem["detail"] == .string("the token of 'lab-viewer' is scoped to pilot helsinki-lab; it cannot read pilot 'citizen-air'"))
            }
            _ = try await api.json("/api/v1/sensors/helsinki-lab/cam-01", headers: Self.bearer("lab-viewer"))
            _ = try await api.json("/api/v1/sensors/citizen-air/sds-5331", headers: Self.bearer("city"))
            _ = try await api.json("/api/v1/sensors/citizen-air/sds-5331/series?metric=pm2_5", headers: Self.bearer("two-pilots"))
            // Zones and alerts are city-wide.
            _ = try await api.json("/api/v1/zones", headers: Self.bearer("lab-viewer"))
        }
    }

    @Test func aScopedTokenSeesOnlyItsPilotsRejects() async throws {
        try await withAPI(try Self.services(publicReads: false)) { api in
            let lab = try await api.json("/api/v1/rejects", headers: Self.bearer("lab-viewer"))
            #expect((lab["rejects"]?.array ?? []).compactMap { $0["id"]?.int } == [5, 3, 1])
            let two = try await api.json("/api/v1/rejects?limit=2", headers: Self.bearer("two-pilots"))
            #expect((two["rejects"]?.array ?? []).compactMap { $0["id"]?.int } == [5, 4])
            #expect(two["next_cursor"] == .string("4"))
            let rest = try await api.json("/api/v1/rejects?limit=2&cursor=4", headers: Self.bearer("two-pilots"))
            #expect((rest["rejects"]?.array ?? []).compactMap { $0["id"]?.int } == [3, 2])
            // The city-wide token also sees the reject whose topic named no pilot.
            let city = try await api.json("/api/v1/rejects", headers: Self.bearer("city"))
            #expect((city["rejects"]?.array ?? []).compactMap { $0["id"]?.int } == [6, 5, 4, 3, 2, 1])
            let other = try await api.json("/api/v1/rejects?pilot=citizen-air", status: 403, headers: Self.bearer("lab-viewer"))
            #expect(other["type"] == .string("/api/v1/problems/forbidden"))
        }
    }

    @Test func withPublicReadsRejectsStillNeedAToken() async throws {
        try await withAPI(try Self.services(publicReads: true)) { api in
            _ = try await api.json("/api/v1/sensors")
            _ = try await api.json("/api/v1/sensors/citizen-air/sds-5331")
            let response = try await api.request("/api/v1/rejects")
            #expect(response.status == 401)
            #expect(response.headers["www-authenticate"] == "Bearer realm=\"streetsense\"")
            let lab = try await api.json("/api/v1/rejects", headers: Self.bearer("lab-viewer"))
            #expect((lab["rejects"]?.array ?? []).compactMap { $0["id"]?.int } == [5, 3, 1])
        }
        // Without a tokens file nobody can authenticate: every read, rejects included, is open.
        try await withAPI(.testbed(history: InMemoryHistory(records: RejectsAPITests.records))) { api in
            _ = try await api.json("/api/v1/rejects")
        }
    }

    @Test func aClientOverItsBucketGets429WithRetryAfter() async throws {
        let protection = HTTPProtection(rateLimit: .init(requestsPerSecond: 0.01, burst: 3))
        try await withAPI(try Self.services(publicReads: true), live: true, protection: protection) { api in
            // The client fetched the OpenAPI document first: that was one of the 3.
            for _ in 0..<2 { _ = try await api.json("/api/v1/zones") }
            let limited = try await api.request("/api/v1/zones")
            #expect(limited.status == 429)
            #expect(limited.json["type"] == .string("/api/v1/problems/too-many-requests"))
            // One token comes back every 100 s.
            #expect(limited.headers["retry-after"].flatMap { Int($0) }.map { (1...100).contains($0) } == true)
            // Probes are never limited; a valid token has its own bucket.
            for _ in 0..<5 {
                _ = try await api.json("/healthz")
                _ = try await api.request("/readyz")
            }
            for _ in 0..<3 { _ = try await api.json("/api/v1/zones", headers: Self.bearer("city")) }
            #expect(try await api.request("/api/v1/zones", headers: Self.bearer("city")).status == 429)
            _ = try await api.json("/api/v1/zones", headers: Self.bearer("lab-viewer"))
            // An invalid token does not get a fresh bucket: it is counted against the address.
            #expect(try await api.request("/api/v1/zones", headers: [.authorization: "Bearer made-up"]).status == 429)
        }
    }

    @Test func theBucketTableRefillsAndStaysBounded() {
        let table = RateLimitTable(limit: .init(requestsPerSecond: 2, burst: 4), capacity: 100)
        for _ in 0..<4 { #expect(table.take(client: "ip:a", now: 10) == nil) }
        #expect(table.take(client: "ip:a", now: 10) == 1)
        #expect(table.take(client: "ip:a", now: 10.5) == nil)  // one token back after 0.5 s at 2/s
        #expect(table.take(client: "ip:a", now: 10.5) == 1)
        // A slow rate asks for a longer wait.
        let slow = RateLimitTable(limit: .init(requestsPerSecond: 0.1, burst: 1), capacity: 10)
        #expect(slow.take(client: "x", now: 0) == nil)
        #expect(slow.take(client: "x", now: 0) == 10)
        // Many clients: never more than the capacity tracked; idle (refilled) buckets go first.
        for index in 0..<1000 { _ = table.take(client: "ip:\(index)", now: 20 + Double(index) * 0.001) }
        #expect(table.trackedClients <= 100)
        for index in 0..<1000 { _ = table.take(client: "ip:late-\(index)", now: 1000 + Double(index)) }
        #expect(table.trackedClients <= 100)
    }

    @Test func oversizedBodiesAndTargetsAreRefused() async throws {
        var services = try Self.services(publicReads: true)
        services.alerts = AlertHistory.source()
        try await withAPI(services, live: true) { api in
            let body = "{\"note\": \"" + String(repeating: "x", count: 20_000) + "\"}"
            let large = try await api.request("/api/v1/alerts/4/ack", method: .post, headers: Self.bearer("city"), body: body)
            #expect(large.status == 413)
            #expect(large.json["type"] == .string("/api/v1/problems/body-too-large"))
            let long = try await api.request("/api/v1/zones?" + String(repeating: "a", count: 5000))
            #expect(long.status == 414)
            #expect(long.json["type"] == .string("/api/v1/problems/uri-too-long"))
            let longPath = try await api.request("/api/v1/sensors/" + String(repeating: "p", count: 5000) + "/x")
            #expect(longPath.status == 414)
        }
    }

    @Test func onlyAllowedOriginsGetCORSHeadersAndPreflights() async throws {
        let protection = HTTPProtection(rateLimit: nil, corsAllowedOrigins: ["https://display.example.org"])
        try await withAPI(try Self.services(publicReads: true), protection: protection) { api in
            let allowed = try await api.request("/api/v1/zones", headers: [.origin: "https://display.example.org"])
            #expect(allowed.status == 200)
            #expect(allowed.headers["access-control-allow-origin"] == "https://display.example.org")
            #expect(allowed.headers["vary"] == "Origin")
            let other = try await api.request("/api/v1/zones", headers: [.origin: "https://evil.example.com"])
            #expect(other.status == 200)
            #expect(other.headers["access-control-allow-origin"] == nil)
            // Errors to an allowed origin carry the header too, so the page can read the problem.
            let unauthorized = try await api.request("/api/v1/rejects", headers: [.origin: "https://display.example.org"])
            #expect(unauthorized.status == 401)
            #expect(unauthorized.headers["access-control-allow-origin"] == "https://display.example.org")

            let preflight = try await api.request(
                "/api/v1/alerts/4/ack", method: .options,
                headers: [.origin: "https://display.example.org", .accessControlRequestMethod: "POST", .accessControlRequestHeaders: "authorization"])
            #expect(preflight.status == 204)
            #expect(preflight.headers["access-control-allow-origin"] == "https://display.example.org")
            #expect(preflight.headers["access-control-allow-methods"] == "GET, HEAD, POST")
            #expect(preflight.headers["access-control-allow-headers"] == "Authorization, Content-Type, Last-Event-ID")
            let refused = try await api.request(
                "/api/v1/zones", method: .options, headers: [.origin: "https://evil.example.com", .accessControlRequestMethod: "GET"])
            #expect(refused.status == 405)
            #expect(refused.headers["access-control-allow-origin"] == nil)
        }
        // Without an allowlist there are no CORS headers at all.
        try await withAPI(try Self.services(publicReads: true)) { api in
            let response = try await api.request("/api/v1/zones", headers: [.origin: "https://display.example.org"])
            #expect(response.headers["access-control-allow-origin"] == nil && response.headers["vary"] == nil)
        }
    }
}
