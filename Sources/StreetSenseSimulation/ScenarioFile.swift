import Foundation
import StreetSenseCore
import Yams

/// A scenario file that cannot be used: where (file, line, key path) and why.
public struct ScenarioError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var key: String
    public var reason: String

    public init(file: String, line: Int?, key: String, reason: String) {
        self.file = file
        self.line = line
        self.key = key
        self.reason = reason
    }

    /// `FILE:LINE: key: reason`, as `check-config` prints configuration errors.
    public var description: String {
        let location = line.map { "\(file):\($0)" } ?? file
        return key.isEmpty ? "\(location): \(reason)" : "\(location): \(key): \(reason)"
    }
}

/// Loads scenario YAML files (`simulators/scenarios/*.yaml`; the format is in `simulators/README.md`).
///
/// Every key is checked: an unknown or misspelt key, a wrong type or an impossible value fails with the file,
/// line, key path and reason.
public enum ScenarioFile {
    /// Options that override a file's values (from the command line).
    public struct Overrides: Sendable {
        /// The number of generated sensors for files with a `city:` section.
        public var sensorCount: Int?

        public init(sensorCount: Int? = nil) { self.sensorCount = sensorCount }
    }

    /// Finds a scenario by file path, or by name in `directories` (`festival` → `DIR/festival.yaml`).
    public static func locate(_ nameOrPath: String, in directories: [String]) -> String? {
        if FileManager.default.fileExists(atPath: nameOrPath) { return nameOrPath }
        for directory in directories {
            for candidate in ["\(directory)/\(nameOrPath).yaml", "\(directory)/\(nameOrPath).yml", "\(directory)/\(nameOrPath)"]
            where FileManager.default.fileExists(atPath: candidate) {
                return candidate
            }
        }
        return nil
    }

    public static func load(path: String, overrides: Overrides = Overrides()) throws(ScenarioError) -> Scenario {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ScenarioError(file: path, line: nil, key: "", reason: "cannot be read")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ScenarioError(file: path, line: nil, key: "", reason: "is not valid UTF-8")
        }
        return try parse(text, file: path, overrides: overrides)
    }

    public static func parse(_ text: String, file: String, overrides: Overrides = Overrides()) throws(ScenarioError) -> Scenario {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text, .basic)
        } catch let error as YamlError {
            throw ScenarioError(file: file, line: nil, key: "", reason: "not valid YAML: \(error)")
        } catch {
            throw ScenarioError(file: file, line: nil, key: "", reason: "not valid YAML: \(error)")
        }
        guard let root else { throw ScenarioError(file: file, line: 1, key: "", reason: "the file is empty") }
        return try Reader(file: file).scenario(root, overrides: overrides)
    }

    /// Parses `90s`, `10m`, `2h`, `1h30m`, `500ms` or plain seconds.
    public static func duration(_ text: String) -> Duration? {
        if let seconds = Double(text), seconds.isFinite, seconds >= 0 { return .milliseconds(Int64((seconds * 1000).rounded())) }
        var total: Int64 = 0
        var number = "", unit = ""
        var parts = 0
        func commit() -> Bool {
            guard let value = Double(number), value >= 0 else { return false }
            let scale: Double
            switch unit {
            case "ms": scale = 1
            case "s": scale = 1000
            case "m", "min": scale = 60_000
            case "h": scale = 3_600_000
            case "d": scale = 86_400_000
            default: return false
            }
            total += Int64((value * scale).rounded())
            number = ""
            unit = ""
            parts += 1
            return true
        }
        for character in text {
            if character.isNumber || character == "." {
                if !unit.isEmpty { guard commit() else { return nil } }
                number.append(character)
            } else if character.isLetter, !number.isEmpty {
                unit.append(character)
            } else {
                return nil
            }
        }
        guard !number.isEmpty, commit(), parts > 0 else { return nil }
        return .milliseconds(total)
    }
}

/// Walks the YAML tree with the current key path, for errors that say where.
private struct Reader {
    let file: String

    func fail(_ node: Node?, _ key: String, _ reason: String) -> ScenarioError {
        ScenarioError(file: file, line: node?.mark?.line, key: key, reason: reason)
    }

    /// The members of a mapping, after checking every key is one of `allowed`.
    func members(_ node: Node, _ path: String, allowed: [String]) throws(ScenarioError) -> [String: Node] {
        guard case .mapping(let mapping) = node else { throw fail(node, path, "expected a mapping") }
        var out: [String: Node] = [:]
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else { throw fail(key, path, "keys must be plain text") }
            let name = scalar.string
            let keyPath = path.isEmpty ? name : "\(path).\(name)"
            guard allowed.contains(name) else {
                throw fail(key, keyPath, "unknown key (expected one of: \(allowed.joined(separator: ", ")))")
            }
            guard out[name] == nil else { throw fail(key, keyPath, "given twice") }
            out[name] = value
        }
        return out
    }

    func list(_ node: Node, _ path: String) throws(ScenarioError) -> [Node] {
        guard case .sequence(let sequence) = node else { throw fail(node, path, "expected a list") }
        return Array(sequence)
    }

    func string(_ node: Node?, _ path: String) throws(ScenarioError) -> String {
        guard let node else { throw fail(nil, path, "is required") }
        guard case .scalar(let scalar) = node, !scalar.string.isEmpty else { throw fail(node, path, "expected text") }
        return scalar.string
    }

    func identifier(_ node: Node?, _ path: String) throws(ScenarioError) -> String {
        let text = try string(node, path)
        guard text.utf8.count <= 64, text.utf8.allSatisfy({ $0.isIdentifierByte }) else {
            throw fail(node, path, "\"\(text.prefix(70))\" is not an id ([A-Za-z0-9_.-]{1,64})")
        }
        return text
    }

    func number(_ node: Node?, _ path: String, in range: ClosedRange<Double> = -1e12...1e12) throws(ScenarioError) -> Double {
        let text = try string(node, path)
        guard let value = Double(text), value.isFinite else { throw fail(node, path, "expected a number, got \"\(text.prefix(40))\"") }
        guard range.contains(value) else { throw fail(node, path, "\(text) is outside \(range.lowerBound)…\(range.upperBound)") }
        return value
    }

    func duration(_ node: Node?, _ path: String, positive: Bool = true) throws(ScenarioError) -> Duration {
        let text = try string(node, path)
        guard let value = ScenarioFile.duration(text) else { throw fail(node, path, "expected a duration like 90s, 10m, 2h; got \"\(text.prefix(40))\"") }
        if positive, value <= .zero { throw fail(node, path, "must be longer than zero") }
        return value
    }

    func time(_ node: Node?, _ path: String) throws(ScenarioError) -> EventTime {
        let text = try string(node, path)
        guard let value = EventTime(rfc3339: text) else { throw fail(node, path, "expected an RFC 3339 time with an offset, got \"\(text.prefix(40))\"") }
        return value
    }

    func address(_ node: Node?, _ path: String) throws(ScenarioError) -> SensorAddress {
        let text = try string(node, path)
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy(\.isIdentifierByte) }) else {
            throw fail(node, path, "expected pilot/sensor, got \"\(text.prefix(70))\"")
        }
        return SensorAddress(pilot: String(parts[0]), sensor: String(parts[1]))
    }

    func profile(_ node: Node, _ path: String) throws(ScenarioError) -> DailyProfile {
        if case .scalar = node { return .constant(try number(node, path, in: 0...100)) }
        guard case .mapping(let mapping) = node, mapping.count > 0 else { throw fail(node, path, "expected a density or a mapping of HH:MM to density") }
        var points: [(minute: Double, value: Double)] = []
        for (key, value) in mapping {
            let clock = try string(key, path)
            let parts = clock.split(separator: ":")
            guard parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]), (0..<24).contains(h), (0..<60).contains(m) else {
                throw fail(key, "\(path).\(clock)", "expected a time of day HH:MM")
            }
            points.append((Double(h * 60 + m), try number(value, "\(path).\(clock)", in: 0...100)))
        }
        return DailyProfile(points: points)
    }

    func scenario(_ root: Node, overrides: ScenarioFile.Overrides) throws(ScenarioError) -> Scenario {
        let top = try members(root, "", allowed: ["name", "description", "start", "duration", "topic_prefix", "utc_offset", "defaults", "zones", "sensors", "city", "surges", "air", "faults"])
        let name = try string(top["name"], "name")
        let description = top["description"].map { (try? string($0, "description")) ?? "" } ?? ""
        let start = try time(top["start"], "start")
        let duration = try self.duration(top["duration"], "duration")
        let prefix = try top["topic_prefix"].map { (n) throws(ScenarioError) in try string(n, "topic_prefix") } ?? "streetsense/v1"
        var utcOffset = Duration.zero
        if let node = top["utc_offset"] {
            let text = try string(node, "utc_offset")
            let sign: Int64 = text.hasPrefix("-") ? -1 : 1
            let parts = text.drop(while: { $0 == "+" || $0 == "-" }).split(separator: ":")
            guard parts.count == 2, let h = Int64(parts[0]), let m = Int64(parts[1]), h < 15, m < 60 else {
                throw fail(node, "utc_offset", "expected +HH:MM or -HH:MM")
            }
            utcOffset = .seconds(sign * (h * 3600 + m * 60))
        }
        // Defaults for zones and sensors.
        var defaultInterval = Duration.seconds(10), defaultDwell = Duration.seconds(15 * 60), defaultVariation = 0.05
        var defaultProfile = DailyProfile.constant(0.5)
        if let node = top["defaults"] {
            let d = try members(node, "defaults", allowed: ["interval", "dwell", "variation", "profile"])
            if let n = d["interval"] { defaultInterval = try self.duration(n, "defaults.interval") }
            if let n = d["dwell"] { defaultDwell = try self.duration(n, "defaults.dwell") }
            if let n = d["variation"] { defaultVariation = try number(n, "defaults.variation", in: 0...2) }
            if let n = d["profile"] { defaultProfile = try profile(n, "defaults.profile") }
        }
        var zones: [Scenario.Zone] = []
        var zoneIDs: Set<String> = []
        if let node = top["zones"] {
            for (i, item) in try list(node, "zones").enumerated() {
                let path = "zones[\(i)]"
                let z = try members(item, path, allowed: ["id", "name", "area_m2", "profile", "variation", "dwell"])
                let id = try identifier(z["id"], "\(path).id")
                guard zoneIDs.insert(id).inserted else { throw fail(z["id"], "\(path).id", "zone \(id) is defined twice") }
                let zoneName = try z["name"].map { (n) throws(ScenarioError) in try string(n, "\(path).name") } ?? id
                let area = try number(z["area_m2"], "\(path).area_m2", in: 1...100_000_000)
                zones.append(Scenario.Zone(
                    definition: ZoneDefinition(id: id, name: zoneName, areaM2: area),
                    profile: try z["profile"].map { (n) throws(ScenarioError) in try profile(n, "\(path).profile") } ?? defaultProfile,
                    variation: try z["variation"].map { (n) throws(ScenarioError) in try number(n, "\(path).variation", in: 0...2) } ?? defaultVariation,
                    dwell: try z["dwell"].map { (n) throws(ScenarioError) in try self.duration(n, "\(path).dwell") } ?? defaultDwell))
            }
        }
        var sensors: [Scenario.Sensor] = []
        var addresses: Set<SensorAddress> = []
        if let node = top["sensors"] {
            for (i, item) in try list(node, "sensors").enumerated() {
                let path = "sensors[\(i)]"
                let s = try members(item, path, allowed: ["pilot", "id", "zone", "kind", "factor", "covered_m2", "interval", "stale_after_s"])
                let address = SensorAddress(pilot: try identifier(s["pilot"], "\(path).pilot"), sensor: try identifier(s["id"], "\(path).id"))
                guard addresses.insert(address).inserted else { throw fail(s["id"], "\(path).id", "sensor \(address.pilot)/\(address.sensor) is defined twice") }
                let zone = try identifier(s["zone"], "\(path).zone")
                guard zoneIDs.contains(zone) else { throw fail(s["zone"], "\(path).zone", "no zone \(zone) in zones") }
                let kindText = try string(s["kind"], "\(path).kind")
                guard let kind = SensorKind(rawValue: kindText) else {
                    throw fail(s["kind"], "\(path).kind", "expected one of \(SensorKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                let factor = try s["factor"].map { (n) throws(ScenarioError) in try number(n, "\(path).factor", in: 0.001...1000) } ?? 1
                let covered = try s["covered_m2"].map { (n) throws(ScenarioError) in try number(n, "\(path).covered_m2", in: 1...100_000_000) }
                let interval = try s["interval"].map { (n) throws(ScenarioError) in try self.duration(n, "\(path).interval") } ?? defaultInterval
                var definition = SensorDefinition(address: address, zone: zone, kind: kind, factor: factor, coveredM2: covered)
                if let n = s["stale_after_s"] { definition.staleAfter = .seconds(Int64(try number(n, "\(path).stale_after_s", in: 1...86_400))) }
                sensors.append(Scenario.Sensor(definition: definition, interval: interval))
            }
        }
        if let node = top["city"] {
            let c = try members(node, "city", allowed: ["sensors", "sensors_per_zone", "pilot", "zone_area_m2", "interval", "air_interval", "profile"])
            var count = 0
            if let override = overrides.sensorCount { count = override } else { count = Int(try number(c["sensors"], "city.sensors", in: 1...10_000_000)) }
            let perZone = Int(try number(c["sensors_per_zone"], "city.sensors_per_zone", in: 1...10_000))
            let pilot = try identifier(c["pilot"], "city.pilot")
            let area = try number(c["zone_area_m2"], "city.zone_area_m2", in: 1...100_000_000)
            let interval = try c["interval"].map { (n) throws(ScenarioError) in try self.duration(n, "city.interval") } ?? defaultInterval
            let airInterval = try c["air_interval"].map { (n) throws(ScenarioError) in try self.duration(n, "city.air_interval") } ?? interval
            let cityProfile = try c["profile"].map { (n) throws(ScenarioError) in try profile(n, "city.profile") } ?? defaultProfile
            let zoneCount = (count + perZone - 1) / perZone
            let width = max(5, String(count).count)
            func padded(_ n: Int, _ digits: Int) -> String {
                let text = String(n)
                return String(repeating: "0", count: max(0, digits - text.count)) + text
            }
            zones.reserveCapacity(zones.count + zoneCount)
            sensors.reserveCapacity(sensors.count + count)
            for z in 0..<zoneCount {
                let id = "zone-\(padded(z + 1, width))"
                zones.append(Scenario.Zone(
                    definition: ZoneDefinition(id: id, name: "Zone \(z + 1)", areaM2: area), profile: cityProfile,
                    variation: defaultVariation, dwell: defaultDwell))
            }
            for i in 0..<count {
                let zone = zones[zones.count - zoneCount + i / perZone].definition.id
                // Per zone: mostly cameras, a Wi-Fi counter, a gate line, an air station.
                let kind: SensorKind
                switch i % perZone {
                case 1 where perZone >= 4: kind = .devices
                case 2 where perZone >= 4: kind = .flow
                case 3 where perZone >= 4: kind = .air
                default: kind = .occupancy
                }
                let prefix = switch kind {
                case .occupancy: "cam"
                case .devices: "wifi"
                case .flow: "gate"
                case .air: "air"
                }
                let definition = SensorDefinition(
                    address: SensorAddress(pilot: pilot, sensor: "\(prefix)-\(padded(i + 1, width))"), zone: zone, kind: kind,
                    factor: kind == .devices ? 0.6 : 1, coveredM2: kind == .occupancy ? area / 4 : nil)
                sensors.append(Scenario.Sensor(definition: definition, interval: kind == .air ? airInterval : interval))
            }
        }
        guard !sensors.isEmpty else { throw fail(root, "sensors", "the scenario has no sensors (give sensors or city)") }
        var surges: [Scenario.Surge] = []
        if let node = top["surges"] {
            for (i, item) in try list(node, "surges").enumerated() {
                let path = "surges[\(i)]"
                let s = try members(item, path, allowed: ["zone", "start", "ramp_up", "hold", "ramp_down", "peak_ppm2"])
                let zone = try identifier(s["zone"], "\(path).zone")
                guard zoneIDs.contains(zone) else { throw fail(s["zone"], "\(path).zone", "no zone \(zone) in zones") }
                surges.append(Scenario.Surge(
                    zone: zone, start: try self.duration(s["start"], "\(path).start", positive: false),
                    rampUp: try self.duration(s["ramp_up"], "\(path).ramp_up"), hold: try self.duration(s["hold"], "\(path).hold", positive: false),
                    rampDown: try self.duration(s["ramp_down"], "\(path).ramp_down"), peakPPM2: try number(s["peak_ppm2"], "\(path).peak_ppm2", in: 0...20)))
            }
        }
        var air = Scenario.Air()
        if let node = top["air"] {
            let a = try members(node, "air", allowed: ["pm2_5", "pm10", "no2", "o3", "episodes"])
            if let n = a["pm2_5"] { air.pm2_5 = try number(n, "air.pm2_5", in: 0...500) }
            if let n = a["pm10"] { air.pm10 = try number(n, "air.pm10", in: 0...800) }
            if let n = a["no2"] { air.no2 = try number(n, "air.no2", in: 0...400) }
            if let n = a["o3"] { air.o3 = try number(n, "air.o3", in: 0...400) }
            guard air.pm10 >= air.pm2_5 else { throw fail(a["pm10"], "air.pm10", "PM10 includes PM2.5, so it cannot be lower") }
            if let n = a["episodes"] {
                for (i, item) in try list(n, "air.episodes").enumerated() {
                    let path = "air.episodes[\(i)]"
                    let e = try members(item, path, allowed: ["zone", "start", "rise", "hold", "fall", "pm2_5", "pm10", "no2"])
                    var zone: String?
                    if let z = e["zone"] {
                        let id = try identifier(z, "\(path).zone")
                        guard zoneIDs.contains(id) else { throw fail(z, "\(path).zone", "no zone \(id) in zones") }
                        zone = id
                    }
                    air.episodes.append(Scenario.Air.Episode(
                        zone: zone,
                        envelope: Envelope(
                            start: try self.duration(e["start"], "\(path).start", positive: false), rise: try self.duration(e["rise"], "\(path).rise"),
                            hold: try self.duration(e["hold"], "\(path).hold", positive: false), fall: try self.duration(e["fall"], "\(path).fall")),
                        pm2_5: try e["pm2_5"].map { (n) throws(ScenarioError) in try number(n, "\(path).pm2_5", in: 0...1000) } ?? 0,
                        pm10: try e["pm10"].map { (n) throws(ScenarioError) in try number(n, "\(path).pm10", in: 0...1500) } ?? 0,
                        no2: try e["no2"].map { (n) throws(ScenarioError) in try number(n, "\(path).no2", in: 0...1000) } ?? 0))
                }
            }
        }
        var faults = Scenario.Faults()
        if let node = top["faults"] {
            let f = try members(node, "faults", allowed: ["malformed_rate", "duplicate_rate", "late_rate", "out_of_order_rate", "allowed_lateness", "silences", "stuck", "error_codes"])
            if let n = f["malformed_rate"] { faults.malformedRate = try number(n, "faults.malformed_rate", in: 0...1) }
            if let n = f["duplicate_rate"] { faults.duplicateRate = try number(n, "faults.duplicate_rate", in: 0...1) }
            if let n = f["late_rate"] { faults.lateRate = try number(n, "faults.late_rate", in: 0...1) }
            if let n = f["out_of_order_rate"] { faults.outOfOrderRate = try number(n, "faults.out_of_order_rate", in: 0...1) }
            if let n = f["allowed_lateness"] { faults.allowedLateness = try self.duration(n, "faults.allowed_lateness") }
            guard faults.malformedRate + faults.duplicateRate + faults.lateRate + faults.outOfOrderRate <= 1 else {
                throw fail(node, "faults", "the rates add up to more than 1")
            }
            func windows(_ key: String, airOnly: Bool = false) throws(ScenarioError) -> [Scenario.SensorWindow] {
                guard let n = f[key] else { return [] }
                var out: [Scenario.SensorWindow] = []
                for (i, item) in try list(n, "faults.\(key)").enumerated() {
                    let path = "faults.\(key)[\(i)]"
                    let w = try members(item, path, allowed: ["sensor", "start", "duration"])
                    let address = try self.address(w["sensor"], "\(path).sensor")
                    guard let sensor = sensors.first(where: { $0.definition.address == address }) else {
                        throw fail(w["sensor"], "\(path).sensor", "no sensor \(address.pilot)/\(address.sensor) in sensors")
                    }
                    if airOnly, sensor.definition.kind != .air { throw fail(w["sensor"], "\(path).sensor", "error codes need an air sensor") }
                    out.append(Scenario.SensorWindow(
                        sensor: address, start: try self.duration(w["start"], "\(path).start", positive: false),
                        duration: try self.duration(w["duration"], "\(path).duration")))
                }
                return out
            }
            faults.silences = try windows("silences")
            faults.stuck = try windows("stuck")
            faults.errorCodes = try windows("error_codes", airOnly: true)
        }
        return Scenario(
            name: name, description: description, start: start, duration: duration, topicPrefix: prefix, utcOffset: utcOffset,
            zones: zones, sensors: sensors, surges: surges, air: air, faults: faults)
    }
}

extension UInt8 {
    fileprivate var isIdentifierByte: Bool {
        (0x30...0x39).contains(self) || (0x41...0x5A).contains(self) || (0x61...0x7A).contains(self) || self == 0x5F || self == 0x2E || self == 0x2D
    }
}
