import StreetSenseCore

/// RFC 3339 timestamps read in place from payload bytes, with exactly the rules of StreetSenseCore's
/// `EventTime(rfc3339Bytes:)`: `YYYY-MM-DD`, `T`, `t` or a space, `hh:mm:ss`, an optional fraction after `.` or
/// `,` (rounded half up to milliseconds by its fourth digit), then `Z`, `z` or `±hh:mm`; a leap second `:60`
/// folds into the next second; a time without an offset is refused.
///
/// Why not call the core's initializer: it is generic over `Collection` and copies the text into an
/// `ArraySlice`, which costs about 180 ns per call here, as much as decoding the rest of a message. The
/// decoding tests and the fuzz harness check that both parsers agree on every input they try.
enum RFC3339Scanner {
    /// The instant the bytes of `range` denote, or nil if they are not exactly one RFC 3339 date-time.
    static func parse(_ b: Span<UInt8>, _ range: Range<Int>) -> EventTime? {
        var i = range.lowerBound
        let end = range.upperBound
        guard end - i >= 20 else { return nil }  // the shortest form: YYYY-MM-DDThh:mm:ssZ
        guard let year = digits(b, &i, 4, end), byte(b, &i, end) == ASCII.minus,
            let month = digits(b, &i, 2, end), byte(b, &i, end) == ASCII.minus,
            let day = digits(b, &i, 2, end)
        else { return nil }
        guard let separator = byte(b, &i, end),
            separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t") || separator == UInt8(ascii: " ")
        else { return nil }
        guard let hour = digits(b, &i, 2, end), byte(b, &i, end) == ASCII.colon,
            let minute = digits(b, &i, 2, end), byte(b, &i, end) == ASCII.colon,
            let second = digits(b, &i, 2, end)
        else { return nil }
        guard month >= 1, month <= 12, day >= 1, day <= daysInMonth(year, month), hour <= 23, minute <= 59,
            second <= 60
        else { return nil }
        var milliseconds: Int64 = 0
        if i < end, b[i] == ASCII.dot || b[i] == ASCII.comma {
            i += 1
            var count = 0
            var roundUp = false
            while i < end, ASCII.isDigit(b[i]) {
                let digit = Int64(b[i] &- ASCII.zero)
                if count < 3 {
                    milliseconds = milliseconds * 10 + digit
                } else if count == 3 {
                    roundUp = digit >= 5
                }
                count += 1
                i += 1
            }
            guard count > 0 else { return nil }
            for _ in min(count, 3)..<3 { milliseconds *= 10 }
            if roundUp { milliseconds += 1 }
        }
        var offsetMinutes: Int64 = 0
        guard let zone = byte(b, &i, end) else { return nil }
        switch zone {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            break
        case ASCII.plus, ASCII.minus:
            guard let offsetHours = digits(b, &i, 2, end), byte(b, &i, end) == ASCII.colon,
                let offsetMinutesPart = digits(b, &i, 2, end), offsetHours <= 23, offsetMinutesPart <= 59
            else { return nil }
            offsetMinutes = (offsetHours * 60 + offsetMinutesPart) * (zone == ASCII.minus ? -1 : 1)
        default:
            return nil
        }
        guard i == end else { return nil }
        let days = daysSinceEpoch(year, month, day)
        let millisecondOfDay = ((hour * 60 + minute) * 60 + second) * 1000 + milliseconds
        return EventTime(milliseconds: days * 86_400_000 + millisecondOfDay - offsetMinutes * 60_000)
    }

    @inline(__always)
    private static func byte(_ b: Span<UInt8>, _ i: inout Int, _ end: Int) -> UInt8? {
        guard i < end else { return nil }
        defer { i += 1 }
        return b[i]
    }

    @inline(__always)
    private static func digits(_ b: Span<UInt8>, _ i: inout Int, _ n: Int, _ end: Int) -> Int64? {
        guard i + n <= end else { return nil }
        var value: Int64 = 0
        for _ in 0..<n {
            let digit = b[i] &- ASCII.zero
            guard digit < 10 else { return nil }
            value = value * 10 + Int64(digit)
            i += 1
        }
        return value
    }

    private static func daysInMonth(_ year: Int64, _ month: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`), for years ≥ 0.
    private static func daysSinceEpoch(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * ((month + 9) % 12) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
