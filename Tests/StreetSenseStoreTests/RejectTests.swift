import GRDB
import StreetSenseCore
import Testing

@testable import StreetSenseStore

@Suite("SQLite store: rejects")
struct RejectTests {
    static let pilots: [String?] = ["helsinki-lab", "citizen-air", nil]
    static let reasons: [RejectReason] = [.malformedJSON, .outOfRange, .badTopic]

    /// Reject number `i`: pilot and reason cycle at different periods, so every combination occurs.
    func reject(_ i: Int) -> StoredReject {
        let pilot = Self.pilots[i % 3]
        return StoredReject(
            received: time(Int64(i) * 10), pilot: pilot, sensor: pilot.map { _ in "s-\(i % 4)" },
            topic: "streetsense/v1/readings/\(pilot ?? "?")/s-\(i % 4)", payload: Array("{\"people\": \(i)}".utf8),
            reason: Self.reasons[(i / 3) % 3], detail: "reject \(i)")
    }

    @Test("one reject round-trips exactly, with its payload cut to 1 KiB")
    func roundTrip() throws {
        try withStore { store, _ in
            let long = StoredReject(
                received: time(1), pilot: "helsinki-lab", sensor: "cam-01", topic: "streetsense/v1/readings/helsinki-lab/cam-01",
                payload: (0..<3000).map { UInt8($0 % 251) }, reason: .payloadTooLarge, detail: "3000 bytes > 2048")
            #expect(long.payload.count == 1024)
            let short = StoredReject(
                received: time(2), pilot: nil, sensor: nil, topic: "garbage/#", payload: [0, 255, 10], reason: .badTopic,
                detail: "not a readings topic")
            let empty = StoredReject(
                received: time(3), pilot: "helsinki-lab", sensor: "", topic: "", payload: [], reason: .noReadings, detail: "")
            try store.write(StoreBatch(rejects: [long, short, empty]))
            let rows = try store.rejects(pilot: nil, reason: nil, before: nil, limit: 10)
            #expect(rows.map(\.reject) == [empty, short, long])
            #expect(rows[0].reject.sensor == "")  // empty text stays text, not NULL
            #expect(rows[0].id > rows[1].id && rows[1].id > rows[2].id)
            #expect(rows[2].reject.payload == (0..<1024).map { UInt8($0 % 251) })
        }
    }

    @Test("the table stays bounded, pages newest first with no gap or repeat, and filters by pilot and reason")
    func boundAndPagination() throws {
        var options = SQLiteStore.Options()
        options.rejectLimit = 50
        try withStore(options: options) { store, _ in
            var written = 0
            for batchSize in [1, 17, 30, 2, 44, 9, 27] {  // 130 rejects in uneven batches
                try store.write(StoreBatch(rejects: (written..<(written + batchSize)).map(reject)))
                written += batchSize
                let stored = try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM rejects")! }
                #expect(stored <= 55, "the table may exceed the limit by 10 % at most")
                #expect(stored >= min(written, 50))
            }
            let all = try store.rejects(pilot: nil, reason: nil, before: nil, limit: 1000)
            #expect(all.count >= 50 && all.count <= 55)
            // The newest rejects survive, in order.
            #expect(all.map(\.reject) == (0..<130).reversed().prefix(all.count).map(reject))

            // Paging: every row exactly once, ids strictly decreasing.
            var paged: [RejectRow] = []
            var cursor: Int64? = nil
            while true {
                let page = try store.rejects(pilot: nil, reason: nil, before: cursor, limit: 7)
                if page.isEmpty { break }
                #expect(page.count <= 7)
                paged += page
                cursor = page.last!.id
            }
            #expect(paged == all)
            #expect(zip(paged, paged.dropFirst()).allSatisfy { $0.id > $1.id })

            // Per pilot (paged too), per reason, and both.
            for pilot in Self.pilots.compactMap({ $0 }) {
                var pilotRows: [RejectRow] = []
                var pilotCursor: Int64? = nil
                while true {
                    let page = try store.rejects(pilot: pilot, reason: nil, before: pilotCursor, limit: 4)
                    guard let last = page.last else { break }
                    pilotRows += page
                    pilotCursor = last.id
                }
                #expect(pilotRows == all.filter { $0.reject.pilot == pilot })
                #expect(!pilotRows.isEmpty)
                for reason in Self.reasons {
                    let both = try store.rejects(pilot: pilot, reason: reason, before: nil, limit: 1000)
                    #expect(both == all.filter { $0.reject.pilot == pilot && $0.reject.reason == reason })
                }
            }
            for reason in Self.reasons {
                #expect(try store.rejects(pilot: nil, reason: reason, before: nil, limit: 1000) == all.filter { $0.reject.reason == reason })
            }
            #expect(try store.rejects(pilot: "nobody", reason: nil, before: nil, limit: 10) == [])
            #expect(try store.rejects(pilot: nil, reason: nil, before: nil, limit: 0) == [])
        }
    }

    @Test("reject counts include trimmed rejects")
    func countsSurviveTrimming() throws {
        var options = SQLiteStore.Options()
        options.rejectLimit = 20
        try withStore(options: options) { store, _ in
            for start in stride(from: 0, to: 200, by: 25) {
                try store.write(StoreBatch(rejects: (start..<(start + 25)).map(reject)))
            }
            var expected: [String: Int] = [:]
            for i in 0..<200 {
                let r = reject(i)
                expected["\(r.pilot ?? "-")|\(r.reason.rawValue)", default: 0] += 1
            }
            let counts = try store.rejectCounts()
            #expect(counts.count == 9)
            #expect(
                Dictionary(uniqueKeysWithValues: counts.map { ("\($0.pilot ?? "-")|\($0.reason.rawValue)", $0.count) })
                    == expected)
            #expect(counts.reduce(0) { $0 + $1.count } == 200)
            #expect(try store.rejects(pilot: nil, reason: nil, before: nil, limit: 1000).count <= 22)
        }
    }
}
