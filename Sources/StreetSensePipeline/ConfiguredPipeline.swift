import Logging
import StreetSenseAlerts
import StreetSenseConfig
import StreetSenseCore
import StreetSenseStore

// The one way a configuration becomes a pipeline. The live service (StreetSenseApp) and offline replay
// (StreetSenseReplay) both build theirs here, so they cannot drift apart: same options, same zone and sensor
// rules, in the same order. Only the clock differs where the caller says so.

extension PipelineOptions {
    /// The pipeline options of `configuration`, with "now" moved by `clock` (offline replay: `.event`).
    public init(_ configuration: StreetSenseConfiguration, clock: PipelineClock) {
        self.init(
            topicPrefix: configuration.mqtt.topicPrefix,
            eventTime: configuration.pipeline.eventTimePolicy,
            payloadLimit: configuration.pipeline.maxPayloadBytes,
            storeBatchRows: configuration.store.batchMaxRows,
            storeBatchInterval: configuration.store.batchMaxDelay,
            snapshotInterval: configuration.pipeline.snapshotInterval,
            followsWallClock: clock == .wall)
    }
}

extension Pipeline {
    /// The pipeline of `configuration`: its zones and sensors, each zone's rules (crowd and air quality) and
    /// each sensor's rules (those of its zone), its pipeline settings, and "now" moved by `clock`.
    ///
    /// - Parameter records: the sensors' stable store references (``ReadingStore/syncRegistry(zones:sensors:)``);
    ///   none offline.
    public convenience init(
        configuration: StreetSenseConfiguration, records: [SensorRecord] = [], clock: PipelineClock, logger: Logger,
        deliver: @escaping (StoreBatch) -> Void
    ) throws {
        let rulesByZone = configuration.rulesByZone()
        func rules(_ zone: String) -> RuleSet { rulesByZone[zone] ?? configuration.rules(forZone: zone) }
        try self.init(
            zones: configuration.zones, sensors: configuration.sensors, records: records,
            options: PipelineOptions(configuration, clock: clock),
            zoneRules: configuration.zones.map { ZoneAlertRules(rules($0.id)) },
            sensorRules: configuration.sensors.map { SensorAlertRules(rules($0.zone)) },
            logger: logger, deliver: deliver)
    }
}
