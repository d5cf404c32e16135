/// The HTTP API listener and who may read it (DESIGN §7).
///
/// Without a tokens file nobody can authenticate, so reads are public and nothing can be written; with one, reads
/// need a `viewer` token unless `publicReads` is true. Invariant: `port` is in 0…65535 (0: any free port).
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

    public init(
        listen: String = "127.0.0.1:8080", host: String = "127.0.0.1", port: Int = 8080, tokensFile: String? = nil,
        publicReads: Bool = true, dashboardDirectory: String? = nil, javascriptDirectory: String = "/usr/share/javascript"
    ) {
        self.listen = listen
        self.host = host
        self.port = port
        self.tokensFile = tokensFile
        self.publicReads = publicReads
        self.dashboardDirectory = dashboardDirectory
        self.javascriptDirectory = javascriptDirectory
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
        reader.reportUnknownKeys()
    }
}
