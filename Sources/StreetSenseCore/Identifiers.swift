/// The rules for pilot, sensor and zone ids: `[A-Za-z0-9_.-]{1,64}` (DESIGN §2).
///
/// Ids are used in MQTT topics, URLs and file names, so the rule excludes `/`, `#`, `+`, spaces and NUL.
public enum Identifier {
    /// The longest id accepted.
    public static let maximumLength = 64

    /// Whether `bytes` is a valid id.
    @inlinable
    public static func isValid(_ bytes: some Collection<UInt8>) -> Bool {
        let count = bytes.count
        guard count >= 1, count <= maximumLength else { return false }
        for byte in bytes where !isIDByte(byte) { return false }
        return true
    }

    /// Whether `string` is a valid id.
    @inlinable
    public static func isValid(_ string: some StringProtocol) -> Bool {
        isValid(string.utf8)
    }

    /// Whether `b` may appear in an id: `[A-Za-z0-9_.-]`. From two 64-bit masks rather than a chain of range
    /// compares: every message's topic is checked with it, byte by byte.
    @inlinable
    public static func isIDByte(_ b: UInt8) -> Bool {
        // Bytes 0x00–0x3F: '-' (0x2D), '.' (0x2E), '0'–'9' (0x30–0x39).
        let low: UInt64 = (1 << 0x2D) | (1 << 0x2E) | (((1 << 10) - 1) << 0x30)
        // Bytes 0x40–0x7F: 'A'–'Z' (0x41–0x5A), '_' (0x5F), 'a'–'z' (0x61–0x7A).
        let high: UInt64 = (((1 << 26) - 1) << 0x01) | (1 << 0x1F) | (((1 << 26) - 1) << 0x21)
        let mask = b < 0x40 ? low : (b < 0x80 ? high : 0)
        return (mask >> UInt64(b & 0x3F)) & 1 != 0
    }
}

/// A sensor's identity: the pilot that publishes it and its id within that pilot, both valid ids.
///
/// The MQTT topic `{prefix}/readings/{pilot}/{sensor}` is the identity; nothing in a payload may change it.
public struct SensorAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var pilot: String
    public var sensor: String

    public init(pilot: String, sensor: String) {
        self.pilot = pilot
        self.sensor = sensor
    }

    public var description: String { "\(pilot)/\(sensor)" }

    public static func < (lhs: SensorAddress, rhs: SensorAddress) -> Bool {
        (lhs.pilot, lhs.sensor) < (rhs.pilot, rhs.sensor)
    }
}
