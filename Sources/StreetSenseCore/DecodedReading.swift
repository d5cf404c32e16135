/// One value decoded from a payload, before routing: which metric, its value, and its own timestamp if the
/// payload gave one (nil means "use the arrival time").
///
/// Invariant (after a decoder accepted it): `value` is finite and inside `metric.validRange`.
public struct DecodedReading: Sendable, Hashable {
    public var metric: Metric
    public var value: Double
    public var time: EventTime?

    @inlinable
    public init(metric: Metric, value: Double, time: EventTime?) {
        self.metric = metric
        self.value = value
        self.time = time
    }
}
