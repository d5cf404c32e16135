import StreetSenseCore

/// The zones of a GeoJSON FeatureCollection, validated (DESIGN §3).
///
/// Each feature is a Polygon or MultiPolygon with properties `id`, `name`, and optionally `area_m2` (the net
/// usable area; computed geodesically on WGS 84 when absent), `type` (the zone type for rules) and
/// `density_levels` (this zone's own bands, laid over its type's).
struct ZonesFile {
    var zones: [ZoneDefinition] = []
    /// Zone id → zone type, for zones that name one.
    var zoneTypes: [String: String] = [:]
    /// Every zone id the file names validly, including zones with other problems (so that sensors naming them are
    /// not reported twice).
    var knownIDs: Set<String> = []

    /// Reads the features of `root` (already parsed from the file shown as `file`).
    init(root: ConfigNode?, file: String, rules: RuleSettings, log: DiagnosticLog) {
        let rootOrigin = ConfigOrigin.file(file, line: 1)
        guard let root, !root.isNull else {
            log.error(at: rootOrigin, key: "", "the file is empty (expected a GeoJSON FeatureCollection)")
            return
        }
        guard let reader = MappingReader.make(root, path: "", origin: root.origin, log: log) else { return }
        if let type = reader.required("type", .string), type != "FeatureCollection" {
            log.error(at: reader.valueOrigin("type"), key: "type", "expected \"FeatureCollection\", got \"\(type.prefix(40))\"")
        }
        guard let features = reader.list("features") else {
            if reader.entry("features") == nil { log.error(at: root.origin, key: "features", "missing required key") }
            return
        }
        var firstLine: [String: Int] = [:]
        for (index, feature) in features.enumerated() {
            let path = "features[\(index)]"
            guard let featureReader = MappingReader.make(feature, path: path, origin: feature.origin, log: log) else {
                continue
            }
            guard let zone = readFeature(featureReader, rules: rules, log: log) else { continue }
            if let line = firstLine[zone.definition.id] {
                log.error(
                    at: zone.idOrigin, key: "\(path).properties.id",
                    "duplicate zone id \"\(zone.definition.id)\" (first defined at line \(line))")
                continue
            }
            firstLine[zone.definition.id] = zone.idOrigin.line ?? 0
            if zone.isValid {
                zones.append(zone.definition)
                if let type = zone.type { zoneTypes[zone.definition.id] = type }
            }
        }
        knownIDs = Set(firstLine.keys)
    }

    struct ReadZone {
        var definition: ZoneDefinition
        var type: String?
        var idOrigin: ConfigOrigin
        var isValid: Bool
    }

    /// One feature; nil if it has no usable id. `isValid` is false if anything else was wrong.
    private func readFeature(_ feature: MappingReader, rules: RuleSettings, log: DiagnosticLog) -> ReadZone? {
        let errorsBefore = log.errors.count
        if let type = feature.optional("type", .string), type != "Feature" {
            log.error(at: feature.valueOrigin("type"), key: feature.keyPath("type"), "expected \"Feature\", got \"\(type.prefix(40))\"")
        }
        _ = feature.entry("id")
        _ = feature.entry("bbox")
        let properties = feature.section("properties")
        if properties == nil, feature.entry("properties") == nil {
            let hint = feature.entries.contains { $0.key == "id" } ? " (the zone id goes in properties.id)" : ""
            log.error(at: feature.origin, key: feature.keyPath("properties"), "missing required key" + hint)
        }
        let id = properties?.required("id", .identifier)
        let name = properties?.required("name", .string)
        let givenArea = properties?.optional("area_m2", .positiveNumber)
        let type = properties?.optional("type", .identifier)
        if let properties, let type, !rules.zoneTypes.isEmpty, rules.zoneTypes[type] == nil {
            let known = rules.zoneTypes.keys.sorted()
            let hint = closestMatch(to: type, among: known).map { "did you mean \($0)?" } ?? "known: \(known.joined(separator: ", "))"
            log.warning(
                at: properties.valueOrigin("type"), key: properties.keyPath("type"),
                "zone type \"\(type)\" has no entry in rules.zone_types, so the default rules apply (\(hint))")
        }
        var levels = rules.crowdRules(forZoneType: type).densityLevels
        if let levelsReader = properties?.section("density_levels") {
            levels = DensityLevelsOverride(reading: levelsReader).applied(to: levels, reportingTo: levelsReader)
            levelsReader.reportUnknownKeys()
        }
        properties?.reportUnknownKeys(strict: false)

        var polygon: [[Double]] = []
        var computedArea: Double?
        if let geometryNode = feature.node("geometry") {
            if let geometry = MappingReader.make(
                geometryNode, path: feature.keyPath("geometry"), origin: geometryNode.origin, log: log)
            {
                if let shape = GeoJSONPolygons.read(geometry, log: log) {
                    polygon = shape.largestOuterRing
                    computedArea = shape.area
                }
            }
        } else if givenArea == nil {
            log.error(
                at: feature.valueOrigin("geometry"), key: feature.keyPath("geometry"),
                "a zone needs a polygon or properties.area_m2")
        }
        feature.reportUnknownKeys(strict: false)

        if let properties, let givenArea, let computedArea, givenArea > computedArea * 1.01 {
            log.warning(
                at: properties.valueOrigin("area_m2"), key: properties.keyPath("area_m2"),
                "\(formatNumber(givenArea)) m² is more than the polygon's own area (\(formatNumber(computedArea.rounded())) m²); "
                    + "area_m2 is the net usable area inside the polygon")
        }
        guard let properties, let id else { return nil }
        let area = givenArea ?? computedArea ?? 0
        let definition = ZoneDefinition(id: id, name: name ?? id, areaM2: area, polygon: polygon, levels: levels)
        let valid = log.errors.count == errorsBefore && area > 0
        return ReadZone(definition: definition, type: type, idOrigin: properties.valueOrigin("id"), isValid: valid)
    }
}

/// The rings of a GeoJSON Polygon or MultiPolygon geometry, validated, with their geodesic area.
struct GeoJSONPolygons {
    /// The most positions one ring may have: the self-intersection check is quadratic, and a street zone needs
    /// tens of positions, not thousands.
    static let maximumRingPositions = 10_000

    /// Polygons, each an outer ring then its holes; rings are closed lists of [longitude, latitude].
    var polygons: [[[[Double]]]]
    /// The total area in m²: outer rings less their holes, summed over the polygons.
    var area: Double
    /// The outer ring of the polygon with the largest area.
    var largestOuterRing: [[Double]]

    /// Reads `geometry`; reports every problem and returns nil if there was any.
    static func read(_ geometry: MappingReader, log: DiagnosticLog) -> GeoJSONPolygons? {
        let errorsBefore = log.errors.count
        let type = geometry.required("type", .string)
        let coordinates = geometry.node("coordinates")
        _ = geometry.entry("bbox")
        geometry.reportUnknownKeys(strict: false)
        guard let type else { return nil }
        guard let coordinates else {
            log.error(at: geometry.origin, key: geometry.keyPath("coordinates"), "missing required key")
            return nil
        }
        let path = geometry.keyPath("coordinates")
        var polygons: [[[[Double]]]] = []
        switch type {
        case "Polygon":
            if let polygon = readPolygon(coordinates, path: path, log: log) { polygons.append(polygon) }
        case "MultiPolygon":
            guard let elements = list(coordinates, path: path, of: "polygons", log: log) else { return nil }
            if elements.isEmpty { log.error(at: coordinates.origin, key: path, "a MultiPolygon needs at least one polygon") }
            for (index, element) in elements.enumerated() {
                if let polygon = readPolygon(element, path: "\(path)[\(index)]", log: log) { polygons.append(polygon) }
            }
        default:
            log.error(
                at: geometry.valueOrigin("type"), key: geometry.keyPath("type"),
                "unsupported geometry \"\(type.prefix(40))\" (a zone is a Polygon or MultiPolygon)")
            return nil
        }
        guard log.errors.count == errorsBefore, !polygons.isEmpty else { return nil }
        let areas = polygons.map { Ellipsoid.wgs84.area(ofPolygon: $0) }
        let largest = areas.indices.max { areas[$0] < areas[$1] } ?? 0
        return GeoJSONPolygons(polygons: polygons, area: areas.reduce(0, +), largestOuterRing: polygons[largest][0])
    }

    private static func list(_ node: ConfigNode, path: String, of what: String, log: DiagnosticLog) -> [ConfigNode]? {
        guard let elements = node.elements else {
            log.error(at: node.origin, key: path, "expected a list of \(what), got \(node.shape)")
            return nil
        }
        return elements
    }

    /// One polygon: a list of rings, the first the outer boundary.
    private static func readPolygon(_ node: ConfigNode, path: String, log: DiagnosticLog) -> [[[Double]]]? {
        guard let ringNodes = list(node, path: path, of: "rings", log: log) else { return nil }
        guard !ringNodes.isEmpty else {
            log.error(at: node.origin, key: path, "a polygon needs an outer ring")
            return nil
        }
        var rings: [[[Double]]] = []
        var failed = false
        for (index, ringNode) in ringNodes.enumerated() {
            if let ring = readRing(ringNode, path: "\(path)[\(index)]", isOuter: index == 0, log: log) {
                rings.append(ring)
            } else {
                failed = true
            }
        }
        guard !failed else { return nil }
        let outerArea = Ellipsoid.wgs84.area(ofRing: rings[0])
        if outerArea <= 0 {
            log.error(at: ringNodes[0].origin, key: "\(path)[0]", "the ring encloses no area")
            return nil
        }
        if Ellipsoid.wgs84.area(ofPolygon: rings) <= 0 {
            log.error(at: node.origin, key: path, "the holes cover the whole polygon")
            return nil
        }
        return rings
    }

    /// One ring: at least 4 positions, closed, in range; the outer ring must not cross itself.
    private static func readRing(_ node: ConfigNode, path: String, isOuter: Bool, log: DiagnosticLog) -> [[Double]]? {
        guard let positionNodes = list(node, path: path, of: "positions", log: log) else { return nil }
        guard positionNodes.count <= maximumRingPositions else {
            log.error(
                at: node.origin, key: path,
                "a zone ring may have at most \(maximumRingPositions) positions, got \(positionNodes.count) (simplify it)")
            return nil
        }
        var ring: [[Double]] = []
        ring.reserveCapacity(positionNodes.count)
        var failed = false
        for (index, positionNode) in positionNodes.enumerated() {
            if let position = readPosition(positionNode, path: "\(path)[\(index)]", log: log) {
                ring.append(position)
            } else {
                failed = true
            }
        }
        guard !failed else { return nil }
        guard ring.count >= 4 else {
            log.error(
                at: node.origin, key: path,
                "a ring needs at least 4 positions (a closed triangle), got \(ring.count)")
            return nil
        }
        guard ring[0] == ring[ring.count - 1] else {
            log.error(
                at: positionNodes[positionNodes.count - 1].origin, key: path,
                "the ring is not closed: its last position \(format(ring[ring.count - 1])) must repeat its first \(format(ring[0]))")
            return nil
        }
        if isOuter, let crossing = RingGeometry.firstSelfIntersection(ring) {
            let i = crossing.firstEdgeStart
            let j = crossing.secondEdgeStart
            log.error(
                at: positionNodes[j].origin, key: path,
                "the ring intersects itself: the edge from position \(i) \(format(ring[i])) crosses the edge from "
                    + "position \(j) \(format(ring[j]))")
            return nil
        }
        return ring
    }

    /// One position: [longitude, latitude, …] in degrees and in range; further elements (altitude) are ignored.
    private static func readPosition(_ node: ConfigNode, path: String, log: DiagnosticLog) -> [Double]? {
        guard let elements = node.elements, elements.count >= 2 else {
            log.error(at: node.origin, key: path, "expected a position [longitude, latitude], got \(node.shape)")
            return nil
        }
        var numbers: [Double] = []
        for element in elements {
            guard case .scalar(let text, true) = element.content, let value = Double(text), value.isFinite else {
                log.error(at: element.origin, key: path, "expected a number, got \(element.shape)")
                return nil
            }
            numbers.append(value)
        }
        let longitude = numbers[0]
        let latitude = numbers[1]
        if !(-180...180).contains(longitude) {
            log.error(at: node.origin, key: path, "longitude \(formatNumber(longitude)) is outside -180...180")
            return nil
        }
        if !(-90...90).contains(latitude) {
            log.error(at: node.origin, key: path, "latitude \(formatNumber(latitude)) is outside -90...90")
            return nil
        }
        return [longitude, latitude]
    }

    private static func format(_ position: [Double]) -> String {
        "[\(position.map(formatNumber).joined(separator: ", "))]"
    }
}
