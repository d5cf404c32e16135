import StreetSenseCore

/// The JSON every alert transition is delivered as: a CloudEvents 1.0 envelope (structured mode) around the
/// alert's state after the transition. The same bytes go to SSE clients (`data:`), the MQTT alert topics and
/// webhooks, so a consumer parses one format whatever the channel.
///
/// Envelope: `specversion` "1.0", `id` the event id (decimal), `source` the instance's source URI, `type`
/// `org.streetsense.alert.<transition>`, `subject` `<subject_kind>/<subject_id>`, `time` the transition's event
/// time (RFC 3339, UTC, milliseconds), `datacontenttype` "application/json", and `data`:
/// `alert_id`, `event_id`, `rule`, `subject_kind`, `subject_id`, `metric` (or null), `severity`, `level`,
/// `transition`, `state` (`active`, or `cleared` after a clear), `acknowledged` (bool), `acknowledgement`
/// (`by`, `at`, `note`, or null), `fault` (or null), `at`, `value`, `peak`.
public enum AlertCloudEvent {
    /// The CloudEvents `type` of a transition.
    public static func type(of transition: AlertTransition) -> String { "org.streetsense.alert." + transition.rawValue }

    /// The envelope as compact JSON text.
    ///
    /// - Parameter source: the CloudEvents `source`, a URI reference naming this StreetSense instance (for
    ///   example `/streetsense/helsinki`).
    public static func json(_ event: AlertEvent, source: String) -> String {
        var out = "{\"specversion\":\"1.0\",\"id\":\"\(event.id.rawValue)\",\"source\":"
        appendString(source, to: &out)
        out += ",\"type\":\"" + type(of: event.transition) + "\",\"subject\":"
        appendString(event.subject.kind.rawValue + "/" + event.subject.id, to: &out)
        out += ",\"time\":\"" + event.at.rfc3339 + "\",\"datacontenttype\":\"application/json\",\"data\":"
        appendData(event, to: &out)
        out += "}"
        return out
    }

    /// Only the `data` member: the alert after the transition, as an object.
    public static func dataJSON(_ event: AlertEvent) -> String {
        var out = ""
        appendData(event, to: &out)
        return out
    }

    private static func appendData(_ event: AlertEvent, to out: inout String) {
        out += "{\"alert_id\":\(event.alertID.rawValue),\"event_id\":\(event.id.rawValue),\"rule\":\"" + event.rule.rawValue
        out += "\",\"subject_kind\":\"" + event.subject.kind.rawValue + "\",\"subject_id\":"
        appendString(event.subject.id, to: &out)
        out += ",\"metric\":" + (event.metric.map { "\"" + $0.name + "\"" } ?? "null")
        out += ",\"severity\":\"" + event.severity.rawValue + "\",\"level\":\"" + event.level + "\",\"transition\":\""
        out += event.transition.rawValue + "\",\"state\":\"" + (event.transition == .cleared ? "cleared" : "active") + "\""
        out += ",\"acknowledged\":" + (event.acknowledgement == nil ? "false" : "true") + ",\"acknowledgement\":"
        if let ack = event.acknowledgement {
            out += "{\"by\":"
            appendString(ack.by, to: &out)
            out += ",\"at\":\"" + ack.at.rfc3339 + "\",\"note\":"
            if let note = ack.note { appendString(note, to: &out) } else { out += "null" }
            out += "}"
        } else {
            out += "null"
        }
        out += ",\"fault\":" + (event.fault.map { "\"" + $0.rawValue + "\"" } ?? "null")
        out += ",\"at\":\"" + event.at.rfc3339 + "\",\"value\":" + number(event.value) + ",\"peak\":" + number(event.peak) + "}"
    }

    /// A JSON number, or null for a value JSON cannot carry.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped.
    static func appendString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
