import Foundation

/// Latency samples of one hop, kept whole and sorted: percentiles are exact (nearest rank), not estimated.
struct LatencySamples {
    /// Sorted, shortest first.
    let sorted: [Duration]

    init(_ samples: [Duration]) { sorted = samples.sorted() }

    var count: Int { sorted.count }

    /// The nearest-rank percentile: the smallest sample with at least `p` % of the samples at or below it.
    func percentile(_ p: Double) -> Duration? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    var maximum: Duration? { sorted.last }
}

extension Duration {
    /// Milliseconds as a number.
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}

/// `12.345` (milliseconds, three decimals), or `-` for no value.
func formatMilliseconds(_ duration: Duration?) -> String {
    guard let duration else { return "-" }
    return String(format: "%.3f", duration.milliseconds)
}
