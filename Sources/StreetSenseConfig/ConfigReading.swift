import Foundation
import StreetSenseCore

/// The diagnostics of one configuration load, gathered so that one run reports every problem.
final class DiagnosticLog {
    private(set) var errors: [ConfigDiagnostic] = []
    private(set) var warnings: [ConfigDiagnostic] = []

    func error(at origin: ConfigOrigin, key: String, _ reason: String) {
        errors.append(diagnostic(origin, key, reason, .error))
    }

    func warning(at origin: ConfigOrigin, key: String, _ reason: String) {
        warnings.append(diagnostic(origin, key, reason, .warning))
    }

    private func diagnostic(
        _ origin: ConfigOrigin, _ key: String, _ reason: String, _ severity: ConfigDiagnostic.Severity
    ) -> ConfigDiagnostic {
        ConfigDiagnostic(
            file: origin.file, line: origin.line, variable: origin.variable, key: key, reason: reason, severity: severity)
    }
}

/// How to read one scalar: what it is called in messages, how to parse it, and which values are allowed.
struct ValueType<Value> {
    /// "an integer", "a number", …: the expected shape in "expected X, got Y".
    var expected: String
    /// Parses the scalar's text; `plain` says it was unquoted (a quoted "30" is a string, not a number).
    var parse: (_ text: String, _ plain: Bool) -> Value?
    /// Why a parsed value is not allowed, or nil if it is.
    var check: (Value) -> String? = { _ in nil }

    /// The same type with a further check.
    func checked(_ extra: @escaping (Value) -> String?) -> ValueType {
        let first = check
        var copy = self
        copy.check = { first($0) ?? extra($0) }
        return copy
    }
}

extension ValueType where Value == String {
    /// Any non-empty scalar, quoted or not.
    static var string: ValueType {
        ValueType(expected: "a string", parse: { text, _ in text }, check: { $0.isEmpty ? "must not be empty" : nil })
    }

    /// A valid id (`[A-Za-z0-9_.-]{1,64}`).
    static var identifier: ValueType {
        string.checked { Identifier.isValid($0) ? nil : ValueType.invalidIdentifierReason($0) }
    }

    static func invalidIdentifierReason(_ text: String) -> String {
        "\"\(text.prefix(80))\" is not a valid id (1 to 64 characters from A-Z, a-z, 0-9, '_', '.', '-')"
    }
}

extension ValueType where Value == Int {
    /// A whole number in `range`.
    static func integer(_ range: ClosedRange<Int>) -> ValueType {
        ValueType(
            expected: "an integer",
            parse: { text, plain in
                guard plain else { return nil }
                let digits = text.contains("_") ? text.replacingOccurrences(of: "_", with: "") : text
                return Int(digits)
            },
            check: { value in
                if range.contains(value) { return nil }
                if range.upperBound == .max { return "must be at least \(range.lowerBound), got \(value)" }
                return "must be between \(range.lowerBound) and \(range.upperBound), got \(value)"
            })
    }
}

extension ValueType where Value == Double {
    /// A finite number, integer or not.
    static var number: ValueType {
        ValueType(
            expected: "a number",
            parse: { text, plain in
                guard plain, let value = Double(text), value.isFinite else { return nil }
                return value
            })
    }

    /// A finite number greater than 0.
    static var positiveNumber: ValueType {
        number.checked { $0 > 0 ? nil : "must be greater than 0, got \(formatNumber($0))" }
    }

    /// A finite number in `range`.
    static func number(in range: ClosedRange<Double>) -> ValueType {
        number.checked {
            range.contains($0)
                ? nil
                : "must be between \(formatNumber(range.lowerBound)) and \(formatNumber(range.upperBound)), got \(formatNumber($0))"
        }
    }
}

extension ValueType where Value == Bool {
    /// `true`/`false` (also `yes`/`no`, `on`/`off`, as YAML 1.1 allows).
    static var bool: ValueType {
        ValueType(
            expected: "true or false",
            parse: { text, plain in
                guard plain else { return nil }
                switch text.lowercased() {
                case "true", "yes", "on": return true
                case "false", "no", "off": return false
                default: return nil
                }
            })
    }
}

extension ValueType where Value == Duration {
    /// A number of seconds, fractions allowed: greater than 0 if `positive`, else at least 0.
    static func seconds(positive: Bool) -> ValueType {
        ValueType(
            expected: "a number of seconds",
            parse: { text, plain in
                guard plain, let value = Double(text), value.isFinite, abs(value) < 1e12 else { return nil }
                return .milliseconds(Int64((value * 1000).rounded()))
            },
            check: { value in
                let seconds = Double(value.components.seconds) + Double(value.components.attoseconds) * 1e-18
                if positive { return value > .zero ? nil : "must be greater than 0, got \(formatNumber(seconds))" }
                return value >= .zero ? nil : "must not be negative, got \(formatNumber(seconds))"
            })
    }
}

/// `2.5`, `5`, `0.1`: a number as a person would write it.
func formatNumber(_ value: Double) -> String {
    if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
    return String(value)
}

/// Reads one mapping of the configuration: typed values with their defaults, nested sections, and at the end the
/// keys nobody asked for (unknown keys, reported with a suggestion).
final class MappingReader {
    /// The dotted path of this mapping ("" for the top level).
    let path: String
    /// Where the mapping is named (its key's line), for "missing required key".
    let origin: ConfigOrigin
    let entries: [ConfigEntry]
    let log: DiagnosticLog
    private var requested: [String] = []

    init(path: String, origin: ConfigOrigin, entries: [ConfigEntry], log: DiagnosticLog) {
        self.path = path
        self.origin = origin
        self.entries = entries
        self.log = log
    }

    /// A reader for `node` if it is a mapping; nil (reported) if it is something else.
    static func make(_ node: ConfigNode, path: String, origin: ConfigOrigin, log: DiagnosticLog) -> MappingReader? {
        if let entries = node.entries {
            return MappingReader(path: path, origin: origin, entries: entries, log: log)
        }
        if node.isNull { return MappingReader(path: path, origin: origin, entries: [], log: log) }
        log.error(at: node.origin, key: path, "expected a mapping, got \(node.shape)")
        return nil
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The entry for `key`, marking the key as known.
    func entry(_ key: String) -> ConfigEntry? {
        requested.append(key)
        return entries.last { $0.key == key }
    }

    /// The non-null value of `key`, marking the key as known.
    func node(_ key: String) -> ConfigNode? {
        guard let entry = entry(key), !entry.value.isNull else { return nil }
        return entry.value
    }

    /// Where the value of `key` is (its own line, or its environment variable), or this mapping's origin.
    func valueOrigin(_ key: String) -> ConfigOrigin {
        entries.last { $0.key == key }?.value.origin ?? origin
    }

    /// The value of `key` if present and valid; nil if absent, null or invalid (reported).
    func optional<Value>(_ key: String, _ type: ValueType<Value>) -> Value? {
        guard let node = node(key) else { return nil }
        return convert(node, key: keyPath(key), type)
    }

    /// The value of `key`, or `fallback` if absent or invalid (reported).
    func value<Value>(_ key: String, _ type: ValueType<Value>, default fallback: Value) -> Value {
        optional(key, type) ?? fallback
    }

    /// The value of `key`; reports "missing required key" if it is absent.
    func required<Value>(_ key: String, _ type: ValueType<Value>) -> Value? {
        guard let node = node(key) else {
            if let empty = entries.last(where: { $0.key == key })?.value {
                // Written but empty (`key:` or `~`), or emptied by an environment variable.
                let reason = empty.origin.variable == nil ? "a value is required" : "a value is required (the variable is empty)"
                log.error(at: empty.origin, key: keyPath(key), reason)
            } else {
                log.error(at: origin, key: keyPath(key), "missing required key")
            }
            return nil
        }
        return convert(node, key: keyPath(key), type)
    }

    /// Converts one scalar node, reporting a wrong type or a disallowed value.
    func convert<Value>(_ node: ConfigNode, key: String, _ type: ValueType<Value>) -> Value? {
        guard case .scalar(let text, let plain) = node.content else {
            log.error(at: node.origin, key: key, "expected \(type.expected), got \(node.shape)")
            return nil
        }
        // A value from an environment variable is text: parse it with the key's type.
        guard let value = type.parse(text, plain || node.origin.variable != nil) else {
            log.error(at: node.origin, key: key, "expected \(type.expected), got \(node.shape)")
            return nil
        }
        if let reason = type.check(value) {
            log.error(at: node.origin, key: key, reason)
            return nil
        }
        return value
    }

    /// The nested mapping under `key`; nil if absent or not a mapping (reported).
    func section(_ key: String) -> MappingReader? {
        guard let entry = entry(key) else { return nil }
        return MappingReader.make(entry.value, path: keyPath(key), origin: entry.keyOrigin, log: log)
    }

    /// The nested mapping under `key`, or an empty one if absent, so that its defaults apply.
    func sectionOrEmpty(_ key: String) -> MappingReader? {
        guard let entry = entries.last(where: { $0.key == key }) else {
            requested.append(key)
            return MappingReader(path: keyPath(key), origin: origin, entries: [], log: log)
        }
        return section(entry.key)
    }

    /// The list under `key`; nil if absent, null or not a list (reported).
    func list(_ key: String) -> [ConfigNode]? {
        guard let node = node(key) else { return nil }
        guard let elements = node.elements else {
            log.error(at: node.origin, key: keyPath(key), "expected a list, got \(node.shape)")
            return nil
        }
        return elements
    }

    /// Reports every key that was never asked for. Strict readers report errors; lenient ones (GeoJSON
    /// properties, where other tools add their own keys) only warn about likely typos.
    func reportUnknownKeys(strict: Bool = true) {
        let known = requested.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        for entry in entries where !known.contains(entry.key) {
            let suggestion = closestMatch(to: entry.key, among: known)
            if strict {
                let hint =
                    suggestion.map { " (did you mean \($0)?)" }
                    ?? (known.isEmpty ? "" : " (expected one of: \(known.joined(separator: ", ")))")
                log.error(at: entry.keyOrigin, key: keyPath(entry.key), "unknown key" + hint)
            } else if let suggestion {
                log.warning(at: entry.keyOrigin, key: keyPath(entry.key), "unknown key (did you mean \(suggestion)?)")
            }
        }
    }
}

/// The candidate a mistyped `word` most likely meant: one or two edits away, the same but for `_` and case, or the
/// candidate with a unit suffix the word left out (`hold` → `hold_s`).
func closestMatch(to word: String, among candidates: [String]) -> String? {
    func normalized(_ s: String) -> String { s.lowercased().replacingOccurrences(of: "_", with: "") }
    if let same = candidates.first(where: { normalized($0) == normalized(word) }) { return same }
    if let suffixed = candidates.first(where: { $0.hasPrefix(word + "_") && $0.count - word.count <= 4 }) {
        return suffixed
    }
    let limit = word.count >= 5 ? 2 : 1
    var best: (candidate: String, distance: Int)?
    for candidate in candidates {
        let distance = editDistance(word.lowercased(), candidate.lowercased())
        if distance <= limit, distance < (best?.distance ?? .max) { best = (candidate, distance) }
    }
    return best?.candidate
}

/// The Levenshtein distance between two short strings.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.unicodeScalars)
    let b = Array(b.unicodeScalars)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
            current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
