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
        let s = range.lowerBound
        let end = range.upperBound
        // The fixed part, `YYYY-MM-DDThh:mm:ss`, read at fixed offsets.
        guard end - s >= 20, end <= b.count else { return nil }  // the shortest form: YYYY-MM-DDThh:mm:ssZ
        guard b[s + 4] == ASCII.minus, b[s + 7] == ASCII.minus, b[s + 13] == ASCII.colon, b[s + 16] == ASCII.colon
        else { return nil }
        let separator = b[s + 10]
        guard separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t") || separator == UInt8(ascii: " ") else {
            return nil
        }
        guard let year = number(b, s, 4), let month = number(b, s + 5, 2), let day = number(b, s + 8, 2),
            let hour = number(b, s + 11, 2), let minute = number(b, s + 14, 2), let second = number(b, s + 17, 2)
        else { return nil }
        guard month >= 1, month <= 12, day >= 1, day <= daysInMonth(year, month), hour <= 23, minute <= 59,
            second <= 60
        else { return nil }
        var i = s + 19
        var milliseconds: Int64 = 0
        if b[i] == ASCII.dot || b[i] == ASCII.comma {
            i += 1
            var count = 0
            var roundUp = false
            while i < end {
                let digit = b[i] &- ASCII.zero
                guard digit < 10 else { break }
                if count < 3 {
                    milliseconds = milliseconds &* 10 &+ Int64(digit)
                } else if count == 3 {
                    roundUp = digit >= 5
                }
                count += 1
                i += 1
            }
            guard count > 0, i < end else { return nil }
            for _ in min(count, 3)..<3 { milliseconds &*= 10 }
            if roundUp { milliseconds &+= 1 }
        }
        // The offset: the rest must be exactly `Z`, `z` or `±hh:mm`.
        var offsetMinutes: Int64 = 0
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard end - i == 1 else { return nil }
        case ASCII.plus, ASCII.minus:
            guard end - i == 6, b[i + 3] == ASCII.colon, let hours = number(b, i + 1, 2), let minutes = number(b, i + 4, 2),
                hours <= 23, minutes <= 59
            else { return nil }
            offsetMinutes = (hours * 60 + minutes) * (b[i] == ASCII.minus ? -1 : 1)
        default:
            return nil
        }
        let days = daysSinceEpoch(year, month, day)
        let millisecondOfDay = ((hour * 60 + minute) * 60 + second) * 1000 + milliseconds
        return EventTime(milliseconds: days * 86_400_000 + millisecondOfDay - offsetMinutes * 60_000)
    }

    /// The decimal value of the `count` digits at `start`, or nil if one is not a digit.
    @inline(__always)
    private static func number(_ b: Span<UInt8>, _ start: Int, _ count: Int) -> Int64? {
        var value: Int64 = 0
        for k in 0..<count {
            let digit = b[start + k] &- ASCII.zero
            guard digit < 10 else { return nil }
            value = value &* 10 &+ Int64(digit)
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
