import StreetSenseAlerts
import StreetSenseCore

/// The JSON shapes of the API's resources (documented in `openapi.yaml`): snake_case keys, RFC 3339 UTC
/// times with milliseconds, units in field names, `null` where a value is unknown.
extension JSONWriter {
    /// `{"1m": {count, mean, min, max, rate_per_minute}, "5m", "15m", "1h"}`.
    mutating func windows(_ windows: WindowSummaries) {
        object { json in
            for length in WindowLength.allCases {
                json.key(length.label)
                let window = windows[length]
                json.object { json in
                    json.member("count", window.count)
                    json.member("mean", window.mean)
                    json.member("min", window.min)
                    json.member("max", window.max)
                    json.member("rate_per_minute", window.ratePerMinute)
                }
            }
        }
    }

    /// A zone, in the shape of DESIGN §10's example.
    mutating func zone(_ zone: ZoneSnapshot, alerts: [ActiveAlertSummary] = []) {
        object { json in
            json.member("id", zone.definition.id)
            json.member("name", zone.definition.name)
            json.member("area_m2", zone.definition.areaM2)
            json.key("geometry")
            json.polygon(zone.definition.polygon)
            json.key("density_levels")
            json.object { json in
                json.member("elevated", zone.definition.levels.elevated)
                json.member("high", zone.definition.levels.high)
                json.member("critical", zone.definition.levels.critical)
            }
            json.member("people", zone.people)
            json.member("density_ppm2", zone.densityPPM2)
            json.member("level", zone.level.rawValue)
            json.member("updated_at", time: zone.updatedAt)
            json.key("windows")
            json.windows(zone.windows)
            json.member("p50_density_15m", zone.p50Density15m)
            json.member("p95_density_15m", zone.p95Density15m)
            json.key("coverage")
            json.object { json in
                json.member("sensors_used", zone.coverage.sensorsUsed)
                json.member("sensors_stale", zone.coverage.sensorsStale)
                json.member("covered_m2", zone.coverage.coveredM2)
            }
            json.key("sensors")
            json.array { json in
                for address in zone.sensors {
                    json.object { json in
                        json.member("pilot", address.pilot)
                        json.member("id", address.sensor)
                    }
                }
            }
            json.key("air")
            json.object { json in
                for (metric, value) in zone.air { json.member(metric.name + "_" + metric.unitSuffix, value) }
            }
            // The zone's active alerts (details at /api/v1/alerts/{id}); always an array.
            json.key("active_alerts")
            json.array { json in
                for alert in alerts {
                    json.object { json in
                        json.member("id", alert.id)
                        json.member("rule", alert.rule)
                        json.member("severity", alert.severity)
                        json.member("level", alert.level)
                        json.member("metric", alert.metric?.name)
                        json.member("acknowledged", alert.acknowledged)
                        json.member("raised_at", time: alert.raisedAt)
                        json.member("updated_at", time: alert.updatedAt)
                        json.member("value", alert.value)
                        json.member("peak", alert.peak)
                    }
                }
            }
        }
    }

    /// A GeoJSON `Polygon` with one ring of [longitude, latitude] positions, or `null` for an empty ring.
    mutating func polygon(_ ring: [[Double]]) {
        guard !ring.isEmpty else { return null() }
        object { json in
            json.member("type", "Polygon")
            json.key("coordinates")
            json.array { json in
                json.array { json in
                    for position in ring {
                        json.array { json in
                            for coordinate in position { json.number(coordinate) }
                        }
                    }
                }
            }
        }
    }

    /// The fields a sensor's list entry and its detail share.
    private mutating func sensorSummaryMembers(_ sensor: SensorSnapshot) {
        member("pilot", sensor.address.pilot)
        member("id", sensor.address.sensor)
        member("status", sensor.status.rawValue)
        member("kind", sensor.definition?.kind.rawValue)
        member("zone", sensor.definition?.zone)
        member("last_seen", time: sensor.lastSeen)
        member("people", sensor.people)
        key("position")
        position(sensor.definition?.position)
    }

    /// `[longitude, latitude]` (GeoJSON order), or `null` when the sensor has no configured position.
    mutating func position(_ position: GeoPosition?) {
        guard let position else { return null() }
        array { json in
            json.number(position.longitude)
            json.number(position.latitude)
        }
    }

    /// A sensor in the sensors list, with its ingest counts.
    mutating func sensorSummary(_ sensor: SensorSnapshot) {
        object { json in
            json.sensorSummaryMembers(sensor)
            json.key("counts")
            json.counts(sensor.counts)
        }
    }

    /// One sensor with its configuration, metrics and counts. `zoneArea` is the area of the sensor's zone,
    /// reported as `covered_m2` when the sensor covers the whole zone.
    mutating func sensorDetail(_ sensor: SensorSnapshot, zoneArea: Double?, asOf: EventTime) {
        object { json in
            json.sensorSummaryMembers(sensor)
            let definition = sensor.definition
            json.member("factor", definition?.factor)
            let estimatesPeople = definition?.kind.estimatesPeople ?? false
            json.member("covered_m2", estimatesPeople ? (definition?.coveredM2 ?? zoneArea) : nil)
            json.member("stale_after_s", definition.map { Double($0.staleAfter.wholeMilliseconds) / 1000 })
            json.member("flow_occupancy", sensor.flowOccupancy)
            json.key("metrics")
            json.object { json in
                for metric in sensor.metrics {
                    json.key(metric.metric.name)
                    json.object { json in
                        json.member("unit", metric.metric.unit)
                        json.member("last", metric.last)
                        json.member("last_at", time: metric.lastTime)
                        json.key("windows")
                        json.windows(metric.windows)
                    }
                }
            }
            json.key("counts")
            json.counts(sensor.counts)
            json.member("as_of", time: asOf)
        }
    }

    /// `{messages, accepted, rejected, duplicate, late, rejects_by_reason {reason: count, …}}`, every reason present.
    mutating func counts(_ counts: IngestCounts) {
        object { json in
            json.member("messages", counts.messages)
            json.member("accepted", counts.accepted)
            json.member("rejected", counts.rejected)
            json.member("duplicate", counts.duplicate)
            json.member("late", counts.late)
            json.key("rejects_by_reason")
            json.rejectsByReason(counts.rejectsByReason)
        }
    }

    /// Every reason with its count, in vocabulary order.
    mutating func rejectsByReason(_ byReason: [Int]) {
        object { json in
            for (index, reason) in RejectReason.allCases.enumerated() {
                json.member(reason.rawValue, index < byReason.count ? byReason[index] : 0)
            }
        }
    }

    /// A stored series: `{metric, unit, step_s, from, to, points: [{t, count, mean, min, max}]}`.
    mutating func series(metric: String, unit: String, request: SeriesRequest, points: [SeriesPoint]) {
        object { json in
            json.member("metric", metric)
            json.member("unit", unit)
            json.member("step_s", request.stepSeconds)
            json.member("from", time: request.from)
            json.member("to", time: request.to)
            json.key("points")
            json.array { json in
                for point in points {
                    json.object { json in
                        json.member("t", time: point.start)
                        json.member("count", point.count)
                        json.member("mean", point.mean)
                        json.member("min", point.min)
                        json.member("max", point.max)
                    }
                }
            }
        }
    }

    /// One stored reject.
    mutating func reject(_ record: RejectRecord) {
        object { json in
            json.member("id", record.id)
            json.member("received_at", time: record.received)
            json.member("pilot", record.pilot)
            json.member("sensor", record.sensor)
            json.member("topic", record.topic)
            json.member("reason", record.reason.rawValue)
            json.member("detail", record.detail)
            json.member("payload_excerpt", record.payloadExcerpt)
        }
    }
}

/// The JSON shapes of alerts and their events (`Alert`, `AlertEvent` in `openapi.yaml`).
extension JSONWriter {
    mutating func acknowledgement(_ acknowledgement: Acknowledgement?) {
        guard let acknowledgement else { return null() }
        object { json in
            json.member("by", acknowledgement.by)
            json.member("at", time: acknowledgement.at)
            json.member("note", acknowledgement.note)
        }
    }

    private mutating func alertMembers(_ alert: StoredAlert) {
        member("id", alert.id.rawValue)
        member("rule", alert.rule.rawValue)
        member("subject_kind", alert.subject.kind.rawValue)
        member("subject_id", alert.subject.id)
        member("metric", alert.metric?.name)
        member("fault", alert.fault?.rawValue)
        member("severity", alert.severity.rawValue)
        member("level", alert.level)
        member("state", alert.state.rawValue)
        member("acknowledged", alert.acknowledgement != nil)
        key("acknowledgement")
        acknowledgement(alert.acknowledgement)
        member("raised_at", time: alert.raisedAt)
        member("updated_at", time: alert.updatedAt)
        member("cleared_at", time: alert.clearedAt)
        member("peak", alert.peak)
        member("value", alert.value)
        member("last_event_id", alert.lastEventID.rawValue)
    }

    /// An alert as its newest event left it.
    mutating func alert(_ alert: StoredAlert) {
        object { $0.alertMembers(alert) }
    }

    /// An alert and its events, oldest first.
    mutating func alert(_ alert: StoredAlert, events: [AlertEvent]) {
        object { json in
            json.alertMembers(alert)
            json.key("events")
            json.array { json in
                for event in events { json.alertEvent(event) }
            }
        }
    }

    /// One transition of an alert.
    mutating func alertEvent(_ event: AlertEvent) {
        object { json in
            json.member("id", event.id.rawValue)
            json.member("alert_id", event.alertID.rawValue)
            json.member("transition", event.transition.rawValue)
            json.member("severity", event.severity.rawValue)
            json.member("level", event.level)
            json.member("at", time: event.at)
            json.member("value", event.value)
            json.member("peak", event.peak)
            json.key("acknowledgement")
            json.acknowledgement(event.acknowledgement)
        }
    }
}
