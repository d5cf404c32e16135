import StreetSenseCore

/// The checks every decoded value goes through, in this order, whatever the payload shape:
/// finite (`not_finite`), not an SDS011 error code on pm2_5/pm10 (`error_code`), inside the metric's valid range
/// (`out_of_range`). Time checks (`future_timestamp`) follow in the decoders, which know the reading's time.
enum ValueCheck {

    /// nil if `value` is acceptable for `metric`, else the reject. `literal` is the value's text in the payload,
    /// quoted when the value is not finite (the Double itself would just print `inf`).
    @inline(__always)
    static func problem(
        _ metric: Metric, _ value: Double, vocabulary: MetricVocabulary, literal: () -> String
    ) -> Reject? {
        guard value.isFinite else {
            return Reject(.notFinite, "\(metric.name) = \(literal()) is not finite")
        }
        if metric == .pm2_5 || metric == .pm10, value == 999.9 || value == 1999.9 {
            return Reject(.errorCode, "\(metric.name) = \(RejectText.number(value)) is an SDS011 error code")
        }
        let range = vocabulary.validRange(metric)
        guard range.contains(value) else {
            return Reject(.outOfRange, "\(metric.name) = \(RejectText.number(value)) outside \(RejectText.range(range))")
        }
        return nil
    }

    /// The reject for a value that is not a number.
    static func notNumeric(_ name: String, _ value: ScalarValue) -> Reject {
        Reject(.notNumeric, "\(name) is \(value.kindDescription), not a number")
    }

    /// The reject for a reading time too far ahead of arrival, or nil.
    @inline(__always)
    static func futureProblem(
        _ name: String, time: EventTime, arrival: EventTime, skewMilliseconds: Int64
    ) -> Reject? {
        let ahead = time.milliseconds &- arrival.milliseconds
        guard ahead > skewMilliseconds else { return nil }
        return Reject(
            .futureTimestamp,
            "\(name) at \(time.rfc3339) is \(RejectText.seconds(milliseconds: ahead)) ahead of arrival "
                + "(limit \(RejectText.seconds(milliseconds: skewMilliseconds)))")
    }
}
