import StreetSenseCore
import StreetSenseHTTP
import StreetSenseStore
import Synchronization

/// Adapts the SQLite store to the API's ``HistorySource``: rollup series by sensor address (looked up through
/// the store's stable sensor refs) and zone, and the bounded rejects table with printable payload excerpts.
final class StoreHistory: HistorySource {
    private let store: any ReadingStore
    private let refs = Mutex<[SensorAddress: Int32]>([:])

    init(store: any ReadingStore) {
        self.store = store
    }

    private func ref(of address: SensorAddress) throws -> Int32? {
        if let ref = refs.withLock({ $0[address] }) { return ref }
        // A sensor first heard after start-up: reload the registry from the store.
        let records = try store.sensors()
        let table = Dictionary(records.map { ($0.address, $0.ref) }, uniquingKeysWith: { a, _ in a })
        refs.withLock { $0 = table }
        return table[address]
    }

    func sensorSeries(_ address: SensorAddress, metric: Metric, from: EventTime, to: EventTime, step: Duration) throws -> [SeriesPoint] {
        guard let ref = try ref(of: address) else { return [] }
        return try store.rollupSeries(sensorRef: ref, metric: metric, from: from, to: to, step: step)
    }

    func zoneDensitySeries(zone: String, from: EventTime, to: EventTime, step: Duration) throws -> [SeriesPoint] {
        try store.zoneDensitySeries(zone: zone, from: from, to: to, step: step)
    }

    func rejects(pilot: String?, reason: RejectReason?, before cursor: Int64?, limit: Int) throws -> [RejectRecord] {
        try store.rejects(pilot: pilot, reason: reason, before: cursor, limit: limit).map { row in
            RejectRecord(
                id: row.id, received: row.reject.received, pilot: row.reject.pilot, sensor: row.reject.sensor,
                topic: row.reject.topic, reason: row.reject.reason, detail: row.reject.detail,
                payloadExcerpt: Self.printable(row.reject.payload))
        }
    }

    /// The payload as text: valid UTF-8 kept, control characters and invalid bytes escaped as `\xNN`.
    static func printable(_ bytes: [UInt8]) -> String {
        var out = ""
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b >= 0x20, b < 0x7F, b != UInt8(ascii: "\\") {
                out.unicodeScalars.append(Unicode.Scalar(b))
                i += 1
                continue
            }
            if b >= 0x80 {
                // Decode one UTF-8 scalar if it is valid.
                var iterator = bytes[i...].makeIterator()
                var decoder = UTF8()
                if case .scalarValue(let scalar) = decoder.decode(&iterator) {
                    out.unicodeScalars.append(scalar)
                    i += String(scalar).utf8.count
                    continue
                }
            }
            out += b == UInt8(ascii: "\\") ? "\\\\" : "\\x" + String(b, radix: 16, uppercase: true).leftPadded(2)
            i += 1
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
