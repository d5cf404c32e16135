import Foundation
import GRDB
import StreetSenseCore
import Synchronization
import Testing

@testable import StreetSenseStore

/// A tmpfs of a few hundred KiB, mounted for one test (needs root, as on the project's machines).
struct TinyFileSystem {
    let directory: TemporaryDirectory
    var path: String { directory.url.path }

    /// Mounts a tmpfs of `size` (for example `1m`) on a new temporary directory; nil if mounting is impossible.
    static func mount(size: String) -> TinyFileSystem? {
        guard let directory = try? TemporaryDirectory() else { return nil }
        guard run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", directory.url.path]) else {
            directory.remove()
            return nil
        }
        return TinyFileSystem(directory: directory)
    }

    func unmount() {
        _ = Self.run("/usr/bin/umount", [path])
        directory.remove()
    }

    /// Whether this machine lets the tests mount a tmpfs.
    static let isAvailable: Bool = {
        guard let probe = mount(size: "64k") else { return false }
        probe.unmount()
        return true
    }()

    private static func run(_ executable: String, _ arguments: [String]) -> Bool {
        guard FileManager.default.isExecutableFile(atPath: executable) else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus == 0
        } catch {
            return false
        }
    }
}

/// `count` readings of 40 sensors, one millisecond apart from `start`.
func readings(count: Int, startingAt start: Int64 = 0) -> [StoredReading] {
    var result: [StoredReading] = []
    result.reserveCapacity(count)
    for i in 0..<count {
        let metric: Metric = i % 3 == 0 ? .pm2_5 : .people
        let value = Double(i) / 8
        result.append(StoredReading(sensorRef: Int32(i % 40), metric: metric, time: time(start + Int64(i)), value: value))
    }
    return result
}

@Suite("SQLite store: failures and concurrency", .serialized)
struct FailureAndConcurrencyTests {
    @Test(
        "a full file system fails the write with diskFull; the same batch succeeds once space is freed",
        .enabled(if: TinyFileSystem.isAvailable, "needs permission to mount a tmpfs"))
    func diskFullOnTinyFileSystem() throws {
        let fileSystem = try #require(TinyFileSystem.mount(size: "1m"))
        defer { fileSystem.unmount() }
        let store = try SQLiteStore(path: fileSystem.path + "/store.sqlite")
        defer { try? store.close() }
        try store.write(StoreBatch(readings: readings(count: 100)))

        // Fill the file system with a file of zeros until it refuses more.
        let fillerPath = fileSystem.path + "/filler"
        #expect(FileManager.default.createFile(atPath: fillerPath, contents: nil))
        let filler = try FileHandle(forWritingTo: URL(fileURLWithPath: fillerPath))
        let block = Data(count: 4096)
        var filled = 0
        while (try? filler.write(contentsOf: block)) != nil { filled += block.count }
        try? filler.close()
        #expect(filled > 0)

        let batch = StoreBatch(
            readings: readings(count: 20_000, startingAt: 1_000),
            rejects: [
                StoredReject(
                    received: time(5), pilot: "helsinki-lab", sensor: "cam-01", topic: "t", payload: [1, 2], reason: .notFinite,
                    detail: "NaN")
            ])
        let error = #expect(throws: StoreError.self) { try store.write(batch) }
        #expect(error?.code == .diskFull)
        #expect(error?.description.contains("free disk space and retry") == true)
        // Nothing of the failed batch is visible, and readers still work.
        #expect(try store.storedReadingCount() == 100)
        #expect(try store.rejectCounts() == [])

        try FileManager.default.removeItem(atPath: fillerPath)
        try store.write(batch)
        #expect(try store.storedReadingCount() == 20_100)
        #expect(try store.rejectCounts() == [RejectCount(pilot: "helsinki-lab", reason: .notFinite, count: 1)])
        #expect(try store.recentReadings(since: time(1_000)).count == 20_000)
        let integrity = try store.pool.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") }
        #expect(integrity == "ok")
    }

    @Test("diskFull simulated with PRAGMA max_page_count, then a successful retry")
    func diskFullSimulatedWithPageLimit() throws {
        try withStore { store, _ in
            try store.write(StoreBatch(readings: readings(count: 100)))
            let pages = try store.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA page_count")! }
            try store.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = \(pages + 4)") }

            let batch = StoreBatch(readings: readings(count: 20_000, startingAt: 1_000))
            let error = #expect(throws: StoreError.self) { try store.write(batch) }
            #expect(error?.code == .diskFull)
            #expect(try store.storedReadingCount() == 100)

            try store.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = 1073741823") }
            try store.write(batch)
            #expect(try store.storedReadingCount() == 20_100)
        }
    }

    @Test("a reader is not blocked by an open write transaction, and sees only committed data")
    func readerDuringLongWrite() throws {
        try withStore { store, _ in
            try store.write(StoreBatch(readings: readings(count: 100)))
            let started = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            let finished = DispatchSemaphore(value: 0)
            let writerWaitedTooLong = Mutex(false)
            DispatchQueue.global().async {
                try? store.pool.write { db in
                    try SQLiteStore.insertReadings(readings(count: 5_000, startingAt: 1_000), blockRows: 10_000, db)
                    started.signal()
                    if release.wait(timeout: .now() + 10) == .timedOut { writerWaitedTooLong.withLock { $0 = true } }
                }
                finished.signal()
            }
            #expect(started.wait(timeout: .now() + 10) == .success)
            // The write transaction is open and holds 5 000 uncommitted readings.
            let count = try store.storedReadingCount()
            let recent = try store.recentReadings(since: time(0))
            let series = try store.readings(sensorRef: 1, metric: .people, from: time(0), to: time(100_000), limit: 10_000)
            release.signal()
            #expect(finished.wait(timeout: .now() + 10) == .success)
            #expect(!writerWaitedTooLong.withLock { $0 })
            #expect(count == 100)
            #expect(recent.count == 100)
            #expect(series.count == readings(count: 100).filter { $0.sensorRef == 1 && $0.metric == .people }.count)
            #expect(try store.storedReadingCount() == 5_100)
        }
    }

    @Test("the writer is not blocked by an open read transaction")
    func writerDuringLongRead() throws {
        try withStore { store, _ in
            try store.write(StoreBatch(readings: readings(count: 100)))
            let started = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            let finished = DispatchSemaphore(value: 0)
            let seenByReader = Mutex(0)
            DispatchQueue.global().async {
                try? store.pool.read { db in
                    let before = try Int.fetchOne(db, sql: "SELECT count(*) FROM readings")!
                    started.signal()
                    _ = release.wait(timeout: .now() + 10)
                    // Still the snapshot the read transaction started with.
                    let after = try Int.fetchOne(db, sql: "SELECT count(*) FROM readings")!
                    seenByReader.withLock { $0 = before == after ? after : -1 }
                }
                finished.signal()
            }
            #expect(started.wait(timeout: .now() + 10) == .success)
            for batch in 0..<5 { try store.write(StoreBatch(readings: readings(count: 1_000, startingAt: Int64(batch) * 1_000 + 500))) }
            #expect(try store.storedReadingCount() == 5_100)
            release.signal()
            #expect(finished.wait(timeout: .now() + 10) == .success)
            #expect(seenByReader.withLock { $0 } == 100)
        }
    }
}
