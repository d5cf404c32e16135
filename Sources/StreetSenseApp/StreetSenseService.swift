import Dispatch
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import StreetSenseAlerts
import StreetSenseConfig
import StreetSenseCore
import StreetSenseDelivery
import StreetSenseHTTP
import StreetSenseMetrics
import StreetSensePipeline
import StreetSenseStore
import Synchronization
import UnixSignals

/// The whole StreetSense service built from one configuration: the SQLite store, the pipeline thread and its
/// store writer, the MQTT subscription, the HTTP API and the retention job, run by one ServiceLifecycle
/// `ServiceGroup` with graceful shutdown on SIGTERM and SIGINT.
///
/// Start-up order: open and migrate the store, sync the registry, refill the windows from the last hour of
/// stored readings (so densities do not start from zero), then connect. Shutdown order: HTTP stops, the MQTT
/// client disconnects (no message arrives after), the pipeline processes what is queued and flushes, the
/// writer commits every batch, the store closes. Every reading the broker saw acknowledged is committed
/// before the process exits.
public final class StreetSenseService: Sendable {
    public let configuration: StreetSenseConfiguration
    public let store: SQLiteStore
    public let snapshots: SnapshotBox
    public let queue: IngestQueue
    let runner: PipelineRunner
    let writer: StoreWriter
    let ingest: MQTTIngest
    let logger: Logger
    /// Every alert transition, live, for SSE, MQTT and webhooks.
    public let alertFeed: AlertFeed
    /// The Prometheus metrics served at `/metrics`.
    public let metrics = ServiceMetrics()
    /// The number of alert streams being served, once the HTTP routes exist.
    private let alertStreams = Mutex<(@Sendable () -> Int)?>(nil)
    private let httpPort = Mutex<Int?>(nil)
    private let group = Mutex<ServiceGroup?>(nil)
    private let webhooks = Mutex<WebhookSender?>(nil)
    private let mqttPublisher = Mutex<AlertMQTTPublisher?>(nil)
    /// The tokens of `http.tokens_file`, read at start-up so that a bad file stops the service before it starts.
    let tokens: AccessTokens?

    /// Delivery statistics of each configured webhook (empty when none is configured or before `run`).
    public var webhookStatistics: [WebhookStatistics] { webhooks.withLock { $0?.statistics ?? [] } }

    /// How alert delivery on MQTT and to webhooks stands (`GET /api/v1/alerts/deliveries`); empty before `run`.
    public var alertDeliveryStatus: AlertDeliveryStatus {
        AlertDeliveryStatus(mqtt: mqttPublisher.withLock { $0?.statistics }, webhooks: webhookStatistics)
    }

    /// How far back stored readings refill the windows at start-up: the longest window plus the lateness.
    static let restoreHorizon: Duration = .seconds(3600 + 180)
    /// How much further back stored 1-minute rollups refill the pollutant means (24-hour PM means).
    static let airRestoreHorizon: Duration = .seconds(24 * 3600)

    public init(configuration: StreetSenseConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        self.tokens = try configuration.http.tokensFile.map { path throws(AccessTokensError) in try AccessTokens.load(path: path) }
        var storeOptions = SQLiteStore.Options()
        storeOptions.rejectLimit = configuration.store.rejectsMaxRows
        try Self.createParentDirectory(of: configuration.store.sqlitePath)
        var upgradeStarted: ContinuousClock.Instant?
        let store = try SQLiteStore(path: configuration.store.sqlitePath, options: storeOptions) { from, pending in
            upgradeStarted = .now
            logger.notice("upgrading the store's schema; a large store takes a few seconds (about 1 s per million rollup rows)", metadata: [
                "path": .string(configuration.store.sqlitePath), "from": .string(from),
                "to": .string(pending.last ?? from), "steps": .string(pending.joined(separator: ",")),
            ])
        }
        if let upgradeStarted {
            logger.notice("upgraded the store's schema", metadata: [
                "seconds": .string(String(format: "%.1f", Double((ContinuousClock.now - upgradeStarted).wholeMilliseconds) / 1000)),
            ])
        }
        self.store = store
        let records = try store.syncRegistry(zones: configuration.zones, sensors: configuration.sensors)

        let metrics = self.metrics
        let writer = StoreWriter(store: store, capacity: 8, logger: logger) { batch, duration in
            metrics.recordCommit(duration: duration, readings: batch.readings.count, alertEvents: batch.alertEvents)
        }
        self.writer = writer
        // Built exactly as offline replay builds it (StreetSensePipeline's configured pipeline), on the configured clock.
        let pipeline = try Pipeline(
            configuration: configuration, records: records, clock: configuration.pipeline.clock, logger: logger,
            deliver: { writer.submit($0) })
        if configuration.pipeline.clock == .event {
            logger.notice("pipeline.clock is event: \"now\" is the newest reading time alone, the wall clock does not move it")
        }

        // Refill windows, duplicate detection and flow occupancies from what was committed before.
        // On a whole minute, so the rollups before it and the raw readings after it do not overlap.
        let since = EventTime(milliseconds: (EventTime.now - Self.restoreHorizon).milliseconds / 60_000 * 60_000)
        let recent = try store.recentReadings(since: since)
        let airRollups = try store.rollups(of: [.pm2_5, .pm10, .no2, .o3], from: since - Self.airRestoreHorizon, to: since)
        let activeAlerts = try store.activeAlerts()
        let lastAlertEventID = try store.lastAlertEventID() ?? AlertEventID(0)
        let alertFeed = AlertFeed(capacity: 4096, lastEventID: lastAlertEventID)
        self.alertFeed = alertFeed
        pipeline.feed = alertFeed
        try pipeline.restore(
            readings: recent, sensorsByRef: Dictionary(records.map { ($0.ref, $0.address) }, uniquingKeysWith: { a, _ in a }),
            flowStates: try store.flowCounters(), activeAlerts: activeAlerts, lastAlertEventID: lastAlertEventID,
            airRollups: airRollups)
        if !activeAlerts.isEmpty {
            logger.info("restored active alerts", metadata: ["alerts": .stringConvertible(activeAlerts.count)])
        }
        if !recent.isEmpty {
            logger.info("restored recent windows from the store", metadata: ["readings": .stringConvertible(recent.count)])
        }

        let queue = IngestQueue(maximumMessages: configuration.pipeline.queueCapacity, payloadLimit: configuration.pipeline.maxPayloadBytes)
        self.queue = queue
        let snapshots = SnapshotBox()
        self.snapshots = snapshots
        self.runner = PipelineRunner(pipeline: pipeline, queue: queue, snapshots: snapshots)
        self.ingest = try MQTTIngest(settings: configuration.mqtt, queue: queue, logger: logger)
    }

    /// The port the HTTP server listens on, once it does (useful with port 0).
    public var boundHTTPPort: Int? { httpPort.withLock { $0 } }

    /// The broker connection, the writer's progress and the snapshot, for readiness and tests.
    public var brokerConnected: Bool { ingest.connectionState.connected }
    public var writerStatistics: StoreWriter.Statistics { writer.currentStatistics }

    /// Runs until SIGTERM/SIGINT (or until the surrounding task is cancelled), then shuts down in order.
    ///
    /// - Parameter additionalServices: run in the same group and shut down first (the demo's publisher).
    public func run(
        gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint], additionalServices: [any Service] = [],
        onHTTPReady: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let router = Router(context: APIRequestContext.self)
        // Outermost, so it times every route and sees the status of problem responses too.
        router.add(middleware: HTTPMetricsMiddleware(metrics: metrics))
        let services = APIServices(
            snapshots: SnapshotBoxSource(box: snapshots),
            history: StoreHistory(store: store),
            readiness: ServiceReadiness(ingest: ingest, writer: writer),
            alerts: StoreAlerts(store: store, runner: runner, feed: alertFeed, delivery: { [self] in self.alertDeliveryStatus }),
            access: APIAccess(tokens: tokens, publicReads: configuration.http.publicReads))
        let api = APIRoutes(
            services: services, alertStream: AlertStreamSettings(cloudEventSource: configuration.alerts.source),
            protection: Self.protection(configuration.http))
        api.add(to: router)
        alertStreams.withLock { $0 = { api.activeAlertStreams } }
        router.get("/metrics") { [self] _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: self.metrics.exposition(self.vitals()))))
        }
        let dashboardDirectory = configuration.http.dashboardDirectory ?? DashboardRoutes.defaultDashboardDirectory()
        if dashboardDirectory == nil {
            logger.warning("the dashboard files were not found; set http.dashboard_dir to the folder of dashboards/web")
        }
        let javascript = configuration.http.javascriptDirectory
        for library in DashboardRoutes.vendorLibraries where !FileManager.default.fileExists(atPath: "\(javascript)/\(library)") {
            logger.warning(
                "a JavaScript library of the dashboard is missing (Debian: libjs-leaflet, libjs-chart.js)",
                metadata: ["folder": "\(javascript)/\(library)"])
        }
        DashboardRoutes(dashboardDirectory: dashboardDirectory, javascriptDirectory: javascript).add(to: router)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.http.host, port: configuration.http.port), serverName: "StreetSense"),
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? 0
                self.httpPort.withLock { $0 = port }
                await onHTTPReady(port)
            },
            logger: logger)
        let chain = IngestChain(ingest: ingest, runner: runner, writer: writer, store: store, logger: logger)
        let retention = RetentionJob(
            store: store, rawDays: configuration.store.rawRetentionDays, rollupDays: configuration.store.rollupRetentionDays, logger: logger)
        // Alert delivery runs on its own tasks: a slow broker or a dead webhook never holds the pipeline.
        var delivery: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if configuration.alerts.mqttPublish {
            let publisher = AlertMQTTPublisher(
                client: ingest.mqttClient, feed: alertFeed, prefix: configuration.mqtt.topicPrefix, source: configuration.alerts.source,
                logger: logger)
            mqttPublisher.withLock { $0 = publisher }
            delivery.append(.init(service: publisher, serviceName: "alerts-mqtt"))
        }
        if !configuration.alerts.webhooks.isEmpty {
            let webhooks = WebhookSender(endpoints: configuration.alerts.webhooks, feed: alertFeed, source: configuration.alerts.source, logger: logger)
            self.webhooks.withLock { $0 = webhooks }
            delivery.append(.init(service: webhooks, serviceName: "alerts-webhooks"))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: chain, serviceName: "ingest"),
                    .init(service: app, serviceName: "http"),
                    .init(service: retention, serviceName: "retention"),
                ] + delivery + additionalServices.map { .init(service: $0) },
                gracefulShutdownSignals: gracefulShutdownSignals,
                logger: logger))
        self.group.withLock { $0 = group }
        try await group.run()
    }

    /// The HTTP protection of `http.rate_limit`, `http.cors_allowed_origins`, `http.max_body_bytes` and `http.max_uri_bytes`.
    static func protection(_ http: HTTPSettings) -> HTTPProtection {
        HTTPProtection(
            rateLimit: http.rateLimit.map { HTTPProtection.RateLimit(requestsPerSecond: $0.requestsPerSecond, burst: $0.burst) },
            corsAllowedOrigins: http.corsAllowedOrigins, maximumBodyBytes: http.maxBodyBytes, maximumURIBytes: http.maxURIBytes)
    }

    /// What `/metrics` reports at scrape time: every read is a published value, an atomic or a short lock.
    public func vitals() -> ServiceVitals {
        let writerStatistics = writer.currentStatistics
        let connection = ingest.connectionState
        return ServiceVitals(
            snapshot: snapshots.snapshot(), ingestQueueMessages: queue.depth, ingestProducerWaitsTotal: queue.producerWaits,
            ingestConsumerNapsTotal: queue.consumerNaps,
            storeQueueBatches: writer.queuedBatches, storeWritable: writerStatistics.writable, storeFailedAttemptsTotal: writerStatistics.failedAttempts,
            storeBytes: Self.fileSize(configuration.store.sqlitePath).map { $0 + (Self.fileSize(configuration.store.sqlitePath + "-wal") ?? 0) },
            brokerConnected: connection.connected, brokerConnectsTotal: connection.connects,
            alertStreamClients: alertStreams.withLock { $0 }?() ?? 0, deliveries: alertDeliveryStatus)
    }

    /// The size of a file in bytes, or nil when it cannot be read.
    private static func fileSize(_ path: String) -> Int64? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return Int64(status.st_size)
    }

    /// Starts the same graceful shutdown as SIGTERM (tests, embedding); `run` returns once it is done.
    public func shutdown() async {
        if let group = group.withLock({ $0 }) { await group.triggerGracefulShutdown() }
    }

    private static func createParentDirectory(of path: String) throws {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return }
        try makeDirectories(String(path[..<slash]))
    }
}

/// Starts the ingest chain (store writer, pipeline thread, MQTT client) and, on graceful shutdown, stops it
/// front to back so that everything received is committed.
struct IngestChain: Service {
    let ingest: MQTTIngest
    let runner: PipelineRunner
    let writer: StoreWriter
    let store: SQLiteStore
    let logger: Logger

    func run() async throws {
        writer.start()
        runner.start()
        try ingest.start()
        try? await gracefulShutdown()
        logger.info("shutting down: disconnecting, draining the pipeline, committing")
        await onBlockingThread {
            ingest.stop()
            runner.finish()
            writer.finish()
        }
        let statistics = writer.currentStatistics
        do {
            try store.close()
        } catch {
            logger.error("closing the store failed", metadata: ["error": .string("\(error)")])
        }
        logger.info("stopped", metadata: [
            "readings_committed": .stringConvertible(statistics.readingsCommitted),
            "batches_committed": .stringConvertible(statistics.batchesCommitted),
        ])
    }
}

/// Deletes raw readings and rollups past their retention once an hour, in small transactions.
struct RetentionJob: Service {
    let store: SQLiteStore
    let rawDays: Int
    let rollupDays: Int
    let logger: Logger
    var interval: Duration = .seconds(3600)

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let result = await onBlockingThread { try? store.enforceRetention(now: .now, rawDays: rawDays, rollupDays: rollupDays) }
                if let result, result.readingsDeleted + result.rollupsDeleted > 0 {
                    logger.info("retention", metadata: [
                        "readings_deleted": .stringConvertible(result.readingsDeleted),
                        "rollups_deleted": .stringConvertible(result.rollupsDeleted),
                    ])
                }
                try await Task.sleep(for: interval)
            }
        }
    }
}

/// The API's view of the snapshot box.
struct SnapshotBoxSource: SnapshotSource {
    let box: SnapshotBox
    func currentSnapshot() -> Snapshot { box.snapshot() }
}

/// `/readyz`: the broker is connected and the store accepts commits.
struct ServiceReadiness: ReadinessProbe {
    let ingest: MQTTIngest
    let writer: StoreWriter

    func readiness() -> [ReadinessCheck] {
        let broker = ingest.connectionState
        let store = writer.currentStatistics
        return [
            ReadinessCheck(name: "broker", ok: broker.connected, detail: broker.connected ? "connected" : "disconnected: \(broker.lastError ?? "connecting")"),
            ReadinessCheck(name: "store", ok: store.writable, detail: store.writable ? "writable" : "commits failing: \(store.lastError ?? "unknown")"),
        ]
    }
}

/// Runs blocking work (thread joins, SQLite) on a Dispatch thread instead of the cooperative pool.
func onBlockingThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: body()) }
    }
}

/// `mkdir -p`.
func makeDirectories(_ path: String) throws {
    var current = path.hasPrefix("/") ? "" : "."
    for component in path.split(separator: "/") {
        current += "/" + component
        if mkdir(current, 0o755) != 0, errno != EEXIST {
            throw DirectoryError(path: current, code: errno)
        }
    }
}

/// A directory could not be created.
struct DirectoryError: Error, CustomStringConvertible {
    var path: String
    var code: Int32
    var description: String { "cannot create directory \(path): \(String(cString: strerror(code)))" }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
