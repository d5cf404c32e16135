import Foundation
import Testing

/// Runs `streetsense` with `arguments` and no `STREETSENSE_` variables from this environment.
private func streetsense(_ arguments: [String], environment extra: [String: String] = [:]) throws -> ProgramRun {
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STREETSENSE_") }
    environment.merge(extra) { _, new in new }
    return try ProgramRun.run(streetsenseExecutable, arguments, environment: environment, separateErrors: true)
}

/// A folder of configuration files for one test, removed afterwards.
private struct ConfigFolder {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("streetsense-check-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let file = "\(path)/\(name)"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

private let zones = """
    {"type": "FeatureCollection", "features": [
      {"type": "Feature", "properties": {"id": "kamppi-square", "name": "Kamppi square", "area_m2": 1200},
       "geometry": {"type": "Polygon", "coordinates": [[[24.9315, 60.1690], [24.9330, 60.1690], [24.9330, 60.1697], [24.9315, 60.1697], [24.9315, 60.1690]]]}}
    ]}
    """

extension IntegrationSuites {
    /// `streetsense check-config`, run as an operator runs it: the real executable, real files.
    @Suite struct CheckConfigCommandTests {
        @Test func theDemoConfigurationIsValid() throws {
            let run = try streetsense(["check-config", "--config", "\(packageRoot)/deploy/demo/streetsense.yaml"])
            #expect(run.status == 0, "\(run.errorOutput)")
            #expect(run.output.contains("streetsense.yaml: ok ("))
            #expect(run.errorOutput.isEmpty)
        }

        @Test func everyProblemIsReportedWithFileLineKeyAndReason() throws {
            let folder = try ConfigFolder()
            defer { folder.remove() }
            _ = try folder.write("zones.geojson", zones)
            let config = try folder.write(
                "streetsense.yaml",
                """
                mqtt:
                  url: "mqtt://127.0.0.1:1883"
                  client_id: check-1
                store:
                  sqlite_path: var/x.sqlite
                  retention_dayz: 3
                zones_file: zones.geojson
                sensors:
                  - { pilot: helsinki-lab, id: cam-01, zone: kamppi-square, kind: occupancy, covered_m2: 400 }
                  - { pilot: helsinki-lab, id: cam-02, zone: nowhere, kind: occupancy }
                """)
            let run = try streetsense(["check-config", "--config", config])
            #expect(run.status == 1)
            let lines = run.errorOutput.split(separator: "\n").map(String.init)
            // The misspelt key on line 6 and the unknown zone on line 10, each as FILE:LINE: key: reason.
            #expect(lines.contains { $0.hasPrefix("\(config):6: store.retention_dayz: ") }, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("\(config):10: sensors[1].zone: ") && $0.contains("nowhere") }, "\(lines)")
            #expect(run.output.isEmpty)
        }

        @Test func badSensorPositionsAreReportedWithTheirLines() throws {
            let folder = try ConfigFolder()
            defer { folder.remove() }
            _ = try folder.write("zones.geojson", zones)
            let config = try folder.write(
                "streetsense.yaml",
                """
                mqtt: { url: "mqtt://127.0.0.1:1883", client_id: check-3 }
                store: { sqlite_path: var/x.sqlite }
                zones_file: zones.geojson
                sensors:
                  - { pilot: helsinki-lab, id: cam-01, zone: kamppi-square, kind: occupancy, position: [24.9322, 60.1693] }
                  - { pilot: helsinki-lab, id: cam-02, zone: kamppi-square, kind: occupancy, position: [60.1693, 124.9322] }
                  - { pilot: helsinki-lab, id: cam-03, zone: kamppi-square, kind: occupancy, position: [24.9322] }
                  - pilot: citizen-air
                    id: sds-1
                    zone: kamppi-square
                    kind: air
                    position: [-181, north]
                """)
            let run = try streetsense(["check-config", "--config", config])
            #expect(run.status == 1)
            #expect(
                run.errorOutput.split(separator: "\n").map(String.init) == [
                    "\(config):6: sensors[1].position[1]: latitude 124.9322 is outside -90...90 (a position is [longitude, latitude]: are the two swapped?)",
                    "\(config):7: sensors[2].position: expected a position [longitude, latitude], got a list of 1",
                    "\(config):12: sensors[3].position[1]: expected a number (the latitude), got \"north\"",
                ], "\(run.errorOutput)")
            #expect(run.output.isEmpty)

            // Mended, the same file passes.
            _ = try folder.write(
                "streetsense.yaml",
                """
                mqtt: { url: "mqtt://127.0.0.1:1883", client_id: check-3 }
                store: { sqlite_path: var/x.sqlite }
                zones_file: zones.geojson
                sensors:
                  - { pilot: helsinki-lab, id: cam-01, zone: kamppi-square, kind: occupancy, position: [24.9322, 60.1693] }
                  - { pilot: helsinki-lab, id: cam-02, zone: kamppi-square, kind: occupancy, position: [24.9322, 60.1693] }
                """)
            let mended = try streetsense(["check-config", "--config", config])
            #expect(mended.status == 0, "\(mended.errorOutput)")
        }

        @Test func aBadTokensFileStopsTheCheckWithItsLine() throws {
            let folder = try ConfigFolder()
            defer { folder.remove() }
            _ = try folder.write("zones.geojson", zones)
            let tokens = try folder.write(
                "tokens.txt",
                """
                # name role hash
                olli operator sha256:\(String(repeating: "ab", count: 32))
                ada superuser sha256:\(String(repeating: "cd", count: 32))
                """)
            let config = try folder.write(
                "streetsense.yaml",
                """
                mqtt: { url: "mqtt://127.0.0.1:1883", client_id: check-2 }
                store: { sqlite_path: var/x.sqlite }
                http: { listen: "127.0.0.1:8080", tokens_file: tokens.txt }
                zones_file: zones.geojson
                sensors:
                  - { pilot: helsinki-lab, id: cam-01, zone: kamppi-square, kind: occupancy }
                """)
            let run = try streetsense(["check-config", "--config", config])
            #expect(run.status == 1)
            #expect(run.errorOutput.hasPrefix("\(tokens):3: "), "\(run.errorOutput)")
            #expect(run.errorOutput.contains("superuser"))

            // The same file with the bad line mended passes.
            _ = try folder.write("tokens.txt", "olli operator sha256:\(String(repeating: "ab", count: 32))\n")
            let mended = try streetsense(["check-config", "--config", config])
            #expect(mended.status == 0, "\(mended.errorOutput)")
        }

        @Test func environmentOverridesAreChecked() throws {
            let run = try streetsense(
                ["check-config", "--config", "\(packageRoot)/deploy/demo/streetsense.yaml"], environment: ["STREETSENSE_HTTP_LISTEN": "not an address"])
            #expect(run.status == 1)
            #expect(run.errorOutput.contains("STREETSENSE_HTTP_LISTEN"), "\(run.errorOutput)")
        }
    }
}
