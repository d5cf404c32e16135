import Foundation
import StreetSenseConfig
import StreetSenseCore
import StreetSenseSimulation
import Testing

@Suite("Generated registry files")
struct ScenarioRegistryFilesTests {
    /// Every generated zone polygon holds its `area_m2` (the loader warns when `area_m2` exceeds the polygon's
    /// area by 1 %), and not by much more, across the 2° of latitude a 100 000-zone city's grid spans.
    @Test("each generated zone polygon is at least its area_m2, and within 1 % of it, from the first row to the last")
    func zonePolygonsHoldTheirArea() throws {
        let profile = DailyProfile(points: [(0, 1)])
        let zones = (0..<100_000).map { i in
            Scenario.Zone(definition: ZoneDefinition(id: "z\(i)", name: "Zone \(i)", areaM2: i % 3 == 0 ? 500 : 2_000), profile: profile)
        }
        let city = Scenario(name: "grid", start: EventTime(milliseconds: 0), duration: .seconds(60), zones: zones, sensors: [])
        let text = ScenarioRegistryFiles.zones(city)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let features = try #require(json["features"] as? [[String: Any]])
        #expect(features.count == 100_000)
        var checked = 0
        for (i, feature) in features.enumerated() where i % 97 == 0 || i >= 99_900 {
            let stated = try #require((feature["properties"] as? [String: Any])?["area_m2"] as? Double)
            let geometry = try #require(feature["geometry"] as? [String: Any])
            let rings = try #require(geometry["coordinates"] as? [[[Double]]])
            let area = Ellipsoid.wgs84.area(ofPolygon: rings)
            #expect(area >= stated, "zone \(i): polygon \(area) m² < area_m2 \(stated)")
            #expect(area <= stated * 1.01, "zone \(i): polygon \(area) m² for area_m2 \(stated)")
            checked += 1
        }
        #expect(checked > 1_000)
    }
}
