import Foundation
import Yams

/// Where a configuration value came from: a line of a file, or an environment variable.
struct ConfigOrigin: Sendable, Hashable {
    var file: String
    var line: Int?
    var variable: String?

    static func file(_ file: String, line: Int) -> ConfigOrigin {
        ConfigOrigin(file: file, line: line, variable: nil)
    }

    static func environment(_ variable: String, overriding file: String) -> ConfigOrigin {
        ConfigOrigin(file: file, line: nil, variable: variable)
    }
}

/// A parsed YAML (or JSON) document as a small tree that remembers where every value came from.
///
/// Yams' `Node` keeps marks but resolves scalars lazily and cannot record environment overrides; this tree keeps
/// exactly what validation needs: the scalar text, whether it was plain (unquoted, so it may be a number, a
/// boolean or null), and its origin.
struct ConfigNode: Sendable {
    enum Content: Sendable {
        case scalar(String, plain: Bool)
        case mapping([ConfigEntry])
        case sequence([ConfigNode])
    }

    var content: Content
    var origin: ConfigOrigin

    /// An absent value: an empty or `~`/`null` plain scalar.
    var isNull: Bool {
        if case .scalar(let text, plain: true) = content {
            return text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL"
        }
        return false
    }

    /// A short description of the value for "expected X, got Y" reasons.
    var shape: String {
        switch content {
        case .scalar(let text, _): isNull ? "null" : "\"\(text.prefix(60))\""
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }

    var entries: [ConfigEntry]? {
        if case .mapping(let entries) = content { return entries }
        return nil
    }

    var elements: [ConfigNode]? {
        if case .sequence(let elements) = content { return elements }
        return nil
    }
}

/// A key of a mapping, where it is written, and its value.
struct ConfigEntry: Sendable {
    var key: String
    var keyOrigin: ConfigOrigin
    var value: ConfigNode
}

/// Reading a file into a ``ConfigNode`` tree, or a diagnostic that says why not.
enum ConfigDocument {
    /// The most nodes a small document may expand to (aliases can multiply a small file); a guard, not a real limit.
    static let maximumNodeCount = 2_000_000

    /// The most nodes a document of `bytes` bytes may expand to: ``maximumNodeCount``, or its size in bytes when
    /// larger. Every node takes at least one byte of text, so a document without aliases always fits (the
    /// configuration of a 1 000 000-sensor city is 87 MB and ~9 M nodes); aliases can multiply a file by at most
    /// that much.
    static func nodeBudget(bytes: Int) -> Int { Swift.max(maximumNodeCount, bytes) }

    enum LoadFailure: Error {
        case notFound
        case unreadable(String)
        case syntax(line: Int?, key: String, reason: String)
    }

    /// Reads and parses `path`, shown in diagnostics as `displayPath`.
    ///
    /// JSON is YAML, so GeoJSON goes through here too; for JSON, raw tabs (which JSON allows as whitespace and
    /// YAML does not) are replaced by spaces first, which keeps every line number.
    static func load(path: String, displayPath: String, isJSON: Bool = false) -> Result<ConfigNode?, LoadFailure> {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return .failure(.notFound) }
        if isDirectory.boolValue { return .failure(.unreadable("is a directory, not a file")) }
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(.unreadable("cannot be read (check its permissions)"))
        }
        guard var text = String(data: data, encoding: .utf8) else {
            return .failure(.unreadable("is not valid UTF-8"))
        }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        if isJSON { text = text.replacingOccurrences(of: "\t", with: " ") }
        return parse(text, displayPath: displayPath)
    }

    /// Parses YAML text; nil for an empty document. (libyaml stops at 1000 levels of nesting, which bounds the
    /// recursion here too.)
    static func parse(_ text: String, displayPath: String) -> Result<ConfigNode?, LoadFailure> {
        let root: Node?
        do {
            // The basic resolver: scalars are typed here from their text and style, and Yams' default resolver runs
            // regular expressions for every key it hashes (a 100 000-sensor file composes ~2.5× faster without).
            root = try Yams.compose(yaml: text, .basic)
        } catch let error as YamlError {
            return .failure(syntaxFailure(error))
        } catch {
            return .failure(.syntax(line: nil, key: "", reason: "cannot parse: \(error)"))
        }
        guard let root else { return .success(nil) }
        let limit = nodeBudget(bytes: text.utf8.count)
        var budget = limit
        guard let tree = convert(root, file: displayPath, budget: &budget) else {
            return .failure(
                .syntax(
                    line: nil, key: "",
                    reason: "the document expands to more than \(limit) values (too many aliases?)"))
        }
        return .success(tree)
    }

    private static func convert(_ node: Node, file: String, budget: inout Int) -> ConfigNode? {
        budget -= 1
        guard budget >= 0 else { return nil }
        let origin = ConfigOrigin.file(file, line: node.mark?.line ?? 1)
        switch node {
        case .scalar(let scalar):
            let plain = scalar.style == .plain && scalar.tag.rawValue != Tag.Name.str.rawValue
            return ConfigNode(content: .scalar(scalar.string, plain: plain), origin: origin)
        case .mapping(let mapping):
            var entries: [ConfigEntry] = []
            entries.reserveCapacity(mapping.count)
            for (key, value) in mapping {
                let keyText: String
                switch key {
                case .scalar(let scalar): keyText = scalar.string
                case .mapping: keyText = "<mapping>"
                case .sequence: keyText = "<list>"
                case .alias: keyText = "<alias>"
                }
                guard let converted = convert(value, file: file, budget: &budget) else { return nil }
                entries.append(
                    ConfigEntry(
                        key: keyText, keyOrigin: .file(file, line: key.mark?.line ?? origin.line ?? 1),
                        value: converted))
            }
            return ConfigNode(content: .mapping(entries), origin: origin)
        case .sequence(let sequence):
            var elements: [ConfigNode] = []
            elements.reserveCapacity(sequence.count)
            for element in sequence {
                guard let converted = convert(element, file: file, budget: &budget) else { return nil }
                elements.append(converted)
            }
            return ConfigNode(content: .sequence(elements), origin: origin)
        case .alias:
            // The composer resolves aliases to the nodes they name; an unresolved one is an empty value.
            return ConfigNode(content: .scalar("", plain: true), origin: origin)
        }
    }

    private static func syntaxFailure(_ error: YamlError) -> LoadFailure {
        func reason(_ problem: String, _ context: YamlError.Context?) -> String {
            guard let context else { return problem }
            return "\(problem) (\(context.text) at line \(context.mark.line))"
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return .syntax(line: mark.line, key: "", reason: "syntax error: " + reason(problem, context))
        case .duplicatedKeysInMapping(let duplicates, let context):
            return .syntax(
                line: context.mark.line, key: duplicates.joined(separator: ", "),
                reason: "duplicate key (each key may appear once in a mapping)")
        case .reader(let problem, let offset, _, let yaml):
            let line = offset.map { offset in
                1 + yaml.prefix(offset).reduce(0) { $0 + ($1.isNewline ? 1 : 0) }
            }
            return .syntax(line: line, key: "", reason: "cannot read: \(problem)")
        default:
            return .syntax(line: nil, key: "", reason: "cannot parse: \(error)")
        }
    }
}
