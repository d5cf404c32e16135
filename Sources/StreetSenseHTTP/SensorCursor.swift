import Foundation
import StreetSenseCore

/// The opaque `cursor` of the sensors listing: the address of the last sensor of the previous page,
/// base64url-encoded. The next page starts after that address in the listing's (pilot, sensor) order, so
/// pages stay consistent while sensors appear.
enum SensorCursor {
    static func encode(_ address: SensorAddress) -> String {
        Data("\(address.pilot)/\(address.sensor)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The address in a cursor, or nil if the text is not a cursor this API wrote.
    static func decode(_ text: String) -> SensorAddress? {
        guard text.count <= 200 else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let decoded = String(data: data, encoding: .utf8) else { return nil }
        let parts = decoded.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, Identifier.isValid(parts[0]), Identifier.isValid(parts[1]) else { return nil }
        return SensorAddress(pilot: String(parts[0]), sensor: String(parts[1]))
    }
}
