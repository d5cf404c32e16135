import StreetSenseCore

/// A small JSON writer for reports and timelines: keys in the order written, numbers in Swift's shortest
/// round-trip form (`1.5`, `0.1`, `1e-05`), non-finite numbers and absent values as `null`. Pretty output puts
/// each member on its own line with two-space indentation. The same calls give the same bytes.
struct ReportJSON {
    private(set) var bytes: [UInt8] = []
    let pretty: Bool
    private var depth = 0
    private var needsComma = false
    private var afterKey = false

    init(pretty: Bool) { self.pretty = pretty }

    private mutating func beforeValue() {
        if afterKey {
            afterKey = false
            return
        }
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        newline()
    }

    private mutating func newline() {
        guard pretty, depth > 0 else { return }
        bytes.append(UInt8(ascii: "\n"))
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: depth * 2))
    }

    mutating func object(_ body: (inout ReportJSON) -> Void) { container(open: "{", close: "}", body) }
    mutating func array(_ body: (inout ReportJSON) -> Void) { container(open: "[", close: "]", body) }

    private mutating func container(open: Unicode.Scalar, close: Unicode.Scalar, _ body: (inout ReportJSON) -> Void) {
        beforeValue()
        bytes.append(UInt8(ascii: open))
        depth += 1
        needsComma = false
        let before = bytes.count
        body(&self)
        depth -= 1
        if bytes.count != before { newline() }
        bytes.append(UInt8(ascii: close))
        needsComma = true
    }

    mutating func key(_ name: String) {
        beforeValue()
        TraceLineCodec.appendString(name.utf8, into: &bytes)
        bytes.append(UInt8(ascii: ":"))
        if pretty { bytes.append(UInt8(ascii: " ")) }
        afterKey = true
        needsComma = true
    }

    mutating func string(_ value: String?) {
        beforeValue()
        if let value { TraceLineCodec.appendString(value.utf8, into: &bytes) } else { bytes.append(contentsOf: "null".utf8) }
        needsComma = true
    }

    mutating func number(_ value: Double?) {
        beforeValue()
        if let value, value.isFinite {
            if value == value.rounded(), abs(value) < 1e15 {
                bytes.append(contentsOf: String(Int64(value)).utf8)
            } else {
                bytes.append(contentsOf: value.description.utf8)
            }
        } else {
            bytes.append(contentsOf: "null".utf8)
        }
        needsComma = true
    }

    mutating func int(_ value: Int?) {
        beforeValue()
        bytes.append(contentsOf: (value.map(String.init) ?? "null").utf8)
        needsComma = true
    }

    mutating func member(_ name: String, _ value: String?) { key(name); string(value) }
    mutating func member(_ name: String, _ value: Double?) { key(name); number(value) }
    mutating func member(_ name: String, _ value: Int?) { key(name); int(value) }
    mutating func member(_ name: String, time value: EventTime?) { key(name); string(value?.rfc3339) }
}
