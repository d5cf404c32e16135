import Hummingbird
import StreetSenseCore
import Synchronization

/// The encoded pages of `GET /api/v1/zones` for the newest snapshot, so that requests between two snapshot
/// publications share one encoding per page instead of re-encoding its zones.
///
/// Pages are reused while the snapshot has the same `as_of` and the very same zones and active-alerts array
/// storage (a page shows each zone's active alerts; an acknowledgement changes only those, and a snapshot in
/// which no zone changed shares the previous zones array). The cache keeps both arrays alive, so their storage
/// cannot be freed and reused by a later snapshot: equal storage addresses therefore mean the same contents,
/// never a different array that happens to live at the same place.
/// A newer snapshot empties the cache; it holds at most ``maximumPages`` pages (then it starts over).
final class ZoneListCache: Sendable {
    /// Which zones a page holds: `limit` zones from index `start` of the snapshot's zones.
    struct Page: Hashable, Sendable {
        var start: Int
        var limit: Int
    }

    private struct Entries: Sendable {
        var asOf: EventTime
        var zones: [ZoneSnapshot]
        var alerts: [ActiveAlertSummary]
        var bodies: [Page: ByteBuffer]

        func describes(_ snapshot: Snapshot) -> Bool {
            asOf == snapshot.asOf && ZoneListCache.sameStorage(zones, snapshot.zones)
                && ZoneListCache.sameStorage(alerts, snapshot.activeAlerts)
        }
    }

    static let maximumPages = 256
    private let entries = Mutex<Entries?>(nil)

    /// The encoded page of `snapshot`, from the cache when it still describes the same zones.
    func body(for snapshot: Snapshot, page: Page) -> ByteBuffer {
        if let cached = entries.withLock({ entries -> ByteBuffer? in
            guard let entries, entries.describes(snapshot) else { return nil }
            return entries.bodies[page]
        }) {
            return cached
        }
        let zones = snapshot.zones
        let start = min(page.start, zones.count)
        let end = min(zones.count, start + page.limit)
        var json = JSONWriter(capacity: 512 + 1024 * (end - start))
        json.object { json in
            json.member("as_of", time: snapshot.asOf)
            json.key("zones")
            json.array { json in
                for zone in zones[start..<end] { json.zone(zone, alerts: snapshot.activeAlerts(zone: zone.definition.id)) }
            }
            json.member("next_cursor", end < zones.count && end > start ? ZoneCursor.encode(zones[end - 1].definition.id) : nil)
        }
        let body = ByteBuffer(bytes: json.bytes)
        entries.withLock { entries in
            let reusable = entries.map { $0.describes(snapshot) && $0.bodies.count < Self.maximumPages } ?? false
            if reusable {
                entries?.bodies[page] = body
            } else {
                entries = Entries(asOf: snapshot.asOf, zones: zones, alerts: snapshot.activeAlerts, bodies: [page: body])
            }
        }
        return body
    }

    fileprivate static func sameStorage<Element>(_ a: [Element], _ b: [Element]) -> Bool {
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress && a.count == b.count }
        }
    }
}
