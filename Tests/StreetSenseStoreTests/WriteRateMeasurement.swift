import Foundation
import GRDB
import StreetSenseCore
import Testing

@testable import StreetSenseStore

/// The write-rate measurement of DESIGN §9, run by hand (it asserts no timing):
///
///     STREETSENSE_STORE_BENCH=1 swift test -c release --filter WriteRateMeasurement
///
/// 1 000 000 readings from 40 000 interleaved sensors, in batches of 10 000, through ``SQLiteStore/write(_:)``
/// on a file with `synchronous=FULL`; then the same with an index on `readings (t)` and with a
/// `(sensor_ref, metric, t)` index, for comparison.
@Suite(
    "SQLite store: write rate (manual)", .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["STREETSENSE_STORE_BENCH"] != nil, "set STREETSENSE_STORE_BENCH=1"))
struct WriteRateMeasurement {
    static let total = 1_000_000
    static let sensors = 40_000
    static let batchSize = 10_000

    static func batches() -> [StoreBatch] {
        var random = SplitMix64(state: 1)
        var batches: [StoreBatch] = []
        var readings: [StoredReading] = []
        readings.reserveCapacity(batchSize)
        for i in 0..<total {
            // Every sensor reports once per second of event time, in sensor order, with up to 50 ms of
            // jitter: times are almost, not quite, in arrival order.
            let round = Int64(i / sensors)
            let offset = Int64(i % sensors) * 1000 / Int64(sensors) + Int64(random.next(below: 50))
            let value = Double(random.next(below: 100_000)) / 10
            readings.append(
                StoredReading(sensorRef: Int32(i % sensors), metric: .people, time: time(round * 1000 + offset), value: value))
            if readings.count == batchSize {
                batches.append(StoreBatch(readings: readings))
                readings.removeAll(keepingCapacity: true)
            }
        }
        return batches
    }

    func measure(_ label: String, index: String?) throws {
        let batches = Self.batches()
        try withStore { store, _ in
            if let index { try store.pool.write { db in try db.execute(sql: index) } }
            let clock = ContinuousClock()
            let start = clock.now
            for batch in batches { try store.write(batch) }
            let elapsed = clock.now - start
            #expect(try store.storedReadingCount() == Self.total)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print(
                "write rate \(label): \(Int(Double(Self.total) / seconds)) readings/s "
                    + "(\(Self.total) readings, \(Self.sensors) sensors, batches of \(Self.batchSize), \(seconds) s)")
        }
    }

    @Test func noSecondaryIndex() throws { try measure("no secondary index", index: nil) }

    @Test func timeIndex() throws { try measure("with index on t", index: "CREATE INDEX readings_by_t ON readings (t)") }

    @Test func seriesIndex() throws {
        try measure("with (sensor_ref, metric, t) index", index: "CREATE INDEX readings_by_series ON readings (sensor_ref, metric, t)")
    }
}
