import GRDB
import StreetSenseCore
import Testing

@testable import StreetSenseStore

@Suite("SQLite store: sensor registry")
struct RegistryTests {
    let zones = [
        ZoneDefinition(id: "kamppi-square", name: "Kamppi square", areaM2: 1200, polygon: [[24.93, 60.16], [24.94, 60.16], [24.93, 60.16]]),
        ZoneDefinition(id: "narinkka", name: "Narinkka", areaM2: 800),
    ]

    func sensor(_ pilot: String, _ id: String, zone: String = "kamppi-square", kind: SensorKind = .occupancy)
        -> SensorDefinition
    {
        SensorDefinition(address: SensorAddress(pilot: pilot, sensor: id), zone: zone, kind: kind)
    }

    @Test("refs stay stable across reopen; removed sensors become unregistered; new ones get fresh refs")
    func refsStableAcrossReopen() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("store.sqlite")

        var store = try SQLiteStore(path: path)
        let first = try store.syncRegistry(
            zones: zones,
            sensors: [
                sensor("helsinki-lab", "cam-01"), sensor("helsinki-lab", "gate-n", kind: .flow),
                sensor("citizen-air", "sds-5331", zone: "narinkka", kind: .air),
            ])
        #expect(first.map(\.address.sensor) == ["cam-01", "gate-n", "sds-5331"])
        #expect(first.allSatisfy { $0.registered && $0.firstSeen == nil && $0.lastSeen == nil })
        #expect(first.map(\.zone) == ["kamppi-square", "kamppi-square", "narinkka"])
        #expect(first.map(\.kind) == [.occupancy, .flow, .air])
        let refs = Dictionary(uniqueKeysWithValues: first.map { ($0.address, $0.ref) })
        #expect(Set(refs.values).count == 3)

        // An unregistered sensor appears at run time: the pipeline gives it the next ref.
        let strayAddress = SensorAddress(pilot: "helsinki-lab", sensor: "stray-7")
        let strayRef = first.map(\.ref).max()! + 1
        try store.write(
            StoreBatch(
                readings: [StoredReading(sensorRef: strayRef, metric: .people, time: time(5_000), value: 4)],
                sensors: [SensorRecord(ref: strayRef, address: strayAddress, firstSeen: time(5_000), lastSeen: time(5_000))]))
        // Later upserts move lastSeen forward and firstSeen backward only.
        try store.write(
            StoreBatch(sensors: [SensorRecord(ref: strayRef, address: strayAddress, firstSeen: time(9_000), lastSeen: time(9_000))]))
        try store.write(
            StoreBatch(sensors: [SensorRecord(ref: strayRef, address: strayAddress, firstSeen: time(1_000), lastSeen: time(2_000))]))
        try store.close()

        store = try SQLiteStore(path: path)
        let second = try store.syncRegistry(
            zones: [zones[1]],
            sensors: [
                sensor("helsinki-lab", "gate-n", zone: "narinkka", kind: .flow),
                sensor("citizen-air", "sds-5331", zone: "narinkka", kind: .air),
                sensor("helsinki-lab", "cam-02", zone: "narinkka"),
            ])
        let byAddress = Dictionary(uniqueKeysWithValues: second.map { ($0.address, $0) })
        #expect(second.count == 5)
        #expect(second.map(\.ref) == second.map(\.ref).sorted())

        let removed = try #require(byAddress[SensorAddress(pilot: "helsinki-lab", sensor: "cam-01")])
        #expect(removed.ref == refs[removed.address])
        #expect(!removed.registered && removed.zone == nil && removed.kind == nil)

        let moved = try #require(byAddress[SensorAddress(pilot: "helsinki-lab", sensor: "gate-n")])
        #expect(moved.ref == refs[moved.address])
        #expect(moved.registered && moved.zone == "narinkka" && moved.kind == .flow)
        #expect(
            byAddress[SensorAddress(pilot: "citizen-air", sensor: "sds-5331")]?.ref == refs[SensorAddress(pilot: "citizen-air", sensor: "sds-5331")])

        let stray = try #require(byAddress[strayAddress])
        #expect(stray == SensorRecord(ref: strayRef, address: strayAddress, firstSeen: time(1_000), lastSeen: time(9_000)))

        let added = try #require(byAddress[SensorAddress(pilot: "helsinki-lab", sensor: "cam-02")])
        #expect(added.ref > strayRef)
        #expect(added.registered && added.zone == "narinkka" && added.kind == .occupancy)

        // Registering the stray sensor later keeps its ref and its history.
        let third = try store.syncRegistry(zones: zones, sensors: [sensor("helsinki-lab", "stray-7", kind: .devices)])
        let registeredStray = try #require(third.first { $0.address == strayAddress })
        #expect(registeredStray.ref == strayRef && registeredStray.registered && registeredStray.kind == .devices)
        #expect(registeredStray.firstSeen == time(1_000))
        #expect(try store.sensors() == third)

        let zoneRows = try store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, name, area_m2, polygon, configured FROM zones ORDER BY id")
        }
        #expect(zoneRows.map { $0[0] as String } == ["kamppi-square", "narinkka"])
        #expect(zoneRows.map { $0[4] as Int } == [1, 1])
        #expect(zoneRows[0][3] as String == "[[24.93,60.16],[24.94,60.16],[24.93,60.16]]")
        try store.close()
    }

    @Test("zones left out of the configuration are kept as unconfigured")
    func zonesUnconfigured() throws {
        try withStore { store, _ in
            _ = try store.syncRegistry(zones: zones, sensors: [])
            _ = try store.syncRegistry(zones: [zones[0]], sensors: [])
            let configured = try store.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT id, configured FROM zones ORDER BY id").map { ($0[0] as String, $0[1] as Int) }
            }
            #expect(configured.map(\.0) == ["kamppi-square", "narinkka"])
            #expect(configured.map(\.1) == [1, 0])
        }
    }

    @Test("a ref cannot change its address: the batch fails whole with a constraint error")
    func refKeepsAddress() throws {
        try withStore { store, _ in
            let records = try store.syncRegistry(zones: zones, sensors: [sensor("helsinki-lab", "cam-01")])
            let ref = records[0].ref
            let error = #expect(throws: StoreError.self) {
                try store.write(
                    StoreBatch(
                        readings: [StoredReading(sensorRef: ref, metric: .people, time: time(0), value: 1)],
                        sensors: [SensorRecord(ref: ref, address: SensorAddress(pilot: "helsinki-lab", sensor: "cam-99"))]))
            }
            #expect(error?.code == .constraintViolation)
            #expect(error?.message.contains("cannot change its address") == true)
            // Another ref for an address that already has one is refused too.
            let duplicate = #expect(throws: StoreError.self) {
                try store.write(StoreBatch(sensors: [SensorRecord(ref: ref + 1, address: records[0].address)]))
            }
            #expect(duplicate?.code == .constraintViolation)
            #expect(try store.storedReadingCount() == 0)
            #expect(try store.sensors() == records)
        }
    }

    @Test("a large registry keeps every ref through a reopen, whatever the configuration order")
    func largeRegistryStable() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("store.sqlite")
        var definitions = (0..<5_000).map { i in
            sensor("pilot-\(i % 7)", "sensor-\(i)", zone: i % 2 == 0 ? "kamppi-square" : "narinkka", kind: i % 3 == 0 ? .air : .occupancy)
        }
        var store = try SQLiteStore(path: path)
        let first = try store.syncRegistry(zones: zones, sensors: definitions)
        #expect(first.count == 5_000)
        #expect(Set(first.map(\.ref)).count == 5_000)
        try store.close()

        var random = SplitMix64(state: 3)
        definitions.shuffle(using: &random)
        store = try SQLiteStore(path: path)
        let second = try store.syncRegistry(zones: zones, sensors: definitions)
        #expect(second == first)
        let byAddress = Dictionary(uniqueKeysWithValues: second.map { ($0.address, $0) })
        for definition in definitions.prefix(100) {
            let record = try #require(byAddress[definition.address])
            #expect(record.zone == definition.zone && record.kind == definition.kind && record.registered)
        }
        try store.close()
    }
}
