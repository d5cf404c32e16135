import Foundation

/// What every section needs while it is read: the diagnostics, and where relative paths start.
struct LoadContext {
    /// The YAML file as given.
    let configurationPath: String
    /// The folder of the YAML file as given ("" for the working directory).
    let baseDirectory: String
    let log: DiagnosticLog

    init(configurationPath: String, log: DiagnosticLog) {
        self.configurationPath = configurationPath
        if let slash = configurationPath.lastIndex(of: "/") {
            let folder = configurationPath[...slash]
            baseDirectory = folder == "/" ? "/" : String(folder.dropLast())
        } else {
            baseDirectory = ""
        }
        self.log = log
    }

    /// `path` if absolute, else `path` inside the YAML file's folder.
    func resolve(_ path: String) -> String {
        if path.hasPrefix("/") || baseDirectory.isEmpty { return path }
        return baseDirectory == "/" ? "/" + path : "\(baseDirectory)/\(path)"
    }

    /// Resolves the file named by `key` of `reader` and reports it if it is missing or not a readable file.
    func existingFile(_ key: String, of reader: MappingReader) -> String? {
        guard let given = reader.optional(key, .string) else { return nil }
        let path = resolve(given)
        if let problem = Self.fileProblem(path) {
            log.error(at: reader.valueOrigin(key), key: reader.keyPath(key), problem)
        }
        return path
    }

    /// Resolves the folder named by `key` of `reader` and reports it if it is missing or not a folder.
    func existingDirectory(_ key: String, of reader: MappingReader) -> String? {
        guard let given = reader.optional(key, .string) else { return nil }
        let path = resolve(given)
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            log.error(at: reader.valueOrigin(key), key: reader.keyPath(key), "folder not found: \(path)")
        } else if !isDirectory.boolValue {
            log.error(at: reader.valueOrigin(key), key: reader.keyPath(key), "is a file, not a folder: \(path)")
        }
        return path
    }

    /// Why `path` cannot be read as a file, or nil if it can.
    static func fileProblem(_ path: String) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return "file not found: \(path)"
        }
        if isDirectory.boolValue { return "is a directory, not a file: \(path)" }
        if !FileManager.default.isReadableFile(atPath: path) { return "file cannot be read (permissions): \(path)" }
        return nil
    }
}
