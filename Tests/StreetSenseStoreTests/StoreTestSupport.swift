import Foundation
import StreetSenseCore
import Testing

@testable import StreetSenseStore

/// A fresh directory under the system temporary directory, removed by ``remove()``.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("streetsense-store-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// Runs `body` with a new store on a new file, closes it and removes its directory afterwards.
func withStore<T>(
    options: SQLiteStore.Options = SQLiteStore.Options(),
    _ body: (SQLiteStore, TemporaryDirectory) throws -> T
) throws -> T {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let store = try SQLiteStore(path: directory.path("store.sqlite"), options: options)
    defer { try? store.close() }
    return try body(store, directory)
}

/// 2026-11-22T10:00:00Z: a minute boundary, and a day boundary plus ten hours.
let baseTime: Int64 = 1_795_341_600_000

func time(_ offsetMilliseconds: Int64) -> EventTime { EventTime(milliseconds: baseTime + offsetMilliseconds) }

/// A deterministic generator (SplitMix64), so that tests are reproducible without fixtures.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
