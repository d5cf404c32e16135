import StreetSenseCore

/// Encodes and decodes single trace lines (see ``TraceRecord``).
///
/// The encoding is canonical: keys in the order `at`, `topic`, `payload` (or `payload_b64`), `qos`; no spaces;
/// only `"`, `\`, and control characters escaped (as `\n`, `\r`, `\t` or `\u00XX`). The same record always gives
/// the same bytes. The decoder accepts any JSON object with those keys (any order, any valid escapes, unknown
/// keys ignored).
public enum TraceLineCodec {
    /// Appends the record's line (with its final newline) to `out`.
    public static func encode(_ record: TraceRecord, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"at":""#.utf8)
        out.append(contentsOf: record.at.rfc3339.utf8)
        out.append(contentsOf: #"","topic":"#.utf8)
        appendString(record.topic.utf8, into: &out)
        if let text = String(validating: record.payload, as: UTF8.self) {
            out.append(contentsOf: #","payload":"#.utf8)
            appendString(text.utf8, into: &out)
        } else {
            out.append(contentsOf: #","payload_b64":""#.utf8)
            Base64.encode(record.payload, into: &out)
            out.append(UInt8(ascii: "\""))
        }
        out.append(contentsOf: #","qos":"#.utf8)
        out.append(contentsOf: String(record.qos).utf8)
        out.append(contentsOf: "}\n".utf8)
    }

    /// The record's line, without the newline.
    public static func line(_ record: TraceRecord) -> String {
        var bytes: [UInt8] = []
        encode(record, into: &bytes)
        bytes.removeLast()
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Decodes one line (without its newline). Throws the reason when the line is not a valid record.
    ///
    /// Lines exactly as ``encode(_:into:)`` writes them (what `simulate` and `record` write) take a fast path
    /// that reads the line in place (``CanonicalTraceLine``); any other line goes through the general JSON
    /// parser. Both give the same record for every line the fast path accepts (a test and the trace-line
    /// fuzzer check this).
    public static func decode(_ line: some Collection<UInt8>, lineNumber: Int) throws(TraceLineError) -> TraceRecord {
        if let record = line.withContiguousStorageIfAvailable({ CanonicalTraceLine.decode($0) }) ?? nil {
            return record
        }
        return try decodeGeneral(line, lineNumber: lineNumber)
    }

    /// Decodes one line with the general JSON parser (any key order, spacing, escapes and unknown keys).
    static func decodeGeneral(_ line: some Collection<UInt8>, lineNumber: Int) throws(TraceLineError) -> TraceRecord {
        var parser = FlatJSONObjectParser(bytes: Array(line))
        let members: [(String, FlatJSONObjectParser.Value)]
        do {
            members = try parser.parseObject()
        } catch {
            throw TraceLineError(line: lineNumber, reason: error.reason)
        }
        var at: EventTime?
        var topic: String?
        var payload: [UInt8]?
        var qos = 1
        for (key, value) in members {
            switch key {
            case "at":
                guard case .string(let text) = value else { throw TraceLineError(line: lineNumber, reason: "\"at\" is not a string") }
                guard let time = EventTime(rfc3339: text) else {
                    throw TraceLineError(line: lineNumber, reason: "\"at\" is not an RFC 3339 time: \(text.prefix(40))")
                }
                at = time
            case "topic":
                guard case .string(let text) = value, !text.isEmpty else {
                    throw TraceLineError(line: lineNumber, reason: "\"topic\" is not a non-empty string")
                }
                topic = text
            case "payload":
                guard case .string(let text) = value else { throw TraceLineError(line: lineNumber, reason: "\"payload\" is not a string") }
                guard payload == nil else { throw TraceLineError(line: lineNumber, reason: "both \"payload\" and \"payload_b64\"") }
                payload = Array(text.utf8)
            case "payload_b64":
                guard case .string(let text) = value, let bytes = Base64.decode(text) else {
                    throw TraceLineError(line: lineNumber, reason: "\"payload_b64\" is not Base64")
                }
                guard payload == nil else { throw TraceLineError(line: lineNumber, reason: "both \"payload\" and \"payload_b64\"") }
                payload = bytes
            case "qos":
                guard case .number(let number) = value, let level = Int(exactly: number), (0...2).contains(level) else {
                    throw TraceLineError(line: lineNumber, reason: "\"qos\" is not 0, 1 or 2")
                }
                qos = level
            default:
                continue
            }
        }
        guard let at else { throw TraceLineError(line: lineNumber, reason: "no \"at\"") }
        guard let topic else { throw TraceLineError(line: lineNumber, reason: "no \"topic\"") }
        guard let payload else { throw TraceLineError(line: lineNumber, reason: "no \"payload\" or \"payload_b64\"") }
        return TraceRecord(at: at, topic: topic, payload: payload, qos: qos)
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    static func appendString(_ text: some Sequence<UInt8>, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case ..<0x20, 0x7F:
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// The fast path of ``TraceLineCodec/decode(_:lineNumber:)``: a line in the canonical form
/// `{"at":"…","topic":"…","payload":"…","qos":N}`, read in place with no intermediate strings.
///
/// It accepts only lines it can decode exactly as the general parser would: ASCII strings, the escapes the
/// encoder writes (plus `\/`, `\b`, `\f`), `\u00XX` below 0x80, and qos 0, 1 or 2. Anything else (another key
/// order, spaces, `payload_b64`, non-ASCII text, an invalid line) gives nil, and the general parser decides.
enum CanonicalTraceLine {
    static func decode(_ line: UnsafeBufferPointer<UInt8>) -> TraceRecord? {
        var cursor = Cursor(line: line)
        guard cursor.expect(#"{"at":""#) else { return nil }
        let timeStart = cursor.index
        while let byte = cursor.peek, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") { cursor.index += 1 }
        guard cursor.peek == UInt8(ascii: "\""),
              let at = EventTime(rfc3339Bytes: UnsafeBufferPointer(rebasing: line[timeStart..<cursor.index]))
        else { return nil }
        cursor.index += 1
        var topic: [UInt8] = []
        var payload: [UInt8] = []
        topic.reserveCapacity(64)
        payload.reserveCapacity(line.count - cursor.index)
        guard cursor.expect(#","topic":""#), cursor.string(into: &topic), !topic.isEmpty,
              cursor.expect(#","payload":""#), cursor.string(into: &payload),
              cursor.expect(#","qos":"#), let digit = cursor.peek
        else { return nil }
        let qos = Int(digit) - Int(UInt8(ascii: "0"))
        cursor.index += 1
        guard (0...2).contains(qos), cursor.expect("}"), cursor.index == line.count else { return nil }
        return TraceRecord(at: at, topic: String(decoding: topic, as: UTF8.self), payload: payload, qos: qos)
    }

    /// A read position in one line.
    private struct Cursor {
        let line: UnsafeBufferPointer<UInt8>
        var index = 0

        var peek: UInt8? { index < line.count ? line[index] : nil }

        /// Consumes `literal` if the line continues with it.
        mutating func expect(_ literal: StaticString) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard line.count - index >= count else { return false }
            let start = index
            let matches = literal.withUTF8Buffer { expected in
                for k in 0..<count where line[start + k] != expected[k] { return false }
                return true
            }
            if matches { index += count }
            return matches
        }

        /// Appends the unescaped bytes of a string whose opening quote was read, and consumes its closing quote.
        mutating func string(into out: inout [UInt8]) -> Bool {
            while index < line.count {
                let byte = line[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return true
                case UInt8(ascii: "\\"):
                    guard index < line.count else { return false }
                    let escape = line[index]
                    index += 1
                    if let unescaped = JSONEscape.single(escape) {
                        out.append(unescaped)
                    } else if escape == UInt8(ascii: "u"), line.count - index >= 4, line[index] == UInt8(ascii: "0"),
                              line[index + 1] == UInt8(ascii: "0"), let high = JSONEscape.hexDigit(line[index + 2]), high < 8,
                              let low = JSONEscape.hexDigit(line[index + 3]) {
                        out.append(high << 4 | low)
                        index += 4
                    } else {
                        return false
                    }
                case 0x20..<0x80:
                    out.append(byte)
                default:
                    return false  // a control character (an error) or non-ASCII (needs UTF-8 validation)
                }
            }
            return false
        }
    }
}

/// The escapes of JSON strings that both trace-line parsers read.
enum JSONEscape {
    /// The byte a one-character escape (`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`) stands for; nil for any other.
    static func single(_ escape: UInt8) -> UInt8? {
        switch escape {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): escape
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "t"): 0x09
        default: nil
        }
    }

    /// The value of one hexadecimal digit (either case), or nil.
    static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// A parser for one flat JSON object whose values are strings, numbers, booleans or null (a trace line).
/// Nested values are skipped only if they are objects or arrays of scalars; anything else is an error.
struct FlatJSONObjectParser {
    enum Value {
        case string(String)
        case number(Double)
        case other
    }

    struct Failure: Error {
        var reason: String
    }

    let bytes: [UInt8]
    var index = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func parseObject() throws(Failure) -> [(String, Value)] {
        skipSpace()
        guard peek == UInt8(ascii: "{") else { throw Failure(reason: index >= bytes.count ? "empty line" : "not a JSON object") }
        index += 1
        var members: [(String, Value)] = []
        skipSpace()
        if peek == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                skipSpace()
                guard peek == UInt8(ascii: "\"") else { throw Failure(reason: "expected a key at column \(index + 1)") }
                let key = try parseString()
                skipSpace()
                guard peek == UInt8(ascii: ":") else { throw Failure(reason: "expected ':' at column \(index + 1)") }
                index += 1
                skipSpace()
                let value = try parseValue(depth: 0)
                members.append((key, value))
                skipSpace()
                if peek == UInt8(ascii: ",") { index += 1; continue }
                if peek == UInt8(ascii: "}") { index += 1; break }
                throw Failure(reason: index >= bytes.count ? "unterminated object" : "expected ',' or '}' at column \(index + 1)")
            }
        }
        skipSpace()
        guard index == bytes.count else { throw Failure(reason: "text after the object at column \(index + 1)") }
        return members
    }

    private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipSpace() {
        while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A { index += 1 }
    }

    private mutating func parseValue(depth: Int) throws(Failure) -> Value {
        guard let byte = peek else { throw Failure(reason: "missing value") }
        switch byte {
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = index
            while let b = peek, b == UInt8(ascii: "-") || b == UInt8(ascii: "+") || b == UInt8(ascii: ".") || b == UInt8(ascii: "e")
                || b == UInt8(ascii: "E") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
            {
                index += 1
            }
            guard let number = Double(String(decoding: bytes[start..<index], as: UTF8.self)) else {
                throw Failure(reason: "bad number at column \(start + 1)")
            }
            return .number(number)
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            for word in ["true", "false", "null"] where bytes[index...].starts(with: word.utf8) {
                index += word.utf8.count
                return .other
            }
            throw Failure(reason: "bad literal at column \(index + 1)")
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard depth < 16 else { throw Failure(reason: "nested too deeply") }
            let close = byte == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            index += 1
            skipSpace()
            if peek == close { index += 1; return .other }
            while true {
                skipSpace()
                if close == UInt8(ascii: "}") {
                    guard peek == UInt8(ascii: "\"") else { throw Failure(reason: "expected a key at column \(index + 1)") }
                    _ = try parseString()
                    skipSpace()
                    guard peek == UInt8(ascii: ":") else { throw Failure(reason: "expected ':' at column \(index + 1)") }
                    index += 1
                    skipSpace()
                }
                _ = try parseValue(depth: depth + 1)
                skipSpace()
                if peek == UInt8(ascii: ",") { index += 1; continue }
                if peek == close { index += 1; return .other }
                throw Failure(reason: "unterminated value at column \(index + 1)")
            }
        default:
            throw Failure(reason: "unexpected character at column \(index + 1)")
        }
    }

    private mutating func parseString() throws(Failure) -> String {
        index += 1  // the opening quote
        var out: [UInt8] = []
        while true {
            guard let byte = peek else { throw Failure(reason: "unterminated string") }
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: out, as: UTF8.self) else { throw Failure(reason: "string is not valid UTF-8") }
                return text
            case UInt8(ascii: "\\"):
                guard let escape = peek else { throw Failure(reason: "unterminated string") }
                index += 1
                if let unescaped = JSONEscape.single(escape) {
                    out.append(unescaped)
                    continue
                }
                switch escape {
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard bytes[index...].starts(with: "\\u".utf8) else { throw Failure(reason: "lone surrogate in string") }
                        index += 2
                        let low = try parseHex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw Failure(reason: "lone surrogate in string") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw Failure(reason: "invalid \\u escape") }
                    out.append(contentsOf: String(Character(unicode)).utf8)
                default:
                    throw Failure(reason: "invalid escape at column \(index)")
                }
            case ..<0x20:
                throw Failure(reason: "control character in string at column \(index)")
            default:
                out.append(byte)
            }
        }
    }

    private mutating func parseHex4() throws(Failure) -> UInt32 {
        guard index + 4 <= bytes.count else { throw Failure(reason: "short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = JSONEscape.hexDigit(bytes[index]) else { throw Failure(reason: "bad \\u escape") }
            index += 1
            value = value << 4 | UInt32(digit)
        }
        return value
    }
}

/// Standard Base64 (RFC 4648, with padding), without Foundation.
enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8], into out: inout [UInt8]) {
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out.append(contentsOf: [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]])
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out.append(contentsOf: [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")])
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out.append(contentsOf: [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], UInt8(ascii: "=")])
        }
    }

    static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        var padding = 0
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): guard padding == 0 else { return nil }; values.append(byte - 65)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): guard padding == 0 else { return nil }; values.append(byte - 71)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): guard padding == 0 else { return nil }; values.append(byte + 4)
            case UInt8(ascii: "+"): guard padding == 0 else { return nil }; values.append(62)
            case UInt8(ascii: "/"): guard padding == 0 else { return nil }; values.append(63)
            case UInt8(ascii: "="): padding += 1
            default: return nil
            }
        }
        guard (values.count + padding) % 4 == 0, padding <= 2 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 3 / 4)
        var i = 0
        while i < values.count {
            let chunk = values[i..<min(i + 4, values.count)]
            var n: UInt32 = 0
            for (k, v) in chunk.enumerated() { n |= UInt32(v) << (18 - 6 * UInt32(k)) }
            let produced = chunk.count - 1
            guard produced >= 1 else { return nil }
            out.append(UInt8(n >> 16 & 0xFF))
            if produced >= 2 { out.append(UInt8(n >> 8 & 0xFF)) }
            if produced >= 3 { out.append(UInt8(n & 0xFF)) }
            i += 4
        }
        return out
    }
}
