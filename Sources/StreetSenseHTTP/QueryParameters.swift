import Hummingbird
import HummingbirdCore
import StreetSenseCore

/// The query parameters of one request, checked against the names an endpoint accepts.
///
/// Unknown names and repeated names are rejected (a typo such as `?pilots=` must not silently return
/// unfiltered data); an empty value (`?pilot=`) counts as absent. Every accessor throws a 400
/// ``ProblemDetails`` that names the parameter and says why it is wrong.
struct QueryParameters {
    private var values: [String: String] = [:]

    init(_ uri: URI, accepting names: Set<String>) throws(ProblemDetails) {
        for (key, value) in uri.queryParameters {
            let name = String(key)
            guard names.contains(name) else {
                let accepted = names.isEmpty ? "this endpoint takes no query parameters" : "accepted: " + names.sorted().joined(separator: ", ")
                throw .invalidParameter(name, "is not known here (\(accepted))")
            }
            guard values[name] == nil else { throw .invalidParameter(name, "is given more than once") }
            if !value.isEmpty { values[name] = String(value) }
        }
    }

    func string(_ name: String) -> String? { values[name] }

    /// A pilot, sensor or zone id (`[A-Za-z0-9_.-]{1,64}`).
    func identifier(_ name: String) throws(ProblemDetails) -> String? {
        guard let value = values[name] else { return nil }
        guard Identifier.isValid(value) else { throw .invalidParameter(name, "must match [A-Za-z0-9_.-]{1,64}") }
        return value
    }

    /// An integer in `range`.
    func integer(_ name: String, in range: ClosedRange<Int>) throws(ProblemDetails) -> Int? {
        guard let text = values[name] else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw .invalidParameter(name, "must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// An RFC 3339 time with an offset (`2026-11-22T10:15:00.250Z`).
    func time(_ name: String) throws(ProblemDetails) -> EventTime? {
        guard let text = values[name] else { return nil }
        guard let value = EventTime(rfc3339: text) else {
            throw .invalidParameter(name, "must be an RFC 3339 time with an offset, such as 2026-11-22T10:15:00.250Z")
        }
        return value
    }

    /// One of a closed set of names.
    func choice<T>(_ name: String, from options: [(String, T)]) throws(ProblemDetails) -> T? {
        guard let text = values[name] else { return nil }
        guard let match = options.first(where: { $0.0 == text }) else {
            throw .invalidParameter(name, "must be one of " + options.map(\.0).joined(separator: ", "))
        }
        return match.1
    }

    /// A duration such as `60s`, `5m`, `1h` or plain seconds (`300`), returned in whole seconds.
    func seconds(_ name: String) throws(ProblemDetails) -> Int64? {
        guard let text = values[name] else { return nil }
        guard let value = Self.parseSeconds(text) else {
            throw .invalidParameter(name, "must be a duration such as 60s, 5m or 1h")
        }
        return value
    }

    static func parseSeconds(_ text: String) -> Int64? {
        var digits = Substring(text)
        var unit: Int64 = 1
        switch digits.last {
        case "s": digits = digits.dropLast()
        case "m": digits = digits.dropLast(); unit = 60
        case "h": digits = digits.dropLast(); unit = 3600
        case "d": digits = digits.dropLast(); unit = 86_400
        default: break
        }
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int64(digits) else { return nil }
        return n * unit
    }
}
