import StreetSenseConfig
import Testing

/// The `http:` section's protection keys: rate limit, CORS allowlist and size limits.
@Suite("HTTP settings")
struct HTTPSettingsTests {
    static func fixture(http: String) throws -> ConfigFixture {
        try ConfigFixture(["streetsense.yaml": minimalYAML + "\n" + http, "zones.geojson": twoZonesGeoJSON])
    }

    @Test("defaults: 50 requests/s with bursts of 100, no CORS, 16 KiB bodies, 4 KiB targets")
    func defaults() throws {
        let http = try Self.fixture(http: "").load().http
        #expect(http.rateLimit == HTTPSettings.RateLimit(requestsPerSecond: 50, burst: 100))
        #expect(http.corsAllowedOrigins.isEmpty)
        #expect(http.maxBodyBytes == 16 * 1024 && http.maxURIBytes == 4096)
    }

    @Test("every key is read")
    func fullSection() throws {
        let http = try Self.fixture(
            http: """
                http:
                  rate_limit: { requests_per_s: 2.5, burst: 10 }
                  cors_allowed_origins: [ "https://display.example.org", "http://localhost:3000", "https://display.example.org" ]
                  max_body_bytes: 4096
                  max_uri_bytes: 1024
                """
        ).load().http
        #expect(http.rateLimit == HTTPSettings.RateLimit(requestsPerSecond: 2.5, burst: 10))
        #expect(http.corsAllowedOrigins == ["https://display.example.org", "http://localhost:3000"])
        #expect(http.maxBodyBytes == 4096 && http.maxURIBytes == 1024)
        let off = try Self.fixture(http: "http:\n  rate_limit: off\n").load().http
        #expect(off.rateLimit == nil)
    }

    @Test("every bad value is one FILE:LINE: key: reason line")
    func diagnostics() throws {
        let fixture = try Self.fixture(
            http: """
                http:
                  rate_limit:
                    requests_per_s: 0
                    burst: many
                    per_ip: true
                  cors_allowed_origins:
                    - "*"
                    - https://ok.example.org
                    - https://display.example.org/
                    - ftp://files.example.org
                  max_body_bytes: 10
                  max_uri_bytes: 1000000
                """)
        let file = fixture.path("streetsense.yaml")
        let origin = "expected an origin such as https://display.example.org or http://localhost:3000 (no path, no '*')"
        // minimalYAML is 5 lines: `http:` is line 6.
        #expect(
            fixture.errors() == [
                "\(file):8: http.rate_limit.requests_per_s: must be between 0.001 and 1000000, got 0",
                "\(file):9: http.rate_limit.burst: expected an integer, got \"many\"",
                "\(file):10: http.rate_limit.per_ip: unknown key (expected one of: requests_per_s, burst)",
                "\(file):12: http.cors_allowed_origins[0]: \(origin), got \"*\"",
                "\(file):14: http.cors_allowed_origins[2]: \(origin), got \"https://display.example.org/\"",
                "\(file):15: http.cors_allowed_origins[3]: \(origin), got \"ftp://files.example.org\"",
                "\(file):16: http.max_body_bytes: must be between 1024 and 67108864, got 10",
                "\(file):17: http.max_uri_bytes: must be between 256 and 65536, got 1000000",
            ])
    }
}
