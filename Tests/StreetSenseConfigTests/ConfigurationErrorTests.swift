import Foundation
import StreetSenseConfig
import StreetSenseCore
import Testing

/// Each kind of problem yields one exact `FILE:LINE: key: reason` line.
@Suite("Configuration errors")
struct ConfigurationErrorTests {
    /// The error lines for `yaml` next to `zones` (the two valid zones by default).
    static func errors(yaml: String, zones: String = twoZonesGeoJSON) throws -> (ConfigFixture, [String]) {
        let fixture = try ConfigFixture(["streetsense.yaml": yaml, "zones.geojson": zones])
        return (fixture, fixture.errors())
    }

    @Test("a document whose aliases expand it past the node budget stops start-up with the reason")
    func aliasExpansion() throws {
        // Seven levels of ten aliases each: 10 000 000 values from a file of under 300 bytes.
        var yaml = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...6 {
            yaml += "l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        let (fixture, errors) = try Self.errors(yaml: yaml)
        #expect(errors == ["\(fixture.path("streetsense.yaml")): the document expands to more than 2000000 values (too many aliases?)"])
    }

    @Test("a large document without aliases is not held to the alias guard's budget")
    func largeDocumentWithoutAliases() throws {
        // 2 100 000 values, past the 2 000 000 that aliases may expand a small file to: the budget is the
        // file's size, which every document without aliases fits.
        let padding = "padding: [" + Array(repeating: "0", count: 2_100_000).joined(separator: ",") + "]\n"
        let (fixture, errors) = try Self.errors(yaml: "mqtt: { url: \"mqtt://127.0.0.1\" }\nzones_file: zones.geojson\n" + padding)
        // Read whole: the only error is the unknown key, found after every value was read.
        #expect(errors.count == 1)
        #expect(errors.first?.hasPrefix("\(fixture.path("streetsense.yaml")):3: padding: unknown key") == true)
    }

    @Test("an unknown key, with the key it was probably meant to be")
    func unknownKey() throws {
        let (fixture, errors) = try Self.errors(
            yaml: """
                mqtt:
                  url: "mqtt://127.0.0.1:1883"
                  clientid: streetsense-1
                zones_file: zones.geojson
                zone_file: zones.geojson
                stor: { sqlite_path: x.sqlite }
                """)
        let file = fixture.path("streetsense.yaml")
        #expect(
            errors == [
                "\(file):3: mqtt.clientid: unknown key (did you mean client_id?)",
                "\(file):5: zone_file: unknown key (did you mean zones_file?)",
                "\(file):6: stor: unknown key (did you mean store?)",
            ])
    }

    @Test("an unknown key with no near match lists the keys there are")
    func unknownKeyWithoutSuggestion() throws {
        let (fixture, errors) = try Self.errors(
            yaml: """
                mqtt: { url: "mqtt://127.0.0.1" }
                zones_file: zones.geojson
                http:
                  colour: blue
                """)
        #expect(
            errors == [
                "\(fixture.path("streetsense.yaml")):4: http.colour: unknown key (expected one of: listen, tokens_file, public_reads, dashboard_dir, javascript_dir, rate_limit, cors_allowed_origins, max_body_bytes, max_uri_bytes)"
            ])
    }

    @Test("values of the wrong type")
    func wrongTypes() throws {
        let (fixture, errors) = try Self.errors(
            yaml: """
                mqtt:
                  url: "mqtt://127.0.0.1"
                  keepalive_s: "30"
                store:
                  batch_max_rows: many
                  raw_retention_days: 2.5
                http: [ "127.0.0.1:8080" ]
                pipeline:
                  allowed_lateness_s: { seconds: 5 }
                  clock: sundial
                rules:
                  hysteresis: ten percent
                zones_file: zones.geojson
                sensors:
                  - { pilot: helsinki-lab, id: cam-01, zone: plaza, kind: occupancy, factor: yes }
                """)
        let file = fixture.path("streetsense.yaml")
        #expect(
            errors == [
                "\(file):3: mqtt.keepalive_s: expected an integer, got \"30\"",
                "\(file):5: store.batch_max_rows: expected an integer, got \"many\"",
                "\(file):6: store.raw_retention_days: expected an integer, got \"2.5\"",
                "\(file):7: http: expected a mapping, got a list",
                "\(file):9: pipeline.allowed_lateness_s: expected a number of seconds, got a mapping",
                "\(file):10: pipeline.clock: expected \"wall\" or \"event\", got \"sundial\"",
                "\(file):12: rules.hysteresis: expected a number, got \"ten percent\"",
                "\(file):15: sensors[0].factor: expected a number, got \"yes\"",
            ])
    }

    @Test("values out of range")
    func outOfRange() throws {
        let (fixture, errors) = try Self.errors(
            yaml: """
                mqtt: { url: "mqtt://127.0.0.1:70000" }
                http: { listen: "0.0.0.0" }
                store: { batch_max_ms: 0 }
                rules: { hysteresis: 1.5, hold_s: -1 }
                zones_file: zones.geojson
                sensors:
                  - { pilot: helsinki-lab, id: cam-01, zone: plaza, kind: occupancy, covered_m2: 0 }
                """)
        let file = fixture.path("streetsense.yaml")
        #expect(
            errors == [
                "\(file):1: mqtt.url: the port must be a number from 1 to 65535, got \"70000\"",
                "\(file):2: http.listen: expected HOST:PORT, got \"0.0.0.0\" (the port is missing)",
                "\(file):3: store.batch_max_ms: must be between 1 and 10000, got 0",
                "\(file):4: rules.hold_s: must not be negative, got -1",
                "\(file):4: rules.hysteresis: must be at least 0 and below 1 (a fraction: 0.1 is 10 %), got 1.5",
                "\(file):7: sensors[0].covered_m2: must be greater than 0, got 0",
            ])
    }

    @Test("missing required keys")
    func missingRequiredKeys() throws {
        let (fixture, errors) = try Self.errors(
            yaml: """
                # no zones_file
                mqtt:
                  client_id: streetsense-1
                sensors:
                  - pilot: helsinki-lab
                    id: cam-01
                    kind: occupancy
                """)
        let file = fixture.path("streetsense.yaml")
        #expect(
            errors == [
                "\(file):1: zones_file: missing required key",
                "\(file):2: mqtt.url: missing required key",
                "\(file):5: sensors[0].zone: missing required key",
            ])
    }

    @Test("a broker URL that is not mqtt:// or mqtts://, or that carries credentials")
    func badBrokerURL() throws {
        for (url, reason) in [
            ("http://127.0.0.1:1883", "expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT], got \"http://127.0.0.1:1883\""),
            ("mqtt://user:pw@127.0.0.1", "credentials do not belong in the url: use mqtt.username and mqtt.password_file"),
            ("mqtt://", "the host is missing"),
        ] {
            let (fixture, errors) = try Self.errors(yaml: "mqtt:\n  url: \"\(url)\"\nzones_file: zones.geojson\n")
            #expect(errors == ["\(fixture.path("streetsense.yaml")):2: mqtt.url: \(reason)"])
        }
    }

    @Test("a sensor whose zone is not in the zones file")
    func sensorZoneNotFound() throws {
        let (fixture, errors) = try Self.errors(
            yaml: """
                mqtt: { url: "mqtt://127.0.0.1" }
                zones_file: zones.geojson
                sensors:
                  - { pilot: helsinki-lab, id: cam-01, zone: plaza, kind: occupancy }
                  - { pilot: helsinki-lab, id: cam-02, zone: plazza, kind: occupancy }
                  - { pilot: helsinki-lab, id: cam-03, zone: harbour, kind: occupancy }
                """)
        let file = fixture.path("streetsense.yaml")
        let zones = fixture.path("zones.geojson")
        #expect(
            errors == [
                "\(file):5: sensors[1].zone: zone \"plazza\" not found in \(zones) (did you mean plaza?)",
                "\(file):6: sensors[2].zone: zone \"harbour\" not found in \(zones)",
            ])
    }

    @Test("sensor rules: valid ids, unique (pilot, id), known kinds, a factor for devices, keys that apply")
    func sensorRules() throws {
        let (fixture, errors) = try Self.errors(
            yaml: """
                mqtt: { url: "mqtt://127.0.0.1" }
                zones_file: zones.geojson
                sensors:
                  - { pilot: helsinki-lab, id: cam-01, zone: plaza, kind: occupancy }
                  - { pilot: helsinki-lab, id: cam-01, zone: street, kind: occupancy }
                  - { pilot: citizen-air, id: cam-01, zone: plaza, kind: air }
                  - { pilot: helsinki lab, id: "cam/02", zone: plaza, kind: occupancy }
                  - { pilot: helsinki-lab, id: wifi-1, zone: plaza, kind: devices }
                  - { pilot: helsinki-lab, id: cam-05, zone: plaza, kind: camera }
                  - { pilot: citizen-air, id: sds-1, zone: plaza, kind: air, factor: 2 }
                  - { pilot: helsinki-lab, id: gate-1, zone: plaza, kind: flow, covered_m2: 100 }
                  - { pilot: helsinki-lab, id: wifi-2, zone: plaza, kind: devices, factor: -0.5 }
                  - { pilot: helsinki-lab, id: wifi-2, zone: plaza, kind: wifi }
                """)
        let file = fixture.path("streetsense.yaml")
        let badID = "is not a valid id (1 to 64 characters from A-Z, a-z, 0-9, '_', '.', '-')"
        #expect(
            errors == [
                "\(file):5: sensors[1].id: duplicate sensor helsinki-lab/cam-01 (first defined at line 4)",
                "\(file):7: sensors[3].pilot: \"helsinki lab\" \(badID)",
                "\(file):7: sensors[3].id: \"cam/02\" \(badID)",
                "\(file):8: sensors[4].factor: missing required key (a devices sensor needs a calibration factor: people ≈ devices × factor)",
                "\(file):9: sensors[5].kind: unknown kind \"camera\" (expected one of: occupancy, flow, devices, air)",
                "\(file):10: sensors[6].factor: does not apply to air sensors (they estimate no people)",
                "\(file):11: sensors[7].covered_m2: does not apply to flow sensors (a gate's count is the whole zone's occupancy)",
                "\(file):12: sensors[8].factor: must be greater than 0, got -0.5",
                "\(file):13: sensors[9].kind: unknown kind \"wifi\" (expected one of: occupancy, flow, devices, air)",
                "\(file):13: sensors[9].id: duplicate sensor helsinki-lab/wifi-2 (first defined at line 12)",
            ])
    }

    @Test("sensor positions: a list of two numbers, longitude in -180...180, then latitude in -90...90")
    func sensorPositions() throws {
        let (fixture, errors) = try Self.errors(
            yaml: """
                mqtt: { url: "mqtt://127.0.0.1" }
                zones_file: zones.geojson
                sensors:
                  - { pilot: helsinki-lab, id: cam-01, zone: plaza, kind: occupancy, position: [24.9349] }
                  - { pilot: helsinki-lab, id: cam-02, zone: plaza, kind: occupancy, position: [24.9349, 60.169, 12] }
                  - { pilot: helsinki-lab, id: cam-03, zone: plaza, kind: occupancy, position: "24.9349, 60.169" }
                  - { pilot: helsinki-lab, id: cam-04, zone: plaza, kind: occupancy, position: [east, "60.169"] }
                  - { pilot: helsinki-lab, id: cam-05, zone: plaza, kind: occupancy, position: [181, -90.5] }
                  - { pilot: helsinki-lab, id: cam-06, zone: plaza, kind: occupancy, position: [60.169, 124.9349] }
                  - { pilot: helsinki-lab, id: cam-07, zone: plaza, kind: occupancy, position: { lon: 24.9, lat: 60.1 } }
                  - { pilot: helsinki-lab, id: cam-08, zone: plaza, kind: occupancy, position: [] }
                  - pilot: helsinki-lab
                    id: cam-09
                    zone: plaza
                    kind: occupancy
                    position:
                      - 24.9349
                      - 95
                  - { pilot: helsinki-lab, id: cam-10, zone: plaza, kind: occupancy, position: [nan, [60.1]] }
                  - { pilot: helsinki-lab, id: cam-11, zone: plaza, kind: occupancy, positon: [24.9349, 60.169] }
                """)
        let file = fixture.path("streetsense.yaml")
        let expected = "expected a position [longitude, latitude], got"
        #expect(
            errors == [
                "\(file):4: sensors[0].position: \(expected) a list of 1",
                "\(file):5: sensors[1].position: \(expected) a list of 3",
                "\(file):6: sensors[2].position: \(expected) \"24.9349, 60.169\"",
                "\(file):7: sensors[3].position[0]: expected a number (the longitude), got \"east\"",
                "\(file):7: sensors[3].position[1]: expected a number (the latitude), got \"60.169\"",
                "\(file):8: sensors[4].position[0]: longitude 181 is outside -180...180",
                "\(file):8: sensors[4].position[1]: latitude -90.5 is outside -90...90",
                "\(file):9: sensors[5].position[1]: latitude 124.9349 is outside -90...90 (a position is [longitude, latitude]: are the two swapped?)",
                "\(file):10: sensors[6].position: \(expected) a mapping",
                "\(file):11: sensors[7].position: \(expected) an empty list",
                "\(file):18: sensors[8].position[1]: latitude 95 is outside -90...90 (a position is [longitude, latitude]: are the two swapped?)",
                "\(file):19: sensors[9].position[0]: expected a number (the longitude), got \"nan\"",
                "\(file):19: sensors[9].position[1]: expected a number (the latitude), got a list",
                "\(file):20: sensors[10].positon: unknown key (did you mean position?)",
            ])
    }

    @Test("density levels that do not increase, in the rules and in a zone")
    func levelsNotIncreasing() throws {
        let zones = twoZonesGeoJSON.replacingOccurrences(
            of: #""name": "Street", "type": "street""#,
            with: #""name": "Street", "density_levels": {"elevated": 6}"#)
        let (fixture, errors) = try Self.errors(
            yaml: """
                mqtt: { url: "mqtt://127.0.0.1" }
                zones_file: zones.geojson
                rules:
                  density_levels: { elevated: 2.5, high: 3.5, critical: 3.5 }
                  zone_types:
                    street:
                      density_levels:
                        high: 2.0
                """,
            zones: zones)
        let file = fixture.path("streetsense.yaml")
        #expect(
            errors == [
                "\(file):4: rules.density_levels: levels must increase (elevated < high < critical), got elevated 2.5, high 3.5, critical 3.5",
                "\(file):7: rules.zone_types.street.density_levels: levels must increase (elevated < high < critical), got elevated 2.5, high 2, critical 5",
                "\(fixture.path("zones.geojson")):5: features[1].properties.density_levels: levels must increase (elevated < high < critical), got elevated 6, high 3.5, critical 5",
            ])
    }

    @Test("a zones file that does not exist names the path it looked for")
    func missingZonesFile() throws {
        let fixture = try ConfigFixture([
            "conf/streetsense.yaml": """
            mqtt: { url: "mqtt://127.0.0.1" }

            zones_file: geo/zones.geojson
            sensors:
              - { pilot: helsinki-lab, id: cam-01, zone: plaza, kind: occupancy }
            """
        ])
        #expect(
            fixture.errors("conf/streetsense.yaml") == [
                "\(fixture.path("conf/streetsense.yaml")):3: zones_file: file not found: \(fixture.path("conf/geo/zones.geojson"))"
            ])
    }

    @Test("other missing files: the configuration itself, a password file, TLS files")
    func missingFiles() throws {
        let nowhere = "/nonexistent-\(UUID().uuidString)/streetsense.yaml"
        do {
            _ = try StreetSenseConfiguration.load(path: nowhere, environment: [:])
            Issue.record("loaded a file that does not exist")
        } catch {
            #expect(error.diagnostics.map(\.description) == ["\(nowhere): file not found"])
        }

        let (fixture, errors) = try Self.errors(
            yaml: """
                mqtt:
                  url: "mqtts://broker.example.org"
                  username: streetsense
                  password_file: mqtt.pass
                  tls: { ca_file: /nonexistent/ca.pem, cert_file: client.pem }
                zones_file: zones.geojson
                """)
        let file = fixture.path("streetsense.yaml")
        #expect(
            errors == [
                "\(file):4: mqtt.password_file: file not found: \(fixture.path("mqtt.pass"))",
                "\(file):5: mqtt.tls.ca_file: file not found: /nonexistent/ca.pem",
                "\(file):5: mqtt.tls.cert_file: file not found: \(fixture.path("client.pem"))",
                "\(file):5: mqtt.tls.key_file: missing required key (cert_file and key_file go together)",
            ])
    }

    @Test("TLS settings with a plain mqtt:// url, a password without a username, expiry with MQTT 3.1.1")
    func inconsistentBrokerSettings() throws {
        let fixture = try ConfigFixture([
            "streetsense.yaml": """
            mqtt:
              url: "mqtt://127.0.0.1"
              password_file: mqtt.pass
              tls:
                insecure: true
              protocol: "3.1.1"
              session_expiry_s: 3600
              topic_prefix: "streetsense/#"
            zones_file: zones.geojson
            """,
            "mqtt.pass": "pw\n",
            "zones.geojson": twoZonesGeoJSON,
        ])
        let file = fixture.path("streetsense.yaml")
        #expect(
            fixture.errors() == [
                "\(file):3: mqtt.password_file: a password needs a username (set mqtt.username)",
                "\(file):4: mqtt.tls: TLS settings need an mqtts:// url",
                "\(file):7: mqtt.session_expiry_s: applies to MQTT 5 only (with 3.1.1 the broker's persistent_client_expiration decides)",
                "\(file):8: mqtt.topic_prefix: must not contain the wildcards + or #",
            ])
    }

    @Test("a YAML syntax error reports its line")
    func syntaxError() throws {
        let (fixture, errors) = try Self.errors(
            yaml: """
                mqtt:
                  url: "mqtt://127.0.0.1"
                zones_file: zones.geojson
                sensors: [ { pilot: helsinki-lab, id: cam-01
                rules: {}
                """)
        #expect(errors.count == 1)
        #expect(errors.first?.hasPrefix("\(fixture.path("streetsense.yaml")):5: syntax error: ") == true)
    }

    @Test("a key given twice is reported")
    func duplicateKey() throws {
        let (fixture, errors) = try Self.errors(
            yaml: """
                mqtt:
                  url: "mqtt://127.0.0.1"
                  url: "mqtt://127.0.0.2"
                zones_file: zones.geojson
                """)
        #expect(errors == ["\(fixture.path("streetsense.yaml")):2: url: duplicate key (each key may appear once in a mapping)"])
    }

    @Test("a top level that is not a mapping")
    func topLevelNotAMapping() throws {
        let (fixture, errors) = try Self.errors(yaml: "- mqtt\n- zones\n")
        #expect(errors == ["\(fixture.path("streetsense.yaml")):1: expected a mapping, got a list"])
    }

    @Test("many problems in one file are all reported, in line order")
    func severalErrorsAtOnce() throws {
        let (fixture, errors) = try Self.errors(
            yaml: """
                mqtt:
                  url: "mqtt://127.0.0.1"
                  clientid: x
                store:
                  batch_max_rows: -5
                zones_file: zones.geojson
                sensors:
                  - { pilot: helsinki-lab, id: cam-01, zone: nowhere, kind: occupancy }
                  - { pilot: helsinki-lab, id: wifi-1, zone: plaza, kind: devices }
                rules:
                  density_levels: { elevated: 4, high: 3, critical: 5 }
                """)
        let file = fixture.path("streetsense.yaml")
        let zones = fixture.path("zones.geojson")
        #expect(
            errors == [
                "\(file):3: mqtt.clientid: unknown key (did you mean client_id?)",
                "\(file):5: store.batch_max_rows: must be between 1 and 1000000, got -5",
                "\(file):8: sensors[0].zone: zone \"nowhere\" not found in \(zones)",
                "\(file):9: sensors[1].factor: missing required key (a devices sensor needs a calibration factor: people ≈ devices × factor)",
                "\(file):11: rules.density_levels: levels must increase (elevated < high < critical), got elevated 4, high 3, critical 5",
            ])
        do {
            _ = try fixture.load()
        } catch {
            #expect(error.description == errors.joined(separator: "\n"))
            #expect(error.diagnostics.allSatisfy { $0.severity == .error })
            #expect(error.diagnostics.map(\.line) == [3, 5, 8, 9, 11])
            #expect(error.diagnostics[2].key == "sensors[0].zone")
            #expect(error.diagnostics[2].file == file)
        }
    }

    @Test("a key written with no value")
    func emptyValue() throws {
        let (fixture, errors) = try Self.errors(
            yaml: """
                mqtt:
                  url:
                zones_file: ~
                """)
        let file = fixture.path("streetsense.yaml")
        #expect(errors == ["\(file):2: mqtt.url: a value is required", "\(file):3: zones_file: a value is required"])
    }

    @Test("an empty file lacks the required keys")
    func emptyFile() throws {
        let (fixture, errors) = try Self.errors(yaml: "# nothing yet\n")
        let file = fixture.path("streetsense.yaml")
        #expect(errors == ["\(file):1: mqtt.url: missing required key", "\(file):1: zones_file: missing required key"])
    }

    @Test("hostile input is an error, not a crash: deep nesting, bad bytes, huge rings")
    func hostileInput() throws {
        let (deep, deepErrors) = try Self.errors(
            yaml: "mqtt: " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "\n")
        #expect(deepErrors.count == 1)
        #expect(deepErrors.first?.hasPrefix("\(deep.path("streetsense.yaml")):1: syntax error: ") == true)

        let bytes = try ConfigFixture([:])
        try #require(
            FileManager.default.createFile(
                atPath: bytes.path("streetsense.yaml"), contents: Data([0x6D, 0x3A, 0x20, 0xFF, 0xFE, 0x0A])))
        #expect(bytes.errors() == ["\(bytes.path("streetsense.yaml")): the file is not valid UTF-8"])

        let positions = (0...10_000).map { "[\(24 + Double($0) * 1e-6), 60.0]" }.joined(separator: ", ")
        let zones =
            #"{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"id": "z", "name": "Z"}, "#
            + #""geometry": {"type": "Polygon", "coordinates": [[\#(positions)]]}}]}"#
        let (huge, hugeErrors) = try Self.errors(
            yaml: "mqtt: { url: \"mqtt://127.0.0.1\" }\nzones_file: zones.geojson\n", zones: zones)
        #expect(
            hugeErrors == [
                "\(huge.path("zones.geojson")):1: features[0].geometry.coordinates[0]: a zone ring may have at most 10000 positions, got 10001 (simplify it)"
            ])
    }

    @Test("a zones_file that names the YAML file itself is reported as a bad GeoJSON file")
    func zonesFileIsTheConfiguration() throws {
        let (fixture, errors) = try Self.errors(yaml: "mqtt: { url: \"mqtt://127.0.0.1\" }\nzones_file: streetsense.yaml\n")
        let file = fixture.path("streetsense.yaml")
        #expect(
            errors == [
                "\(file):1: type: missing required key",
                "\(file):1: features: missing required key",
            ])
    }
}
