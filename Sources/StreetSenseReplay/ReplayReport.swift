import StreetSenseAlerts
import StreetSenseCore

/// What an offline replay found: the final snapshot (zones, sensors, counts) and every alert transition, in
/// the shape DESIGN §10 gives testers. Rendered by ``json(pretty:)``; timeline lines by ``timelineLine(_:asOf:)``.
///
/// Holds no timing: the same trace and configuration give the same bytes.
public struct ReplayReport: Sendable {
    /// The final state: `as_of` is the newest reading time the pipeline saw.
    public var snapshot: Snapshot
    /// Every alert transition, in the order the pipeline produced them.
    public var alerts: [AlertEvent]
    /// Trace lines read (including skipped ones) and skipped as invalid; nil when the input was not a trace file.
    public var traceLines: (read: Int, skipped: Int)?

    public init(snapshot: Snapshot, alerts: [AlertEvent], traceLines: (read: Int, skipped: Int)?) {
        self.snapshot = snapshot
        self.alerts = alerts
        self.traceLines = traceLines
    }

    /// The report document (`REPORT.json`), with a final newline.
    public func json(pretty: Bool = true) -> [UInt8] {
        var json = ReportJSON(pretty: pretty)
        json.object { json in
            json.member("as_of", time: snapshot.asOf)
            if let traceLines {
                json.key("trace")
                json.object { json in
                    json.member("lines", traceLines.read)
                    json.member("skipped_lines", traceLines.skipped)
                }
            }
            let totals = snapshot.totals
            json.key("readings")
            json.object { json in
                json.member("messages", totals.messages)
                json.member("accepted", totals.accepted)
                json.member("rejected", totals.rejected)
                json.member("duplicate", totals.duplicate)
                json.member("late", totals.late)
            }
            json.key("rejects_by_reason")
            Self.rejectsByReason(totals.rejectsByReason, into: &json)
            Self.zonesAndSensors(snapshot, into: &json)
            json.key("alerts")
            json.array { json in
                for event in alerts { Self.alert(event, into: &json) }
            }
        }
        return json.bytes + [UInt8(ascii: "\n")]
    }

    /// One timeline line (`{"as_of", "zones", "sensors"}`, compact, with its newline) for `snapshot` at `asOf`.
    public static func timelineLine(_ snapshot: Snapshot, asOf: EventTime) -> [UInt8] {
        var json = ReportJSON(pretty: false)
        json.object { json in
            json.member("as_of", time: asOf)
            zonesAndSensors(snapshot, into: &json)
        }
        return json.bytes + [UInt8(ascii: "\n")]
    }

    static func rejectsByReason(_ counts: [Int], into json: inout ReportJSON) {
        json.object { json in
            for (index, reason) in RejectReason.allCases.enumerated() {
                json.member(reason.rawValue, index < counts.count ? counts[index] : 0)
            }
        }
    }

    static func zonesAndSensors(_ snapshot: Snapshot, into json: inout ReportJSON) {
        json.key("zones")
        json.array { json in
            for zone in snapshot.zones {
                json.object { json in
                    json.member("id", zone.definition.id)
                    json.member("name", zone.definition.name)
                    json.member("area_m2", zone.definition.areaM2)
                    json.member("people", zone.people)
                    json.member("density_ppm2", zone.densityPPM2)
                    json.member("level", zone.level.rawValue)
                    json.member("updated_at", time: zone.updatedAt)
                    json.key("windows")
                    windows(zone.windows, into: &json)
                    json.member("p50_density_15m", zone.p50Density15m)
                    json.member("p95_density_15m", zone.p95Density15m)
                    json.key("coverage")
                    json.object { json in
                        json.member("sensors_used", zone.coverage.sensorsUsed)
                        json.member("sensors_stale", zone.coverage.sensorsStale)
                        json.member("covered_m2", zone.coverage.coveredM2)
                    }
                }
            }
        }
        json.key("sensors")
        json.array { json in
            for sensor in snapshot.sensors {
                json.object { json in
                    json.member("pilot", sensor.address.pilot)
                    json.member("id", sensor.address.sensor)
                    json.member("status", sensor.status.rawValue)
                    json.member("kind", sensor.definition?.kind.rawValue)
                    json.member("zone", sensor.definition?.zone)
                    json.member("last_seen", time: sensor.lastSeen)
                    json.member("people", sensor.people)
                    json.member("flow_occupancy", sensor.flowOccupancy)
                    json.key("metrics")
                    json.object { json in
                        for metric in sensor.metrics {
                            json.key(metric.metric.name)
                            json.object { json in
                                json.member("last", metric.last)
                                json.member("last_at", time: metric.lastTime)
                                json.key("windows")
                                windows(metric.windows, into: &json)
                            }
                        }
                    }
                    json.key("counts")
                    json.object { json in
                        json.member("messages", sensor.counts.messages)
                        json.member("accepted", sensor.counts.accepted)
                        json.member("rejected", sensor.counts.rejected)
                        json.member("duplicate", sensor.counts.duplicate)
                        json.member("late", sensor.counts.late)
                    }
                }
            }
        }
    }

    /// `{"1m": {count, sum, mean, min, max, rate_per_minute}, "5m", "15m", "1h"}`.
    static func windows(_ windows: WindowSummaries, into json: inout ReportJSON) {
        json.object { json in
            for length in WindowLength.allCases {
                json.key(length.label)
                let window = windows[length]
                json.object { json in
                    json.member("count", window.count)
                    json.member("sum", window.sum)
                    json.member("mean", window.mean)
                    json.member("min", window.min)
                    json.member("max", window.max)
                    json.member("rate_per_minute", window.ratePerMinute)
                }
            }
        }
    }

    static func alert(_ event: AlertEvent, into json: inout ReportJSON) {
        json.object { json in
            json.member("at", time: event.at)
            json.member("rule", event.rule.rawValue)
            json.member("subject_kind", event.subject.kind.rawValue)
            json.member("subject", event.subject.id)
            json.member("metric", event.metric?.name)
            json.member("severity", event.severity.rawValue)
            json.member("level", event.level)
            json.member("transition", event.transition.rawValue)
            json.member("value", event.value)
            json.member("alert_id", Int(event.alertID.rawValue))
            json.member("event_id", Int(event.id.rawValue))
        }
    }
}
