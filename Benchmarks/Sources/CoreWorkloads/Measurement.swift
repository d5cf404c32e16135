import CHeapStatistics

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bytes the C heap has handed out and not taken back (glibc `mallinfo2`: small blocks plus mmapped ones).
/// Differences of two readings give what a structure costs, array slack and allocator headers included.
public func heapBytesInUse() -> Int {
    streetsense_heap_trim()
    return Int(streetsense_heap_bytes_in_use())
}

/// CPU seconds this thread has used. Rates are computed on thread CPU time, not wall time: other engineers
/// compile on this 2-core machine, and time spent descheduled is not time the code needed on one core.
public func threadCPUSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

/// Wall-clock seconds (monotonic).
public func wallSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

/// CPU and wall time of one run of `body`.
public struct Timing: Sendable {
    public var cpu: Double
    public var wall: Double

    public static func of(_ body: () throws -> Void) rethrows -> Timing {
        let w0 = wallSeconds(), c0 = threadCPUSeconds()
        try body()
        let c1 = threadCPUSeconds(), w1 = wallSeconds()
        return Timing(cpu: c1 - c0, wall: w1 - w0)
    }
}

/// The median of some values (the mean of the two middle ones for an even count).
public func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/// The nearest-rank quantile `q` (0 < q ≤ 1) of some values, nan for none.
public func quantile(_ values: [Double], _ q: Double) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int((q * Double(sorted.count)).rounded(.up)) - 1)]
}
