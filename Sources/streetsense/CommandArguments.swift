import ArgumentParser
import Foundation
import StreetSenseSimulation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A length of time on the command line: `90s`, `10m`, `2h`, `1h30m`, `500ms`, or plain seconds.
struct DurationArgument: ExpressibleByArgument, Sendable, CustomStringConvertible {
    var duration: Duration

    init(_ duration: Duration) { self.duration = duration }

    init?(argument: String) {
        guard let parsed = Self.parse(argument) else { return nil }
        duration = parsed
    }

    /// The scenario files' duration syntax, which must give more than zero here.
    static func parse(_ text: String) -> Duration? {
        guard let duration = ScenarioFile.duration(text), duration > .zero else { return nil }
        return duration
    }

    var description: String {
        let ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return ms % 1000 == 0 ? "\(ms / 1000)s" : "\(ms)ms"
    }
}

/// A playback speed: a factor of real time (`1`, `10`, `0.5`) or `max` (as fast as possible).
enum SpeedArgument: ExpressibleByArgument, Sendable, CustomStringConvertible {
    case factor(Double)
    case max

    init?(argument: String) {
        if argument == "max" {
            self = .max
        } else if let factor = Double(argument.hasSuffix("x") ? String(argument.dropLast()) : argument), factor.isFinite, factor > 0 {
            self = .factor(factor)
        } else {
            return nil
        }
    }

    var description: String {
        switch self {
        case .max: "max"
        case .factor(let f): "\(f)"
        }
    }

    /// The factor, or nil for `max`.
    var factor: Double? {
        if case .factor(let f) = self { return f }
        return nil
    }
}

/// An MQTT broker URL: `mqtt://host:port` (port 1883 by default).
struct BrokerURL: ExpressibleByArgument, Sendable {
    var host: String
    var port: Int

    init?(argument: String) {
        var rest = Substring(argument)
        if rest.hasPrefix("mqtt://") { rest = rest.dropFirst(7) } else if rest.hasPrefix("tcp://") { rest = rest.dropFirst(6) }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        if let colon = rest.lastIndex(of: ":") {
            guard let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else { return nil }
            self.port = port
            host = String(rest[..<colon])
        } else {
            port = 1883
            host = String(rest)
        }
        guard !host.isEmpty else { return nil }
    }
}

/// A progress line on standard error, redrawn in place, only when standard error is a terminal.
struct ProgressLine {
    let enabled = isatty(STDERR_FILENO) == 1
    private var lastDraw = ContinuousClock.now

    /// Redraws at most 5 times a second.
    mutating func update(_ text: @autoclosure () -> String) {
        guard enabled else { return }
        let now = ContinuousClock.now
        guard lastDraw.duration(to: now) >= .milliseconds(200) else { return }
        lastDraw = now
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + text()).utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

/// Seconds with one decimal.
func seconds(_ duration: Duration) -> String {
    let value = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    return String(format: "%.1f", value)
}

/// Writes bytes to a file, or to standard output for `-`.
func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    if path == "-" {
        FileHandle.standardOutput.write(Data(bytes))
    } else {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            printError("\(path): cannot be written")
            throw ExitCode(1)
        }
    }
}
