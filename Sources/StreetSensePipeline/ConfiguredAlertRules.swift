import StreetSenseAlerts
import StreetSenseConfig

// The configured rules (StreetSenseConfig) as the alert engine's rule types (StreetSenseAlerts).

extension ZoneAlertRules {
    /// The alert rules of a zone from its configured rules (crowd rules and its air-quality rule).
    public init(_ rules: RuleSet) {
        let crowd = rules.crowd
        self.init(
            density: DensityAlertRule(levels: crowd.densityLevels, hold: crowd.hold, clear: crowd.clear, hysteresis: crowd.hysteresis),
            buildUp: BuildUpAlertRule(ppm2Per5Min: crowd.buildUp.ppm2Per5Min, hold: crowd.hold, clear: crowd.clear, hysteresis: crowd.hysteresis),
            airQuality: AirQualityAlertRule(rules.airQuality))
    }
}

extension SensorAlertRules {
    /// The alert rules of a sensor from its zone's configured rules.
    public init(_ rules: RuleSet) {
        let offline = rules.sensorOffline, faulty = rules.sensorFaulty
        self.init(
            offline: OfflineAlertRule(
                factor: offline.factor, minimum: offline.minimum, assumedInterval: OfflineAlertRule.default.assumedInterval,
                isEnabled: offline.isEnabled),
            faults: FaultAlertRule(
                stuckAfter: faulty.stuckAfter, clear: faulty.clear, stuckMetrics: FaultAlertRule.default.stuckMetrics,
                isEnabled: faulty.isEnabled),
            airQuality: AirQualityAlertRule(rules.airQuality))
    }
}

extension AirQualityAlertRule {
    /// The engine rule of a configured air-quality rule (the configuration only names known tables).
    public init(_ rules: AirQualityRules) {
        let base = AirQualityAlertRule.default
        self.init(
            index: AirQualityIndex.named(rules.index) ?? base.index, hold: base.hold, clear: base.clear, hysteresis: base.hysteresis,
            alertFrom: AirQualityBand(rawValue: rules.alertFrom.rawValue) ?? .poor, isEnabled: rules.isEnabled)
    }
}
