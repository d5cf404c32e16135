import StreetSenseCore

/// Decodes SenML JSON (RFC 8428): an array of records whose base fields apply to the records after them.
///
/// ```json
/// [{"bn": "cam-7/", "bt": 1795342500, "bu": "count", "n": "people", "v": 134},
///  {"n": "people", "t": 60, "v": 141}]
/// ```
///
/// Fields read: `bn`, `bt`, `bu`, `bv`, `bs`, `bver`, `n`, `u`, `v`, `vs`, `vb`, `vd`, `s`, `t`, `ut`. Other fields
/// are ignored, as RFC 8428 §4.4 asks, unless their label ends in `_` ("must understand"): those throw
/// `malformed_json`. A field given twice in one record throws `malformed_json`.
///
/// Each record:
/// - **Name** = `bn` + `n`. Where the name contains `/` or `:`, the part after the last of them is the metric and
///   the part before it must identify the topic's sensor, else the whole message throws `identity_mismatch`.
///   Accepted identifying prefixes (shown with the separator): none (`pm10`), `{sensor}/`, `{sensor}:`,
///   `{pilot}/{sensor}/`, `{pilot}/{sensor}:`, and `urn:dev:…:{sensor}:` (any URN of the `dev` namespace whose
///   last component is the sensor id, e.g. `urn:dev:mac:0024befffe804ff1:cam-7:`). A metric part outside the
///   vocabulary is `unknown_metric`.
/// - **Value** = `bv` + `v`; a record with `vs`, `vb` or `vd` (or only a sum `s`, or nothing) instead is
///   `not_numeric`; more than one of `v`/`vs`/`vb`/`vd` throws `malformed_json`.
/// - **Unit** = `u`, else `bu`; when present it must fit the metric (`Metric.accepts(unit:)`), else
///   `unit_mismatch`; a missing unit is accepted.
/// - **Time** = `bt` + `t` seconds; a sum below 2^28 is relative to arrival (RFC 8428 §4.5.3), otherwise Unix
///   time. With neither `bt` nor `t` the reading has no time (arrival is used). A `t` that is not a number, or a
///   time outside years 0001–9999, is `bad_timestamp`; more than ``maximumFutureSkew`` ahead of arrival is
///   `future_timestamp`.
/// - A record with neither a name nor a value field holds only base fields and is not a reading.
///
/// Base fields of the wrong JSON type throw: `bt` → `bad_timestamp`, the others → `malformed_json`. A pack with
/// no record that names or carries a value throws `no_readings`.
public struct SenMLDecoder: ReadingDecoder {
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

    /// Times below this many seconds are relative to now (RFC 8428 §4.5.3).
    static let relativeTimeLimit: Double = 268_435_456  // 2^28

    public func decode(
        _ payload: Span<UInt8>, sensor: SensorAddress, arrival: EventTime, into output: inout DecodeOutput
    ) throws(Reject) {
        let mark = output.mark
        do {
            try decodePack(payload, sensor: sensor, arrival: arrival, into: &output)
        } catch {
            output.rollBack(to: mark)
            throw error
        }
    }

    /// The SenML labels, numbered for the duplicate bit mask.
    private enum Field: UInt16 {
        case bn, bt, bu, bv, bs, bver, n, u, v, vs, vb, vd, s, t, ut
    }

    @inline(__always)
    private static func classify(_ b: Span<UInt8>, _ range: Range<Int>) -> Field? {
        let i = range.lowerBound
        switch range.count {
        case 1:
            switch b[i] {
            case UInt8(ascii: "n"): return .n
            case UInt8(ascii: "u"): return .u
            case UInt8(ascii: "v"): return .v
            case UInt8(ascii: "s"): return .s
            case UInt8(ascii: "t"): return .t
            default: return nil
            }
        case 2:
            switch (b[i], b[i + 1]) {
            case (UInt8(ascii: "b"), UInt8(ascii: "n")): return .bn
            case (UInt8(ascii: "b"), UInt8(ascii: "t")): return .bt
            case (UInt8(ascii: "b"), UInt8(ascii: "u")): return .bu
            case (UInt8(ascii: "b"), UInt8(ascii: "v")): return .bv
            case (UInt8(ascii: "b"), UInt8(ascii: "s")): return .bs
            case (UInt8(ascii: "v"), UInt8(ascii: "s")): return .vs
            case (UInt8(ascii: "v"), UInt8(ascii: "b")): return .vb
            case (UInt8(ascii: "v"), UInt8(ascii: "d")): return .vd
            case (UInt8(ascii: "u"), UInt8(ascii: "t")): return .ut
            default: return nil
            }
        case 4:
            return b[i] == UInt8(ascii: "b") && b[i + 1] == UInt8(ascii: "v") && b[i + 2] == UInt8(ascii: "e")
                && b[i + 3] == UInt8(ascii: "r") ? .bver : nil
        default:
            return nil
        }
    }

    /// The base fields in force: they persist from the record that sets them to the end of the pack. Names and
    /// units stay where they are in the payload.
    private struct Base {
        var name: StringToken?
        /// Whether `name`, less its final separator, identifies the topic's sensor; nil until checked.
        var nameIdentifiesSensor: Bool?
        var unit: StringToken?
        var time: Double?
        var value: Double = 0
    }

    /// One record's own fields, as read.
    private struct Record {
        var seen: UInt16 = 0
        var name: StringToken?
        var unit: StringToken?
        var value: ScalarValue?
        var otherValue: Field?  // vs, vb or vd
        var hasSum = false
        var time: ScalarValue?

        var hasValueField: Bool { value != nil || otherValue != nil || hasSum }
    }

    private func decodePack(
        _ b: Span<UInt8>, sensor: SensorAddress, arrival: EventTime, into output: inout DecodeOutput
    ) throws(Reject) {
        var scanner = JSONScanner()
        scanner.skipWhitespace(b)
        try scanner.expect(ASCII.openBracket, b, "a SenML array")
        scanner.skipWhitespace(b)
        if scanner.consume(ASCII.closeBracket, b) {
            try scanner.expectEnd(b)
            throw Reject(.noReadings, "empty SenML pack")
        }
        var base = Base()
        var values = 0
        repeat {
            scanner.skipWhitespace(b)
            try scanner.expect(ASCII.openBrace, b, "a SenML record (an object)")
            let record = try readRecord(&scanner, b, base: &base, into: &output)
            guard record.name != nil || record.hasValueField else { continue }  // base fields only
            values += 1
            try resolve(record, b, base: &base, sensor: sensor, arrival: arrival, into: &output)
        } while try scanner.separatorOrEnd(ASCII.closeBracket, b)
        try scanner.expectEnd(b)
        guard values > 0 else { throw Reject(.noReadings, "no SenML record with a name or a value") }
    }

    /// Reads the fields of one record (the cursor is after its `{`), updating the base fields it sets.
    private func readRecord(
        _ scanner: inout JSONScanner, _ b: Span<UInt8>, base: inout Base, into output: inout DecodeOutput
    ) throws(Reject) -> Record {
        var record = Record()
        scanner.skipWhitespace(b)
        if scanner.consume(ASCII.closeBrace, b) { return record }
        if !output.otherKeys.isEmpty { output.otherKeys.removeAll(keepingCapacity: true) }
        repeat {
            let key = try scanner.scanKey(b)
            let field: Field?
            if key.hasEscapes {
                output.text.removeAll(keepingCapacity: true)
                JSONScanner.appendDecoded(key, b, to: &output.text)
                field = SenMLDecoder.classify(output.text.span, 0..<output.text.count)
            } else {
                field = SenMLDecoder.classify(b, key.range)
            }
            guard let field else {
                // The last byte of the decoded label (escaped labels were decoded into output.text above).
                let last = key.hasEscapes ? output.text.last : key.range.isEmpty ? nil : b[key.range.upperBound - 1]
                try skipOtherField(key, mustUnderstand: last == ASCII.underscore, &scanner, b, into: &output)
                continue
            }
            let bit: UInt16 = 1 << field.rawValue
            guard record.seen & bit == 0 else {
                throw Reject(.malformedJSON, "duplicate field \"\(RejectText.excerpt(b, key.range))\" in a SenML record")
            }
            record.seen |= bit
            switch field {
            case .bn:
                base.name = try string(&scanner, b, "bn")
                base.nameIdentifiesSensor = nil
            case .bu:
                base.unit = try string(&scanner, b, "bu")
            case .bt:
                let value = try scanner.scanScalar(b, depth: 2)
                guard case .number(let seconds, _) = value, seconds.isFinite else {
                    throw Reject(.badTimestamp, "bt is \(describe(value, b)), not a finite number")
                }
                base.time = seconds
            case .bv:
                base.value = try number(&scanner, b, "bv")
            case .bs:
                _ = try number(&scanner, b, "bs")
            case .bver:
                let version = try number(&scanner, b, "bver")
                guard version >= 1, version <= 10, version == version.rounded() else {
                    throw Reject(.malformedJSON, "SenML version bver = \(RejectText.number(version)) is not supported (1…10)")
                }
            case .n:
                record.name = try string(&scanner, b, "n")
            case .u:
                record.unit = try string(&scanner, b, "u")
            case .v, .vs, .vb, .vd:
                guard record.value == nil && record.otherValue == nil else {
                    throw Reject(.malformedJSON, "SenML record with more than one value field")
                }
                if field == .v {
                    record.value = try scanner.scanScalar(b, depth: 2)
                } else {
                    try scanner.skipValue(b, depth: 2)
                    record.otherValue = field
                }
            case .s:
                _ = try number(&scanner, b, "s")
                record.hasSum = true
            case .t:
                record.time = try scanner.scanScalar(b, depth: 2)
            case .ut:
                _ = try number(&scanner, b, "ut")
            }
        } while try scanner.separatorOrEnd(ASCII.closeBrace, b)
        return record
    }

    /// Ignores a field StreetSense does not read, unless it is a must-understand field or a duplicate.
    private func skipOtherField(
        _ key: StringToken, mustUnderstand: Bool, _ scanner: inout JSONScanner, _ b: Span<UInt8>,
        into output: inout DecodeOutput
    ) throws(Reject) {
        let range = key.range
        if mustUnderstand {
            throw Reject(.malformedJSON, "SenML must-understand field \"\(RejectText.excerpt(b, range))\" is not supported")
        }
        guard output.otherKeys.count < JSONScanner.maximumOtherKeys else {
            throw Reject(.malformedJSON, "more than \(JSONScanner.maximumOtherKeys) unknown fields in a SenML record")
        }
        for earlier in output.otherKeys where JSONScanner.decodedEqual(earlier, key, b) {
            throw Reject(.malformedJSON, "duplicate field \"\(RejectText.excerpt(b, range))\" in a SenML record")
        }
        output.otherKeys.append(key)
        try scanner.skipValue(b, depth: 2)
    }

    private func string(_ scanner: inout JSONScanner, _ b: Span<UInt8>, _ label: String) throws(Reject) -> StringToken {
        let value = try scanner.scanScalar(b, depth: 2)
        guard case .string(let token) = value else {
            throw Reject(.malformedJSON, "SenML \(label) is \(describe(value, b)), not a string")
        }
        return token
    }

    private func number(_ scanner: inout JSONScanner, _ b: Span<UInt8>, _ label: String) throws(Reject) -> Double {
        let value = try scanner.scanScalar(b, depth: 2)
        guard case .number(let number, _) = value, number.isFinite else {
            throw Reject(.malformedJSON, "SenML \(label) is \(describe(value, b)), not a finite number")
        }
        return number
    }

    private func describe(_ value: ScalarValue, _ b: Span<UInt8>) -> String {
        switch value {
        case .number(_, let literal), .nonFinite(let literal): RejectText.excerpt(b, literal)
        default: value.kindDescription
        }
    }

    /// Turns one record into a reading or a per-value reject.
    private func resolve(
        _ record: Record, _ b: Span<UInt8>, base: inout Base, sensor: SensorAddress, arrival: EventTime,
        into output: inout DecodeOutput
    ) throws(Reject) {
        let vocabulary = MetricVocabulary.shared
        guard let metric = try metric(of: record, b, base: &base, sensor: sensor, vocabulary, into: &output) else {
            return
        }
        // Value = bv + v.
        guard let value = record.value else {
            let what =
                switch record.otherValue {
                case .vs: "a string value (vs)"
                case .vb: "a boolean value (vb)"
                case .vd: "a data value (vd)"
                default: record.hasSum ? "only a sum (s)" : "no value"
                }
            output.rejects.append(Reject(.notNumeric, "\(metric.name) has \(what), not a number (v)"))
            return
        }
        let number: Double
        let literal: Range<Int>
        switch value {
        case .number(let v, let range):
            number = base.value + v
            literal = range
        case .nonFinite(let range):
            output.rejects.append(Reject(.notFinite, "\(metric.name) = \(RejectText.excerpt(b, range)) is not finite"))
            return
        default:
            output.rejects.append(ValueCheck.notNumeric(metric.name, value))
            return
        }
        // Time = bt + t.
        var time: EventTime? = nil
        if record.time != nil || base.time != nil {
            var seconds = base.time ?? 0
            if let recordTime = record.time {
                guard case .number(let t, _) = recordTime else {
                    output.rejects.append(Reject(.badTimestamp, "\(metric.name) t is \(describe(recordTime, b)), not a number"))
                    return
                }
                seconds += t
            }
            guard let resolved = SenMLDecoder.time(seconds, arrival: arrival) else {
                output.rejects.append(
                    Reject(.badTimestamp, "\(metric.name) time \(RejectText.number(seconds)) s is outside years 0001–9999"))
                return
            }
            time = resolved
            output.noteTime(resolved)
        }
        // Unit = u, else bu.
        if let unit = record.unit ?? base.unit {
            let accepted: Bool
            if unit.hasEscapes {
                output.text.removeAll(keepingCapacity: true)
                JSONScanner.appendDecoded(unit, b, to: &output.text)
                accepted = vocabulary.accepts(metric, unit: output.text.span, 0..<output.text.count)
            } else {
                accepted = vocabulary.accepts(metric, unit: b, unit.range)
            }
            guard accepted else {
                output.rejects.append(
                    Reject(.unitMismatch, "unit \"\(RejectText.excerpt(b, unit.range))\" does not fit \(metric.name) (\(metric.unit))"))
                return
            }
        }
        if let reject = ValueCheck.problem(
            metric, number, vocabulary: vocabulary,
            literal: { base.value == 0 ? RejectText.excerpt(b, literal) : "bv + v = \(number)" })
        {
            output.rejects.append(reject)
            return
        }
        if let time,
            let reject = ValueCheck.futureProblem(
                metric.name, time: time, arrival: arrival, skewMilliseconds: skewMilliseconds)
        {
            output.rejects.append(reject)
            return
        }
        output.readings.append(DecodedReading(metric: metric, value: number, time: time))
    }

    /// Earliest and latest instants EventTime represents (years 0001–9999), in milliseconds.
    private static let earliestMilliseconds: Int64 = -62_135_596_800_000
    private static let latestMilliseconds: Int64 = 253_402_300_800_000

    /// The instant of a resolved SenML time: relative to arrival below 2^28 s, else Unix seconds.
    static func time(_ seconds: Double, arrival: EventTime) -> EventTime? {
        guard seconds.isFinite else { return nil }
        guard seconds < relativeTimeLimit else { return EventTime(unixSeconds: seconds) }
        let offset = (seconds * 1000).rounded()
        guard offset > -1e15 else { return nil }  // farther back than year 0001 from any arrival
        let milliseconds = arrival.milliseconds &+ Int64(offset)
        guard milliseconds > earliestMilliseconds, milliseconds < latestMilliseconds else { return nil }
        return EventTime(milliseconds: milliseconds)
    }

    /// The metric a record names, or nil after appending an `unknown_metric` reject. Throws `identity_mismatch`
    /// when the name's prefix names another sensor.
    ///
    /// The usual pack (`bn` ending in `/` or `:`, `n` a bare metric name, neither escaped) is resolved where it
    /// lies, checking `bn` against the sensor once per pack; anything else is concatenated into scratch space.
    private func metric(
        of record: Record, _ b: Span<UInt8>, base: inout Base, sensor: SensorAddress, _ vocabulary: MetricVocabulary,
        into output: inout DecodeOutput
    ) throws(Reject) -> Metric? {
        let n = record.name ?? StringToken(range: 0..<0, hasEscapes: false)
        if !n.hasEscapes, base.name?.hasEscapes != true, !SenMLDecoder.containsSeparator(b, n.range) {
            if let bn = base.name, !bn.range.isEmpty {
                if SenMLDecoder.isSeparator(b[bn.range.upperBound - 1]) {
                    if base.nameIdentifiesSensor == nil {
                        base.nameIdentifiesSensor = SenMLDecoder.identifies(
                            b, bn.range.lowerBound..<bn.range.upperBound - 1, sensor)
                    }
                    guard base.nameIdentifiesSensor == true else {
                        throw identityMismatch(record, b, base: base, sensor: sensor, into: &output)
                    }
                    if let metric = vocabulary.metric(named: b, n.range) { return metric }
                    output.rejects.append(unknownMetric(record, b, base: base, into: &output))
                    return nil
                }
            } else {
                guard !n.range.isEmpty else {
                    output.rejects.append(Reject(.unknownMetric, "SenML record without a name"))
                    return nil
                }
                if let metric = vocabulary.metric(named: b, n.range) { return metric }
                output.rejects.append(unknownMetric(record, b, base: base, into: &output))
                return nil
            }
        }
        // General case: resolve bn + n in scratch space.
        resolvedName(record, b, base: base, into: &output)
        let outcome = try SenMLDecoder.metric(named: output.text.span, sensor: sensor, vocabulary)
        switch outcome {
        case .success(let metric):
            return metric
        case .failure(let reject):
            output.rejects.append(reject)
            return nil
        }
    }

    /// The metric a whole resolved name denotes, or the `unknown_metric` reject; throws `identity_mismatch`.
    private static func metric(
        named name: Span<UInt8>, sensor: SensorAddress, _ vocabulary: MetricVocabulary
    ) throws(Reject) -> Result<Metric, Reject> {
        var separator = name.count - 1
        while separator >= 0, !isSeparator(name[separator]) { separator -= 1 }
        if separator >= 0, !identifies(name, 0..<separator, sensor) {
            throw Reject(
                .identityMismatch, "name \"\(RejectText.excerpt(name, 0..<name.count))\" does not name sensor \(sensor.sensor)")
        }
        if let metric = vocabulary.metric(named: name, separator + 1..<name.count) { return .success(metric) }
        if name.count == 0 { return .failure(Reject(.unknownMetric, "SenML record without a name")) }
        return .failure(Reject(.unknownMetric, "name \"\(RejectText.excerpt(name, 0..<name.count))\" is not a metric"))
    }

    /// Puts the decoded `bn` + `n` of a record into `output.text`.
    private func resolvedName(_ record: Record, _ b: Span<UInt8>, base: Base, into output: inout DecodeOutput) {
        output.text.removeAll(keepingCapacity: true)
        if let bn = base.name { JSONScanner.appendDecoded(bn, b, to: &output.text) }
        if let n = record.name { JSONScanner.appendDecoded(n, b, to: &output.text) }
    }

    private func unknownMetric(_ record: Record, _ b: Span<UInt8>, base: Base, into output: inout DecodeOutput) -> Reject {
        resolvedName(record, b, base: base, into: &output)
        return Reject(.unknownMetric, "name \"\(RejectText.excerpt(output.text))\" is not a metric")
    }

    private func identityMismatch(
        _ record: Record, _ b: Span<UInt8>, base: Base, sensor: SensorAddress, into output: inout DecodeOutput
    ) -> Reject {
        resolvedName(record, b, base: base, into: &output)
        return Reject(.identityMismatch, "name \"\(RejectText.excerpt(output.text))\" does not name sensor \(sensor.sensor)")
    }

    @inline(__always)
    private static func isSeparator(_ byte: UInt8) -> Bool { byte == ASCII.slash || byte == ASCII.colon }

    private static func containsSeparator(_ b: Span<UInt8>, _ range: Range<Int>) -> Bool {
        for i in range where isSeparator(b[i]) { return true }
        return false
    }

    private static let urnPrefix: [UInt8] = Array("urn:dev:".utf8)

    /// Whether the name prefix `range` (without its final separator) identifies `sensor`: `{sensor}`,
    /// `{pilot}/{sensor}`, or `urn:dev:…:{sensor}`.
    static func identifies(_ name: Span<UInt8>, _ range: Range<Int>, _ sensor: SensorAddress) -> Bool {
        let id = sensor.sensor.utf8Span.span
        let count = range.count
        let idCount = id.count
        guard count >= idCount, MetricVocabulary.equal(name, range.upperBound - idCount..<range.upperBound, id) else {
            return false
        }
        if count == idCount { return true }
        let before = range.upperBound - idCount - 1  // the separator before the sensor id
        if name[before] == ASCII.slash {
            return MetricVocabulary.equal(name, range.lowerBound..<before, sensor.pilot.utf8Span.span)
        }
        if name[before] == ASCII.colon {
            return count >= urnPrefix.count + idCount && MetricVocabulary.equal(name, range.lowerBound, urnPrefix)
        }
        return false
    }
}
