import Foundation
import MosquittoBroker

#if canImport(Glibc)
import Glibc
#endif

/// One run of `wrk -t1 -c C -d Ss --timeout 10s --latency URL` (Debian package `wrk`) as a child process, and what it printed.
///
/// wrk is closed-loop: each of its C connections sends the next request as soon as the previous response is
/// read, so its latencies are those of a server kept busy by C clients, not of an idle one. `--latency` prints
/// the 50, 75, 90 and 99th percentiles (from its own histogram, microsecond resolution).
struct WrkRun {
    static let executablePath = "/usr/bin/wrk"

    var url: String
    var connections: Int
    var seconds: Int
    /// When set, each connection waits this long after a response before its next request (a wrk Lua `delay()`),
    /// so the load is about `connections × 1000 / pause` requests/s instead of as many as the server answers.
    /// wrk's latencies then are those of a server at that rate (the pause itself is not counted).
    var pauseMilliseconds: Int?

    /// What one wrk run printed, parsed.
    struct Result: Sendable {
        var requests = 0
        /// wrk's own duration of the run (`N requests in 20.00s`).
        var seconds = 0.0
        var requestsPerSecond = 0.0
        var bytesRead = 0.0
        var p50: Duration?
        var p75: Duration?
        var p90: Duration?
        var p99: Duration?
        var maximum: Duration?
        /// Responses whose status was not 2xx or 3xx.
        var non2xx = 0
        /// wrk's `Socket errors:` line, if it printed one.
        var socketErrors: String?
        var cpuSeconds: Double?
        var status: Int32 = 0
        var output = ""

        var bytesPerResponse: Double { bytesRead / Double(max(requests, 1)) }
    }

    /// `debian/4.1.0-3+b2 [epoll]`, from the first line `wrk -v` prints.
    static func version() -> String {
        guard let first = firstOutputLine(of: executablePath, ["-v"]) else { return "not found" }
        return first.components(separatedBy: " Copyright").first.map { $0.replacingOccurrences(of: "wrk ", with: "") } ?? "?"
    }

    /// The arguments wrk is started with.
    /// A response slower than `--timeout` (wrk's default: 2 s) would count as a socket error and be left out of the
    /// percentiles; 10 s keeps every response of a run in them.
    func arguments(script: String?) -> [String] {
        ["-t1", "-c\(connections)", "-d\(seconds)s", "--timeout", "10s", "--latency"] + (script.map { ["-s", $0] } ?? []) + [url]
    }

    /// Starts wrk and returns once it has exited (on a thread of its own: reading its output blocks).
    func run() async throws -> Result {
        guard FileManager.default.isExecutableFile(atPath: Self.executablePath) else {
            throw BenchError("\(Self.executablePath) is missing: run `make bench-deps` (Debian package wrk)")
        }
        var script: String?
        if let pauseMilliseconds {
            let path = NSTemporaryDirectory() + "streetsense-bench-pause-\(getpid())-\(pauseMilliseconds).lua"
            try "function delay()\n  return \(pauseMilliseconds)\nend\n".write(toFile: path, atomically: true, encoding: .utf8)
            script = path
        }
        defer { if let script { try? FileManager.default.removeItem(atPath: script) } }
        let child = try ChildProcess.spawn(executable: Self.executablePath, arguments: arguments(script: script), output: .pipe)
        guard let descriptor = child.outputDescriptor else { throw BenchError("wrk: no output pipe") }
        return await withCheckedContinuation { (continuation: CheckedContinuation<Result, Never>) in
            let thread = Thread {
                var data = [UInt8]()
                var buffer = [UInt8](repeating: 0, count: 1 << 16)
                while true {
                    let n = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { break }
                    data.append(contentsOf: buffer[0..<n])
                }
                close(descriptor)
                let exit = child.waitForExitWithUsage()
                var result = Self.parse(String(decoding: data, as: UTF8.self))
                result.status = exit.status
                result.cpuSeconds = exit.cpuSeconds
                continuation.resume(returning: result)
            }
            thread.name = "bench-wrk"
            thread.start()
        }
    }

    /// Parses wrk's report:
    ///
    /// ```
    ///   Latency Distribution
    ///      50%  635.00us
    ///      99%    3.08ms
    ///   123456 requests in 20.00s, 1.23MB read
    ///   Non-2xx or 3xx responses: 12
    /// Requests/sec:   6172.80
    /// ```
    static func parse(_ output: String) -> Result {
        var result = Result()
        result.output = output
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = fields.first else { continue }
            switch first {
            case "50%": result.p50 = fields.count > 1 ? duration(fields[1]) : nil
            case "75%": result.p75 = fields.count > 1 ? duration(fields[1]) : nil
            case "90%": result.p90 = fields.count > 1 ? duration(fields[1]) : nil
            case "99%": result.p99 = fields.count > 1 ? duration(fields[1]) : nil
            case "Latency" where fields.count >= 5: result.maximum = duration(fields[3])
            case "Requests/sec:": result.requestsPerSecond = fields.count > 1 ? Double(fields[1]) ?? 0 : 0
            case "Socket": result.socketErrors = String(line.trimmingCharacters(in: .whitespaces))
            case "Non-2xx": result.non2xx = fields.last.flatMap { Int($0) } ?? 0
            default:
                // `123456 requests in 20.00s, 1.23MB read`
                if fields.count >= 6, fields[1] == "requests", fields[2] == "in", let requests = Int(first) {
                    result.requests = requests
                    result.seconds = duration(fields[3].dropLast()).map { $0.milliseconds / 1000 } ?? 0
                    result.bytesRead = bytes(fields[4])
                }
            }
        }
        return result
    }

    /// `635.00us`, `1.06ms`, `2.00s`, `1.50m` → a duration.
    static func duration(_ text: some StringProtocol) -> Duration? {
        let units: [(suffix: String, nanoseconds: Double)] = [("us", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        for unit in units where text.hasSuffix(unit.suffix) {
            guard let value = Double(text.dropLast(unit.suffix.count)) else { continue }
            return .nanoseconds(Int64(value * unit.nanoseconds))
        }
        return nil
    }

    /// `456.00B`, `123.45KB`, `1.23MB`, `1.02GB` (wrk's units are powers of 1024) → bytes.
    static func bytes(_ text: some StringProtocol) -> Double {
        let units: [(suffix: String, factor: Double)] = [("GB", 1_073_741_824), ("MB", 1_048_576), ("KB", 1024), ("B", 1)]
        for unit in units where text.hasSuffix(unit.suffix) {
            if let value = Double(text.dropLast(unit.suffix.count)) { return value * unit.factor }
        }
        return 0
    }
}
