import Foundation
import StreetSenseCore

/// A JSON Schema (2020-12) validator for the subset of keywords `openapi.yaml` uses: `type` (a name or a list
/// of names, `null` included), `properties`, `required`, `additionalProperties` (false, true or a schema),
/// `items`, `prefixItems`, `minItems`, `maxItems`, `enum`, `$ref` (a JSON pointer into the same document),
/// `format: date-time`, `minimum`, `maximum`.
///
/// Any other validation keyword in a schema is reported as an error, so the document cannot quietly rely on a
/// rule the tests do not check. `date-time` values must parse with ``EventTime``'s RFC 3339 parser and be in the
/// API's canonical form (UTC, milliseconds).
struct SchemaValidator {
    /// The document `$ref`s point into.
    let root: JSONValue

    static let annotations: Set<String> = ["description", "title", "examples", "default", "summary", "deprecated"]
    static let keywords: Set<String> = [
        "$ref", "type", "properties", "required", "additionalProperties", "items", "prefixItems", "minItems", "maxItems", "enum",
        "format", "minimum", "maximum",
    ]

    /// The errors of `value` against `schema`, each with the JSON path where it was found; empty if valid.
    func errors(of value: JSONValue, against schema: JSONValue, at path: String = "$") -> [String] {
        var errors: [String] = []
        validate(value, schema, path, depth: 0, into: &errors)
        return errors
    }

    /// Resolves a local reference such as `#/components/schemas/Zone`.
    func resolve(_ reference: String) -> JSONValue? {
        guard reference.hasPrefix("#") else { return nil }
        var node = root
        for token in reference.dropFirst().split(separator: "/", omittingEmptySubsequences: true) {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard let next = node[key] else { return nil }
            node = next
        }
        return node
    }

    private func validate(_ value: JSONValue, _ schema: JSONValue, _ path: String, depth: Int, into errors: inout [String]) {
        if case .bool(let allowed) = schema {
            if !allowed { errors.append("\(path): no value is allowed here") }
            return
        }
        guard let keywords = schema.object else {
            errors.append("\(path): the schema is not an object: \(schema)")
            return
        }
        guard depth < 64 else {
            errors.append("\(path): $ref nesting is too deep")
            return
        }
        for key in keywords.keys where !Self.keywords.contains(key) && !Self.annotations.contains(key) && !key.hasPrefix("x-") {
            errors.append("\(path): unsupported schema keyword '\(key)'")
        }
        if let reference = keywords["$ref"] {
            if let target = reference.string.flatMap(resolve) {
                validate(value, target, path, depth: depth + 1, into: &errors)
            } else {
                errors.append("\(path): unresolvable $ref \(reference)")
            }
        }
        if let type = keywords["type"] {
            let names = type.array?.compactMap(\.string) ?? type.string.map { [$0] } ?? []
            if names.isEmpty { errors.append("\(path): malformed type \(type)") }
            if !names.contains(where: { Self.value(value, hasType: $0) }) {
                errors.append("\(path): expected \(names.joined(separator: " or ")), found \(value)")
                return
            }
        }
        if let options = keywords["enum"] {
            if !(options.array ?? []).contains(value) { errors.append("\(path): \(value) is not one of \(options)") }
        }
        if let format = keywords["format"]?.string, let text = value.string {
            switch format {
            case "date-time":
                if let time = EventTime(rfc3339: text) {
                    if time.rfc3339 != text { errors.append("\(path): \(text) is not UTC with milliseconds (\(time.rfc3339))") }
                } else {
                    errors.append("\(path): \(text) is not an RFC 3339 date-time")
                }
            default:
                errors.append("\(path): unsupported format '\(format)'")
            }
        }
        if let number = value.double {
            if let minimum = keywords["minimum"]?.double, number < minimum { errors.append("\(path): \(number) is below the minimum \(minimum)") }
            if let maximum = keywords["maximum"]?.double, number > maximum { errors.append("\(path): \(number) is above the maximum \(maximum)") }
        }
        if let members = value.object {
            let properties = keywords["properties"]?.object ?? [:]
            for name in keywords["required"]?.array?.compactMap(\.string) ?? [] where members[name] == nil {
                errors.append("\(path): required property '\(name)' is missing")
            }
            for (name, member) in members.sorted(by: { $0.key < $1.key }) {
                if let propertySchema = properties[name] {
                    validate(member, propertySchema, path + "." + name, depth: depth, into: &errors)
                } else if let additional = keywords["additionalProperties"] {
                    if additional == .bool(false) {
                        errors.append("\(path): property '\(name)' is not allowed")
                    } else if additional != .bool(true) {
                        validate(member, additional, path + "." + name, depth: depth, into: &errors)
                    }
                }
            }
        }
        if let elements = value.array {
            if let minimum = keywords["minItems"]?.double, Double(elements.count) < minimum {
                errors.append("\(path): \(elements.count) items, fewer than minItems \(Int(minimum))")
            }
            if let maximum = keywords["maxItems"]?.double, Double(elements.count) > maximum {
                errors.append("\(path): \(elements.count) items, more than maxItems \(Int(maximum))")
            }
            // `prefixItems` validates the first elements by position; `items` the elements after them.
            let prefix = keywords["prefixItems"]?.array ?? []
            for (index, element) in elements.enumerated() {
                if index < prefix.count {
                    validate(element, prefix[index], "\(path)[\(index)]", depth: depth, into: &errors)
                } else if let items = keywords["items"] {
                    validate(element, items, "\(path)[\(index)]", depth: depth, into: &errors)
                }
            }
        }
    }

    private static func value(_ value: JSONValue, hasType name: String) -> Bool {
        switch (name, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object), ("number", .number):
            true
        case ("integer", .number(let number)):
            number.rounded() == number
        default:
            false
        }
    }
}
