/// The HTTP API listener, who may read it, and how it protects itself (DESIGN §7).
///
/// Without a tokens file nobody can authenticate, so reads are public and nothing can be written; with one, reads
/// need a `viewer` token unless `publicReads` is true (rejects always need one). Invariants: `port` is in
/// 0…65535 (0: any free port); every CORS origin is `http(s)://host[:port]` without a path.
public struct HTTPSettings: Sendable, Hashable {
    /// The address as configured, `HOST:PORT` (`127.0.0.1:8080`, `[::1]:8080`).
    public var listen: String
    public var host: String
    public var port: Int
    /// The bearer tokens and their roles (resolved against the configuration file's folder); nil for none.
    public var tokensFile: String?
    /// Whether GET requests are served without a token.
    public var publicReads: Bool
    /// The folder of the dashboard's static files (`dashboards/web`), resolved against the configuration file's
    /// folder; nil: the service looks in the usual places (see `DashboardRoutes.defaultDashboardDirectory`).
    public var dashboardDirectory: String?
    /// The folder holding the Leaflet and Chart.js libraries (`leaflet/`, `chart.js/`) the dashboard loads.
    public var javascriptDirectory: String
    /// The token bucket of each client (`http.rate_limit`); nil turns rate limiting off.
    public var rateLimit: RateLimit?
    /// The browser origins allowed to call the API from another site (`http.cors_allowed_origins`); empty: no CORS.
    public var corsAllowedOrigins: [String]
    /// The largest request body accepted (`http.max_body_bytes`); larger bodies get 413.
    public var maxBodyBytes: Int
    /// The longest request target (path and query) accepted (`http.max_uri_bytes`); longer ones get 414.
    public var maxURIBytes: Int

    /// A token bucket: `requestsPerSecond` refill, at most `burst` requests at once.
    public struct RateLimit: Sendable, Hashable {
        public var requestsPerSecond: Double
        public var burst: Int

        public init(requestsPerSecond: Double = 50, burst: Int = 100) {
            self.requestsPerSecond = requestsPerSecond
            self.burst = burst
        }
    }

    public init(
        listen: String = "127.0.0.1:8080", host: String = "127.0.0.1", port: Int = 8080, tokensFile: String? = nil,
        publicReads: Bool = true, dashboardDirectory: String? = nil, javascriptDirectory: String = "/usr/share/javascript",
        rateLimit: RateLimit? = RateLimit(), corsAllowedOrigins: [String] = [], maxBodyBytes: Int = 16 * 1024, maxURIBytes: Int = 4096
    ) {
        self.listen = listen
        self.host = host
        self.port = port
        self.tokensFile = tokensFile
        self.publicReads = publicReads
        self.dashboardDirectory = dashboardDirectory
        self.javascriptDirectory = javascriptDirectory
        self.rateLimit = rateLimit
        self.corsAllowedOrigins = corsAllowedOrigins
        self.maxBodyBytes = maxBodyBytes
        self.maxURIBytes = maxURIBytes
    }

    /// Why `origin` cannot be a CORS origin, or nil: it must be `http://` or `https://`, a host, an optional port,
    /// and nothing after (browsers send `Origin` exactly so, without a path or a trailing slash).
    public static func corsOriginProblem(_ origin: String) -> String? {
        let expected = "expected an origin such as https://display.example.org or http://localhost:3000 (no path, no '*')"
        let rest: Substring
        if origin.hasPrefix("https://") {
            rest = origin.dropFirst("https://".count)
        } else if origin.hasPrefix("http://") {
            rest = origin.dropFirst("http://".count)
        } else {
            return "\(expected), got \"\(origin.prefix(80))\""
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]")
        guard !rest.isEmpty, rest.allSatisfy({ allowed.contains($0) }), rest.first != ":" else {
            return "\(expected), got \"\(origin.prefix(80))\""
        }
        return nil
    }
}

extension HTTPSettings {
    /// Reads the `http` section.
    init(reading reader: MappingReader, context: LoadContext) {
        self.init()
        if let listen = reader.optional("listen", .string) {
            switch HostAndPort.parse(listen[...], defaultPort: nil, allowedPorts: 0...65535) {
            case .success(let address):
                self.listen = listen
                host = address.host
                port = address.port
            case .failure(let problem):
                context.log.error(at: reader.valueOrigin("listen"), key: reader.keyPath("listen"), problem.reason)
            }
        }
        tokensFile = context.existingFile("tokens_file", of: reader)
        publicReads = reader.value("public_reads", .bool, default: tokensFile == nil)
        dashboardDirectory = context.existingDirectory("dashboard_dir", of: reader)
        if let given = reader.optional("javascript_dir", .string) { javascriptDirectory = context.resolve(given) }
        if let entry = reader.entry("rate_limit") {
            // `rate_limit: off` (or false) turns rate limiting off; a mapping sets the bucket.
            if case .scalar(let text, true) = entry.value.content, ["off", "false", "no"].contains(text.lowercased()) {
                rateLimit = nil
            } else if !entry.value.isNull,
                let section = MappingReader.make(entry.value, path: reader.keyPath("rate_limit"), origin: entry.keyOrigin, log: context.log)
            {
                var limit = RateLimit()
                limit.requestsPerSecond = section.value("requests_per_s", .number(in: 0.001...1_000_000), default: limit.requestsPerSecond)
                limit.burst = section.value("burst", .integer(1...1_000_000), default: limit.burst)
                section.reportUnknownKeys()
                rateLimit = limit
            }
        }
        if let elements = reader.list("cors_allowed_origins") {
            let originType = ValueType<String>.string.checked { Self.corsOriginProblem($0) }
            for (index, element) in elements.enumerated() {
                if let origin = reader.convert(element, key: reader.keyPath("cors_allowed_origins") + "[\(index)]", originType),
                    !corsAllowedOrigins.contains(origin)
                {
                    corsAllowedOrigins.append(origin)
                }
            }
        }
        maxBodyBytes = reader.value("max_body_bytes", .integer(1024...(64 * 1024 * 1024)), default: maxBodyBytes)
        maxURIBytes = reader.value("max_uri_bytes", .integer(256...65536), default: maxURIBytes)
        reader.reportUnknownKeys()
    }
}
