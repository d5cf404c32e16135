import Hummingbird
import StreetSenseCore
import Synchronization

/// The encoded body of `GET /api/v1/zones` for the newest snapshot, so that requests between two snapshot
/// publications share one encoding instead of re-encoding every zone.
///
/// An entry is reused when the snapshot has the same `as_of` and the very same zones array storage. The
/// entry keeps that array alive, so its storage cannot be freed and reused by a later snapshot: equal storage
/// addresses therefore mean the same zones, never a different array that happens to live at the same place.
final class ZoneListCache: Sendable {
    private struct Entry: Sendable {
        var asOf: EventTime
        var zones: [ZoneSnapshot]
        var body: ByteBuffer
    }

    private let entry = Mutex<Entry?>(nil)

    /// The encoded list for `snapshot`, from the cache when it still describes the same zones.
    func body(for snapshot: Snapshot) -> ByteBuffer {
        if let cached = entry.withLock({ entry -> ByteBuffer? in
            guard let entry, entry.asOf == snapshot.asOf, Self.sameStorage(entry.zones, snapshot.zones) else { return nil }
            return entry.body
        }) {
            return cached
        }
        var json = JSONWriter(capacity: 512 + 1024 * snapshot.zones.count)
        json.object { json in
            json.member("as_of", time: snapshot.asOf)
            json.key("zones")
            json.array { json in
                for zone in snapshot.zones { json.zone(zone, alerts: snapshot.activeAlerts(zone: zone.definition.id)) }
            }
        }
        let body = ByteBuffer(bytes: json.bytes)
        entry.withLock { $0 = Entry(asOf: snapshot.asOf, zones: snapshot.zones, body: body) }
        return body
    }

    private static func sameStorage(_ a: [ZoneSnapshot], _ b: [ZoneSnapshot]) -> Bool {
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress && a.count == b.count }
        }
    }
}
