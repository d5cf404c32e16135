import Foundation
import StreetSenseCore

/// The opaque `cursor` of the sensors listing: the address of the last sensor of the previous page,
/// base64url-encoded. The next page starts after that address in the listing's (pilot, sensor) order, so
/// pages stay consistent while sensors appear.
enum SensorCursor {
    static func encode(_ address: SensorAddress) -> String {
        CursorText.encode("\(address.pilot)/\(address.sensor)")
    }

    /// The address in a cursor, or nil if the text is not a cursor this API wrote.
    static func decode(_ text: String) -> SensorAddress? {
        guard let decoded = CursorText.decode(text) else { return nil }
        let parts = decoded.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, Identifier.isValid(parts[0]), Identifier.isValid(parts[1]) else { return nil }
        return SensorAddress(pilot: String(parts[0]), sensor: String(parts[1]))
    }
}

/// The opaque `cursor` of the zones listing: the id of the last zone of the previous page, base64url-encoded.
/// The next page starts after that zone in configuration order.
enum ZoneCursor {
    static func encode(_ zoneID: String) -> String {
        CursorText.encode("zone:" + zoneID)
    }

    /// The zone id in a cursor, or nil if the text is not a cursor this API wrote.
    static func decode(_ text: String) -> String? {
        guard let decoded = CursorText.decode(text), decoded.hasPrefix("zone:") else { return nil }
        let id = decoded.dropFirst(5)
        return Identifier.isValid(id) ? String(id) : nil
    }
}

/// The text form of every listing cursor: UTF-8 in unpadded base64url (RFC 4648 §5), at most 200 characters.
enum CursorText {
    static func encode(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The text a cursor holds, or nil if it is not base64url of UTF-8 (or longer than any cursor written).
    static func decode(_ cursor: String) -> String? {
        guard cursor.count <= 200 else { return nil }
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64) else { return nil }
        return String(data: data, encoding: .utf8)
    }
}
