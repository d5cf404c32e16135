import Foundation
import Testing

/// The package root, from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// The `streetsense` executable next to this test bundle (`swift build --build-tests` builds both).
let streetsenseExecutable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("streetsense").path

/// What one run of a program printed and how it ended.
struct ProgramRun {
    var status: Int32
    /// Standard output, and standard error too unless they were asked for apart.
    var output: String
    /// Standard error when asked for apart, else empty.
    var errorOutput: String

    /// Runs `executable` with `arguments` to its end: optional standard input, an optional environment (default:
    /// this process's), standard error merged into `output` unless `separateErrors`.
    static func run(
        _ executable: String, _ arguments: [String], input: String? = nil, environment: [String: String]? = nil, separateErrors: Bool = false
    ) throws -> ProgramRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let output = Pipe(), errors = Pipe(), stdin = Pipe()
        process.standardOutput = output
        process.standardError = separateErrors ? errors : output
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        // Read both pipes to the end before waiting, so a full pipe never blocks the child.
        let errorData = separateErrors ? errors.fileHandleForReading.readDataToEndOfFile() : Data()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ProgramRun(
            status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
            errorOutput: String(decoding: errorData, as: UTF8.self))
    }
}

/// Every suite of this target runs real processes (mosquitto, the service in process or as its binary, promtool):
/// they run one at a time, nested in this serialized suite, so that they do not share the machine's two cores
/// with each other and the timing-free waits stay short.
@Suite(.serialized) enum IntegrationSuites {}
