import GRDB
import StreetSenseCore

extension SQLiteStore {
    /// Upserts the configured zones and sensors in one transaction and returns every sensor record by ref.
    ///
    /// Everything is first marked unconfigured, then the configuration is upserted: an address keeps its
    /// ref (`UNIQUE (pilot, sensor)` is the conflict target), a new address gets the next free ref, and what
    /// the configuration no longer names stays stored as unregistered (sensors) or unconfigured (zones).
    public func syncRegistry(
        zones: [ZoneDefinition], sensors: [SensorDefinition]
    ) throws(StoreError) -> [SensorRecord] {
        try run("sync registry (\(zones.count) zones, \(sensors.count) sensors)") {
            try pool.write { db in
                try StoreSchema.nameMetrics(db)

                try db.execute(sql: "UPDATE zones SET configured = 0")
                try Self.zoneInserter.insert(zones, db) { zone, row in
                    row.bind(zone.id)
                    row.bind(zone.name)
                    row.bind(zone.areaM2)
                    row.bind(Self.polygonJSON(zone.polygon))
                    row.bind(zone.levels.elevated)
                    row.bind(zone.levels.high)
                    row.bind(zone.levels.critical)
                    row.bind(1 as Int64)  // configured
                }
                try db.execute(sql: "UPDATE sensors SET registered = 0, zone = NULL, kind = NULL WHERE registered = 1")
                try Self.registeredSensorInserter.insert(sensors, db) { sensor, row in
                    row.bind(sensor.address.pilot)
                    row.bind(sensor.address.sensor)
                    row.bind(sensor.zone)
                    row.bind(sensor.kind.rawValue)
                    row.bind(1 as Int64)  // registered
                }
                if let largest = try Int64.fetchOne(db, sql: "SELECT max(ref) FROM sensors"), largest > Int64(Int32.max) {
                    throw StoreError(
                        .constraintViolation, operation: "sync registry",
                        message: "sensor refs are exhausted (largest \(largest) does not fit in 32 bits)")
                }
                return try Self.fetchSensors(db)
            }
        }
    }

    static let zoneInserter = RowInserter(
        into: "zones (id, name, area_m2, polygon, elevated_ppm2, high_ppm2, critical_ppm2, configured)", columns: 8,
        upsert: """
            ON CONFLICT (id) DO UPDATE SET name = excluded.name, area_m2 = excluded.area_m2,
                polygon = excluded.polygon, elevated_ppm2 = excluded.elevated_ppm2,
                high_ppm2 = excluded.high_ppm2, critical_ppm2 = excluded.critical_ppm2, configured = 1
            """)

    /// Registers a sensor: a new address gets the next free ref; a known one keeps its ref.
    static let registeredSensorInserter = RowInserter(
        into: "sensors (pilot, sensor, zone, kind, registered)", columns: 5,
        upsert: """
            ON CONFLICT (pilot, sensor) DO UPDATE SET zone = excluded.zone, kind = excluded.kind, registered = 1
            """)

    /// `[[lon,lat],…]` with the shortest round-tripping decimal form of each coordinate.
    static func polygonJSON(_ polygon: [[Double]]) -> String {
        "["
            + polygon.map { point in "[" + point.map { $0.isFinite ? "\($0)" : "null" }.joined(separator: ",") + "]" }
            .joined(separator: ",") + "]"
    }
}
