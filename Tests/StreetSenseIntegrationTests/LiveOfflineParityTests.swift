import Foundation
import Logging
import MosquittoBroker
import StreetSenseAlerts
import StreetSenseApp
import StreetSenseConfig
import StreetSenseCore
import StreetSensePipeline
import StreetSenseReplay
import StreetSenseSimulation
import StreetSenseStore
import StreetSenseTesting
import Testing

/// The shipped festival scenario (its zones, sensors, profile and air) with a shorter surge and every kind of
/// fault, so that 22 minutes of event time cross every crowd level, raise a real build-up, silence an air
/// station and send error codes, besides malformed, duplicate, late and out-of-order deliveries.
private func festivalWithFaults() throws -> Scenario {
    var festival = try ScenarioFile.load(path: "\(packageRoot)/simulators/scenarios/festival.yaml")
    festival.duration = .seconds(22 * 60)
    // 1.1 p/m² → 5.8 in 6 minutes (≈ 3.9 p/m² per 5 minutes: a build-up), 4 minutes at the peak, 4 to disperse.
    festival.surges = [
        Scenario.Surge(zone: "kamppi-square", start: .seconds(4 * 60), rampUp: .seconds(6 * 60), hold: .seconds(4 * 60),
                       rampDown: .seconds(4 * 60), peakPPM2: 5.8)
    ]
    var faults = Scenario.Faults()
    faults.malformedRate = 0.01
    faults.duplicateRate = 0.02
    faults.lateRate = 0.01
    faults.outOfOrderRate = 0.01
    faults.allowedLateness = .seconds(120)
    faults.silences = [.init(sensor: SensorAddress(pilot: "citizen-air", sensor: "sds-7702"), start: .seconds(3 * 60), duration: .seconds(7 * 60))]
    faults.errorCodes = [.init(sensor: SensorAddress(pilot: "citizen-air", sensor: "sds-6120"), start: .seconds(12 * 60), duration: .seconds(3 * 60))]
    festival.faults = faults
    return festival
}

extension IntegrationSuites {
    /// Offline replay and the live service agree, number for number, on the same trace and configuration.
    ///
    /// The live service runs with `pipeline.clock: event`: "now" is the newest event time alone, as offline. With
    /// the default wall clock a replayed trace cannot agree, by design: the trace's readings are in the past (or,
    /// ahead of the wall clock, rejected `future_timestamp` beyond 60 s), the wall clock moves "now" past them
    /// between messages, and the zone density samples (hence zone windows and crowd alerts) would be taken at
    /// wall-clock instants instead of the readings' instants.
    ///
    /// What is compared: every count (messages, accepted, rejected, duplicate, late, rejects by reason, per sensor
    /// too), every zone (people, density, level, windows with count/sum/mean/min/max/rate, percentiles, coverage)
    /// and sensor (status, last values, windows), the active alerts, and every alert transition in full (id,
    /// alert id, rule, subject, severity, level, transition, event time `at`, value, peak). Nothing is ignored:
    /// on the event clock no field of the report depends on timing. What the comparison leaves out, and why:
    /// the report's `trace` section (lines read and skipped: the live service reads no trace file) and, live,
    /// the wall-clock arrival stamps (kept only on stored rejects and first/last-seen of unregistered sensors;
    /// none is in a snapshot or an alert event, and the trace's payloads all carry `t`, so no reading takes its
    /// arrival time and no `future_timestamp` judgement differs).
    @Suite(.serialized) struct LiveOfflineParityTests {
        @Test func offlineReplayAndTheLiveServiceAgreeOnTheSameTrace() async throws {
            let festival = try festivalWithFaults()
            var generator = ScenarioGenerator(scenario: festival, seed: 7)
            var traceBytes: [UInt8] = []
            while let message = generator.next() {
                TraceLineCodec.encode(TraceRecord(at: message.at, topic: message.topic, payload: message.payload), into: &traceBytes)
            }
            let truth = generator.truth
            #expect(truth.malformedMessages > 0 && truth.duplicateReadings > 0 && truth.lateReadings > 0)
            #expect(truth.outOfOrderMessages > 0 && truth.errorCodeReadings > 0 && truth.silencedMessages > 0)
            let reader = TraceReader(bytes: traceBytes)
            var records: [TraceRecord] = []
            while let record = try reader.next() { records.append(record) }
            #expect(reader.skippedLines == 0)

            // The service's configuration: the scenario's zones and sensors, default rules, event clock. A broker
            // that queues without limit, so a burst at max speed is never dropped for a subscriber behind.
            let broker = try await TestBroker.start(.init(persistence: true, maxQueuedMessages: 1_000_000))
            let harness = try await ServiceHarness.start(
                zones: festival.zones.map(\.definition), sensors: festival.sensors.map(\.definition), broker: broker
            ) { configuration in
                configuration.pipeline.clock = .event
                configuration.pipeline.allowedLateness = festival.faults.allowedLateness
                // Rules off their defaults, so that a replay built with other rules than the service's shows.
                configuration.rules.defaults.crowd.hold = .seconds(20)
                configuration.rules.defaults.crowd.buildUp.ppm2Per5Min = 0.8
                configuration.rules.defaults.sensorOffline.minimum = .seconds(240)
            }

            // Offline: the same configuration object, through `streetsense replay --offline`'s OfflineReplay.
            let offline = try OfflineReplay(configuration: harness.configuration, logger: Logger(label: "parity", factory: { _ in SwiftLogNoOpLogHandler() }))
            for record in records { offline.apply(record) }
            let report = offline.finish()
            let offlineAlerts = report.alerts
            // The trace exercises what it should: every crowd level, a build-up, a silent and a faulty sensor.
            let raised = Set(offlineAlerts.filter { $0.transition == .raised || $0.transition == .escalated }.map { "\($0.rule.rawValue) \($0.subject.id) \($0.severity.rawValue)" })
            #expect(raised.isSuperset(of: [
                "crowd_density kamppi-square warning", "crowd_density kamppi-square major", "crowd_density kamppi-square critical",
                "build_up kamppi-square warning", "sensor_offline citizen-air/sds-7702 warning",
            ]), "\(raised.sorted())")
            #expect(offlineAlerts.contains { $0.rule == .sensorFaulty && $0.subject.id == "citizen-air/sds-6120" })
            // The configured 240 s, not the default 300 s, of silence raised sensor_offline.
            let silence = try #require(offlineAlerts.first { $0.rule == .sensorOffline && $0.transition == .raised }?.value)
            #expect(silence >= 240 && silence < 250)
            #expect(offlineAlerts.contains { $0.rule == .crowdDensity && $0.transition == .cleared })

            // Live: the real service behind a real mosquitto, the trace published at max speed with QoS 1.
            let publisher = try TracePublisher(host: "127.0.0.1", port: broker.port, clientID: "parity-publisher")
            try await publisher.connect()
            var next = records.makeIterator()
            let published = try await publisher.publish(speed: nil, next: { next.next() })
            await publisher.close()
            #expect(published.messages == records.count)
            try await waitUntil(
                "the service to process every published message", timeout: .seconds(180), pollInterval: .milliseconds(20),
                detail: { "processed \(harness.service.snapshots.snapshot().totals.messages) of \(records.count)" }
            ) { harness.service.snapshots.snapshot().totals.messages >= records.count }
            let live = harness.service.snapshots.snapshot()

            // Counts.
            #expect(live.totals == report.snapshot.totals)
            #expect(live.totals.messages == records.count)
            #expect(live.totals.duplicate == truth.duplicateReadings)
            #expect(live.totals.late == truth.lateReadings)
            #expect(Dictionary(uniqueKeysWithValues: live.totals.rejectsByReasonName.map { ($0.0.rawValue, $0.1) })
                    == ["malformed_json": truth.malformedMessages, "error_code": truth.errorCodeReadings])
            // Zones and sensors, window by window.
            #expect(live.asOf == report.snapshot.asOf)
            #expect(live.zones.count == report.snapshot.zones.count)
            for (liveZone, offlineZone) in zip(live.zones, report.snapshot.zones) {
                #expect(liveZone == offlineZone, "zone \(liveZone.definition.id)")
                #expect(liveZone.p50Density15m == offlineZone.p50Density15m && liveZone.p95Density15m == offlineZone.p95Density15m,
                        "zone \(liveZone.definition.id) percentiles")
            }
            #expect(live.sensors.map(\.address) == report.snapshot.sensors.map(\.address))
            for (liveSensor, offlineSensor) in zip(live.sensors, report.snapshot.sensors) {
                #expect(liveSensor == offlineSensor, "sensor \(liveSensor.address)")
            }
            #expect(live.activeAlerts == report.snapshot.activeAlerts)
            // The same report, byte for byte (it renders every field above, and each alert with its level).
            // Live alert transitions as SSE, MQTT and webhooks get them: the feed's ring holds all of this short run.
            let subscription = harness.service.alertFeed.subscribe(after: AlertEventID(0))
            subscription.cancel()
            #expect(subscription.missing == nil)
            let liveAlerts = subscription.backlog
            let liveReport = String(decoding: ReplayReport(snapshot: live, alerts: liveAlerts, traceLines: nil).json(), as: UTF8.self)
            let offlineReport = String(decoding: ReplayReport(snapshot: report.snapshot, alerts: offlineAlerts, traceLines: nil).json(), as: UTF8.self)
            #expect(liveReport == offlineReport, "first difference: \(firstDifferentLine(liveReport, offlineReport))")
            #expect(liveAlerts == offlineAlerts)

            // The store holds the same transitions once everything is committed.
            try await harness.stop()
            let store = try SQLiteStore(path: harness.configuration.store.sqlitePath)
            let stored = try store.alertEvents(after: AlertEventID(0), limit: 100_000)
            try store.close()
            #expect(stored.map(\.id) == offlineAlerts.map(\.id))
            #expect(stored.map { "\($0.rule.rawValue) \($0.subject.id) \($0.severity.rawValue) \($0.transition.rawValue) \($0.at)" }
                    == offlineAlerts.map { "\($0.rule.rawValue) \($0.subject.id) \($0.severity.rawValue) \($0.transition.rawValue) \($0.at)" })
            try await broker.stop()
        }
    }
}

/// The first line where two JSON documents differ, for the failure message.
private func firstDifferentLine(_ a: String, _ b: String) -> String {
    let left = a.split(separator: "\n"), right = b.split(separator: "\n")
    for (i, (l, r)) in zip(left, right).enumerated() where l != r { return "line \(i + 1): live \(l) / offline \(r)" }
    return left.count == right.count ? "none" : "live has \(left.count) lines, offline \(right.count)"
}
