/// One problem found in the configuration, located precisely enough to fix it.
///
/// Printed as `FILE:LINE: key: reason` (DESIGN §10). A value that came from an environment variable is located by
/// the variable instead (`env STREETSENSE_HTTP_LISTEN: http.listen: reason`); a problem with no line (a file that
/// does not exist) prints as `FILE: key: reason`. Warnings carry `warning:` before the key.
public struct ConfigDiagnostic: Sendable, Hashable, CustomStringConvertible {
    /// Whether the problem stops start-up.
    public enum Severity: String, Sendable, Hashable {
        case error
        case warning
    }

    /// The file the problem is in: the YAML file as given, or the zones file for zone problems. For a value from
    /// an environment variable, the YAML file it overrides.
    public var file: String
    /// The 1-based line in `file`, or nil when there is none (a missing file, a value from the environment).
    public var line: Int?
    /// The environment variable the offending value came from, if it came from one.
    public var variable: String?
    /// The dotted key path, e.g. `sensors[2].zone` or `features[0].geometry.coordinates[0]`; empty for problems
    /// with the file as a whole (a syntax error).
    public var key: String
    /// What is wrong, in words a person can act on.
    public var reason: String
    public var severity: Severity

    public init(
        file: String, line: Int?, variable: String? = nil, key: String, reason: String, severity: Severity = .error
    ) {
        self.file = file
        self.line = line
        self.variable = variable
        self.key = key
        self.reason = reason
        self.severity = severity
    }

    /// Where the problem is: `FILE:LINE`, `FILE`, or `env VARIABLE`.
    public var location: String {
        if let variable { return "env \(variable)" }
        if let line { return "\(file):\(line)" }
        return file
    }

    public var description: String {
        var text = location + ": "
        if severity == .warning { text += "warning: " }
        if !key.isEmpty { text += key + ": " }
        return text + reason
    }
}

/// The configuration could not be loaded: every problem found in one pass, in file and line order.
///
/// Invariant: `diagnostics` is not empty and holds errors only; `warnings` holds what would not stop start-up.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [ConfigDiagnostic]
    public var warnings: [ConfigDiagnostic]

    public init(diagnostics: [ConfigDiagnostic], warnings: [ConfigDiagnostic] = []) {
        self.diagnostics = diagnostics
        self.warnings = warnings
    }

    /// One `FILE:LINE: key: reason` line per error, as `streetsense check-config` prints them.
    public var description: String {
        diagnostics.map(\.description).joined(separator: "\n")
    }
}
