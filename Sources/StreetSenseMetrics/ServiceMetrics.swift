import Prometheus
import StreetSenseAlerts
import StreetSenseCore
import Synchronization

/// The service's Prometheus metrics, served at `/metrics` in the text exposition format (swift-prometheus).
///
/// Two kinds of source feed it, and neither touches the hot path:
/// - events recorded as they happen off the pipeline thread: store commits (``recordCommit(duration:readings:alertEvents:)``,
///   on the writer thread, once per batch) and HTTP requests (``HTTPMetricsMiddleware``);
/// - ``ServiceVitals`` read at scrape time: ingest counts from the published snapshot, queue depths, the broker
///   connection, delivery counters. Counts that are totals in the snapshot become counters by adding what grew
///   since the previous scrape, so they stay monotonic and a restart shows as an ordinary counter reset.
///
/// Names follow Prometheus conventions: the `streetsense_` prefix, base units (`_seconds`, `_bytes`), `_total` on
/// counters. Labels are bounded: pilot, reason, zone, rule, severity, route, webhook URL; never a sensor id or a
/// payload. Invariant: one metric name always carries the same label names.
public final class ServiceMetrics: Sendable {
    /// The registry every metric lives in.
    public let registry = PrometheusCollectorRegistry()
    /// Upper bounds of the commit-duration buckets.
    static let commitBuckets: [Duration] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500].map { .milliseconds($0) }
    /// Upper bounds of the HTTP request-duration buckets.
    static let requestBuckets: [Duration] = [.microseconds(100), .microseconds(250), .microseconds(500)]
        + [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000].map { .microseconds(Int64($0 * 1000)) }

    private let commitDuration: DurationHistogram
    private let readingsCommitted: Counter
    private let batchesCommitted: Counter
    /// What each snapshot-derived counter was at the previous scrape, by name and labels; the lock also keeps two
    /// scrapes from adding the same growth twice.
    private let scraped = Mutex<[String: Int]>([:])

    public init() {
        commitDuration = registry.makeDurationHistogram(
            descriptor: Self.name("store_commit_duration", "seconds", "Time to commit one batch of readings, rollups, rejects and alert events."),
            buckets: Self.commitBuckets)
        readingsCommitted = registry.makeCounter(descriptor: Self.name("store_readings_committed", "total", "Raw readings committed to the store."))
        batchesCommitted = registry.makeCounter(descriptor: Self.name("store_batches_committed", "total", "Batches (transactions) committed to the store."))
    }

    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "streetsense", metricName: metric, unitName: unit, helpText: help)
    }

    // MARK: Events

    /// Records one committed store batch and the alert transitions it carried. Called on the writer thread.
    public func recordCommit(duration: Duration, readings: Int, alertEvents: [AlertEvent]) {
        commitDuration.record(duration)
        batchesCommitted.increment()
        readingsCommitted.increment(by: Int64(readings))
        for event in alertEvents {
            registry.makeCounter(
                descriptor: Self.name("alert_transitions", "total", "Alert transitions (raised, escalated, de-escalated, acknowledged, cleared)."),
                labels: [("rule", event.rule.rawValue), ("severity", event.severity.rawValue), ("transition", event.transition.rawValue)]
            ).increment()
        }
    }

    /// Records one answered HTTP request. `route` is the matched route pattern (`/api/v1/zones/{id}`), never the raw path.
    public func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        registry.makeDurationHistogram(
            descriptor: Self.name("http_request_duration", "seconds", "Time from request to the end of the response, by route, method and status."),
            labels: [("route", route), ("method", method), ("status", String(status))],
            buckets: Self.requestBuckets
        ).record(duration)
    }

    // MARK: Scrape

    /// Brings every scrape-time metric up to `vitals` and returns the exposition text.
    public func exposition(_ vitals: ServiceVitals) -> [UInt8] {
        scraped.withLock { previous in
            update(vitals, previous: &previous)
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return buffer
    }

    private func update(_ vitals: ServiceVitals, previous: inout [String: Int]) {
        func counter(_ metric: String, _ help: String, _ labels: [(String, String)], _ value: Int) {
            let descriptor = Self.name(metric, "total", help)
            let key = labels.reduce(descriptor.name) { $0 + "\u{1F}" + $1.0 + "=" + $1.1 }
            let grown = value - previous[key, default: 0]
            guard grown > 0 || previous[key] == nil else { return }
            previous[key] = max(value, previous[key, default: 0])
            let counter = registry.makeCounter(descriptor: descriptor, labels: labels)
            if grown > 0 { counter.increment(by: Int64(grown)) }
        }
        func gauge(_ metric: String, _ unit: String, _ help: String, _ labels: [(String, String)], _ value: Double) {
            let descriptor = Self.name(metric, unit, help)
            let gauge = labels.isEmpty ? registry.makeGauge(descriptor: descriptor) : registry.makeGauge(descriptor: descriptor, labels: labels)
            gauge.set(value)
        }

        // Ingest counts per pilot; what no sensor owns (a topic that names no pilot) has pilot "".
        let snapshot = vitals.snapshot
        var byPilot: [String: IngestCounts] = [:]
        var attributed = IngestCounts()
        for sensor in snapshot.sensors {
            byPilot[sensor.address.pilot, default: IngestCounts()].add(sensor.counts)
            attributed.add(sensor.counts)
        }
        let unattributed = snapshot.totals.subtracting(attributed)
        if unattributed.messages > 0 || unattributed.rejected > 0 { byPilot["", default: IngestCounts()].add(unattributed) }
        for (pilot, counts) in byPilot.sorted(by: { $0.key < $1.key }) {
            let labels = [("pilot", pilot)]
            counter("messages_received", "MQTT messages received on the readings topics.", labels, counts.messages)
            counter("readings_accepted", "Readings accepted into the aggregation core.", labels, counts.accepted)
            counter("readings_duplicate", "Readings dropped as a second copy of (sensor, metric, t).", labels, counts.duplicate)
            counter("readings_late", "Readings stored but not aggregated: older than the allowed lateness.", labels, counts.late)
            for (reason, count) in counts.rejectsByReasonName {
                counter("rejects", "Messages or values rejected, by pilot and reason.", [("pilot", pilot), ("reason", reason.rawValue)], count)
            }
        }

        gauge("ingest_queue", "messages", "Messages waiting between the MQTT thread and the pipeline.", [], Double(vitals.ingestQueueMessages))
        counter("ingest_producer_waits", "Times the MQTT thread waited for room in the ingest queue (backpressure).", [], vitals.ingestProducerWaitsTotal)
        counter("ingest_consumer_naps", "Times the pipeline thread napped under load instead of being woken per message.", [], vitals.ingestConsumerNapsTotal)
        gauge("store_queue", "batches", "Batches waiting for the store writer.", [], Double(vitals.storeQueueBatches))
        gauge("store_writable", "", "1 when the last commit succeeded, 0 while commits fail.", [], vitals.storeWritable ? 1 : 0)
        counter("store_commit_failures", "Commit attempts that failed and were retried.", [], vitals.storeFailedAttemptsTotal)
        if let bytes = vitals.storeBytes {
            gauge("store_size", "bytes", "Size of the SQLite database and its write-ahead log.", [], Double(bytes))
        }
        gauge("broker_connected", "", "1 while connected to the MQTT broker.", [], vitals.brokerConnected ? 1 : 0)
        counter("broker_connects", "Successful connections to the MQTT broker (the first one and every reconnect).", [], vitals.brokerConnectsTotal)
        gauge("alert_stream_clients", "", "Clients connected to the alerts' Server-Sent Events feed.", [], Double(vitals.alertStreamClients))

        if let mqtt = vitals.deliveries.mqtt {
            counter("alert_mqtt_published", "Alert transitions published on the MQTT alert topics.", [], mqtt.published)
            counter("alert_mqtt_failed", "Alert transitions the MQTT client refused.", [], mqtt.failed)
            counter("alert_mqtt_dropped", "Alert transitions dropped unpublished (queue full while disconnected).", [], mqtt.dropped)
            gauge("alert_mqtt_pending", "", "Alert transitions waiting to be published on MQTT.", [], Double(mqtt.pending))
        }
        for webhook in vitals.deliveries.webhooks {
            let url = [("url", webhook.url)]
            let help = "Alert transitions per webhook: delivered, failed after the last attempt, or dropped unsent."
            counter("webhook_deliveries", help, url + [("outcome", "delivered")], webhook.delivered)
            counter("webhook_deliveries", help, url + [("outcome", "failed")], webhook.failed)
            counter("webhook_deliveries", help, url + [("outcome", "dropped")], webhook.dropped)
            counter("webhook_retries", "Webhook attempts after the first one.", url, webhook.retries)
            gauge("webhook_pending", "", "Alert transitions queued or in flight per webhook.", url, Double(webhook.pending))
        }

        // Zones: the numbers an operator's crowd dashboard plots. A zone without a fresh estimate reads NaN.
        for zone in snapshot.zones {
            let labels = [("zone", zone.definition.id)]
            gauge("zone_density", "ppm2", "Current crowd density (people per m²) per zone.", labels, zone.densityPPM2 ?? .nan)
            gauge("zone_people", "", "Estimated people in the zone.", labels, zone.people ?? .nan)
            gauge("zone_level", "", "Crowd level: 0 normal, 1 elevated, 2 high, 3 critical.", labels,
                Double(DensityLevel.allCases.firstIndex(of: zone.level) ?? 0))
            gauge("zone_sensors_used", "", "Sensors whose fresh estimates make up the zone's density.", labels, Double(zone.coverage.sensorsUsed))
            gauge("zone_sensors_stale", "", "Sensors of the zone silent past their staleness limit.", labels, Double(zone.coverage.sensorsStale))
        }
        var statuses: [SensorStatus: Int] = [:]
        for sensor in snapshot.sensors { statuses[sensor.status, default: 0] += 1 }
        for status in SensorStatus.allCases {
            gauge("sensors", "", "Sensors by status (active, stale, waiting, unregistered).", [("status", status.rawValue)], Double(statuses[status] ?? 0))
        }
        var active: [String: Int] = [:]
        for alert in snapshot.activeAlerts { active[alert.rule + "\u{1F}" + alert.severity, default: 0] += 1 }
        for rule in AlertRule.allCases {
            for severity in AlertSeverity.allCases {
                gauge("alerts_active", "", "Active alerts by rule and severity.", [("rule", rule.rawValue), ("severity", severity.rawValue)],
                    Double(active[rule.rawValue + "\u{1F}" + severity.rawValue] ?? 0))
            }
        }
        gauge("event_time", "seconds", "The newest event time the pipeline has seen (Unix seconds).", [], Double(snapshot.asOf.milliseconds) / 1000)
    }
}

extension IngestCounts {
    /// Adds another set of counts to this one.
    mutating func add(_ other: IngestCounts) {
        messages += other.messages
        accepted += other.accepted
        rejected += other.rejected
        duplicate += other.duplicate
        late += other.late
        for index in rejectsByReason.indices { rejectsByReason[index] += other.rejectsByReason[index] }
    }

    /// These counts less `other`, never below zero.
    func subtracting(_ other: IngestCounts) -> IngestCounts {
        var result = IngestCounts()
        result.messages = max(0, messages - other.messages)
        result.accepted = max(0, accepted - other.accepted)
        result.rejected = max(0, rejected - other.rejected)
        result.duplicate = max(0, duplicate - other.duplicate)
        result.late = max(0, late - other.late)
        for index in rejectsByReason.indices { result.rejectsByReason[index] = max(0, rejectsByReason[index] - other.rejectsByReason[index]) }
        return result
    }
}
