import StreetSenseCore

/// Reads the `sensors` list: `{pilot, id, zone, kind, factor?, covered_m2?, stale_after_s?, position?}` each (DESIGN §3).
enum SensorList {
    /// The zones sensors are checked against; nil when the zones file could not be read (then zone names are not
    /// checked, to avoid one error per sensor).
    struct ZoneIndex {
        var knownIDs: Set<String>
        var areas: [String: Double]
        var file: String
    }

    static func read(_ elements: [ConfigNode], zones: ZoneIndex?, log: DiagnosticLog) -> [SensorDefinition] {
        var sensors: [SensorDefinition] = []
        var firstLine: [SensorAddress: Int] = [:]
        for (index, element) in elements.enumerated() {
            let path = "sensors[\(index)]"
            guard let reader = MappingReader.make(element, path: path, origin: element.origin, log: log) else { continue }
            if element.isNull {
                log.error(at: element.origin, key: path, "expected a sensor (a mapping), got null")
                continue
            }
            let (address, sensor) = readSensor(reader, zones: zones, log: log)
            // Duplicates are reported even for sensors with other problems, so one run finds both.
            if let address {
                if let line = firstLine[address] {
                    log.error(
                        at: reader.valueOrigin("id"), key: reader.keyPath("id"),
                        "duplicate sensor \(address) (first defined at line \(line))")
                    continue
                }
                firstLine[address] = reader.valueOrigin("id").line ?? 0
            }
            if let sensor { sensors.append(sensor) }
        }
        return sensors
    }

    /// One sensor's address if its pilot and id are valid, and the sensor if nothing about it was wrong (all of it
    /// reported).
    private static func readSensor(
        _ reader: MappingReader, zones: ZoneIndex?, log: DiagnosticLog
    ) -> (SensorAddress?, SensorDefinition?) {
        let errorsBefore = log.errors.count
        let pilot = reader.required("pilot", .identifier)
        let id = reader.required("id", .identifier)
        let zone = reader.required("zone", .identifier)
        let kindText = reader.required("kind", .string)
        var kind: SensorKind?
        if let kindText {
            kind = SensorKind(rawValue: kindText)
            if kind == nil {
                let names = SensorKind.allCases.map(\.rawValue)
                let hint =
                    closestMatch(to: kindText, among: names).map { "did you mean \($0)?" } ?? "expected one of: \(names.joined(separator: ", "))"
                log.error(at: reader.valueOrigin("kind"), key: reader.keyPath("kind"), "unknown kind \"\(kindText.prefix(40))\" (\(hint))")
            }
        }
        let factor = reader.optional("factor", .positiveNumber)
        let coveredM2 = reader.optional("covered_m2", .positiveNumber)
        let staleAfter = reader.value("stale_after_s", .seconds(positive: true), default: .seconds(300))
        let position = readPosition(reader, log: log)
        reader.reportUnknownKeys()

        switch kind {
        case .devices where factor == nil && reader.entry("factor") == nil:
            log.error(
                at: reader.origin, key: reader.keyPath("factor"),
                "missing required key (a devices sensor needs a calibration factor: people ≈ devices × factor)")
        case .air:
            for key in ["factor", "covered_m2"] where reader.node(key) != nil {
                log.error(at: reader.valueOrigin(key), key: reader.keyPath(key), "does not apply to air sensors (they estimate no people)")
            }
        case .flow where reader.node("covered_m2") != nil:
            log.error(
                at: reader.valueOrigin("covered_m2"), key: reader.keyPath("covered_m2"),
                "does not apply to flow sensors (a gate's count is the whole zone's occupancy)")
        default:
            break
        }

        if let zone, let zones, !zones.knownIDs.contains(zone) {
            let hint = closestMatch(to: zone, among: zones.knownIDs.sorted()).map { " (did you mean \($0)?)" } ?? ""
            log.error(
                at: reader.valueOrigin("zone"), key: reader.keyPath("zone"),
                "zone \"\(zone)\" not found in \(zones.file)\(hint)")
        }
        if let zone, let coveredM2, let area = zones?.areas[zone], coveredM2 > area * 1.01 {
            log.warning(
                at: reader.valueOrigin("covered_m2"), key: reader.keyPath("covered_m2"),
                "\(formatNumber(coveredM2)) m² is more than zone \(zone)'s area (\(formatNumber(area.rounded())) m²)")
        }

        guard let pilot, let id else { return (nil, nil) }
        let address = SensorAddress(pilot: pilot, sensor: id)
        guard log.errors.count == errorsBefore, let zone, let kind else { return (address, nil) }
        let sensor = SensorDefinition(
            address: address, zone: zone, kind: kind, factor: factor ?? 1, coveredM2: coveredM2, staleAfter: staleAfter,
            position: position)
        return (address, sensor)
    }

    /// The optional `position: [longitude, latitude]` (GeoJSON order, WGS 84 degrees): exactly two plain numbers,
    /// longitude in -180...180 and latitude in -90...90. Every problem is reported; nil if absent, null or wrong.
    ///
    /// A position outside the sensor's zone is allowed: a camera on a building may look into a square.
    private static func readPosition(_ reader: MappingReader, log: DiagnosticLog) -> GeoPosition? {
        guard let node = reader.node("position") else { return nil }
        let key = reader.keyPath("position")
        guard let elements = node.elements else {
            log.error(at: node.origin, key: key, "expected a position [longitude, latitude], got \(node.shape)")
            return nil
        }
        guard elements.count == 2 else {
            let got = elements.isEmpty ? "an empty list" : "a list of \(elements.count)"
            log.error(at: node.origin, key: key, "expected a position [longitude, latitude], got \(got)")
            return nil
        }
        var numbers: [Double] = []
        for (index, (element, name)) in zip(elements, ["longitude", "latitude"]).enumerated() {
            guard case .scalar(let text, plain: true) = element.content, !element.isNull, let value = Double(text), value.isFinite
            else {
                log.error(at: element.origin, key: "\(key)[\(index)]", "expected a number (the \(name)), got \(element.shape)")
                continue
            }
            numbers.append(value)
        }
        guard numbers.count == 2 else { return nil }
        let (longitude, latitude) = (numbers[0], numbers[1])
        // [latitude, longitude] is the usual mistake; say so when swapping the two would make them valid.
        let swapHint =
            (-90...90).contains(longitude) && (-180...180).contains(latitude) && !(-90...90).contains(latitude)
            ? " (a position is [longitude, latitude]: are the two swapped?)" : ""
        var valid = true
        if !(-180...180).contains(longitude) {
            log.error(at: elements[0].origin, key: "\(key)[0]", "longitude \(formatNumber(longitude)) is outside -180...180")
            valid = false
        }
        if !(-90...90).contains(latitude) {
            log.error(at: elements[1].origin, key: "\(key)[1]", "latitude \(formatNumber(latitude)) is outside -90...90\(swapHint)")
            valid = false
        }
        return valid ? GeoPosition(longitude: longitude, latitude: latitude) : nil
    }
}
