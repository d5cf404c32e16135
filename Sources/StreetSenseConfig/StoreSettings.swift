/// Where and how readings are stored (DESIGN §6).
///
/// `sqlitePath` is used as given: a relative path is relative to the working directory of the service (unlike the
/// files the configuration reads, which are relative to the configuration file's folder). Invariant: every count
/// and duration is at least 1.
public struct StoreSettings: Sendable, Hashable {
    public var sqlitePath: String
    /// Days raw readings are kept.
    public var rawRetentionDays: Int
    /// Days 1-minute rollups are kept.
    public var rollupRetentionDays: Int
    /// A batch commits when it holds this many rows…
    public var batchMaxRows: Int
    /// …or when its oldest row has waited this long: the window in which an acknowledged reading can be lost.
    public var batchMaxDelay: Duration
    /// The most rows the rejects table keeps; older rejects are dropped first.
    public var rejectsMaxRows: Int

    public init(
        sqlitePath: String = "var/streetsense.sqlite", rawRetentionDays: Int = 7, rollupRetentionDays: Int = 400,
        batchMaxRows: Int = 10_000, batchMaxDelay: Duration = .milliseconds(250), rejectsMaxRows: Int = 100_000
    ) {
        self.sqlitePath = sqlitePath
        self.rawRetentionDays = rawRetentionDays
        self.rollupRetentionDays = rollupRetentionDays
        self.batchMaxRows = batchMaxRows
        self.batchMaxDelay = batchMaxDelay
        self.rejectsMaxRows = rejectsMaxRows
    }
}

extension StoreSettings {
    /// Reads the `store` section.
    init(reading reader: MappingReader) {
        self.init()
        sqlitePath = reader.value("sqlite_path", .string, default: sqlitePath)
        rawRetentionDays = reader.value("raw_retention_days", .integer(1...36_500), default: rawRetentionDays)
        rollupRetentionDays = reader.value("rollup_retention_days", .integer(1...36_500), default: rollupRetentionDays)
        batchMaxRows = reader.value("batch_max_rows", .integer(1...1_000_000), default: batchMaxRows)
        batchMaxDelay = .milliseconds(reader.value("batch_max_ms", .integer(1...10_000), default: 250))
        rejectsMaxRows = reader.value("rejects_max_rows", .integer(1...100_000_000), default: rejectsMaxRows)
        reader.reportUnknownKeys()
    }
}
