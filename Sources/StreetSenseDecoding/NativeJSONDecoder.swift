import StreetSenseCore

/// Decodes StreetSense's native payload: one JSON object of metric values and an optional time.
///
/// ```json
/// {"t": "2026-11-22T10:15:00.250Z", "people": 134}
/// {"t": 1795342500.25, "pm2_5": 12.3, "pm10": 20.1, "no2": 31}
/// {"t": "2025-08-20 00:03:00+02:00", "people_in": 12, "people_out": 9, "interval_s": 60, "seq": 41}
/// ```
///
/// Rules (DESIGN §2):
/// - `t` is RFC 3339 with an offset (a string) or Unix seconds (a number) and applies to every value; without it
///   the readings have no time (the caller uses arrival). A `t` that is not a valid time throws `bad_timestamp`:
///   no value of the message has a usable time then. A `t` more than ``maximumFutureSkew`` ahead of arrival
///   rejects each value `future_timestamp`.
/// - `interval_s` (a positive number) and `seq` (a non-negative integer) are metadata, reported in
///   ``DecodeOutput/intervalSeconds`` and ``DecodeOutput/sequence``; a bad one is a per-value reject.
/// - Every other key must be a metric name of the vocabulary (`unknown_metric` otherwise) with a number value
///   (`not_numeric` for strings, booleans, null, objects, arrays); the bare tokens `NaN`, `Infinity` and
///   `-Infinity` and literals beyond the Double range are `not_finite`; then `error_code` and `out_of_range`.
/// - A key given twice throws `malformed_json`: Foundation's JSONDecoder silently keeps the first copy, so
///   which value a sender meant is ambiguous, and an idempotent pipeline must not guess.
/// - An object without any metric key throws `no_readings`.
public struct NativeJSONDecoder: ReadingDecoder {
    /// How far a reading's time may be ahead of its arrival.
    public var maximumFutureSkew: Duration {
        didSet { skewMilliseconds = maximumFutureSkew.wholeMilliseconds }
    }
    /// ``maximumFutureSkew`` in milliseconds (`Duration`'s 128-bit arithmetic is too slow for every message).
    private var skewMilliseconds: Int64

    public init(maximumFutureSkew: Duration = EventTimePolicy.default.maximumFutureSkew) {
        self.maximumFutureSkew = maximumFutureSkew
        self.skewMilliseconds = maximumFutureSkew.wholeMilliseconds
    }

    public func decode(
        _ payload: Span<UInt8>, sensor: SensorAddress, arrival: EventTime, into output: inout DecodeOutput
    ) throws(Reject) {
        let mark = output.mark
        do {
            try decodeObject(payload, arrival: arrival, into: &output)
        } catch {
            output.rollBack(to: mark)
            throw error
        }
    }

    /// What a key of the object means.
    private enum Key {
        case metric(Metric)
        case time
        case interval
        case sequence
        case other
    }

    private static let timeKey: [UInt8] = Array("t".utf8)
    private static let intervalKey: [UInt8] = Array("interval_s".utf8)
    private static let sequenceKey: [UInt8] = Array("seq".utf8)

    @inline(__always)
    private static func classify(_ b: Span<UInt8>, _ range: Range<Int>, _ vocabulary: MetricVocabulary) -> Key {
        if let metric = vocabulary.metric(named: b, range) { return .metric(metric) }
        switch range.count {
        case 1 where b[range.lowerBound] == UInt8(ascii: "t"): return .time
        case 3 where MetricVocabulary.equal(b, range.lowerBound, sequenceKey): return .sequence
        case 10 where MetricVocabulary.equal(b, range.lowerBound, intervalKey): return .interval
        default: return .other
        }
    }

    private func decodeObject(_ b: Span<UInt8>, arrival: EventTime, into output: inout DecodeOutput) throws(Reject) {
        let vocabulary = MetricVocabulary.shared
        var scanner = JSONScanner()
        scanner.skipWhitespace(b)
        try scanner.expect(ASCII.openBrace, b, "a JSON object")
        scanner.skipWhitespace(b)
        if scanner.consume(ASCII.closeBrace, b) {
            try scanner.expectEnd(b)
            throw Reject(.noReadings, "empty object")
        }
        let firstReading = output.readings.count
        var seenMetrics: UInt64 = 0
        var seenTime = false
        var seenInterval = false
        var seenSequence = false
        var time: EventTime? = nil
        var values = 0
        if !output.otherKeys.isEmpty { output.otherKeys.removeAll(keepingCapacity: true) }

        repeat {
            let key = try scanner.scanKey(b)
            let meaning: Key
            if key.hasEscapes {
                output.text.removeAll(keepingCapacity: true)
                JSONScanner.appendDecoded(key, b, to: &output.text)
                meaning = NativeJSONDecoder.classify(output.text.span, 0..<output.text.count, vocabulary)
            } else {
                meaning = NativeJSONDecoder.classify(b, key.range, vocabulary)
            }
            switch meaning {
            case .metric(let metric):
                let bit: UInt64 = 1 << UInt64(metric.rawValue)
                guard seenMetrics & bit == 0 else { throw duplicate(key, b) }
                seenMetrics |= bit
                values += 1
                let value = try scanner.scanScalar(b, depth: 1)
                switch value {
                case .number(let number, let literal):
                    if let reject = ValueCheck.problem(metric, number, vocabulary: vocabulary, literal: { RejectText.excerpt(b, literal) }) {
                        output.rejects.append(reject)
                    } else {
                        output.readings.append(DecodedReading(metric: metric, value: number, time: nil))
                    }
                case .nonFinite(let literal):
                    output.rejects.append(Reject(.notFinite, "\(metric.name) = \(RejectText.excerpt(b, literal)) is not finite"))
                default:
                    output.rejects.append(ValueCheck.notNumeric(metric.name, value))
                }
            case .time:
                guard !seenTime else { throw duplicate(key, b) }
                seenTime = true
                time = try parseTime(try scanner.scanScalar(b, depth: 1), b, into: &output)
                output.noteTime(time)
            case .interval:
                guard !seenInterval else { throw duplicate(key, b) }
                seenInterval = true
                let value = try scanner.scanScalar(b, depth: 1)
                if case .number(let seconds, _) = value, seconds.isFinite, seconds > 0 {
                    output.intervalSeconds = seconds
                } else if case .number(let seconds, let literal) = value, !seconds.isFinite {
                    output.rejects.append(Reject(.notFinite, "interval_s = \(RejectText.excerpt(b, literal)) is not finite"))
                } else if case .number(let seconds, _) = value {
                    output.rejects.append(Reject(.outOfRange, "interval_s = \(RejectText.number(seconds)) is not a positive number"))
                } else if case .nonFinite(let literal) = value {
                    output.rejects.append(Reject(.notFinite, "interval_s = \(RejectText.excerpt(b, literal)) is not finite"))
                } else {
                    output.rejects.append(ValueCheck.notNumeric("interval_s", value))
                }
            case .sequence:
                guard !seenSequence else { throw duplicate(key, b) }
                seenSequence = true
                let value = try scanner.scanScalar(b, depth: 1)
                if case .number(let number, _) = value, number >= 0, number <= 9_007_199_254_740_992,
                    number == number.rounded()
                {
                    output.sequence = UInt64(number)
                } else if case .number(let number, let literal) = value, !number.isFinite {
                    output.rejects.append(Reject(.notFinite, "seq = \(RejectText.excerpt(b, literal)) is not finite"))
                } else if case .number(let number, _) = value {
                    output.rejects.append(Reject(.outOfRange, "seq = \(RejectText.number(number)) is not an integer in 0…2^53"))
                } else if case .nonFinite(let literal) = value {
                    output.rejects.append(Reject(.notFinite, "seq = \(RejectText.excerpt(b, literal)) is not finite"))
                } else {
                    output.rejects.append(ValueCheck.notNumeric("seq", value))
                }
            case .other:
                guard output.otherKeys.count < JSONScanner.maximumOtherKeys else {
                    throw Reject(.malformedJSON, "more than \(JSONScanner.maximumOtherKeys) keys that are not metrics")
                }
                for earlier in output.otherKeys where JSONScanner.decodedEqual(earlier, key, b) {
                    throw duplicate(key, b)
                }
                output.otherKeys.append(key)
                values += 1
                try scanner.skipValue(b, depth: 1)
                output.rejects.append(Reject(.unknownMetric, "key \"\(RejectText.excerpt(b, key.range))\" is not a metric"))
            }
        } while try scanner.separatorOrEnd(ASCII.closeBrace, b)
        try scanner.expectEnd(b)

        guard values > 0 else { throw Reject(.noReadings, "no metric in the object") }
        if let time {
            try apply(time, arrival: arrival, from: firstReading, into: &output)
        }
    }

    /// Sets the message's time on its readings, moving them to the rejects if it is too far in the future.
    private func apply(_ time: EventTime, arrival: EventTime, from first: Int, into output: inout DecodeOutput) throws(Reject) {
        let skew = skewMilliseconds
        if ValueCheck.futureProblem("t", time: time, arrival: arrival, skewMilliseconds: skew) != nil {
            for reading in output.readings[first...] {
                output.rejects.append(
                    ValueCheck.futureProblem(reading.metric.name, time: time, arrival: arrival, skewMilliseconds: skew)!)
            }
            output.readings.removeSubrange(first...)
            return
        }
        for k in first..<output.readings.count {
            output.readings[k].time = time
        }
    }

    /// The time of `t`: RFC 3339 text with an offset, or Unix seconds.
    private func parseTime(_ value: ScalarValue, _ b: Span<UInt8>, into output: inout DecodeOutput) throws(Reject) -> EventTime {
        switch value {
        case .string(let token):
            let parsed: EventTime?
            if token.hasEscapes {
                output.text.removeAll(keepingCapacity: true)
                JSONScanner.appendDecoded(token, b, to: &output.text)
                parsed = RFC3339Scanner.parse(output.text.span, 0..<output.text.count)
            } else {
                parsed = RFC3339Scanner.parse(b, token.range)
            }
            guard let time = parsed else {
                throw Reject(.badTimestamp, "t \"\(RejectText.excerpt(b, token.range))\" is not RFC 3339 with an offset")
            }
            return time
        case .number(let seconds, let literal):
            guard let time = EventTime(unixSeconds: seconds) else {
                throw Reject(.badTimestamp, "t = \(RejectText.excerpt(b, literal)) is not Unix seconds in years 0001–9999")
            }
            return time
        case .nonFinite(let literal):
            throw Reject(.badTimestamp, "t = \(RejectText.excerpt(b, literal)) is not a time")
        default:
            throw Reject(.badTimestamp, "t is \(value.kindDescription), not a time")
        }
    }

    private func duplicate(_ key: StringToken, _ b: Span<UInt8>) -> Reject {
        Reject(.malformedJSON, "duplicate key \"\(RejectText.excerpt(b, key.range))\"")
    }
}
