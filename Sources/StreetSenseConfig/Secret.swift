/// A credential read from a file (the MQTT password): usable by the code that needs it, invisible everywhere else.
///
/// `description`, `debugDescription`, `dump` and string interpolation all show `<redacted>`; only ``plaintext``
/// gives the value, so a logged configuration never leaks it.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The secret itself. Read it only to hand it to the library that needs it.
    public let plaintext: String

    public init(_ plaintext: String) {
        self.plaintext = plaintext
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
