import Foundation
import StreetSenseConfig
import StreetSenseCore
import Testing

@Suite("Loading a good configuration")
struct ConfigurationLoadingTests {
    static let fullYAML = """
        mqtt:
          url: "mqtts://broker.example.org"
          client_id: streetsense-test
          topic_prefix: testbed/v2
          username: streetsense
          password_file: secrets/mqtt.pass
          tls:
            ca_file: secrets/ca.pem
            cert_file: secrets/client.pem
            key_file: secrets/client.key
          protocol: "3.1.1"
          keepalive_s: 20
        store:
          sqlite_path: data/test.sqlite
          raw_retention_days: 3
          rollup_retention_days: 90
          batch_max_rows: 5_000
          batch_max_ms: 100
          rejects_max_rows: 2000
        http:
          listen: "[::1]:9090"
          tokens_file: secrets/tokens.yaml
        pipeline:
          allowed_lateness_s: 30.5
          max_future_skew_s: 10
          max_payload_bytes: 4096
          snapshot_interval_ms: 500
          queue_capacity: 1024
          clock: event
        zones_file: geo/zones.geojson
        sensors:
          - { pilot: helsinki-lab, id: cam-01, zone: plaza, kind: occupancy, covered_m2: 400, factor: 1.2 }
          - pilot: helsinki-lab
            id: wifi-1
            zone: street
            kind: devices
            factor: 0.5
            stale_after_s: 120
          - { pilot: helsinki-lab, id: gate-1, zone: plaza, kind: flow }
          - { pilot: citizen-air, id: sds-1, zone: plaza, kind: air }
        rules:
          density_levels: { elevated: 2.0, high: 3.0, critical: 4.5 }
          hold_s: 20
          build_up: { ppm2_per_5min: 0.8 }
          zone_types:
            street: { density_levels: { critical: 4.0 }, clear_s: 90 }
        """

    static func fullFixture() throws -> ConfigFixture {
        try ConfigFixture([
            "streetsense.yaml": fullYAML,
            "geo/zones.geojson": twoZonesGeoJSON,
            "secrets/mqtt.pass": "s3cret-Pa55word\n",
            "secrets/ca.pem": "-----BEGIN CERTIFICATE-----\n",
            "secrets/client.pem": "-----BEGIN CERTIFICATE-----\n",
            "secrets/client.key": "-----BEGIN PRIVATE KEY-----\n",
            "secrets/tokens.yaml": "tokens: []\n",
        ])
    }

    @Test("every section is read with the values written")
    func fullFile() throws {
        let fixture = try Self.fullFixture()
        let config = try fixture.load()

        #expect(config.mqtt.url == "mqtts://broker.example.org")
        #expect(config.mqtt.host == "broker.example.org")
        #expect(config.mqtt.port == 8883)
        #expect(config.mqtt.usesTLS)
        #expect(config.mqtt.clientID == "streetsense-test")
        #expect(config.mqtt.topicPrefix == "testbed/v2")
        #expect(config.mqtt.username == "streetsense")
        #expect(config.mqtt.passwordFile == fixture.path("secrets/mqtt.pass"))
        #expect(config.mqtt.password?.plaintext == "s3cret-Pa55word")
        #expect(
            config.mqtt.tls
                == TLSSettings(
                    caFile: fixture.path("secrets/ca.pem"), certFile: fixture.path("secrets/client.pem"),
                    keyFile: fixture.path("secrets/client.key"), insecure: false))
        #expect(config.mqtt.protocolVersion == .v311)
        #expect(config.mqtt.sessionExpiry == nil)
        #expect(config.mqtt.keepalive == .seconds(20))

        #expect(
            config.store
                == StoreSettings(
                    sqlitePath: "data/test.sqlite", rawRetentionDays: 3, rollupRetentionDays: 90, batchMaxRows: 5000,
                    batchMaxDelay: .milliseconds(100), rejectsMaxRows: 2000))

        #expect(config.http.listen == "[::1]:9090")
        #expect(config.http.host == "::1")
        #expect(config.http.port == 9090)
        #expect(config.http.tokensFile == fixture.path("secrets/tokens.yaml"))
        #expect(config.http.publicReads == false)

        #expect(
            config.pipeline
                == PipelineSettings(
                    allowedLateness: .milliseconds(30_500), maximumFutureSkew: .seconds(10), maxPayloadBytes: 4096,
                    snapshotInterval: .milliseconds(500), queueCapacity: 1024, clock: .event))
        #expect(config.pipeline.eventTimePolicy.allowedLateness == .milliseconds(30_500))

        #expect(config.zonesFile == fixture.path("geo/zones.geojson"))
        #expect(config.zones.map(\.id) == ["plaza", "street"])
        #expect(config.zones[0].name == "Plaza")
        #expect(config.zones[0].areaM2 == 1200)
        #expect(config.zones[0].polygon.count == 5)
        #expect(config.zones[0].polygon.first == [24.9344, 60.1688])
        #expect(config.zones[0].levels == DensityLevels(elevated: 2.0, high: 3.0, critical: 4.5))
        #expect(config.zones[1].levels == DensityLevels(elevated: 2.0, high: 3.0, critical: 4.0))
        #expect(config.zoneTypes == ["street": "street"])

        #expect(
            config.sensors == [
                SensorDefinition(
                    address: SensorAddress(pilot: "helsinki-lab", sensor: "cam-01"), zone: "plaza", kind: .occupancy,
                    factor: 1.2, coveredM2: 400),
                SensorDefinition(
                    address: SensorAddress(pilot: "helsinki-lab", sensor: "wifi-1"), zone: "street", kind: .devices,
                    factor: 0.5, staleAfter: .seconds(120)),
                SensorDefinition(
                    address: SensorAddress(pilot: "helsinki-lab", sensor: "gate-1"), zone: "plaza", kind: .flow),
                SensorDefinition(address: SensorAddress(pilot: "citizen-air", sensor: "sds-1"), zone: "plaza", kind: .air),
            ])

        let defaults = CrowdRules(
            densityLevels: DensityLevels(elevated: 2.0, high: 3.0, critical: 4.5), hold: .seconds(20), clear: .seconds(60),
            hysteresis: 0.1, buildUp: BuildUpRule(ppm2Per5Min: 0.8))
        #expect(config.rules.crowd == defaults)
        var street = defaults
        street.densityLevels.critical = 4.0
        street.clear = .seconds(90)
        #expect(config.rules.zoneTypes.mapValues(\.crowd) == ["street": street])
        #expect(config.crowdRules(forZone: "street") == street)
        #expect(config.crowdRules(forZone: "plaza") == defaults)
        #expect(config.warnings.isEmpty)
    }

    @Test("defaults fill every key the file leaves out")
    func defaults() throws {
        let fixture = try ConfigFixture(["streetsense.yaml": minimalYAML, "zones.geojson": twoZonesGeoJSON])
        let config = try fixture.load()
        #expect(config.mqtt.host == "127.0.0.1")
        #expect(config.mqtt.port == 1883)
        #expect(config.mqtt.usesTLS == false)
        #expect(config.mqtt.tls == nil)
        #expect(config.mqtt.topicPrefix == "streetsense/v1")
        #expect(config.mqtt.protocolVersion == .v5)
        #expect(config.mqtt.sessionExpiry == .seconds(7 * 24 * 3600))
        #expect(config.mqtt.keepalive == .seconds(60))
        #expect(config.mqtt.password == nil)
        #expect(config.store == StoreSettings())
        #expect(config.store.sqlitePath == "var/streetsense.sqlite")
        #expect(config.store.rawRetentionDays == 7)
        #expect(config.store.rollupRetentionDays == 400)
        #expect(config.store.batchMaxRows == 10_000)
        #expect(config.store.batchMaxDelay == .milliseconds(250))
        #expect(config.store.rejectsMaxRows == 100_000)
        #expect(config.http.host == "127.0.0.1")
        #expect(config.http.port == 8080)
        #expect(config.http.tokensFile == nil)
        #expect(config.http.publicReads)
        #expect(config.pipeline.allowedLateness == .seconds(120))
        #expect(config.pipeline.maximumFutureSkew == .seconds(60))
        #expect(config.pipeline.maxPayloadBytes == 65_536)
        #expect(config.pipeline.snapshotInterval == .milliseconds(250))
        #expect(config.rules.crowd.densityLevels == DensityLevels(elevated: 2.5, high: 3.5, critical: 5.0))
        #expect(config.rules.crowd.hold == .seconds(30))
        #expect(config.rules.crowd.clear == .seconds(60))
        #expect(config.rules.crowd.hysteresis == 0.1)
        #expect(config.rules.crowd.buildUp.ppm2Per5Min == 1.0)
        #expect(config.zones[0].levels == .default)
        #expect(config.sensors[0].factor == 1)
        #expect(config.sensors[0].coveredM2 == nil)
        #expect(config.sensors[0].staleAfter == .seconds(300))
    }

    @Test("zones_file is relative to the YAML file's folder, not the working directory")
    func relativeZonesFile() throws {
        let fixture = try ConfigFixture([
            "etc/streetsense/streetsense.yaml": minimalYAML.replacingOccurrences(
                of: "zones_file: zones.geojson", with: "zones_file: ../zones/helsinki.geojson"),
            "etc/zones/helsinki.geojson": twoZonesGeoJSON,
        ])
        let config = try fixture.load("etc/streetsense/streetsense.yaml")
        #expect(config.zonesFile == fixture.path("etc/streetsense/../zones/helsinki.geojson"))
        #expect(config.zones.map(\.id) == ["plaza", "street"])

    }

    @Test("an absolute zones_file is used as it is")
    func absoluteZonesFile() throws {
        let zones = try ConfigFixture(["zones.geojson": twoZonesGeoJSON])
        let fixture = try ConfigFixture([
            "streetsense.yaml": minimalYAML.replacingOccurrences(
                of: "zones_file: zones.geojson", with: "zones_file: \(zones.path("zones.geojson"))")
        ])
        let config = try fixture.load()
        #expect(config.zonesFile == zones.path("zones.geojson"))
        #expect(config.zones.count == 2)
    }

    @Test("the password is read from password_file and never shown")
    func passwordNeverShown() throws {
        let fixture = try Self.fullFixture()
        let config = try fixture.load()
        let password = "s3cret-Pa55word"
        #expect(config.mqtt.password?.plaintext == password)

        var dumped = ""
        dump(config, to: &dumped)
        let renderings = [
            config.mqtt.description, config.mqtt.debugDescription, String(describing: config.mqtt),
            String(reflecting: config.mqtt), "\(config.mqtt)", String(describing: config), String(reflecting: config),
            String(describing: config.mqtt.password), String(reflecting: config.mqtt.password), dumped,
        ]
        for rendering in renderings {
            #expect(!rendering.contains(password))
            #expect(!rendering.contains("Pa55"))
        }
        #expect(config.mqtt.description.contains("password: <redacted>"))
        #expect(config.mqtt.description.contains("password_file: \(fixture.path("secrets/mqtt.pass"))"))
        #expect(Secret("x").description == "<redacted>")
    }

    @Test("MQTT 5 keeps a session expiry; mqtt:// has no TLS; a bare mqtts:// trusts the system store")
    func brokerVariants() throws {
        let fixture = try ConfigFixture([
            "streetsense.yaml": """
            mqtt: { url: "mqtts://[::1]:18883", protocol: 5, session_expiry_s: 3600 }
            zones_file: zones.geojson
            """,
            "zones.geojson": twoZonesGeoJSON,
        ])
        let config = try fixture.load()
        #expect(config.mqtt.host == "::1")
        #expect(config.mqtt.port == 18883)
        #expect(config.mqtt.tls == TLSSettings())
        #expect(config.mqtt.protocolVersion == .v5)
        #expect(config.mqtt.sessionExpiry == .seconds(3600))
        #expect(config.sensors.isEmpty)
    }

    @Test("a sensor's position is read as [longitude, latitude], in flow or block style, and may lie outside its zone")
    func sensorPositions() throws {
        let fixture = try ConfigFixture([
            "streetsense.yaml": """
                mqtt: { url: "mqtt://127.0.0.1" }
                zones_file: zones.geojson
                sensors:
                  - { pilot: helsinki-lab, id: cam-01, zone: plaza, kind: occupancy, position: [24.93492, 60.16905] }
                  - pilot: citizen-air
                    id: sds-1
                    zone: plaza
                    kind: air
                    position:
                      - -0.1278
                      - 51.5074
                  - { pilot: helsinki-lab, id: gate-1, zone: plaza, kind: flow }
                  - { pilot: helsinki-lab, id: cam-02, zone: street, kind: occupancy, position: ~ }
                  - { pilot: helsinki-lab, id: cam-03, zone: street, kind: occupancy, position: [-180, 90] }
                """,
            "zones.geojson": twoZonesGeoJSON,
        ])
        let config = try fixture.load()
        // A position outside the zone (London, for a square in Helsinki) is allowed without a warning.
        #expect(config.warnings.isEmpty)
        #expect(
            config.sensors.map(\.position) == [
                GeoPosition(longitude: 24.93492, latitude: 60.16905), GeoPosition(longitude: -0.1278, latitude: 51.5074), nil, nil,
                GeoPosition(longitude: -180, latitude: 90),
            ])
    }

    @Test("the shipped Helsinki demo configuration is valid")
    func demoConfiguration() throws {
        let path = repositoryRoot + "/deploy/demo/streetsense.yaml"
        let config = try StreetSenseConfiguration.load(path: path, environment: [:])
        #expect(config.warnings.isEmpty)
        #expect(config.mqtt.host == "127.0.0.1")
        #expect(config.mqtt.protocolVersion == .v5)
        #expect(config.http.host == "127.0.0.1")
        #expect(
            config.zones.map(\.id) == ["kamppi-square", "narinkka", "senate-square", "kansalaistori", "esplanadi-park"])
        #expect((10...15).contains(config.sensors.count))
        #expect(Set(config.sensors.map(\.kind)) == Set(SensorKind.allCases))
        #expect(Set(config.sensors.map(\.address.pilot)) == ["helsinki-lab", "citizen-air"])
        #expect(config.rules.crowd == .default)
        for zone in config.zones {
            #expect((300...10_000).contains(zone.areaM2), "\(zone.id): \(zone.areaM2) m²")
            #expect(zone.levels == .default)
        }
        // kamppi-square gives its net area; narinkka's is computed: GeographicLib 2.1 Planimeter on WGS84 gives
        // 7375.77 m² for its ring (Geodesic.WGS84.Polygon(), AddPoint for each vertex, Compute(False, True)).
        #expect(config.zones[0].areaM2 == 1200)
        #expect(abs(config.zones[1].areaM2 - 7375.77) / 7375.77 < 0.001)
        // Every camera covers no more than its zone.
        let areas = Dictionary(uniqueKeysWithValues: config.zones.map { ($0.id, $0.areaM2) })
        for sensor in config.sensors {
            if let covered = sensor.coveredM2 { #expect(covered <= areas[sensor.zone]!) }
        }
        // Every sensor has a position on the dashboard's map, inside its zone's outline.
        let outlines = Dictionary(uniqueKeysWithValues: config.zones.map { ($0.id, $0.polygon) })
        for sensor in config.sensors {
            let position = try #require(sensor.position, "\(sensor.address)")
            #expect(ring(outlines[sensor.zone] ?? [], contains: position), "\(sensor.address) at \(position) is outside \(sensor.zone)")
        }
    }

    /// Whether `position` is inside the closed `ring` of [longitude, latitude] (even-odd rule; fine at the size of a square).
    func ring(_ ring: [[Double]], contains position: GeoPosition) -> Bool {
        var inside = false
        for (a, b) in zip(ring, ring.dropFirst()) where (a[1] > position.latitude) != (b[1] > position.latitude) {
            let crossing = a[0] + (position.latitude - a[1]) / (b[1] - a[1]) * (b[0] - a[0])
            if position.longitude < crossing { inside.toggle() }
        }
        return inside
    }
}
