import Foundation
import StreetSenseConfig
import Testing

/// A temporary folder holding a configuration and its files, removed when the fixture goes away.
final class ConfigFixture {
    let directory: String

    init(_ files: [String: String]) throws {
        let name = "streetsense-config-\(UUID().uuidString)"
        directory = (FileManager.default.temporaryDirectory.path as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (relativePath, contents) in files { try write(relativePath, contents) }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func path(_ relativePath: String) -> String {
        "\(directory)/\(relativePath)"
    }

    func write(_ relativePath: String, _ contents: String) throws {
        let full = path(relativePath)
        let folder = (full as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try contents.write(toFile: full, atomically: true, encoding: .utf8)
    }

    /// Loads `streetsense.yaml` (or `file`) with `environment`.
    func load(_ file: String = "streetsense.yaml", environment: [String: String] = [:]) throws(ConfigurationError)
        -> StreetSenseConfiguration
    {
        try StreetSenseConfiguration.load(path: path(file), environment: environment)
    }

    /// The error lines (`FILE:LINE: key: reason`) of loading `streetsense.yaml`; fails the test if it loads.
    func errors(
        _ file: String = "streetsense.yaml", environment: [String: String] = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> [String] {
        do {
            _ = try load(file, environment: environment)
            Issue.record("expected the configuration to be rejected", sourceLocation: sourceLocation)
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }
}

/// Two valid zones, one feature per line so that tests can name lines: `plaza` on line 4, `street` on line 5.
let twoZonesGeoJSON = """
    {
      "type": "FeatureCollection",
      "features": [
        {"type": "Feature", "properties": {"id": "plaza", "name": "Plaza", "area_m2": 1200}, "geometry": {"type": "Polygon", "coordinates": [[[24.9344, 60.1688], [24.9353, 60.1687], [24.9354, 60.1692], [24.9345, 60.1693], [24.9344, 60.1688]]]}},
        {"type": "Feature", "properties": {"id": "street", "name": "Street", "type": "street"}, "geometry": {"type": "Polygon", "coordinates": [[[24.9400, 60.1690], [24.9420, 60.1690], [24.9420, 60.1692], [24.9400, 60.1692], [24.9400, 60.1690]]]}}
      ]
    }
    """

/// The smallest valid configuration around `twoZonesGeoJSON`, for tests that change one thing.
let minimalYAML = """
    mqtt:
      url: "mqtt://127.0.0.1:1883"
    zones_file: zones.geojson
    sensors:
      - { pilot: helsinki-lab, id: cam-01, zone: plaza, kind: occupancy }
    """

/// The repository root, found from this file's path.
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()
