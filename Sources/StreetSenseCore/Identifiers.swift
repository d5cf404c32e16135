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

    @inlinable
    static func isIDByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
            true
        default:
            false
        }
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
