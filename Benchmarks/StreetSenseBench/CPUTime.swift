import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// CPU time (user + system) that Linux has charged to a process, read from `/proc/<pid>/stat`
/// (`utime` and `stime`, in clock ticks of 10 ms).
enum CPUTime {
    /// Seconds of CPU used so far by process `pid` (all its threads), or nil when it is gone.
    ///
    /// The progress sampler calls this for three processes every 5 ms while the benchmark's subscriber runs in
    /// this process, so it must cost next to nothing: one `read` into a stack buffer and a scan of its bytes.
    /// (Through `String(contentsOfFile:)` and `split` it was 4.6 % of this process's CPU in a `perf` profile of
    /// the QoS 1 run, counted as StreetSense's own.)
    static func seconds(process pid: Int32) -> Double? {
        let ticks = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) { buffer -> Int? in
            let descriptor = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { return nil }
            defer { close(descriptor) }
            let n = read(descriptor, buffer.baseAddress, buffer.count)
            guard n > 0 else { return nil }
            return utimePlusStime(UnsafeBufferPointer(rebasing: buffer[0..<n]))
        }
        return ticks.map { Double($0) / Double(sysconf(Int32(_SC_CLK_TCK))) }
    }

    /// `utime + stime` (clock ticks) of the text of a `/proc/…/stat` file: after "pid (comm) " come state
    /// (field 3), …, utime (field 14) and stime (field 15). `comm` may hold spaces and parentheses, so the
    /// fields are counted from the last ")".
    static func utimePlusStime(_ text: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let close = text.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        var field = 2, value = 0, total = 0, inDigits = false
        for byte in text[(close + 1)...] {
            if byte == UInt8(ascii: " ") {
                if inDigits, field == 14 || field == 15 { total += value }
                if field == 15, inDigits { return total }
                inDigits = false
                value = 0
                field += 1
                continue
            }
            guard field == 14 || field == 15 else { continue }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            inDigits = true
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return nil
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
