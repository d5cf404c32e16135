import Foundation
import StreetSenseCore
import Testing

@testable import StreetSenseStore

/// The writer upserts rollups, zone rollups and flow counters in key order (one visit per B-tree page per batch);
/// what it stores must not depend on the order a batch arrives in, and of equal keys the later one must win.
@Suite("Upserts in key order")
struct UpsertOrderTests {
    @Test("a shuffled batch with repeated keys stores, for every key, the last record the batch holds for it")
    func upsertsInAnyOrder() throws {
        try withStore { store, _ in
            var random = SplitMix64(state: 7)
            var rollups: [RollupRecord] = []
            var zoneRollups: [ZoneRollupRecord] = []
            var counters: [FlowCounterState] = []
            // 300 sensors × 3 minutes, each key written 1–3 times with different values, interleaved at random.
            for version in 0..<3 {
                for ref in Int32(0)..<300 {
                    for minute in 0..<3 where version == 0 || random.next(below: 2) == 0 {
                        let v = Double(version * 1_000 + Int(ref)) + Double(minute) / 10
                        rollups.append(
                            RollupRecord(
                                sensorRef: ref, metric: ref % 2 == 0 ? .people : .pm2_5, minute: time(Int64(minute) * 60_000),
                                count: Int32(version + 1), sum: v, min: v, max: v))
                    }
                    if version == 0 || random.next(below: 2) == 0 {
                        counters.append(FlowCounterState(sensorRef: ref, occupancy: Double(version * 1_000) + Double(ref), asOf: time(Int64(version))))
                    }
                }
                for zone in 0..<40 where version == 0 || random.next(below: 2) == 0 {
                    let v = Double(version * 100 + zone)
                    zoneRollups.append(ZoneRollupRecord(zone: "zone-\(zone)", minute: time(0), count: Int32(version + 1), sum: v, min: v, max: v))
                }
            }
            // Shuffle while keeping each key's versions in batch order: a key's later record stays later.
            func interleaved<T>(_ records: [T], key: (T) -> String) -> [T] {
                var byKey: [String: [T]] = [:]
                var keys: [String] = []
                for record in records {
                    let k = key(record)
                    if byKey[k] == nil { keys.append(k) }
                    byKey[k, default: []].append(record)
                }
                var result: [T] = []
                while !keys.isEmpty {
                    let i = random.next(below: keys.count)
                    result.append(byKey[keys[i]]!.removeFirst())
                    if byKey[keys[i]]!.isEmpty { keys.remove(at: i) }
                }
                return result
            }
            let rollupBatch = interleaved(rollups) { "\($0.sensorRef)/\($0.metric)/\($0.minute.milliseconds)" }
            let zoneBatch = interleaved(zoneRollups) { "\($0.zone)/\($0.minute.milliseconds)" }
            let counterBatch = interleaved(counters) { "\($0.sensorRef)" }
            #expect(rollupBatch.map(\.sensorRef) != rollups.map(\.sensorRef))  // really out of key order
            try store.write(StoreBatch(rollups: rollupBatch, zoneRollups: zoneBatch, flowCounters: counterBatch))

            var lastRollup: [String: RollupRecord] = [:]
            for r in rollupBatch { lastRollup["\(r.sensorRef)/\(r.metric)/\(r.minute.milliseconds)"] = r }
            #expect(lastRollup.count == 900)
            for ref in Int32(0)..<300 {
                let metric: Metric = ref % 2 == 0 ? .people : .pm2_5
                let series = try store.rollupSeries(sensorRef: ref, metric: metric, from: time(0), to: time(180_000), step: .seconds(60))
                let expected = (0..<3).map { minute -> SeriesPoint in
                    let r = lastRollup["\(ref)/\(metric)/\(time(Int64(minute) * 60_000).milliseconds)"]!
                    return SeriesPoint(start: time(Int64(minute) * 60_000), count: Int(r.count), sum: r.sum, min: r.min, max: r.max)
                }
                #expect(series == expected, "sensor \(ref)")
            }

            var lastZone: [String: ZoneRollupRecord] = [:]
            for r in zoneBatch { lastZone[r.zone] = r }
            for (zone, r) in lastZone {
                let series = try store.zoneDensitySeries(zone: zone, from: time(0), to: time(60_000), step: .seconds(60))
                #expect(series == [SeriesPoint(start: time(0), count: Int(r.count), sum: r.sum, min: r.min, max: r.max)], "\(zone)")
            }

            var lastCounter: [Int32: FlowCounterState] = [:]
            for c in counterBatch { lastCounter[c.sensorRef] = c }
            let stored = try store.flowCounters()
            #expect(Dictionary(uniqueKeysWithValues: stored.map { ($0.sensorRef, $0) }) == lastCounter)
        }
    }

    @Test("stablySorted sorts and keeps equal elements in their original order")
    func stableSort() {
        var random = SplitMix64(state: 3)
        let pairs = (0..<2_000).map { i in (key: random.next(below: 50), position: i) }
        let sorted = pairs.stablySorted { $0.key < $1.key }
        #expect(sorted.count == pairs.count)
        for (a, b) in zip(sorted, sorted.dropFirst()) {
            #expect(a.key < b.key || (a.key == b.key && a.position < b.position))
        }
        #expect([Int]().stablySorted(by: <) == [])
        #expect([5].stablySorted(by: <) == [5])
    }
}
