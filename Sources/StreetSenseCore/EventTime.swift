/// A point in time as whole milliseconds since 1970-01-01T00:00:00Z (UTC, leap seconds ignored).
///
/// Event time is the reading's own timestamp; the pipeline's "now" is the newest event time it has seen.
/// Millisecond resolution is what the API prints and what the idempotency key (sensor, metric, t) uses.
public struct EventTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Milliseconds since the Unix epoch; negative before 1970.
    public var milliseconds: Int64

    @inlinable
    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    /// The time `seconds` after the epoch, rounded to the nearest millisecond.
    /// Returns nil for non-finite values and for times outside years 0001–9999.
    @inlinable
    public init?(unixSeconds seconds: Double) {
        guard seconds.isFinite, seconds > -62_135_596_800, seconds < 253_402_300_800 else { return nil }
        self.milliseconds = Int64((seconds * 1000).rounded())
    }

    @inlinable
    public static func < (lhs: EventTime, rhs: EventTime) -> Bool { lhs.milliseconds < rhs.milliseconds }

    @inlinable
    public static func + (lhs: EventTime, rhs: Duration) -> EventTime {
        EventTime(milliseconds: lhs.milliseconds &+ rhs.wholeMilliseconds)
    }

    @inlinable
    public static func - (lhs: EventTime, rhs: Duration) -> EventTime {
        EventTime(milliseconds: lhs.milliseconds &- rhs.wholeMilliseconds)
    }

    /// The duration from `other` to `self`.
    @inlinable
    public func since(_ other: EventTime) -> Duration {
        .milliseconds(milliseconds &- other.milliseconds)
    }

    /// Seconds since the epoch as a Double.
    public var unixSeconds: Double { Double(milliseconds) / 1000 }

    /// RFC 3339 in UTC with milliseconds: `2026-11-22T10:15:00.250Z`.
    public var description: String { rfc3339 }

    /// RFC 3339 in UTC with milliseconds: `2026-11-22T10:15:00.250Z`.
    public var rfc3339: String {
        let ms = milliseconds
        let days = floorDiv(ms, 86_400_000)
        let msOfDay = ms - days * 86_400_000
        let (y, m, d) = civil(fromDays: days)
        let hour = msOfDay / 3_600_000
        let minute = (msOfDay / 60_000) % 60
        let second = (msOfDay / 1000) % 60
        let milli = msOfDay % 1000
        var out = ""
        out.reserveCapacity(24)
        out += pad(y, 4); out += "-"; out += pad(m, 2); out += "-"; out += pad(d, 2)
        out += "T"; out += pad(hour, 2); out += ":"; out += pad(minute, 2); out += ":"; out += pad(second, 2)
        out += "."; out += pad(milli, 3); out += "Z"
        return out
    }

    /// Parses RFC 3339 (`2026-11-22T10:15:00.250Z`, `2026-11-22T12:15:00+02:00`; `t` and a space are accepted
    /// as the date-time separator, lower-case `z` as UTC). Fractions beyond milliseconds are rounded half up.
    /// A time without an offset is rejected: it is ambiguous.
    public init?(rfc3339 text: some StringProtocol) {
        var bytes = Array(text.utf8)[...]
        guard let value = EventTime.parseRFC3339(&bytes), bytes.isEmpty else { return nil }
        self = value
    }

    /// Parses RFC 3339 from UTF-8 bytes. See ``init(rfc3339:)``.
    public init?(rfc3339Bytes bytes: some Collection<UInt8>) {
        var slice = ArraySlice(bytes)
        guard let value = EventTime.parseRFC3339(&slice), slice.isEmpty else { return nil }
        self = value
    }

    /// Parses a civil date-time without an offset as UTC (`2017-10-31T00:00:16`, `2017-10-31 00:00:16`), as
    /// Sensor.Community's CSV files write it. Returns nil if an offset is present or the text is invalid.
    public init?(utcDateTimeWithoutOffset text: some StringProtocol) {
        var bytes = Array(text.utf8)[...]
        guard let (days, ms) = EventTime.parseDateTime(&bytes), bytes.isEmpty else { return nil }
        self.milliseconds = days * 86_400_000 + ms
    }

    static func parseRFC3339(_ bytes: inout ArraySlice<UInt8>) -> EventTime? {
        guard let (days, ms) = parseDateTime(&bytes) else { return nil }
        // Offset.
        guard let first = bytes.popFirst() else { return nil }
        var offsetMinutes: Int64 = 0
        switch first {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            offsetMinutes = 0
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard let oh = digits(&bytes, 2), bytes.popFirst() == UInt8(ascii: ":"), let om = digits(&bytes, 2),
                oh <= 23, om <= 59
            else { return nil }
            offsetMinutes = (oh * 60 + om) * (first == UInt8(ascii: "-") ? -1 : 1)
        default:
            return nil
        }
        return EventTime(milliseconds: days * 86_400_000 + ms - offsetMinutes * 60_000)
    }

    /// Parses `YYYY-MM-DD[T ]hh:mm:ss[.fraction]`, returning days since the epoch and milliseconds of the day.
    static func parseDateTime(_ bytes: inout ArraySlice<UInt8>) -> (Int64, Int64)? {
        guard let y = digits(&bytes, 4), bytes.popFirst() == UInt8(ascii: "-"),
            let mo = digits(&bytes, 2), bytes.popFirst() == UInt8(ascii: "-"),
            let d = digits(&bytes, 2)
        else { return nil }
        guard let sep = bytes.popFirst(), sep == UInt8(ascii: "T") || sep == UInt8(ascii: "t") || sep == UInt8(ascii: " ")
        else { return nil }
        guard let h = digits(&bytes, 2), bytes.popFirst() == UInt8(ascii: ":"),
            let mi = digits(&bytes, 2), bytes.popFirst() == UInt8(ascii: ":"),
            let s = digits(&bytes, 2)
        else { return nil }
        guard (1...12).contains(mo), d >= 1, d <= daysInMonth(y, mo), h <= 23, mi <= 59, s <= 60 else { return nil }
        var ms: Int64 = 0
        if bytes.first == UInt8(ascii: ".") || bytes.first == UInt8(ascii: ",") {
            bytes.removeFirst()
            var fractionDigits = 0
            var roundUp = false
            while let c = bytes.first, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
                bytes.removeFirst()
                let digit = Int64(c - UInt8(ascii: "0"))
                if fractionDigits < 3 {
                    ms = ms * 10 + digit
                } else if fractionDigits == 3 {
                    roundUp = digit >= 5  // the first digit beyond milliseconds decides rounding
                }
                fractionDigits += 1
            }
            guard fractionDigits > 0 else { return nil }
            for _ in min(fractionDigits, 3)..<3 { ms *= 10 }
            if roundUp { ms += 1 }
        }
        let days = days(fromCivil: y, mo, d)
        // A leap second (:60) is folded into the next second.
        return (days, ((h * 60 + mi) * 60 + s) * 1000 + ms)
    }

    private static func digits(_ bytes: inout ArraySlice<UInt8>, _ n: Int) -> Int64? {
        var value: Int64 = 0
        for _ in 0..<n {
            guard let c = bytes.popFirst(), c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(c - UInt8(ascii: "0"))
        }
        return value
    }

    private static func daysInMonth(_ y: Int64, _ m: Int64) -> Int64 {
        switch m {
        case 2: (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

extension Duration {
    /// The duration in whole milliseconds, truncated toward zero.
    @inlinable
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds &* 1000 &+ attoseconds / 1_000_000_000_000_000
    }

    /// The duration in whole nanoseconds, truncated toward zero.
    @inlinable
    public var wholeNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000
    }
}

@inlinable
func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = floorDiv(y, 400)
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
    let z = z0 + 719_468
    let era = floorDiv(z, 146_097)
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d)
}

private func pad(_ value: Int64, _ width: Int) -> String {
    let s = String(value)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}
