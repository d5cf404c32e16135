import GRDB
import StreetSenseCore

/// The versioned schema of the SQLite store, applied with GRDB's `DatabaseMigrator`.
///
/// Migrations are append-only: a released migration is never edited; changes go in a new one (`v2` will add
/// `alerts` and `alert_events`). Encodings that the tables rely on, and that must never change:
/// - times are `INTEGER` milliseconds since the Unix epoch (``EventTime``);
/// - `metric` is the ``Metric`` raw value (the `metrics` table names them for ad-hoc SQL);
/// - reject reasons and sensor kinds are their wire names (``RejectReason``, ``SensorKind`` raw values);
/// - `readings.flags` bit 0 is "late".
///
/// The `readings` table is built for append speed (DESIGN §9): a rowid table keyed by an id in arrival
/// order, with no secondary index. `reading_blocks` maps each written range of ids to the event times it
/// holds (a block range index, like PostgreSQL's BRIN), which is all that time-range queries and retention
/// need. The id is declared `INTEGER PRIMARY KEY` so that `VACUUM` keeps it.
enum StoreSchema {
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1", migrate: createVersion1)
        return migrator
    }()

    /// Bit 0 of `readings.flags`.
    static let lateFlag: Int64 = 1

    private static func createVersion1(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE meta (
                    key TEXT PRIMARY KEY NOT NULL,
                    value
                );
                INSERT INTO meta (key, value) VALUES
                    ('application', 'streetsense'),
                    ('created_at_ms', CAST(strftime('%s', 'now') AS INTEGER) * 1000);

                CREATE TABLE metrics (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE
                );

                CREATE TABLE zones (
                    id TEXT PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL,
                    area_m2 REAL NOT NULL,
                    polygon TEXT NOT NULL,          -- JSON: [[lon, lat], ...]
                    elevated_ppm2 REAL NOT NULL,
                    high_ppm2 REAL NOT NULL,
                    critical_ppm2 REAL NOT NULL,
                    configured INTEGER NOT NULL     -- 0 once removed from the configuration
                );

                CREATE TABLE sensors (
                    ref INTEGER PRIMARY KEY,        -- stable small id used by readings and rollups
                    pilot TEXT NOT NULL,
                    sensor TEXT NOT NULL,
                    zone TEXT,                      -- set only while registered
                    kind TEXT,                      -- set only while registered
                    registered INTEGER NOT NULL,
                    first_seen INTEGER,
                    last_seen INTEGER,
                    UNIQUE (pilot, sensor)
                );
                CREATE TRIGGER sensors_keep_their_address BEFORE UPDATE OF pilot, sensor ON sensors
                WHEN NEW.pilot IS NOT OLD.pilot OR NEW.sensor IS NOT OLD.sensor
                BEGIN
                    SELECT RAISE(ABORT, 'a sensor ref cannot change its address');
                END;

                CREATE TABLE readings (             -- arrival order, no secondary index: append speed
                    id INTEGER PRIMARY KEY,         -- assigned by the writer, never reused (see reading_blocks)
                    t INTEGER NOT NULL,
                    sensor_ref INTEGER NOT NULL,
                    metric INTEGER NOT NULL,
                    value REAL NOT NULL,
                    flags INTEGER NOT NULL
                );

                CREATE TABLE reading_blocks (       -- which event times each range of reading ids holds
                    id INTEGER PRIMARY KEY,
                    first_id INTEGER NOT NULL,
                    last_id INTEGER NOT NULL,
                    min_t INTEGER NOT NULL,
                    max_t INTEGER NOT NULL
                );
                CREATE INDEX reading_blocks_by_max_t ON reading_blocks (max_t);
                CREATE INDEX reading_blocks_by_min_t ON reading_blocks (min_t);

                CREATE TABLE rollups (
                    sensor_ref INTEGER NOT NULL,
                    metric INTEGER NOT NULL,
                    minute INTEGER NOT NULL,        -- start of the minute
                    count INTEGER NOT NULL,
                    sum REAL NOT NULL,
                    min REAL NOT NULL,
                    max REAL NOT NULL,
                    PRIMARY KEY (sensor_ref, metric, minute)
                ) WITHOUT ROWID;
                CREATE INDEX rollups_by_minute ON rollups (minute);

                CREATE TABLE zone_rollups (         -- 1-minute rollups of each zone's density (p/m²)
                    zone TEXT NOT NULL,
                    minute INTEGER NOT NULL,
                    count INTEGER NOT NULL,
                    sum REAL NOT NULL,
                    min REAL NOT NULL,
                    max REAL NOT NULL,
                    PRIMARY KEY (zone, minute)
                ) WITHOUT ROWID;
                CREATE INDEX zone_rollups_by_minute ON zone_rollups (minute);

                CREATE TABLE rejects (              -- bounded: the oldest rows are trimmed
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    received INTEGER NOT NULL,
                    pilot TEXT,
                    sensor TEXT,
                    topic TEXT NOT NULL,
                    payload BLOB NOT NULL,          -- at most the first 1 KiB
                    reason TEXT NOT NULL,
                    detail TEXT NOT NULL
                );
                CREATE INDEX rejects_by_pilot ON rejects (pilot, id);
                CREATE INDEX rejects_by_reason ON rejects (reason, id);

                CREATE TABLE reject_counts (        -- since the beginning, trimmed rejects included
                    pilot TEXT NOT NULL,            -- '' when the topic named no pilot
                    reason TEXT NOT NULL,
                    count INTEGER NOT NULL,
                    PRIMARY KEY (pilot, reason)
                ) WITHOUT ROWID;

                CREATE TABLE flow_counters (
                    sensor_ref INTEGER PRIMARY KEY,
                    occupancy REAL NOT NULL,
                    as_of INTEGER NOT NULL
                );
                """)
        try nameMetrics(db)
    }

    /// Records the name of every metric id, so that new metrics are named too.
    static func nameMetrics(_ db: Database) throws {
        let statement = try db.cachedStatement(sql: "INSERT OR REPLACE INTO metrics (id, name) VALUES (?, ?)")
        for metric in Metric.allCases {
            try statement.execute(arguments: [Int64(metric.rawValue), metric.name])
        }
    }
}
