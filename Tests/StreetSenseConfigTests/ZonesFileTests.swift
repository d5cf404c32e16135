import Foundation
import StreetSenseConfig
import StreetSenseCore
import Testing

/// Zone problems are reported against the GeoJSON file, with its line numbers.
@Suite("Zones file")
struct ZonesFileTests {
    /// A FeatureCollection with one feature per line: `features[i]` is on line `4 + i`.
    static func collection(_ features: [String]) -> String {
        "{\n  \"type\": \"FeatureCollection\",\n  \"features\": [\n"
            + features.map { "    " + $0 }.joined(separator: ",\n") + "\n  ]\n}\n"
    }

    static func feature(id: String, name: String = "Zone", extra: String = "", geometry: String) -> String {
        #"{"type": "Feature", "properties": {"id": "\#(id)", "name": "\#(name)"\#(extra)}, "geometry": \#(geometry)}"#
    }

    static func polygon(_ ring: String) -> String {
        #"{"type": "Polygon", "coordinates": [\#(ring)]}"#
    }

    static let square = "[[24.94, 60.16], [24.941, 60.16], [24.941, 60.1605], [24.94, 60.1605], [24.94, 60.16]]"

    /// Loads the minimal configuration next to `zones`; returns the fixture and the error lines.
    static func errors(_ zones: String) throws -> (ConfigFixture, [String]) {
        let fixture = try ConfigFixture([
            "streetsense.yaml": "mqtt: { url: \"mqtt://127.0.0.1\" }\nzones_file: zones.geojson\n",
            "zones.geojson": zones,
        ])
        return (fixture, fixture.errors())
    }

    @Test("polygon problems: not closed, too few positions, crossing itself, coordinates out of range")
    func polygonProblems() throws {
        let (fixture, errors) = try Self.errors(
            Self.collection([
                Self.feature(id: "good", geometry: Self.polygon(Self.square)),
                Self.feature(
                    id: "open",
                    geometry: Self.polygon("[[24.94, 60.16], [24.941, 60.16], [24.941, 60.1605], [24.94, 60.1605]]")),
                Self.feature(id: "triangle", geometry: Self.polygon("[[24.94, 60.16], [24.941, 60.16], [24.94, 60.16]]")),
                Self.feature(
                    id: "bow-tie",
                    geometry: Self.polygon(
                        "[[24.94, 60.16], [24.941, 60.1605], [24.941, 60.16], [24.94, 60.1605], [24.94, 60.16]]")),
                Self.feature(
                    id: "far-east",
                    geometry: Self.polygon("[[180.5, 60.16], [24.941, 60.16], [24.941, 60.1605], [180.5, 60.16]]")),
                Self.feature(
                    id: "north-of-north",
                    geometry: Self.polygon("[[24.94, 90.5], [24.941, 60.16], [24.941, 60.1605], [24.94, 90.5]]")),
            ]))
        let zones = fixture.path("zones.geojson")
        #expect(
            errors == [
                "\(zones):5: features[1].geometry.coordinates[0]: the ring is not closed: its last position [24.94, 60.1605] must repeat its first [24.94, 60.16]",
                "\(zones):6: features[2].geometry.coordinates[0]: a ring needs at least 4 positions (a closed triangle), got 3",
                "\(zones):7: features[3].geometry.coordinates[0]: the ring intersects itself: the edge from position 0 [24.94, 60.16] crosses the edge from position 2 [24.941, 60.16]",
                "\(zones):8: features[4].geometry.coordinates[0][0]: longitude 180.5 is outside -180...180",
                "\(zones):8: features[4].geometry.coordinates[0][3]: longitude 180.5 is outside -180...180",
                "\(zones):9: features[5].geometry.coordinates[0][0]: latitude 90.5 is outside -90...90",
                "\(zones):9: features[5].geometry.coordinates[0][3]: latitude 90.5 is outside -90...90",
            ])
    }

    @Test("a pretty-printed file reports the line of the offending position")
    func prettyPrintedLines() throws {
        let zones = """
            {
              "type": "FeatureCollection",
              "features": [
                {
                  "type": "Feature",
                  "properties": { "id": "plaza", "name": "Plaza" },
                  "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                      [
                        [24.94, 60.16],
                        [24.941, 60.16],
                        [24.941, 95.0],
                        [24.94, 60.1605],
                        [24.94, 60.16]
                      ]
                    ]
                  }
                }
              ]
            }
            """
        let (fixture, errors) = try Self.errors(zones)
        #expect(
            errors == [
                "\(fixture.path("zones.geojson")):13: features[0].geometry.coordinates[0][2]: latitude 95 is outside -90...90"
            ])
    }

    @Test("feature problems: ids, names, areas, geometry types, duplicates")
    func featureProblems() throws {
        let (fixture, errors) = try Self.errors(
            Self.collection([
                Self.feature(id: "plaza", geometry: Self.polygon(Self.square)),
                Self.feature(id: "plaza", geometry: Self.polygon(Self.square)),
                Self.feature(id: "bad id", geometry: Self.polygon(Self.square)),
                #"{"type": "Feature", "properties": {"id": "no-name"}, "geometry": \#(Self.polygon(Self.square))}"#,
                Self.feature(id: "point", geometry: #"{"type": "Point", "coordinates": [24.94, 60.16]}"#),
                Self.feature(id: "nothing", geometry: "null"),
                Self.feature(id: "negative", extra: #", "area_m2": -3"#, geometry: Self.polygon(Self.square)),
                #"{"type": "Feature", "id": "top-level", "geometry": \#(Self.polygon(Self.square))}"#,
            ]))
        let zones = fixture.path("zones.geojson")
        #expect(
            errors == [
                "\(zones):5: features[1].properties.id: duplicate zone id \"plaza\" (first defined at line 4)",
                "\(zones):6: features[2].properties.id: \"bad id\" is not a valid id (1 to 64 characters from A-Z, a-z, 0-9, '_', '.', '-')",
                "\(zones):7: features[3].properties.name: missing required key",
                "\(zones):8: features[4].geometry.type: unsupported geometry \"Point\" (a zone is a Polygon or MultiPolygon)",
                "\(zones):9: features[5].geometry: a zone needs a polygon or properties.area_m2",
                "\(zones):10: features[6].properties.area_m2: must be greater than 0, got -3",
                "\(zones):11: features[7].properties: missing required key (the zone id goes in properties.id)",
            ])
    }

    @Test("not a FeatureCollection, or not JSON at all")
    func notACollection() throws {
        let (fixture, errors) = try Self.errors(#"{"type": "Feature", "features": {}}"#)
        let zones = fixture.path("zones.geojson")
        #expect(
            errors == [
                "\(zones):1: type: expected \"FeatureCollection\", got \"Feature\"",
                "\(zones):1: features: expected a list, got a mapping",
            ])
        let (broken, brokenErrors) = try Self.errors("{\n  \"type\": \"FeatureCollection\",\n  \"features\": [\n}\n")
        #expect(brokenErrors.count == 1)
        #expect(brokenErrors.first?.hasPrefix("\(broken.path("zones.geojson")):4: syntax error: ") == true)
    }

    @Test("MultiPolygon: the largest polygon's outer ring, the sum of the areas less holes")
    func multiPolygon() throws {
        // Two rings 0.01° apart; the second is larger and has a hole.
        let small = "[[24.90, 60.10], [24.901, 60.10], [24.901, 60.1005], [24.90, 60.1005], [24.90, 60.10]]"
        let large = "[[24.92, 60.10], [24.923, 60.10], [24.923, 60.101], [24.92, 60.101], [24.92, 60.10]]"
        let hole = "[[24.921, 60.1002], [24.922, 60.1002], [24.922, 60.1004], [24.921, 60.1004], [24.921, 60.1002]]"
        let geometry = #"{"type": "MultiPolygon", "coordinates": [[\#(small)], [\#(large), \#(hole)]]}"#
        let fixture = try ConfigFixture([
            "streetsense.yaml": "mqtt: { url: \"mqtt://127.0.0.1\" }\nzones_file: zones.geojson\n",
            "zones.geojson": Self.collection([Self.feature(id: "islands", geometry: geometry)]),
        ])
        let config = try fixture.load()
        let zone = try #require(config.zones.first)
        func ring(_ text: String) throws -> [[Double]] {
            try JSONDecoder().decode([[Double]].self, from: Data(text.utf8))
        }
        let wgs84 = Ellipsoid.wgs84
        let expected =
            wgs84.area(ofRing: try ring(small)) + wgs84.area(ofRing: try ring(large)) - wgs84.area(ofRing: try ring(hole))
        #expect(abs(zone.areaM2 - expected) < 1e-6 * expected)
        #expect(zone.polygon == (try ring(large)))
        // The parts are about 55 m × 56 m, 166 m × 111 m and a 55 m × 22 m hole.
        #expect(zone.areaM2 > 19_500 && zone.areaM2 < 21_500)
    }

    @Test("a zone's type selects its rules; its own density_levels refine them")
    func zoneTypesAndLevels() throws {
        let fixture = try ConfigFixture([
            "streetsense.yaml": """
            mqtt: { url: "mqtt://127.0.0.1" }
            zones_file: zones.geojson
            rules:
              zone_types:
                street: { density_levels: { elevated: 1.5, high: 2.5, critical: 4 }, hold_s: 10 }
            """,
            "zones.geojson": Self.collection([
                Self.feature(id: "plaza", extra: #", "type": "square""#, geometry: Self.polygon(Self.square)),
                Self.feature(
                    id: "alley", extra: #", "type": "street", "density_levels": {"critical": 3}"#,
                    geometry: Self.polygon(Self.square)),
                Self.feature(id: "quay", extra: #", "type": "streets""#, geometry: Self.polygon(Self.square)),
            ]),
        ])
        let config = try fixture.load()
        #expect(
            config.zones.map(\.levels) == [
                .default, DensityLevels(elevated: 1.5, high: 2.5, critical: 3), .default,
            ])
        #expect(config.crowdRules(forZone: "alley").hold == .seconds(10))
        #expect(config.crowdRules(forZone: "alley").densityLevels.critical == 3)
        #expect(config.crowdRules(forZone: "plaza") == .default)
        // Unknown types are a likely typo when the configuration names types: a warning, not an error.
        #expect(
            config.warnings.map(\.description) == [
                "\(fixture.path("zones.geojson")):4: warning: features[0].properties.type: zone type \"square\" has no entry in rules.zone_types, so the default rules apply (known: street)",
                "\(fixture.path("zones.geojson")):6: warning: features[2].properties.type: zone type \"streets\" has no entry in rules.zone_types, so the default rules apply (did you mean street?)",
            ])
    }

    @Test("tabs in JSON are whitespace, not a YAML error")
    func tabIndentedJSON() throws {
        let zones = Self.collection([Self.feature(id: "plaza", geometry: Self.polygon(Self.square))])
            .replacingOccurrences(of: "  ", with: "\t")
        let fixture = try ConfigFixture([
            "streetsense.yaml": "mqtt: { url: \"mqtt://127.0.0.1\" }\nzones_file: zones.geojson\n",
            "zones.geojson": zones,
        ])
        #expect(try fixture.load().zones.map(\.id) == ["plaza"])
    }
}
