import StreetSenseCore

/// Builds the short `detail` texts of rejects. Runs only on the reject path, so it may allocate.
///
/// Invariant: a detail quotes at most ``excerptLimit`` bytes of payload per excerpt and at most two excerpts,
/// with control characters replaced, so a hostile payload cannot flood logs or forge log lines.
enum RejectText {
    /// The most payload bytes one excerpt quotes.
    static let excerptLimit = 24

    /// Up to `limit` bytes of `range`, with control characters shown as `?` and `…` when cut.
    static func excerpt(_ b: Span<UInt8>, _ range: Range<Int>, limit: Int = excerptLimit) -> String {
        var bytes: [UInt8] = []
        let end = min(range.upperBound, range.lowerBound + limit)
        bytes.reserveCapacity(end - range.lowerBound + 3)
        for i in range.lowerBound..<end { bytes.append(b[i]) }
        return sanitized(bytes, cut: end < range.upperBound)
    }

    /// Up to ``excerptLimit`` bytes of `bytes`, as ``excerpt(_:_:)``.
    static func excerpt(_ bytes: [UInt8]) -> String {
        sanitized(Array(bytes.prefix(excerptLimit)), cut: bytes.count > excerptLimit)
    }

    private static func sanitized(_ bytes: [UInt8], cut: Bool) -> String {
        var bytes = bytes
        for k in bytes.indices where bytes[k] < 0x20 || bytes[k] == 0x7F { bytes[k] = UInt8(ascii: "?") }
        var text = String(decoding: bytes, as: UTF8.self)
        if cut { text += "…" }
        return text
    }

    /// A byte as it reads in an error: `'x'` for printable ASCII, `byte 0xC3` otherwise.
    static func describe(byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(hex(byte))"
    }

    /// A printable ASCII byte as itself, anything else as `?`.
    static func printable(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? String(Character(Unicode.Scalar(byte))) : "?"
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]], as: UTF8.self)
    }

    static func hex16(_ value: UInt32) -> String {
        hex(UInt8(value >> 8 & 0xFF)) + hex(UInt8(value & 0xFF))
    }

    /// A number as people write it: `2000`, `-60`, `12.5`, `1e+300`.
    static func number(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 {
            return String(Int64(value))
        }
        return "\(value)"
    }

    /// A metric's valid range: `0…2000`.
    static func range(_ range: ClosedRange<Double>) -> String {
        "\(number(range.lowerBound))…\(number(range.upperBound))"
    }

    /// A duration in seconds with at most millisecond precision: `61 s`, `0.5 s`.
    static func seconds(milliseconds: Int64) -> String {
        "\(number(Double(milliseconds) / 1000)) s"
    }
}
