/// Environment variables that override configuration keys (DESIGN §10): `STREETSENSE_` followed by the key path
/// upper-cased and joined with `_`, so `mqtt.url` is `STREETSENSE_MQTT_URL`.
///
/// Every scalar key of the file can be overridden, including `rules.zone_types.TYPE.…` and `rules.zones.ZONE.…`
/// for the types and zones the file names (`-` and `.` in a name become `_`); the `sensors` list cannot. An
/// empty value unsets the key (its default applies). Values are text and are parsed with the key's type, so a bad one is reported naming the
/// variable. Other `STREETSENSE_` variables draw a warning.
public enum EnvironmentOverrides {
    /// The prefix of every override.
    public static let prefix = "STREETSENSE_"

    /// The scalar key paths of the file, in file order (without per-type rule keys).
    public static let keyPaths: [String] =
        [
            "mqtt.url", "mqtt.client_id", "mqtt.topic_prefix", "mqtt.username", "mqtt.password_file",
            "mqtt.tls.ca_file", "mqtt.tls.cert_file", "mqtt.tls.key_file", "mqtt.tls.insecure",
            "mqtt.protocol", "mqtt.session_expiry_s", "mqtt.keepalive_s",
            "store.sqlite_path", "store.raw_retention_days", "store.rollup_retention_days", "store.batch_max_rows",
            "store.batch_max_ms", "store.rejects_max_rows",
            "http.listen", "http.tokens_file", "http.public_reads", "http.dashboard_dir", "http.javascript_dir",
            "pipeline.allowed_lateness_s", "pipeline.max_future_skew_s", "pipeline.max_payload_bytes",
            "pipeline.snapshot_interval_ms", "pipeline.queue_capacity", "pipeline.clock",
            "zones_file",
        ] + ruleKeys.map { "rules." + $0 }

    /// The keys of one set of rules, under `rules`, each `rules.zone_types.TYPE` and each `rules.zones.ZONE`.
    static let ruleKeys = [
        "density_levels.elevated", "density_levels.high", "density_levels.critical", "hold_s", "clear_s",
        "hysteresis", "build_up.ppm2_per_5min",
        "air_quality.index", "air_quality.alert_from", "air_quality.enabled",
        "sensor_offline.factor", "sensor_offline.minimum_s", "sensor_offline.enabled",
        "sensor_faulty.stuck_s", "sensor_faulty.clear_s", "sensor_faulty.enabled",
    ]

    /// The variable for a key path: `mqtt.tls.ca_file` → `STREETSENSE_MQTT_TLS_CA_FILE`.
    public static func variableName(forKeyPath path: String) -> String {
        prefix + path.uppercased().map { $0 == "." || $0 == "-" ? "_" : $0 }.reduce(into: "") { $0.append($1) }
    }

    /// `root` with every override in `environment` applied; unknown `STREETSENSE_` variables are warned about.
    static func apply(_ environment: [String: String], to root: ConfigNode, file: String, log: DiagnosticLog) -> ConfigNode {
        var targets: [String: [String]] = [:]
        for path in keyPaths { targets[variableName(forKeyPath: path)] = path.split(separator: ".").map(String.init) }
        for group in ["zone_types", "zones"] {
            for name in ruleEntryNames(group, in: root) {
                for key in ruleKeys {
                    let components = ["rules", group, name] + key.split(separator: ".").map(String.init)
                    targets[variableName(forKeyPath: "rules.\(group).\(name).\(key)")] = components
                }
            }
        }
        var root = root
        for (variable, value) in environment.sorted(by: { $0.key < $1.key }) where variable.hasPrefix(prefix) {
            guard let components = targets[variable] else {
                let origin = ConfigOrigin.environment(variable, overriding: file)
                let hint = closestMatch(to: variable, among: targets.keys.sorted()).map { " (did you mean \($0)?)" } ?? ""
                log.warning(at: origin, key: "", "not a configuration key, ignored\(hint)")
                continue
            }
            let origin = ConfigOrigin.environment(variable, overriding: file)
            let node = ConfigNode(content: .scalar(value, plain: true), origin: origin)
            root = setting(node, at: components[...], in: root, origin: origin)
        }
        return root
    }

    /// The zone types (`group` = `zone_types`) or zones (`zones`) that `rules.<group>` names in `root`.
    private static func ruleEntryNames(_ group: String, in root: ConfigNode) -> [String] {
        let rules = root.entries?.last { $0.key == "rules" }?.value
        let types = rules?.entries?.last { $0.key == group }?.value
        return types?.entries?.map(\.key) ?? []
    }

    /// `node` with `value` set at `path`, creating mappings on the way. A value on the way that is neither a mapping
    /// nor null is left alone (it is reported as it is), and the override is then dropped.
    private static func setting(
        _ value: ConfigNode, at path: ArraySlice<String>, in node: ConfigNode, origin: ConfigOrigin
    ) -> ConfigNode {
        guard let key = path.first else { return value }
        var entries: [ConfigEntry]
        if let existing = node.entries {
            entries = existing
        } else if node.isNull {
            entries = []
        } else {
            return node
        }
        var result = node
        if let index = entries.lastIndex(where: { $0.key == key }) {
            entries[index].value = setting(value, at: path.dropFirst(), in: entries[index].value, origin: origin)
        } else {
            let empty = ConfigNode(content: .mapping([]), origin: origin)
            let child = path.count == 1 ? value : setting(value, at: path.dropFirst(), in: empty, origin: origin)
            entries.append(ConfigEntry(key: key, keyOrigin: origin, value: child))
        }
        result.content = .mapping(entries)
        return result
    }
}
