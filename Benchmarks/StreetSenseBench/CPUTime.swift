import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// CPU time (user + system) that Linux has charged to a process, read from `/proc/<pid>/stat`
/// (`utime` and `stime`, in clock ticks of 10 ms).
enum CPUTime {
    /// Seconds of CPU used so far by process `pid` (all its threads), or nil when it is gone.
    static func seconds(process pid: Int32) -> Double? {
        stat("/proc/\(pid)/stat").map(\.seconds)
    }

    /// The `comm` field and `utime + stime` in seconds of a `/proc/…/stat` file.
    private static func stat(_ path: String) -> (name: String, seconds: Double)? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm) " come state (field 3), …, utime (field 14) and stime (field 15).
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (String(text[text.index(after: open)..<close]), (user + system) / Double(sysconf(Int32(_SC_CLK_TCK))))
    }
}

/// The machine's 1-, 5- and 15-minute load averages, as `/proc/loadavg` gives them.
func loadAverages() -> String {
    guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "?" }
    return text.split(separator: " ").prefix(3).joined(separator: " ")
}

/// Seconds in a `Duration`, as a `Double`.
func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// `1234567` → `1 234 567` (BENCHMARKS.md's thousands separator).
func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var out = ""
    for (i, digit) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out += " " }
        out.append(digit)
    }
    return value < 0 ? "-" + out : out
}
