import StreetSenseCore

/// A forward-only cursor over the bytes of one JSON document (RFC 8259), used by the decoders to read a payload
/// in place: no tokens, no tree, no allocation on the accepting path.
///
/// The scanner holds only its position; the bytes are passed to every call, because a `Span` cannot be stored in
/// an escapable struct without the experimental `Lifetimes` feature. Every method either advances over exactly
/// one grammatical element or throws `malformed_json` with the byte offset. Nesting is limited to
/// ``maximumDepth`` levels and is tracked in a bit stack, so no input can make it recurse.
struct JSONScanner {
    /// The deepest nesting of objects and arrays accepted, counting the payload's own outer object or array.
    /// Native payloads need 1 level and SenML 2; anything deeper than this is refused as soon as it is seen.
    static let maximumDepth = 32

    /// The most keys of one object that are not fields the decoder knows. Duplicates among them are found by
    /// comparing each with the earlier ones, so the limit keeps a hostile 64 KiB payload from costing quadratic
    /// time (and from producing thousands of rejects); no real payload comes near it.
    static let maximumOtherKeys = 32

    /// Offset of the next byte to read.
    var position: Int = 0

    init(position: Int = 0) {
        self.position = position
    }
}

/// A string in the payload: the byte range between its quotes, and whether it contains escapes (then its
/// decoded form differs from the raw bytes; see ``JSONScanner/appendDecoded(_:_:to:)``).
struct StringToken {
    var range: Range<Int>
    var hasEscapes: Bool
}

/// One scalar value read where a number is expected. Objects and arrays are skipped (and validated), only their
/// kind is kept.
enum ScalarValue {
    case number(Double, Range<Int>)
    /// The non-JSON tokens `NaN`, `Infinity` and `-Infinity` (what Python's `json.dumps` writes), accepted only in
    /// value positions so that they can be rejected `not_finite` with a clear reason instead of as bad JSON.
    case nonFinite(Range<Int>)
    case string(StringToken)
    case boolean
    case null
    case object
    case array

    /// How the value is named in a reject detail ("a string", "null").
    var kindDescription: String {
        switch self {
        case .number, .nonFinite: "a number"
        case .string: "a string"
        case .boolean: "a boolean"
        case .null: "null"
        case .object: "an object"
        case .array: "an array"
        }
    }
}

// MARK: - Bytes

@usableFromInline
enum ASCII {
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let slash = UInt8(ascii: "/")
    static let colon = UInt8(ascii: ":")
    static let comma = UInt8(ascii: ",")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let minus = UInt8(ascii: "-")
    static let plus = UInt8(ascii: "+")
    static let dot = UInt8(ascii: ".")
    static let zero = UInt8(ascii: "0")
    static let underscore = UInt8(ascii: "_")

    @inline(__always)
    static func isDigit(_ c: UInt8) -> Bool { c &- zero < 10 }

    @inline(__always)
    static func isWhitespace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }

    static func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(c &- UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(c &- UInt8(ascii: "a") &+ 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(c &- UInt8(ascii: "A") &+ 10)
        default: nil
        }
    }
}

// MARK: - Structure

extension JSONScanner {
    @inline(__always)
    mutating func skipWhitespace(_ b: Span<UInt8>) {
        var i = position  // a local index stays in a register; the stored one would be spilled per byte
        while i < b.count, ASCII.isWhitespace(b[i]) {
            i &+= 1
        }
        position = i
    }

    /// The byte at the cursor, or nil at the end.
    @inline(__always)
    func peek(_ b: Span<UInt8>) -> UInt8? {
        position < b.count ? b[position] : nil
    }

    /// Consumes `byte` if it is next.
    @inline(__always)
    mutating func consume(_ byte: UInt8, _ b: Span<UInt8>) -> Bool {
        guard position < b.count, b[position] == byte else { return false }
        position &+= 1
        return true
    }

    /// Consumes `byte` or throws `malformed_json` naming what was expected.
    @inline(__always)
    mutating func expect(_ byte: UInt8, _ b: Span<UInt8>, _ what: @autoclosure () -> String) throws(Reject) {
        guard position < b.count, b[position] == byte else { throw unexpected(b, expected: what()) }
        position &+= 1
    }

    /// After whitespace, the next byte must be `,` (returns true: another member follows) or `close` (returns false).
    @inline(__always)
    mutating func separatorOrEnd(_ close: UInt8, _ b: Span<UInt8>) throws(Reject) -> Bool {
        skipWhitespace(b)
        guard position < b.count else { throw unexpected(b, expected: close == ASCII.closeBrace ? "',' or '}'" : "',' or ']'") }
        let c = b[position]
        position &+= 1
        if c == ASCII.comma { return true }
        if c == close { return false }
        position &-= 1
        throw unexpected(b, expected: close == ASCII.closeBrace ? "',' or '}'" : "',' or ']'")
    }

    /// Reads `"key"` and the `:` after it, leaving the cursor at the value (whitespace skipped).
    @inline(__always)
    mutating func scanKey(_ b: Span<UInt8>) throws(Reject) -> StringToken {
        skipWhitespace(b)
        guard position < b.count, b[position] == ASCII.quote else { throw unexpected(b, expected: "a key string") }
        let key = try scanString(b)
        skipWhitespace(b)
        try expect(ASCII.colon, b, "':' after a key")
        skipWhitespace(b)
        return key
    }

    /// Only whitespace may follow the document.
    mutating func expectEnd(_ b: Span<UInt8>) throws(Reject) {
        skipWhitespace(b)
        guard position == b.count else { throw unexpected(b, expected: "the end of the payload") }
    }

    /// A `malformed_json` reject for the byte at the cursor.
    func unexpected(_ b: Span<UInt8>, expected: String) -> Reject {
        guard position < b.count else {
            return Reject(.malformedJSON, "unexpected end of payload at byte \(position), expected \(expected)")
        }
        return Reject(.malformedJSON, "unexpected \(RejectText.describe(byte: b[position])) at byte \(position), expected \(expected)")
    }
}

// MARK: - Strings

extension JSONScanner {
    /// Reads a string starting at its opening quote, validating escapes and UTF-8 (RFC 3629: no overlong forms,
    /// no surrogates, nothing above U+10FFFF; `\u` escapes must pair surrogates). Control characters must be
    /// escaped. Leaves the cursor after the closing quote.
    mutating func scanString(_ b: Span<UInt8>) throws(Reject) -> StringToken {
        let start = position + 1  // after the opening quote, checked by the caller
        var i = start
        var hasEscapes = false
        let end = b.count
        while i < end {
            let c = b[i]
            if c >= 0x20 && c < 0x80 {
                if c == ASCII.quote {
                    position = i + 1
                    return StringToken(range: start..<i, hasEscapes: hasEscapes)
                }
                if c == ASCII.backslash {
                    hasEscapes = true
                    position = i
                    try scanEscape(b)
                    i = position
                    continue
                }
                i &+= 1
            } else if c < 0x20 {
                throw Reject(.malformedJSON, "control character 0x\(RejectText.hex(c)) in a string at byte \(i)")
            } else {
                position = i
                try scanMultiByteScalar(b)
                i = position
            }
        }
        throw Reject(.malformedJSON, "unterminated string starting at byte \(start - 1)")
    }

    /// Validates one escape sequence at the cursor (the backslash) and moves past it.
    private mutating func scanEscape(_ b: Span<UInt8>) throws(Reject) {
        let at = position
        position &+= 1
        guard position < b.count else { throw Reject(.malformedJSON, "unterminated escape at byte \(at)") }
        switch b[position] {
        case ASCII.quote, ASCII.backslash, ASCII.slash, UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"),
            UInt8(ascii: "r"), UInt8(ascii: "t"):
            position &+= 1
        case UInt8(ascii: "u"):
            position &+= 1
            let unit = try hex4(b, escapeAt: at)
            if unit >= 0xDC00 && unit <= 0xDFFF {
                throw Reject(.malformedJSON, "lone low surrogate \\u\(RejectText.hex16(unit)) at byte \(at)")
            }
            if unit >= 0xD800 && unit <= 0xDBFF {
                guard position + 1 < b.count, b[position] == ASCII.backslash, b[position + 1] == UInt8(ascii: "u") else {
                    throw Reject(.malformedJSON, "unpaired high surrogate \\u\(RejectText.hex16(unit)) at byte \(at)")
                }
                position &+= 2
                let low = try hex4(b, escapeAt: at)
                guard low >= 0xDC00 && low <= 0xDFFF else {
                    throw Reject(.malformedJSON, "unpaired high surrogate \\u\(RejectText.hex16(unit)) at byte \(at)")
                }
            }
        default:
            throw Reject(.malformedJSON, "invalid escape \\\(RejectText.printable(b[position])) at byte \(at)")
        }
    }

    private mutating func hex4(_ b: Span<UInt8>, escapeAt at: Int) throws(Reject) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard position < b.count, let digit = ASCII.hexValue(b[position]) else {
                throw Reject(.malformedJSON, "invalid \\u escape at byte \(at)")
            }
            value = value << 4 | digit
            position &+= 1
        }
        return value
    }

    /// Validates one multi-byte UTF-8 scalar at the cursor (lead byte ≥ 0x80) and moves past it.
    private mutating func scanMultiByteScalar(_ b: Span<UInt8>) throws(Reject) {
        let at = position
        let lead = b[position]
        var needed: Int
        var low: UInt8 = 0x80  // bounds for the first continuation byte
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: needed = 1
        case 0xE0: needed = 2; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: needed = 2
        case 0xED: needed = 2; high = 0x9F
        case 0xF0: needed = 3; low = 0x90
        case 0xF1...0xF3: needed = 3
        case 0xF4: needed = 3; high = 0x8F
        default: throw Reject(.malformedJSON, "invalid UTF-8 at byte \(at)")
        }
        position &+= 1
        while needed > 0 {
            guard position < b.count else { throw Reject(.malformedJSON, "invalid UTF-8 at byte \(at)") }
            let c = b[position]
            guard c >= low && c <= high else { throw Reject(.malformedJSON, "invalid UTF-8 at byte \(at)") }
            low = 0x80
            high = 0xBF
            needed -= 1
            position &+= 1
        }
    }

    /// Appends the decoded bytes of a string already validated by ``scanString(_:)`` to `out`.
    /// Without escapes this is a plain copy.
    static func appendDecoded(_ token: StringToken, _ b: Span<UInt8>, to out: inout [UInt8]) {
        var i = token.range.lowerBound
        let end = token.range.upperBound
        guard token.hasEscapes else {
            appendBytes(b, token.range, to: &out)
            return
        }
        while i < end {
            let c = b[i]
            guard c == ASCII.backslash else {
                out.append(c)
                i &+= 1
                continue
            }
            let e = b[i + 1]
            i &+= 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4Unchecked(b, i)
                i &+= 4
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    let low = hex4Unchecked(b, i + 2)
                    i &+= 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                appendUTF8(scalar, to: &out)
            default: out.append(e)  // " \ /
            }
        }
    }

    /// Appends the bytes of `range` in one copy (appending byte by byte costs a uniqueness check per byte).
    @inline(__always)
    static func appendBytes(_ b: Span<UInt8>, _ range: Range<Int>, to out: inout [UInt8]) {
        b.extracting(range).withUnsafeBufferPointer { out.append(contentsOf: $0) }  // the pointer stays inside
    }

    private static func hex4Unchecked(_ b: Span<UInt8>, _ i: Int) -> UInt32 {
        var value: UInt32 = 0
        for k in 0..<4 { value = value << 4 | (ASCII.hexValue(b[i + k]) ?? 0) }
        return value
    }

    private static func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | scalar >> 6))
            out.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | scalar >> 12))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        default:
            out.append(UInt8(0xF0 | scalar >> 18))
            out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// Whether the decoded forms of two validated strings are equal (the rare duplicate-key check).
    static func decodedEqual(_ x: StringToken, _ y: StringToken, _ b: Span<UInt8>) -> Bool {
        if !x.hasEscapes && !y.hasEscapes {
            guard x.range.count == y.range.count else { return false }
            var i = x.range.lowerBound
            var j = y.range.lowerBound
            while i < x.range.upperBound {
                if b[i] != b[j] { return false }
                i &+= 1
                j &+= 1
            }
            return true
        }
        var left: [UInt8] = []
        var right: [UInt8] = []
        appendDecoded(x, b, to: &left)
        appendDecoded(y, b, to: &right)
        return left == right
    }
}

// MARK: - Values

extension JSONScanner {
    /// Reads the value at the cursor where a number is expected. Numbers are converted; strings are validated and
    /// returned as tokens; objects and arrays are skipped. `depth` is the nesting depth of the value's container.
    mutating func scanScalar(_ b: Span<UInt8>, depth: Int) throws(Reject) -> ScalarValue {
        guard position < b.count else { throw unexpected(b, expected: "a value") }
        let c = b[position]
        switch c {
        case ASCII.minus, UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = position
            if c == ASCII.minus, position + 1 < b.count, b[position + 1] == UInt8(ascii: "I") {
                position &+= 1
                try literal(.infinity, b)
                return .nonFinite(start..<position)
            }
            let value = try scanNumber(b)
            return .number(value, start..<position)
        case ASCII.quote:
            return .string(try scanString(b))
        case UInt8(ascii: "t"):
            try literal(.true, b)
            return .boolean
        case UInt8(ascii: "f"):
            try literal(.false, b)
            return .boolean
        case UInt8(ascii: "n"):
            try literal(.null, b)
            return .null
        case UInt8(ascii: "N"):
            let start = position
            try literal(.nan, b)
            return .nonFinite(start..<position)
        case UInt8(ascii: "I"):
            let start = position
            try literal(.infinity, b)
            return .nonFinite(start..<position)
        case ASCII.openBrace:
            try skipValue(b, depth: depth)
            return .object
        case ASCII.openBracket:
            try skipValue(b, depth: depth)
            return .array
        default:
            throw unexpected(b, expected: "a value")
        }
    }

    /// The bytes of the literal words, spelled once.
    private static let wordTrue: [UInt8] = Array("true".utf8)
    private static let wordFalse: [UInt8] = Array("false".utf8)
    private static let wordNull: [UInt8] = Array("null".utf8)
    private static let wordNaN: [UInt8] = Array("NaN".utf8)
    private static let wordInfinity: [UInt8] = Array("Infinity".utf8)

    enum Word { case `true`, `false`, null, nan, infinity }

    /// Consumes the exact bytes of `word`.
    mutating func literal(_ word: Word, _ b: Span<UInt8>) throws(Reject) {
        let text: [UInt8] =
            switch word {
            case .true: JSONScanner.wordTrue
            case .false: JSONScanner.wordFalse
            case .null: JSONScanner.wordNull
            case .nan: JSONScanner.wordNaN
            case .infinity: JSONScanner.wordInfinity
            }
        guard position + text.count <= b.count else { throw unexpected(b, expected: "a value") }
        for k in 0..<text.count where b[position + k] != text[k] {
            position += k
            throw unexpected(b, expected: "a value")
        }
        position &+= text.count
    }

    /// Skips one complete value of any kind, validating it. `depth` is the nesting depth of the value's container
    /// (0 for the document itself). Iterative: a bit stack records whether each open level is an object.
    mutating func skipValue(_ b: Span<UInt8>, depth outerDepth: Int) throws(Reject) {
        var stack: UInt64 = 0  // bit k set: level k (0-based, relative to this call) is an object
        var depth = 0
        let limit = JSONScanner.maximumDepth - outerDepth
        while true {
            // A value is expected here.
            skipWhitespace(b)
            guard position < b.count else { throw unexpected(b, expected: "a value") }
            switch b[position] {
            case ASCII.openBrace, ASCII.openBracket:
                let isObject = b[position] == ASCII.openBrace
                guard depth < limit else {
                    throw Reject(.malformedJSON, "nesting deeper than \(JSONScanner.maximumDepth) levels at byte \(position)")
                }
                position &+= 1
                skipWhitespace(b)
                if !consume(isObject ? ASCII.closeBrace : ASCII.closeBracket, b) {
                    // Not empty: open the level and read its first value.
                    if isObject { stack |= 1 << UInt64(depth) } else { stack &= ~(1 << UInt64(depth)) }
                    depth += 1
                    if isObject { _ = try scanKey(b) }
                    continue
                }
            case ASCII.quote:
                _ = try scanString(b)
            case UInt8(ascii: "t"):
                try literal(.true, b)
            case UInt8(ascii: "f"):
                try literal(.false, b)
            case UInt8(ascii: "n"):
                try literal(.null, b)
            case ASCII.minus, UInt8(ascii: "0")...UInt8(ascii: "9"):
                try scanNumberGrammar(b)
            default:
                throw unexpected(b, expected: "a value")
            }
            // A value has ended: close containers until one continues or the outermost value is done.
            while true {
                if depth == 0 { return }
                let inObject = stack & (1 << UInt64(depth - 1)) != 0
                if try separatorOrEnd(inObject ? ASCII.closeBrace : ASCII.closeBracket, b) {
                    if inObject { _ = try scanKey(b) }
                    break
                }
                depth -= 1
            }
        }
    }
}

// MARK: - Numbers

extension JSONScanner {
    /// 10^e for 0 ≤ e ≤ 22: the powers of ten a Double holds exactly.
    @inline(__always)
    private static func exactPowerOfTen(_ e: Int) -> Double {
        switch e {
        case 0: 1e0
        case 1: 1e1
        case 2: 1e2
        case 3: 1e3
        case 4: 1e4
        case 5: 1e5
        case 6: 1e6
        case 7: 1e7
        case 8: 1e8
        case 9: 1e9
        case 10: 1e10
        case 11: 1e11
        case 12: 1e12
        case 13: 1e13
        case 14: 1e14
        case 15: 1e15
        case 16: 1e16
        case 17: 1e17
        case 18: 1e18
        case 19: 1e19
        case 20: 1e20
        case 21: 1e21
        default: 1e22
        }
    }

    /// Reads a number in exactly the JSON grammar (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`) and converts
    /// it to the nearest Double. Up to 19 significant digits are gathered in an integer; when that integer is at
    /// most 2^53 and the decimal exponent within ±22, one IEEE multiplication or division of two exact values gives
    /// the correctly rounded result (Clinger's fast path). Anything else goes to the standard library's correctly
    /// rounded `Double(String)` (rare: 17-digit shortest forms, huge exponents). Overflow gives ±infinity.
    mutating func scanNumber(_ b: Span<UInt8>) throws(Reject) -> Double {
        let start = position
        var i = position
        defer { position = i }
        let end = b.count
        var negative = false
        if b[i] == ASCII.minus {
            negative = true
            i &+= 1
        }
        guard i < end else { throw JSONScanner(position: i).unexpected(b, expected: "a digit") }
        var mantissa: UInt64 = 0
        var digits = 0  // significant digits held in `mantissa`
        var exponent = 0
        var truncated = false
        let first = b[i]
        if first == ASCII.zero {
            i &+= 1
            if i < end, ASCII.isDigit(b[i]) {
                throw Reject(.malformedJSON, "number with a leading zero at byte \(start)")
            }
        } else if ASCII.isDigit(first) {
            while i < end {
                let d = b[i] &- ASCII.zero
                guard d < 10 else { break }
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    digits &+= 1
                } else {
                    exponent &+= 1
                    if d != 0 { truncated = true }
                }
                i &+= 1
            }
        } else {
            throw JSONScanner(position: i).unexpected(b, expected: "a digit")
        }
        // The common case: an integer of at most 15 digits, which a Double holds exactly.
        if digits <= 15, i == end || (b[i] != ASCII.dot && b[i] | 0x20 != UInt8(ascii: "e")) {
            let value = Double(mantissa)
            return negative ? -value : value
        }
        if i < end, b[i] == ASCII.dot {
            i &+= 1
            guard i < end, ASCII.isDigit(b[i]) else { throw JSONScanner(position: i).unexpected(b, expected: "a digit after '.'") }
            while i < end {
                let d = b[i] &- ASCII.zero
                guard d < 10 else { break }
                if mantissa == 0 && d == 0 {
                    exponent &-= 1  // a leading zero of the fraction: only the scale changes
                } else if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    digits &+= 1
                    exponent &-= 1
                } else if d != 0 {
                    truncated = true
                }
                i &+= 1
            }
        }
        if i < end, b[i] | 0x20 == UInt8(ascii: "e") {
            i &+= 1
            var exponentNegative = false
            if i < end, b[i] == ASCII.minus || b[i] == ASCII.plus {
                exponentNegative = b[i] == ASCII.minus
                i &+= 1
            }
            guard i < end, ASCII.isDigit(b[i]) else { throw JSONScanner(position: i).unexpected(b, expected: "an exponent digit") }
            var e = 0
            while i < end {
                let d = b[i] &- ASCII.zero
                guard d < 10 else { break }
                if e < 1_000_000 { e = e &* 10 &+ Int(d) }  // saturates far beyond any finite Double
                i &+= 1
            }
            exponent &+= exponentNegative ? -e : e
        }
        if mantissa == 0 {
            return negative ? -0.0 : 0.0
        }
        if !truncated && mantissa <= 1 << 53 && exponent >= -22 && exponent <= 22 {
            var value = Double(mantissa)
            if exponent >= 0 {
                value *= JSONScanner.exactPowerOfTen(exponent)
            } else {
                value /= JSONScanner.exactPowerOfTen(-exponent)
            }
            return negative ? -value : value
        }
        return JSONScanner.slowNumber(b, start..<i)
    }

    /// The correctly rounded value of validated number text, via the standard library.
    @inline(never)
    private static func slowNumber(_ b: Span<UInt8>, _ range: Range<Int>) -> Double {
        var text: [UInt8] = []
        text.reserveCapacity(range.count)
        for i in range { text.append(b[i]) }
        // The grammar was checked, so the standard library parses it; it gives ±inf on overflow and ±0 on underflow.
        return Double(String(decoding: text, as: UTF8.self)) ?? .nan
    }

    /// Skips a number, checking only its grammar.
    mutating func scanNumberGrammar(_ b: Span<UInt8>) throws(Reject) {
        let start = position
        let end = b.count
        if b[position] == ASCII.minus { position &+= 1 }
        guard position < end, ASCII.isDigit(b[position]) else { throw unexpected(b, expected: "a digit") }
        if b[position] == ASCII.zero {
            position &+= 1
            if position < end, ASCII.isDigit(b[position]) {
                throw Reject(.malformedJSON, "number with a leading zero at byte \(start)")
            }
        } else {
            while position < end, ASCII.isDigit(b[position]) { position &+= 1 }
        }
        if position < end, b[position] == ASCII.dot {
            position &+= 1
            guard position < end, ASCII.isDigit(b[position]) else { throw unexpected(b, expected: "a digit after '.'") }
            while position < end, ASCII.isDigit(b[position]) { position &+= 1 }
        }
        if position < end, b[position] | 0x20 == UInt8(ascii: "e") {
            position &+= 1
            if position < end, b[position] == ASCII.minus || b[position] == ASCII.plus { position &+= 1 }
            guard position < end, ASCII.isDigit(b[position]) else { throw unexpected(b, expected: "an exponent digit") }
            while position < end, ASCII.isDigit(b[position]) { position &+= 1 }
        }
    }
}
