import GRDB
import StreetSenseCore

/// The versioned schema of the SQLite store, applied with GRDB's `DatabaseMigrator`.
///
/// Migrations are append-only: a released migration is never edited; changes go in a new one. `v1` holds
/// readings, rollups, the registry and rejects; `v2` adds `alerts` and `alert_events`; `v3` keys the rollup
/// tables by minute first (see ``createVersion3(_:)``). Encodings that the
/// tables rely on, and that must never change:
/// - times are `INTEGER` milliseconds since the Unix epoch (``EventTime``); a rollup's `minute` is a
///   multiple of 60 000 (a `CHECK` since `v3`), so a series is read by one key seek per minute;
/// - `metric` is the ``Metric`` raw value (the `metrics` table names them for ad-hoc SQL);
/// - reject reasons and sensor kinds are their wire names (``RejectReason``, ``SensorKind`` raw values);
/// - `readings.flags` bit 0 is "late";
/// - alert rules, subject kinds, severities, states, transitions and faults are their API names (the raw
///   values of `AlertRule`, `AlertSubjectKind`, `AlertSeverity`, `AlertState`, `AlertTransition`,
///   `SensorFault`); a sensor subject's id is `pilot/sensor`.
///
/// The `readings` table is built for append speed (DESIGN §9): a rowid table keyed by an id in arrival
/// order, with no secondary index. `reading_blocks` maps each written range of ids to the event times it
/// holds (a block range index, like PostgreSQL's BRIN), which is all that time-range queries and retention
/// need. The id is declared `INTEGER PRIMARY KEY` so that `VACUUM` keeps it.
enum StoreSchema {
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1", migrate: createVersion1)
        migrator.registerMigration("v2", migrate: createVersion2)
        migrator.registerMigration("v3", migrate: createVersion3)
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

    /// Alerts (DESIGN §5): one `alerts` row per alert, kept current from its events, and `alert_events`, the
    /// append-only log of every transition, keyed by the engine's event id (the SSE event id).
    ///
    /// An alert's rule, subject, metric and fault never change, so they are stored once, in `alerts`; an event
    /// row holds what changes per transition. Triggers keep the invariants the SSE resume and the restore rely
    /// on, whoever writes: event ids only grow (a reader that has seen id N never later finds a smaller
    /// one), a cleared alert is final, an acknowledgement is never replaced, an alert keeps its identity and
    /// its `updated_at` never goes back. Alerts are not subject to raw retention: both tables are kept.
    private static func createVersion2(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE alerts (
                    id INTEGER PRIMARY KEY,         -- the id of its raised event
                    rule TEXT NOT NULL,
                    subject_kind TEXT NOT NULL,     -- zone | sensor
                    subject_id TEXT NOT NULL,       -- zone id, or pilot/sensor
                    metric INTEGER,                 -- Metric raw value: the pollutant, or the faulty metric
                    fault TEXT,                     -- sensor_faulty alerts only
                    severity TEXT NOT NULL CHECK (severity IN ('warning', 'major', 'critical')),
                    state TEXT NOT NULL CHECK (state IN ('active', 'cleared')),
                    acknowledged_by TEXT,
                    acknowledged_at INTEGER,
                    ack_note TEXT,
                    raised_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    cleared_at INTEGER,
                    peak_value REAL NOT NULL,
                    last_value REAL NOT NULL,
                    last_event_id INTEGER NOT NULL, -- the newest event this row reflects
                    CHECK ((state = 'cleared') = (cleared_at IS NOT NULL)),
                    CHECK ((acknowledged_by IS NULL) = (acknowledged_at IS NULL)),
                    CHECK (acknowledged_by IS NOT NULL OR ack_note IS NULL),
                    CHECK (raised_at <= updated_at),
                    CHECK (last_event_id >= id)
                );
                CREATE INDEX alerts_by_state ON alerts (state, id);
                CREATE INDEX alerts_by_subject ON alerts (subject_kind, subject_id, id);
                CREATE INDEX alerts_by_severity ON alerts (severity, id);
                -- "raised or updated at/after t" is updated_at >= t, because raised_at <= updated_at.
                CREATE INDEX alerts_by_updated_at ON alerts (updated_at);

                CREATE TRIGGER alerts_keep_their_identity
                BEFORE UPDATE OF rule, subject_kind, subject_id, metric, fault, raised_at ON alerts
                WHEN NEW.rule IS NOT OLD.rule OR NEW.subject_kind IS NOT OLD.subject_kind
                    OR NEW.subject_id IS NOT OLD.subject_id OR NEW.metric IS NOT OLD.metric
                    OR NEW.fault IS NOT OLD.fault OR NEW.raised_at IS NOT OLD.raised_at
                BEGIN
                    SELECT RAISE(ABORT, 'an alert keeps its rule, subject, metric, fault and raised_at');
                END;
                CREATE TRIGGER alerts_stay_cleared BEFORE UPDATE ON alerts WHEN OLD.state = 'cleared'
                BEGIN
                    SELECT RAISE(ABORT, 'a cleared alert never changes');
                END;
                CREATE TRIGGER alerts_keep_their_acknowledgement BEFORE UPDATE ON alerts
                WHEN OLD.acknowledged_by IS NOT NULL AND (NEW.acknowledged_by IS NOT OLD.acknowledged_by
                    OR NEW.acknowledged_at IS NOT OLD.acknowledged_at OR NEW.ack_note IS NOT OLD.ack_note)
                BEGIN
                    SELECT RAISE(ABORT, 'an acknowledgement is never replaced');
                END;
                CREATE TRIGGER alerts_move_forward BEFORE UPDATE ON alerts
                WHEN NEW.updated_at < OLD.updated_at OR NEW.last_event_id <= OLD.last_event_id
                BEGIN
                    SELECT RAISE(ABORT, 'an alert only moves forward in time and events');
                END;

                CREATE TABLE alert_events (         -- append-only; never trimmed
                    id INTEGER PRIMARY KEY,         -- the engine's event id: increasing, never reused
                    alert_id INTEGER NOT NULL REFERENCES alerts (id),
                    transition TEXT NOT NULL,
                    severity TEXT NOT NULL CHECK (severity IN ('warning', 'major', 'critical')),
                    at INTEGER NOT NULL,
                    value REAL NOT NULL,
                    peak REAL NOT NULL,
                    acknowledged_by TEXT,           -- the alert's acknowledgement after this transition
                    acknowledged_at INTEGER,
                    ack_note TEXT,
                    CHECK ((transition = 'raised') = (alert_id = id)),
                    CHECK (alert_id <= id),
                    CHECK ((acknowledged_by IS NULL) = (acknowledged_at IS NULL)),
                    CHECK (acknowledged_by IS NOT NULL OR ack_note IS NULL)
                );
                CREATE INDEX alert_events_by_alert ON alert_events (alert_id, id);
                CREATE TRIGGER alert_event_ids_increase BEFORE INSERT ON alert_events
                WHEN NEW.id <= (SELECT max(id) FROM alert_events)
                BEGIN
                    SELECT RAISE(ABORT, 'alert event ids must increase');
                END;
                """)
    }

    /// `v3`: `rollups` and `zone_rollups` keyed by minute first, with their data.
    ///
    /// Keyed by sensor (or zone) first, as in `v1`, the rows of a closed minute (one per sensor that reported)
    /// each landed on the leaf page of their own sensor, so a city of 40 000 sensors dirtied some 20 000
    /// pages, 80 MB of WAL, every minute, however long the history. Keyed by minute first they are appended
    /// at the right edge of the tree: a few hundred new pages a minute. A series is read by one primary-key
    /// seek per minute of its range (``SQLiteStore/rollupSeries(sensorRef:metric:from:to:step:)``), and the
    /// key's prefix serves retention, so the `*_by_minute` indexes go. The columns keep their order.
    private static func createVersion3(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE rollups_v3 (
                    sensor_ref INTEGER NOT NULL,
                    metric INTEGER NOT NULL,
                    minute INTEGER NOT NULL CHECK (minute % 60000 = 0),
                    count INTEGER NOT NULL,
                    sum REAL NOT NULL,
                    min REAL NOT NULL,
                    max REAL NOT NULL,
                    PRIMARY KEY (minute, sensor_ref, metric)
                ) WITHOUT ROWID;
                INSERT INTO rollups_v3 (sensor_ref, metric, minute, count, sum, min, max)
                    SELECT sensor_ref, metric, minute, count, sum, min, max FROM rollups ORDER BY minute, sensor_ref, metric;
                DROP TABLE rollups;
                ALTER TABLE rollups_v3 RENAME TO rollups;

                CREATE TABLE zone_rollups_v3 (      -- 1-minute rollups of each zone's density (p/m²)
                    zone TEXT NOT NULL,
                    minute INTEGER NOT NULL CHECK (minute % 60000 = 0),
                    count INTEGER NOT NULL,
                    sum REAL NOT NULL,
                    min REAL NOT NULL,
                    max REAL NOT NULL,
                    PRIMARY KEY (minute, zone)
                ) WITHOUT ROWID;
                INSERT INTO zone_rollups_v3 (zone, minute, count, sum, min, max)
                    SELECT zone, minute, count, sum, min, max FROM zone_rollups ORDER BY minute, zone;
                DROP TABLE zone_rollups;
                ALTER TABLE zone_rollups_v3 RENAME TO zone_rollups;
                """)
    }

    /// Records the name of every metric id, so that new metrics are named too.
    static func nameMetrics(_ db: Database) throws {
        let statement = try db.cachedStatement(sql: "INSERT OR REPLACE INTO metrics (id, name) VALUES (?, ?)")
        for metric in Metric.allCases {
            try statement.execute(arguments: [Int64(metric.rawValue), metric.name])
        }
    }
}
