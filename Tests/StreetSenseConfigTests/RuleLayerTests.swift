import StreetSenseConfig
import StreetSenseCore
import Testing

/// `rules:` as three layers (defaults, zone types, zones) over every rule family, and the diagnostics of bad
/// rule values.
@Suite struct RuleLayerTests {
    /// `plaza` (no type) and `street` (type `street`), from ``twoZonesGeoJSON``.
    static func load(_ yaml: String) throws -> StreetSenseConfiguration {
        let fixture = try ConfigFixture(["streetsense.yaml": yaml, "zones.geojson": twoZonesGeoJSON])
        return try fixture.load()
    }

    @Test("without rules every family has its defaults")
    func defaults() throws {
        let config = try Self.load(
            """
            mqtt: { url: "mqtt://127.0.0.1" }
            zones_file: zones.geojson
            """)
        let rules = config.rules(forZone: "street")
        #expect(rules == .default)
        #expect(rules.airQuality == AirQualityRules(index: "eea-2024", alertFrom: .poor, isEnabled: true))
        #expect(rules.sensorOffline == SensorOfflineRules(factor: 3, minimum: .seconds(300), isEnabled: true))
        #expect(rules.sensorFaulty == SensorFaultyRules(stuckAfter: .seconds(3600), clear: .seconds(600), isEnabled: true))
    }

    @Test("defaults, then zone type, then zone: each layer overrides the one above key by key")
    func layering() throws {
        let config = try Self.load(
            """
            mqtt: { url: "mqtt://127.0.0.1" }
            zones_file: zones.geojson
            rules:
              hold_s: 20
              air_quality: { alert_from: very_poor }
              sensor_offline: { factor: 4 }
              sensor_faulty: { stuck_s: 1800, clear_s: 300 }
              zone_types:
                street:
                  hold_s: 10
                  sensor_offline: { minimum_s: 600 }
                  sensor_faulty: { enabled: false }
              zones:
                street:
                  density_levels: { critical: 7 }
                  air_quality: { alert_from: extremely_poor }
                  sensor_offline: { factor: 5 }
                plaza:
                  air_quality: { enabled: false }
            """)
        // Zone type `street` over the defaults; the zone `street` over its type.
        let street = config.rules(forZone: "street")
        #expect(street.crowd.hold == .seconds(10))
        #expect(street.crowd.densityLevels == DensityLevels(elevated: 2.5, high: 3.5, critical: 7))
        #expect(street.airQuality.alertFrom == .extremelyPoor)
        #expect(street.sensorOffline == SensorOfflineRules(factor: 5, minimum: .seconds(600), isEnabled: true))
        #expect(street.sensorFaulty == SensorFaultyRules(stuckAfter: .seconds(1800), clear: .seconds(300), isEnabled: false))
        // The zone's levels follow its own rules.
        #expect(config.zones.first { $0.id == "street" }?.levels.critical == 7)
        // `plaza` has no type: its entry lies over the defaults.
        let plaza = config.rules(forZone: "plaza")
        #expect(plaza.crowd.hold == .seconds(20))
        #expect(plaza.airQuality == AirQualityRules(index: "eea-2024", alertFrom: .veryPoor, isEnabled: false))
        #expect(plaza.sensorOffline == SensorOfflineRules(factor: 4, minimum: .seconds(300), isEnabled: true))
        // The type layer on its own.
        #expect(config.rules.zoneTypes["street"]?.sensorOffline.factor == 4)
        #expect(config.rules.zoneTypes["street"]?.airQuality.alertFrom == .veryPoor)
        // All zones at once (what the pipeline asks at start-up) give what asking zone by zone gives.
        let byZone = config.rulesByZone()
        #expect(Set(byZone.keys) == Set(config.zones.map(\.id)))
        #expect(byZone.count >= 2)
        for zone in config.zones { #expect(byZone[zone.id] == config.rules(forZone: zone.id), "\(zone.id)") }
        #expect(byZone["street"] != byZone["plaza"])
    }

    @Test("environment variables reach the new keys, per zone too")
    func environment() throws {
        let fixture = try ConfigFixture([
            "streetsense.yaml": """
            mqtt: { url: "mqtt://127.0.0.1" }
            zones_file: zones.geojson
            rules:
              zones:
                street: {}
            """,
            "zones.geojson": twoZonesGeoJSON,
        ])
        let config = try fixture.load(environment: [
            "STREETSENSE_RULES_SENSOR_OFFLINE_MINIMUM_S": "120",
            "STREETSENSE_RULES_ZONES_STREET_AIR_QUALITY_ENABLED": "false",
        ])
        #expect(config.warnings.isEmpty)
        #expect(config.rules(forZone: "plaza").sensorOffline.minimum == .seconds(120))
        #expect(config.rules(forZone: "street").sensorOffline.minimum == .seconds(120))
        #expect(config.rules(forZone: "street").airQuality.isEnabled == false)
        #expect(config.rules(forZone: "plaza").airQuality.isEnabled == true)
    }

    @Test("every bad rule value is reported with its file, line, key and reason")
    func diagnostics() throws {
        let fixture = try ConfigFixture([
            "streetsense.yaml": """
            mqtt: { url: "mqtt://127.0.0.1" }
            zones_file: zones.geojson
            rules:
              air_quality:
                index: eea-2021
                alert_from: moderate
                enabled: maybe
              sensor_offline: { factor: 0.5, minimum_s: 0 }
              sensor_faulty: { stuck_s: -5, clear_s: -1, stuck: 3 }
              zone_types:
                street:
                  sensor_offline: { enabled: 1 }
              zones:
                streat:
                  hold_s: 5
                plaza:
                  air_quality: { alert_form: poor }
                "bad zone":
                  hold_s: 5
            """,
            "zones.geojson": twoZonesGeoJSON,
        ])
        let file = fixture.path("streetsense.yaml")
        #expect(
            fixture.errors() == [
                "\(file):5: rules.air_quality.index: unknown index \"eea-2021\" (known: eea-2024)",
                "\(file):6: rules.air_quality.alert_from: unknown band \"moderate\" (known: poor, very_poor, extremely_poor)",
                "\(file):7: rules.air_quality.enabled: expected true or false, got \"maybe\"",
                "\(file):8: rules.sensor_offline.factor: must be at least 1, got 0.5",
                "\(file):8: rules.sensor_offline.minimum_s: must be greater than 0, got 0",
                "\(file):9: rules.sensor_faulty.stuck_s: must be greater than 0, got -5",
                "\(file):9: rules.sensor_faulty.clear_s: must not be negative, got -1",
                "\(file):9: rules.sensor_faulty.stuck: unknown key (did you mean stuck_s?)",
                "\(file):12: rules.zone_types.street.sensor_offline.enabled: expected true or false, got \"1\"",
                "\(file):14: rules.zones.streat: unknown zone \"streat\" (did you mean street?)",
                "\(file):17: rules.zones.plaza.air_quality.alert_form: unknown key (did you mean alert_from?)",
                "\(file):18: rules.zones.bad zone: zone id \"bad zone\" is not a valid id (1 to 64 characters from A-Z, a-z, 0-9, '_', '.', '-')",
            ])
    }
}
