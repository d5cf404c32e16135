import StreetSenseAlerts

/// The MQTT topic of an alert subject: `{prefix}/alerts/{subject_kind}/{subject_id}` (DESIGN §5), so a sensor's
/// alerts go to `{prefix}/alerts/sensor/{pilot}/{sensor}` and a zone's to `{prefix}/alerts/zone/{zone}`.
///
/// Subject ids are valid identifiers (no `+`, `#` or NUL), so the topic is a valid publish topic. A trailing `/`
/// on the prefix is ignored.
public enum AlertTopic {
    /// The topic for `subject` under `prefix` (for example `streetsense/v1`).
    public static func topic(for subject: AlertSubject, prefix: String) -> String {
        var base = prefix
        while base.hasSuffix("/") { base.removeLast() }
        let head = base.isEmpty ? "alerts/" : base + "/alerts/"
        return head + subject.kind.rawValue + "/" + subject.id
    }

    /// The filter that matches every alert topic under `prefix` (`{prefix}/alerts/#`).
    public static func filter(prefix: String) -> String {
        var base = prefix
        while base.hasSuffix("/") { base.removeLast() }
        return base.isEmpty ? "alerts/#" : base + "/alerts/#"
    }
}
