/// The wait before each retry of a failed delivery: exponential, capped, with jitter.
///
/// The wait before retry `n` (1 for the first retry) is `min(maximum, initial × factor^(n-1))`, shortened by a
/// random fraction of up to `jitter` of itself, so endpoints that failed together do not retry together.
/// Invariants: `initial > 0`, `factor >= 1`, `maximum >= initial`, `jitter` in 0…1; a wait is never longer
/// than `maximum` and never shorter than `(1 - jitter) × min(maximum, initial × factor^(n-1))`.
public struct RetryBackoff: Sendable, Hashable {
    public var initial: Duration
    public var factor: Double
    public var maximum: Duration
    public var jitter: Double

    /// The defaults: 1 s, doubling, at most 60 s, up to 20 % shorter.
    public init(initial: Duration = .seconds(1), factor: Double = 2, maximum: Duration = .seconds(60), jitter: Double = 0.2) {
        self.initial = max(initial, .nanoseconds(1))
        self.factor = max(1, factor)
        self.maximum = max(maximum, self.initial)
        self.jitter = min(1, max(0, jitter))
    }

    /// The wait before retry `retry` (1-based) without jitter.
    public func nominalDelay(beforeRetry retry: Int) -> Duration {
        let initialSeconds = Self.seconds(initial)
        let maximumSeconds = Self.seconds(maximum)
        var seconds = initialSeconds
        for _ in 1..<max(1, retry) {
            seconds *= factor
            if seconds >= maximumSeconds { return maximum }
        }
        return seconds >= maximumSeconds ? maximum : .nanoseconds(Int64((seconds * 1e9).rounded()))
    }

    /// The wait before retry `retry` (1-based), with jitter drawn from `generator`.
    public func delay(beforeRetry retry: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let nominal = nominalDelay(beforeRetry: retry)
        guard jitter > 0 else { return nominal }
        let fraction = 1 - jitter * Double.random(in: 0...1, using: &generator)
        return .nanoseconds(Int64((Self.seconds(nominal) * fraction * 1e9).rounded()))
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}
