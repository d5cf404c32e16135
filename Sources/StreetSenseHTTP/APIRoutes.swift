import Foundation
import HTTPTypes
import Hummingbird
import Logging
import StreetSenseCore

/// The HTTP JSON API (DESIGN §7): zones, sensors, their stored series, rejects, alerts (list, detail,
/// acknowledgement, Server-Sent Events), health and readiness, and the OpenAPI document that describes them
/// (`/api/v1/openapi.yaml`).
///
/// Handlers answer from one immutable ``Snapshot`` per request (``SnapshotSource``) and from stored history
/// (``HistorySource``, read on the API's own dispatch queues); they never touch live state. Errors are
/// RFC 9457 problem documents (``ProblemDetails``). `GET /api/v1/zones` reuses each page's encoded body until a
/// new snapshot is published. With a tokens file (``APIAccess``) and private reads, every route but the OpenAPI
/// document, `/healthz` and `/readyz` needs a bearer token; rejects need one even when reads are public, and a
/// token scoped to pilots reads only those pilots' sensors, series and rejects (403 for another pilot's).
/// ``ProtectionMiddleware`` applies rate limits, size limits and CORS (``HTTPProtection``) before routing.
///
/// ```swift
/// let router = Router()
/// APIRoutes(services: services).add(to: router)
/// // … the application adds its own routes (dashboard, metrics) to the same router.
/// ```
public struct APIRoutes: Sendable {
    /// The path prefix of every API route.
    public static let prefix = "/api/v1"

    /// The routes this type always adds, as Hummingbird path patterns, each answering `GET` (and `HEAD`) only.
    public static let paths: [String] = [
        "/api/v1/zones", "/api/v1/zones/:id", "/api/v1/zones/:id/series",
        "/api/v1/sensors", "/api/v1/sensors/:pilot/:sensor", "/api/v1/sensors/:pilot/:sensor/series",
        "/api/v1/rejects", "/api/v1/openapi.yaml", "/healthz", "/readyz",
    ]

    /// The routes added when ``APIServices/alerts`` is set: GET (and HEAD) except `…/ack`, which is POST only.
    public static let alertPaths: [String] = [
        "/api/v1/alerts", "/api/v1/alerts/stream", "/api/v1/alerts/deliveries", "/api/v1/alerts/:id", "/api/v1/alerts/:id/ack",
    ]

    /// The unit of a zone's density series.
    static let densityUnit = "p/m2"

    let services: APIServices
    let alertStream: AlertStreamSettings
    let streamClients: StreamClientLimit
    let protection: HTTPProtection
    private let zoneList = ZoneListCache()
    let reads: HistoryReadQueue
    private let openAPIDocument: ByteBuffer?

    /// - Parameters:
    ///   - services: where live state, history, readiness and alerts come from, and who may do what.
    ///   - historyReadWidth: how many blocking history reads may run at once.
    ///   - alertStream: how the alerts' Server-Sent Events feed behaves.
    ///   - protection: rate limits, size limits and CORS.
    public init(
        services: APIServices, historyReadWidth: Int = 4, alertStream: AlertStreamSettings = AlertStreamSettings(),
        protection: HTTPProtection = HTTPProtection()
    ) {
        self.services = services
        self.protection = protection
        self.reads = HistoryReadQueue(width: historyReadWidth)
        self.alertStream = alertStream
        self.streamClients = StreamClientLimit(limit: alertStream.maximumClients)
        self.openAPIDocument = (try? Self.openAPIDocumentText()).map { ByteBuffer(string: $0) }
    }

    /// The number of alert streams being served now.
    public var activeAlertStreams: Int { streamClients.activeCount }

    /// The OpenAPI 3.1 document bundled with this module, as served at `/api/v1/openapi.yaml`.
    public static func openAPIDocumentText() throws -> String {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml") else {
            throw CocoaError(.fileNoSuchFile)
        }
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// Adds the API routes to `router`, with a ``ProtectionMiddleware`` and a ``ProblemDetailsMiddleware`` on the
    /// router, so that the limits apply to every route of the router and unknown `/api/…` paths also answer with a
    /// problem document. The routes answer GET and HEAD; POST, PUT, PATCH, DELETE and OPTIONS (but for an allowed
    /// origin's CORS preflight) on them answer 405.
    public func add<Context: RequestContext>(to router: Router<Context>) {
        router.add(middleware: ProtectionMiddleware<Context>(protection: protection, tokens: services.access.tokens))
        router.add(middleware: ProblemDetailsMiddleware<Context>())
        get(router, "/api/v1/zones") { request, _ in try self.zones(request) }
        get(router, "/api/v1/zones/:id") { request, context in try self.zone(request, context.parameters) }
        get(router, "/api/v1/zones/:id/series") { request, context in try await self.zoneSeries(request, context.parameters, context.logger) }
        get(router, "/api/v1/sensors") { request, _ in try self.sensors(request) }
        get(router, "/api/v1/sensors/:pilot/:sensor") { request, context in try self.sensor(request, context.parameters) }
        get(router, "/api/v1/sensors/:pilot/:sensor/series") { request, context in
            try await self.sensorSeries(request, context.parameters, context.logger)
        }
        get(router, "/api/v1/rejects") { request, context in try await self.rejects(request, context.logger) }
        get(router, "/api/v1/openapi.yaml", public: true) { request, _ in try self.openAPI(request) }
        get(router, "/healthz", public: true) { _, _ in Self.json(.ok) { $0.object { $0.member("status", "ok") } } }
        get(router, "/readyz", public: true) { _, _ in self.readiness() }
        if let alerts = services.alerts { addAlertRoutes(to: router, source: alerts) }
    }

    /// Registers `handler` for GET and HEAD (the same response without its body) on `path`, and a 405
    /// problem for the other methods. Unless `public`, the request must pass ``authorizeRead(_:)`` first.
    func get<Context: RequestContext>(
        _ router: Router<Context>, _ path: RouterPath, public isPublic: Bool = false,
        _ route: @escaping @Sendable (Request, Context) async throws -> Response
    ) {
        let handler: @Sendable (Request, Context) async throws -> Response
        if isPublic {
            handler = route
        } else {
            handler = { request, context in
                try self.authorizeRead(request)
                return try await route(request, context)
            }
        }
        router.get(path, use: handler)
        router.head(path) { request, context -> Response in
            do {
                return try await handler(request, context).createHeadResponse()
            } catch let error as any HTTPResponseError {
                return try error.response(from: request, context: context).createHeadResponse()
            }
        }
        for method in [HTTPRequest.Method.post, .put, .patch, .delete, .options] {
            router.on(path, method: method) { request, _ -> Response in
                throw ProblemDetails(
                    .methodNotAllowed, detail: "\(request.method.rawValue) is not allowed on \(request.uri.path); use GET",
                    allowedMethods: [.get, .head]
                )
            }
        }
    }

    // MARK: Zones

    /// One page of zones in configuration order (`limit`, default ``defaultPageSize``), continuing after the
    /// zone named by `cursor`; `next_cursor` is null on the last page. Paged like `GET /api/v1/sensors`, so a
    /// city of thousands of zones answers in a few hundred kilobytes per request, not megabytes.
    func zones(_ request: Request) throws -> Response {
        let query = try QueryParameters(request.uri, accepting: ["limit", "cursor"])
        let limit = try query.integer("limit", in: 1...Self.maximumPageSize) ?? Self.defaultPageSize
        let snapshot = services.snapshots.currentSnapshot()
        var start = 0
        if let cursor = query.string("cursor") {
            guard let after = ZoneCursor.decode(cursor) else {
                throw ProblemDetails.foreignCursor
            }
            guard let index = snapshot.zoneIndex[after] else {
                throw ProblemDetails.invalidParameter("cursor", "names zone '\(after)', which is no longer configured; list again without a cursor")
            }
            start = index + 1
        }
        return Self.json(.ok, body: zoneList.body(for: snapshot, page: ZoneListCache.Page(start: start, limit: limit)))
    }

    func zone(_ request: Request, _ parameters: Parameters) throws -> Response {
        let snapshot = services.snapshots.currentSnapshot()
        let zone = try Self.zone(parameters, in: snapshot)
        _ = try QueryParameters(request.uri, accepting: [])
        return Self.json(.ok) { $0.zone(zone, alerts: snapshot.activeAlerts(zone: zone.definition.id)) }
    }

    func zoneSeries(_ request: Request, _ parameters: Parameters, _ logger: Logger) async throws -> Response {
        let snapshot = services.snapshots.currentSnapshot()
        let zone = try Self.zone(parameters, in: snapshot)
        let query = try QueryParameters(request.uri, accepting: ["metric", "from", "to", "step"])
        _ = try query.choice("metric", from: [("density", ())])
        let series = try SeriesRequest(query, now: snapshot.asOf)
        let history = services.history
        let id = zone.definition.id
        let points = try await readHistory(logger, "zone density series of \(id)") {
            try history.zoneDensitySeries(zone: id, from: series.from, to: series.to, step: series.step)
        }
        return Self.json(.ok) { $0.series(metric: "density", unit: Self.densityUnit, request: series, points: points) }
    }

    private static func zone(_ parameters: Parameters, in snapshot: Snapshot) throws(ProblemDetails) -> ZoneSnapshot {
        let id = parameters.get("id") ?? ""
        guard let zone = snapshot.zone(id: id) else { throw .notFound("no zone '\(id)'") }
        return zone
    }

    // MARK: Sensors

    static let defaultPageSize = 100
    static let maximumPageSize = 1000

    func sensors(_ request: Request) throws -> Response {
        let scope = try readScope(request)
        let query = try QueryParameters(request.uri, accepting: ["pilot", "zone", "status", "limit", "cursor"])
        let pilot = try query.identifier("pilot")
        if let pilot { try Self.check(scope, covers: pilot) }
        let zone = try query.identifier("zone")
        let status = try query.choice("status", from: SensorStatus.allCases.map { ($0.rawValue, $0) })
        let limit = try query.integer("limit", in: 1...Self.maximumPageSize) ?? Self.defaultPageSize
        let snapshot = services.snapshots.currentSnapshot()
        let sensors = snapshot.sensors
        var start = sensors.startIndex
        if let cursor = query.string("cursor") {
            guard let after = SensorCursor.decode(cursor) else {
                throw ProblemDetails.foreignCursor
            }
            start = Self.firstIndex(in: sensors, after: after)
        }
        func matches(_ sensor: SensorSnapshot) -> Bool {
            (pilot == nil || sensor.address.pilot == pilot) && (scope?.covers(pilot: sensor.address.pilot) ?? true)
                && (zone == nil || sensor.definition?.zone == zone)
                && (status == nil || sensor.status == status)
        }
        var page: [Int] = []
        var hasMore = false
        var index = start
        while index < sensors.endIndex {
            if matches(sensors[index]) {
                if page.count == limit {
                    hasMore = true
                    break
                }
                page.append(index)
            }
            index += 1
        }
        return Self.json(.ok) { json in
            json.object { json in
                json.member("as_of", time: snapshot.asOf)
                json.key("sensors")
                json.array { json in
                    for index in page { json.sensorSummary(sensors[index]) }
                }
                json.member("next_cursor", hasMore ? page.last.map { SensorCursor.encode(sensors[$0].address) } : nil)
            }
        }
    }

    /// The index of the first sensor whose address sorts after `address` (sensors are sorted by address).
    private static func firstIndex(in sensors: [SensorSnapshot], after address: SensorAddress) -> Int {
        var low = sensors.startIndex
        var high = sensors.endIndex
        while low < high {
            let middle = low + (high - low) / 2
            if sensors[middle].address <= address { low = middle + 1 } else { high = middle }
        }
        return low
    }

    func sensor(_ request: Request, _ parameters: Parameters) throws -> Response {
        try Self.check(try readScope(request), covers: parameters.get("pilot") ?? "")
        let snapshot = services.snapshots.currentSnapshot()
        let sensor = try Self.sensor(parameters, in: snapshot)
        _ = try QueryParameters(request.uri, accepting: [])
        let zoneArea = sensor.definition.flatMap { snapshot.zone(id: $0.zone) }?.definition.areaM2
        return Self.json(.ok) { $0.sensorDetail(sensor, zoneArea: zoneArea, asOf: snapshot.asOf) }
    }

    func sensorSeries(_ request: Request, _ parameters: Parameters, _ logger: Logger) async throws -> Response {
        try Self.check(try readScope(request), covers: parameters.get("pilot") ?? "")
        let snapshot = services.snapshots.currentSnapshot()
        let sensor = try Self.sensor(parameters, in: snapshot)
        let query = try QueryParameters(request.uri, accepting: ["metric", "from", "to", "step"])
        let metricChoices = Metric.allCases.map { ($0.name, $0) }
        guard let metric = try query.choice("metric", from: metricChoices) else {
            throw ProblemDetails.invalidParameter("metric", "is required: one of " + metricChoices.map(\.0).joined(separator: ", "))
        }
        let series = try SeriesRequest(query, now: snapshot.asOf)
        let history = services.history
        let address = sensor.address
        let points = try await readHistory(logger, "\(metric.name) series of \(address)") {
            try history.sensorSeries(address, metric: metric, from: series.from, to: series.to, step: series.step)
        }
        return Self.json(.ok) { $0.series(metric: metric.name, unit: metric.unit, request: series, points: points) }
    }

    private static func sensor(_ parameters: Parameters, in snapshot: Snapshot) throws(ProblemDetails) -> SensorSnapshot {
        let address = SensorAddress(pilot: parameters.get("pilot") ?? "", sensor: parameters.get("sensor") ?? "")
        guard let sensor = snapshot.sensor(address) else { throw .notFound("no sensor '\(address.sensor)' of pilot '\(address.pilot)'") }
        return sensor
    }

    // MARK: Rejects

    func rejects(_ request: Request, _ logger: Logger) async throws -> Response {
        let scope = try rejectsScope(request)
        let query = try QueryParameters(request.uri, accepting: ["pilot", "reason", "limit", "cursor"])
        let pilot = try query.identifier("pilot")
        if let pilot { try Self.check(scope, covers: pilot) }
        // A scoped token without `pilot` reads its own pilots' rejects (never those whose topic named no pilot).
        let pilots: [String?] = pilot.map { [$0] } ?? scope?.pilots?.map { Optional($0) } ?? [nil]
        let reason = try query.choice("reason", from: RejectReason.allCases.map { ($0.rawValue, $0) })
        let limit = try query.integer("limit", in: 1...Self.maximumPageSize) ?? Self.defaultPageSize
        let cursor: Int64?
        if let text = query.string("cursor") {
            guard let value = Int64(text), value > 0, text.allSatisfy(\.isASCII) else {
                throw ProblemDetails.foreignCursor
            }
            cursor = value
        } else {
            cursor = nil
        }
        let snapshot = services.snapshots.currentSnapshot()
        let history = services.history
        var records = try await readHistory(logger, "rejects") {
            // Each pilot's rows newest first; merged by id, they are the newest of the scope.
            var rows: [RejectRecord] = []
            for pilot in pilots { rows += try history.rejects(pilot: pilot, reason: reason, before: cursor, limit: limit + 1) }
            if pilots.count > 1 { rows.sort { $0.id > $1.id } }
            return Array(rows.prefix(limit + 1))
        }
        let hasMore = records.count > limit
        if hasMore { records.removeLast(records.count - limit) }
        var totals = IngestCounts()
        if pilot != nil || scope?.pilots != nil {
            let counted = Set(pilots.compactMap { $0 })
            for sensor in snapshot.sensors where counted.contains(sensor.address.pilot) {
                totals.messages += sensor.counts.messages
                totals.rejected += sensor.counts.rejected
                for index in totals.rejectsByReason.indices { totals.rejectsByReason[index] += sensor.counts.rejectsByReason[index] }
            }
        } else {
            totals = snapshot.totals
        }
        return Self.json(.ok) { json in
            json.object { json in
                json.member("as_of", time: snapshot.asOf)
                json.key("totals")
                json.object { json in
                    json.member("messages", totals.messages)
                    json.member("rejected", totals.rejected)
                    json.key("rejects_by_reason")
                    json.rejectsByReason(totals.rejectsByReason)
                }
                json.key("rejects")
                json.array { json in
                    for record in records { json.reject(record) }
                }
                json.member("next_cursor", hasMore ? records.last.map { String($0.id) } : nil)
            }
        }
    }

    // MARK: Health, readiness, document

    func readiness() -> Response {
        let checks = services.readiness.readiness()
        let ready = checks.allSatisfy(\.ok)
        return Self.json(ready ? .ok : .serviceUnavailable) { json in
            json.object { json in
                json.member("status", ready ? "ready" : "not_ready")
                json.key("checks")
                json.array { json in
                    for check in checks {
                        json.object { json in
                            json.member("name", check.name)
                            json.member("ok", check.ok)
                            json.member("detail", check.detail)
                        }
                    }
                }
            }
        }
    }

    func openAPI(_ request: Request) throws -> Response {
        _ = try QueryParameters(request.uri, accepting: [])
        guard let document = openAPIDocument else {
            throw ProblemDetails(.internalError, detail: "the OpenAPI document is missing from the module's resources")
        }
        return Response(
            status: .ok,
            headers: [.contentType: "application/yaml", .contentLength: String(document.readableBytes)],
            body: ResponseBody(byteBuffer: document)
        )
    }

    // MARK: Helpers

    /// Runs a blocking history read off the cooperative pool; any error becomes a logged 500 problem.
    private func readHistory<T: Sendable>(_ logger: Logger, _ what: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await reads.run(body)
        } catch {
            logger.error("reading stored history failed", metadata: ["what": "\(what)", "error": "\(String(reflecting: error))"])
            throw ProblemDetails(.internalError, detail: "reading the stored \(what) failed")
        }
    }

    static func json(_ status: HTTPResponse.Status, body: ByteBuffer) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json", .contentLength: String(body.readableBytes)],
            body: ResponseBody(byteBuffer: body)
        )
    }

    static func json(_ status: HTTPResponse.Status, _ write: (inout JSONWriter) -> Void) -> Response {
        var writer = JSONWriter()
        write(&writer)
        return json(status, body: ByteBuffer(bytes: writer.bytes))
    }
}

/// A router with the API on it, for an ``APIRequestContext`` application.
public func buildAPIRouter(
    _ services: APIServices, alertStream: AlertStreamSettings = AlertStreamSettings(), protection: HTTPProtection = HTTPProtection()
) -> Router<APIRequestContext> {
    let router = Router(context: APIRequestContext.self)
    APIRoutes(services: services, alertStream: alertStream, protection: protection).add(to: router)
    return router
}
