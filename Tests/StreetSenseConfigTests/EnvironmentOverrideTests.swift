import Foundation
import StreetSenseConfig
import StreetSenseCore
import Testing

@Suite("Environment overrides")
struct EnvironmentOverrideTests {
    static func fixture(_ yaml: String = minimalYAML) throws -> ConfigFixture {
        try ConfigFixture(["streetsense.yaml": yaml, "zones.geojson": twoZonesGeoJSON])
    }

    @Test("variable names are STREETSENSE_ and the key path, upper-cased and joined with _")
    func variableNames() {
        #expect(EnvironmentOverrides.variableName(forKeyPath: "mqtt.url") == "STREETSENSE_MQTT_URL")
        #expect(EnvironmentOverrides.variableName(forKeyPath: "http.listen") == "STREETSENSE_HTTP_LISTEN")
        #expect(EnvironmentOverrides.variableName(forKeyPath: "store.sqlite_path") == "STREETSENSE_STORE_SQLITE_PATH")
        #expect(EnvironmentOverrides.variableName(forKeyPath: "rules.hold_s") == "STREETSENSE_RULES_HOLD_S")
        #expect(EnvironmentOverrides.variableName(forKeyPath: "mqtt.tls.ca_file") == "STREETSENSE_MQTT_TLS_CA_FILE")
    }

    @Test("overrides replace file values and fill absent keys, parsed with each key's type")
    func goodOverrides() throws {
        let fixture = try Self.fixture(
            minimalYAML + """

                http: { listen: "127.0.0.1:8080" }
                rules:
                  hold_s: 30
                  zone_types:
                    street: { clear_s: 90 }
                    night-market: { hold_s: 5 }
                """)
        let config = try fixture.load(
            environment: [
                "STREETSENSE_MQTT_URL": "mqtt://127.0.0.1:41883",
                "STREETSENSE_HTTP_LISTEN": "0.0.0.0:9000",
                "STREETSENSE_HTTP_PUBLIC_READS": "false",
                "STREETSENSE_STORE_SQLITE_PATH": "/srv/streetsense/db.sqlite",
                "STREETSENSE_STORE_BATCH_MAX_ROWS": "2500",
                "STREETSENSE_PIPELINE_ALLOWED_LATENESS_S": "7.5",
                "STREETSENSE_RULES_HOLD_S": "45",
                "STREETSENSE_RULES_DENSITY_LEVELS_CRITICAL": "6",
                "STREETSENSE_RULES_BUILD_UP_PPM2_PER_5MIN": "0.5",
                "STREETSENSE_RULES_ZONE_TYPES_STREET_CLEAR_S": "120",
                "STREETSENSE_RULES_ZONE_TYPES_NIGHT_MARKET_HOLD_S": "7",
                "STREETSENSE_MQTT_PROTOCOL": "3.1.1",
                "PATH": "/usr/bin",
            ])
        #expect(config.mqtt.port == 41883)
        #expect(config.mqtt.protocolVersion == .v311)
        #expect(config.http.host == "0.0.0.0")
        #expect(config.http.port == 9000)
        #expect(config.http.publicReads == false)
        #expect(config.store.sqlitePath == "/srv/streetsense/db.sqlite")
        #expect(config.store.batchMaxRows == 2500)
        #expect(config.pipeline.allowedLateness == .milliseconds(7500))
        #expect(config.rules.crowd.hold == .seconds(45))
        #expect(config.rules.crowd.densityLevels == DensityLevels(elevated: 2.5, high: 3.5, critical: 6))
        #expect(config.rules.crowd.buildUp.ppm2Per5Min == 0.5)
        #expect(config.rules.zoneTypes["street"]?.crowd.clear == .seconds(120))
        #expect(config.rules.zoneTypes["street"]?.crowd.hold == .seconds(45))
        #expect(config.rules.zoneTypes["night-market"]?.crowd.hold == .seconds(7))
        #expect(config.crowdRules(forZone: "street").clear == .seconds(120))
        #expect(config.warnings.isEmpty)
    }

    @Test("an override can supply a required key the file lacks, and zones_file is resolved like the file's")
    func overrideSuppliesRequiredKeys() throws {
        let fixture = try ConfigFixture([
            "conf/streetsense.yaml": "sensors: []\n",
            "conf/zones/helsinki.geojson": twoZonesGeoJSON,
        ])
        let config = try fixture.load(
            "conf/streetsense.yaml",
            environment: ["STREETSENSE_MQTT_URL": "mqtts://broker:8884", "STREETSENSE_ZONES_FILE": "zones/helsinki.geojson"])
        #expect(config.mqtt.host == "broker")
        #expect(config.mqtt.port == 8884)
        #expect(config.zonesFile == fixture.path("conf/zones/helsinki.geojson"))
        #expect(config.zones.count == 2)
    }

    @Test("a bad override is an error that names the variable")
    func badOverrides() throws {
        let fixture = try Self.fixture()
        let errors = fixture.errors(environment: [
            "STREETSENSE_STORE_BATCH_MAX_ROWS": "ten",
            "STREETSENSE_HTTP_LISTEN": "localhost",
            "STREETSENSE_HTTP_PUBLIC_READS": "maybe",
            "STREETSENSE_RULES_HYSTERESIS": "2",
            "STREETSENSE_MQTT_URL": "tcp://127.0.0.1",
        ])
        // In the order the keys are read: mqtt, store, http, pipeline, rules.
        #expect(
            errors == [
                "env STREETSENSE_MQTT_URL: mqtt.url: expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT], got \"tcp://127.0.0.1\"",
                "env STREETSENSE_STORE_BATCH_MAX_ROWS: store.batch_max_rows: expected an integer, got \"ten\"",
                "env STREETSENSE_HTTP_LISTEN: http.listen: expected HOST:PORT, got \"localhost\" (the port is missing)",
                "env STREETSENSE_HTTP_PUBLIC_READS: http.public_reads: expected true or false, got \"maybe\"",
                "env STREETSENSE_RULES_HYSTERESIS: rules.hysteresis: must be at least 0 and below 1 (a fraction: 0.1 is 10 %), got 2",
            ])
        do {
            _ = try fixture.load(environment: ["STREETSENSE_STORE_BATCH_MAX_ROWS": "ten"])
        } catch {
            let diagnostic = try #require(error.diagnostics.first)
            #expect(diagnostic.variable == "STREETSENSE_STORE_BATCH_MAX_ROWS")
            #expect(diagnostic.key == "store.batch_max_rows")
            #expect(diagnostic.line == nil)
            #expect(diagnostic.file == fixture.path("streetsense.yaml"))
        }
    }

    @Test("an empty value unsets the key: its default applies, or a required key goes missing")
    func emptyValueUnsets() throws {
        let fixture = try Self.fixture(minimalYAML + "\nstore: { batch_max_rows: 50 }\n")
        #expect(try fixture.load(environment: ["STREETSENSE_STORE_BATCH_MAX_ROWS": ""]).store.batchMaxRows == 10_000)
        #expect(
            fixture.errors(environment: ["STREETSENSE_MQTT_URL": ""]) == [
                "env STREETSENSE_MQTT_URL: mqtt.url: a value is required (the variable is empty)"
            ])
    }

    @Test("unknown STREETSENSE_ variables are warnings, not errors")
    func unknownVariables() throws {
        let fixture = try Self.fixture()
        let config = try fixture.load(environment: [
            "STREETSENSE_MQTT_URI": "mqtt://10.0.0.1", "STREETSENSE_SENSORS": "none", "STREETSENSEX": "ignored",
        ])
        #expect(config.mqtt.host == "127.0.0.1")
        #expect(
            config.warnings.map(\.description) == [
                "env STREETSENSE_MQTT_URI: warning: not a configuration key, ignored (did you mean STREETSENSE_MQTT_URL?)",
                "env STREETSENSE_SENSORS: warning: not a configuration key, ignored",
            ])
        #expect(config.warnings.allSatisfy { $0.severity == .warning })
    }

    @Test("every documented key path can be overridden")
    func everyKeyPath() throws {
        let fixture = try ConfigFixture([
            "streetsense.yaml": "sensors: []\n",
            "zones.geojson": twoZonesGeoJSON,
            "pass": "pw\n", "ca.pem": "ca\n", "cert.pem": "cert\n", "key.pem": "key\n", "tokens.yaml": "tokens: []\n",
        ])
        let values: [String: String] = [
            "mqtt.url": "mqtts://broker:8883", "mqtt.client_id": "c1", "mqtt.topic_prefix": "a/b",
            "mqtt.username": "u", "mqtt.password_file": "pass", "mqtt.tls.ca_file": "ca.pem",
            "mqtt.tls.cert_file": "cert.pem", "mqtt.tls.key_file": "key.pem", "mqtt.tls.insecure": "true",
            "mqtt.protocol": "5", "mqtt.session_expiry_s": "60", "mqtt.keepalive_s": "10",
            "store.sqlite_path": "s.sqlite", "store.raw_retention_days": "2", "store.rollup_retention_days": "3",
            "store.batch_max_rows": "4", "store.batch_max_ms": "5", "store.rejects_max_rows": "6",
            "http.listen": "127.0.0.1:0", "http.tokens_file": "tokens.yaml", "http.public_reads": "yes",
            "http.dashboard_dir": ".", "http.javascript_dir": "/opt/js",
            "pipeline.allowed_lateness_s": "1", "pipeline.max_future_skew_s": "2", "pipeline.max_payload_bytes": "1024",
            "pipeline.snapshot_interval_ms": "100", "pipeline.queue_capacity": "8", "pipeline.clock": "event", "zones_file": "zones.geojson",
            "rules.density_levels.elevated": "1", "rules.density_levels.high": "2", "rules.density_levels.critical": "3",
            "rules.hold_s": "4", "rules.clear_s": "5", "rules.hysteresis": "0.2", "rules.build_up.ppm2_per_5min": "0.7",
            "rules.air_quality.index": "eea-2024", "rules.air_quality.alert_from": "very_poor", "rules.air_quality.enabled": "no",
            "rules.sensor_offline.factor": "2.5", "rules.sensor_offline.minimum_s": "90", "rules.sensor_offline.enabled": "off",
            "rules.sensor_faulty.stuck_s": "7200", "rules.sensor_faulty.clear_s": "30", "rules.sensor_faulty.enabled": "false",
        ]
        #expect(Set(values.keys) == Set(EnvironmentOverrides.keyPaths))
        let environment = Dictionary(
            uniqueKeysWithValues: values.map { (EnvironmentOverrides.variableName(forKeyPath: $0.key), $0.value) })
        let config = try fixture.load(environment: environment)
        #expect(config.warnings.isEmpty)
        #expect(config.mqtt.password?.plaintext == "pw")
        #expect(config.mqtt.tls?.insecure == true)
        #expect(config.mqtt.sessionExpiry == .seconds(60))
        #expect(config.http.port == 0)
        #expect(config.http.tokensFile == fixture.path("tokens.yaml"))
        #expect(config.http.dashboardDirectory == fixture.path("."))
        #expect(config.http.javascriptDirectory == "/opt/js")
        #expect(config.store.rejectsMaxRows == 6)
        #expect(config.pipeline.queueCapacity == 8)
        #expect(config.pipeline.clock == .event)
        #expect(
            config.rules.crowd
                == CrowdRules(
                    densityLevels: DensityLevels(elevated: 1, high: 2, critical: 3), hold: .seconds(4), clear: .seconds(5),
                    hysteresis: 0.2, buildUp: BuildUpRule(ppm2Per5Min: 0.7)))
        #expect(config.rules.defaults.airQuality == AirQualityRules(index: "eea-2024", alertFrom: .veryPoor, isEnabled: false))
        #expect(config.rules.defaults.sensorOffline == SensorOfflineRules(factor: 2.5, minimum: .seconds(90), isEnabled: false))
        #expect(config.rules.defaults.sensorFaulty == SensorFaultyRules(stuckAfter: .seconds(7200), clear: .seconds(30), isEnabled: false))
    }
}
