import StreetSenseCore

/// Everything the service is configured with, validated (DESIGN §3, §10).
///
/// Load it with ``load(path:environment:)``: one YAML file, the GeoJSON zones file it names, and `STREETSENSE_…`
/// environment overrides. Loading reports every problem it finds in one pass, each as `FILE:LINE: key: reason`.
/// Files the configuration reads (`zones_file`, `mqtt.password_file`, TLS files, `http.tokens_file`) are resolved
/// against the YAML file's folder. Invariants after loading: zone ids are unique and valid; every sensor's zone
/// exists; (pilot, id) pairs are unique.
public struct StreetSenseConfiguration: Sendable {
    public var mqtt: MQTTSettings
    public var store: StoreSettings
    public var http: HTTPSettings
    public var pipeline: PipelineSettings
    /// The zones, in file order.
    public var zones: [ZoneDefinition]
    /// Zone id → the zone's `type` property, for zones that name one.
    public var zoneTypes: [String: String]
    /// The sensors, in file order.
    public var sensors: [SensorDefinition]
    public var rules: RuleSettings
    /// Alert delivery: MQTT alert topics and webhooks.
    public var alerts: AlertDeliverySettings
    /// The zones file as resolved (relative to the YAML file's folder unless absolute).
    public var zonesFile: String
    /// Problems that did not stop loading (unknown `STREETSENSE_` variables, likely typos in zone properties).
    public var warnings: [ConfigDiagnostic]

    public init(
        mqtt: MQTTSettings = MQTTSettings(), store: StoreSettings = StoreSettings(), http: HTTPSettings = HTTPSettings(),
        pipeline: PipelineSettings = PipelineSettings(), zones: [ZoneDefinition] = [], zoneTypes: [String: String] = [:],
        sensors: [SensorDefinition] = [], rules: RuleSettings = RuleSettings(), alerts: AlertDeliverySettings = AlertDeliverySettings(),
        zonesFile: String = "", warnings: [ConfigDiagnostic] = []
    ) {
        self.mqtt = mqtt
        self.store = store
        self.http = http
        self.pipeline = pipeline
        self.zones = zones
        self.zoneTypes = zoneTypes
        self.sensors = sensors
        self.rules = rules
        self.alerts = alerts
        self.zonesFile = zonesFile
        self.warnings = warnings
    }

    /// The crowd rules for the zone `id`: its type's rules, with the zone's own density levels.
    public func crowdRules(forZone id: String) -> CrowdRules {
        rules(forZone: id).crowd
    }

    /// Every rule for the zone `id` and its sensors: its own `rules.zones` entry, or its type's rules (the
    /// defaults if it has none) with the zone's density levels.
    public func rules(forZone id: String) -> RuleSet {
        rules(forZone: id, definition: zones.first(where: { $0.id == id }))
    }

    /// ``rules(forZone:)`` for every zone at once, keyed by zone id: O(zones), where asking zone by zone is
    /// O(zones) each (10 000 zones and 100 000 sensors took seconds at start-up).
    public func rulesByZone() -> [String: RuleSet] {
        var byZone: [String: RuleSet] = [:]
        byZone.reserveCapacity(zones.count)
        for zone in zones where byZone[zone.id] == nil { byZone[zone.id] = rules(forZone: zone.id, definition: zone) }
        return byZone
    }

    private func rules(forZone id: String, definition: ZoneDefinition?) -> RuleSet {
        if let own = rules.zones[id] { return own }
        var set = rules.rules(forZoneType: zoneTypes[id])
        if let definition { set.crowd.densityLevels = definition.levels }
        return set
    }

    /// Loads and validates the configuration at `path`, with overrides from `environment` (pass
    /// `ProcessInfo.processInfo.environment`).
    ///
    /// - Throws: ``ConfigurationError`` with every problem found, in file and line order.
    public static func load(
        path: String, environment: [String: String]
    ) throws(ConfigurationError) -> StreetSenseConfiguration {
        let log = DiagnosticLog()
        let context = LoadContext(configurationPath: path, log: log)
        let rootOrigin = ConfigOrigin.file(path, line: 1)

        var root: ConfigNode
        switch ConfigDocument.load(path: path, displayPath: path) {
        case .success(let node):
            root = node ?? ConfigNode(content: .mapping([]), origin: rootOrigin)
        case .failure(let failure):
            throw ConfigurationError(diagnostics: [diagnostic(failure, file: path)])
        }
        root = EnvironmentOverrides.apply(environment, to: root, file: path, log: log)

        var configuration = StreetSenseConfiguration()
        guard let reader = MappingReader.make(root, path: "", origin: rootOrigin, log: log) else {
            throw ConfigurationError(diagnostics: log.errors, warnings: log.warnings)
        }
        // Absent, `mqtt` still needs its url; present but not a mapping, it is reported as such.
        if let section = reader.sectionOrEmpty("mqtt") {
            configuration.mqtt = MQTTSettings(reading: section, context: context)
        }
        if let section = reader.section("store") { configuration.store = StoreSettings(reading: section) }
        if let section = reader.section("http") { configuration.http = HTTPSettings(reading: section, context: context) }
        if let section = reader.section("pipeline") { configuration.pipeline = PipelineSettings(reading: section) }
        var zoneRuleEntries: [ZoneRuleEntry] = []
        if let section = reader.section("rules") { configuration.rules = RuleSettings(reading: section, zoneEntries: &zoneRuleEntries) }
        if let section = reader.section("alerts") {
            configuration.alerts = AlertDeliverySettings(reading: section, environment: environment, log: log)
        }

        var zoneIndex: SensorList.ZoneIndex?
        if let zonesFile = reader.required("zones_file", .string) {
            let resolved = context.resolve(zonesFile)
            configuration.zonesFile = resolved
            switch ConfigDocument.load(path: resolved, displayPath: resolved, isJSON: true) {
            case .success(let zonesRoot):
                let zones = ZonesFile(root: zonesRoot, file: resolved, rules: configuration.rules, log: log)
                configuration.zones = zones.zones
                configuration.zoneTypes = zones.zoneTypes
                configuration.rules.applyZoneEntries(
                    zoneRuleEntries, zones: &configuration.zones, zoneTypes: zones.zoneTypes, knownIDs: zones.knownIDs.sorted())
                zoneIndex = SensorList.ZoneIndex(
                    knownIDs: zones.knownIDs,
                    areas: Dictionary(zones.zones.map { ($0.id, $0.areaM2) }, uniquingKeysWith: { first, _ in first }),
                    file: resolved)
            case .failure(.notFound):
                log.error(at: reader.valueOrigin("zones_file"), key: "zones_file", "file not found: \(resolved)")
            case .failure(.unreadable(let reason)):
                log.error(at: reader.valueOrigin("zones_file"), key: "zones_file", "\(resolved) \(reason)")
            case .failure(let failure):
                let problem = diagnostic(failure, file: resolved)
                log.error(at: .file(resolved, line: problem.line ?? 1), key: problem.key, problem.reason)
            }
        }
        if let sensors = reader.list("sensors") {
            configuration.sensors = SensorList.read(sensors, zones: zoneIndex, log: log)
        }
        reader.reportUnknownKeys()

        var order = [configuration.zonesFile: 1]
        order[path] = 0
        let errors = sorted(log.errors, order: order)
        let warnings = sorted(log.warnings, order: order)
        guard errors.isEmpty else { throw ConfigurationError(diagnostics: errors, warnings: warnings) }
        configuration.warnings = warnings
        return configuration
    }

    private static func diagnostic(_ failure: ConfigDocument.LoadFailure, file: String) -> ConfigDiagnostic {
        switch failure {
        case .notFound:
            ConfigDiagnostic(file: file, line: nil, key: "", reason: "file not found")
        case .unreadable(let reason):
            ConfigDiagnostic(file: file, line: nil, key: "", reason: "the file \(reason)")
        case .syntax(let line, let key, let reason):
            ConfigDiagnostic(file: file, line: line, key: key, reason: reason)
        }
    }

    /// Diagnostics by file (the YAML file first, environment values with it), then line; stable otherwise.
    private static func sorted(_ diagnostics: [ConfigDiagnostic], order: [String: Int]) -> [ConfigDiagnostic] {
        diagnostics.enumerated().sorted { left, right in
            let l = (order[left.element.file] ?? 2, left.element.line ?? 0, left.offset)
            let r = (order[right.element.file] ?? 2, right.element.line ?? 0, right.offset)
            return l < r
        }.map(\.element)
    }
}
