import StreetSenseAlerts
import StreetSenseCore
import Testing

/// The EEA table of DESIGN §5, written out here independently of the module's copy.
private let designEdges: [(Metric, [Double])] = [
    (.pm2_5, [10, 20, 25, 50, 75]),
    (.pm10, [20, 40, 50, 100, 150]),
    (.no2, [40, 90, 120, 230, 340]),
    (.o3, [50, 100, 130, 240, 380]),
]
private let bandsInOrder: [AirQualityBand] = [.good, .fair, .moderate, .poor, .veryPoor, .extremelyPoor]

@Suite struct AirQualityIndexTests {
    /// Rule: a band's upper edge belongs to it. At each edge the value is in the lower band; the next
    /// representable value above it is in the next band.
    @Test(arguments: designEdges.indices)
    func bandsAtTheirExactEdges(row: Int) throws {
        let (metric, edges) = designEdges[row]
        let index = AirQualityIndex.eea2024
        for (i, edge) in edges.enumerated() {
            #expect(index.band(for: metric, value: edge) == bandsInOrder[i], "\(metric.name) at \(edge)")
            #expect(index.band(for: metric, value: edge.nextUp) == bandsInOrder[i + 1], "\(metric.name) just above \(edge)")
            #expect(index.band(for: metric, value: edge.nextDown) == bandsInOrder[i], "\(metric.name) just below \(edge)")
        }
        #expect(index.band(for: metric, value: 0) == .good)
        #expect(index.band(for: metric, value: 2000) == .extremelyPoor)
        #expect(index.band(for: metric, value: .nan) == nil)
        #expect(index.bands(for: metric)?.upperEdges == edges)
    }

    @Test func averagingPeriodsAndVersionAreData() {
        let index = AirQualityIndex.eea2024
        #expect(index.version == "eea-2024")
        #expect(index.bands(for: .pm2_5)?.averaging == .day)
        #expect(index.bands(for: .pm10)?.averaging == .day)
        #expect(index.bands(for: .no2)?.averaging == .hour)
        #expect(index.bands(for: .o3)?.averaging == .hour)
        #expect(index.band(for: .co2, value: 400) == nil)
    }

    @Test func theIndexIsTheWorstPollutant() throws {
        let means = AirQualityMeans(pm2_5: 12, pm10: 45, no2: 95, o3: 30)
        let value = try #require(AirQualityIndex.eea2024.index(of: means))
        // pm2_5 fair, pm10 moderate, no2 moderate, o3 good: moderate, and pm10 is first in table order.
        #expect(value.band == .moderate)
        #expect(value.pollutant == .pm10)
        #expect(value.value == 45)
        #expect(value.pollutantsRated == 4)
        #expect(value.version == "eea-2024")
        let worse = try #require(AirQualityIndex.eea2024.index(of: AirQualityMeans(pm10: 45, o3: 241)))
        #expect(worse.band == .veryPoor)
        #expect(worse.pollutant == .o3)
        #expect(worse.pollutantsRated == 2)
        #expect(AirQualityIndex.eea2024.index(of: AirQualityMeans()) == nil)
    }

    @Test func aRevisedTableIsAnotherVersion() throws {
        let revised = try AirQualityIndex(
            version: "who-aligned-test",
            pollutants: [PollutantBands(metric: .pm2_5, averaging: .day, upperEdges: [5, 15, 50, 90, 140])])
        #expect(revised.band(for: .pm2_5, value: 12) == .fair)
        #expect(AirQualityIndex.eea2024.band(for: .pm2_5, value: 12) == .fair)
        #expect(revised.band(for: .pm2_5, value: 16) == .moderate)
        #expect(revised.index(of: AirQualityMeans(pm2_5: 16))?.version == "who-aligned-test")
        #expect(revised.band(for: .pm10, value: 16) == nil)
    }

    @Test func badTablesAreNamedErrors() {
        #expect(throws: AirQualityTableError.self) {
            try AirQualityIndex(version: "x", pollutants: [PollutantBands(metric: .pm10, averaging: .day, upperEdges: [20, 40, 50, 100])])
        }
        #expect(throws: AirQualityTableError.self) {
            try AirQualityIndex(version: "x", pollutants: [PollutantBands(metric: .pm10, averaging: .day, upperEdges: [20, 40, 40, 100, 150])])
        }
        #expect(throws: AirQualityTableError.self) {
            try AirQualityIndex(version: "x", pollutants: [PollutantBands(metric: .pm10, averaging: .day, upperEdges: [20, 40, .nan, 100, 150])])
        }
        #expect(throws: AirQualityTableError.self) {
            try AirQualityIndex(
                version: "x",
                pollutants: [
                    PollutantBands(metric: .no2, averaging: .hour, upperEdges: [1, 2, 3, 4, 5]),
                    PollutantBands(metric: .no2, averaging: .hour, upperEdges: [1, 2, 3, 4, 5]),
                ])
        }
        #expect(throws: AirQualityTableError.self) { try AirQualityIndex(version: "", pollutants: []) }
    }

    @Test func whoGuidelineExceedancesAreStrictlyAboveAndMatchThePeriod() {
        let means = [
            PollutantMean(metric: .pm2_5, averaging: .day, value: 15),  // at the guideline: not exceeded
            PollutantMean(metric: .pm2_5, averaging: .day, value: 22.5),
            PollutantMean(metric: .pm10, averaging: .day, value: 44),
            PollutantMean(metric: .no2, averaging: .hour, value: 200),  // no hourly NO2 guideline
            PollutantMean(metric: .no2, averaging: .day, value: 26),
            PollutantMean(metric: .o3, averaging: .eightHours, value: 120),
            PollutantMean(metric: .pm2_5, averaging: .year, value: 5.5),
        ]
        let exceeded = AirQualityGuidelines.who2021.exceedances(of: means)
        #expect(exceeded.map(\.guideline.metric) == [.pm2_5, .no2, .o3, .pm2_5])
        #expect(exceeded.map(\.guideline.value) == [15, 25, 100, 5])
        #expect(exceeded.map(\.value) == [22.5, 26, 120, 5.5])
        let ratios: [Double] = [22.5 / 15, 26.0 / 25, 120.0 / 100, 5.5 / 5]
        #expect(exceeded.map(\.ratio) == ratios)
        #expect(exceeded.allSatisfy { $0.version == "who-2021" })
        #expect(AirQualityGuidelines.who2021.guideline(for: .pm10, averaging: .year)?.value == 15)
        #expect(AirQualityGuidelines.who2021.guideline(for: .pm10, averaging: .day)?.value == 45)
    }
}

@Suite struct AirQualityAlertTests {
    @Test func alertsFromPoorUpWithSeverityByBandAndHysteresisOnTheWayDown() throws {
        var engine = AlertEngine()
        let sensor = engine.registerSensor(station)
        var events: [AlertEvent] = []
        func evaluate(_ s: Int, pm2_5: Double?, no2: Double? = nil) {
            engine.evaluateAirQuality(sensor: sensor, at: at(Double(s)), means: AirQualityMeans(pm2_5: pm2_5, no2: no2), into: &events)
        }
        evaluate(0, pm2_5: 25)  // moderate (the edge belongs to moderate): no alert
        #expect(events.isEmpty)
        evaluate(60, pm2_5: 25.5, no2: 125)  // poor, and NO2 poor: two alerts
        evaluate(120, pm2_5: 60, no2: 125)  // very poor
        evaluate(180, pm2_5: 80)  // extremely poor
        evaluate(240, pm2_5: 48)  // below extremely poor's line (75 × 0.9), above very poor's (50 × 0.9 = 45)
        evaluate(300, pm2_5: 44)  // below 45: poor
        evaluate(360, pm2_5: 23)  // moderate band, but above poor's line (25 × 0.9 = 22.5): stays poor
        evaluate(420, pm2_5: 22)  // below 22.5: cleared

        let pm = events.filter { $0.metric == .pm2_5 }
        #expect(pm.map(\.transition) == [.raised, .escalated, .escalated, .deEscalated, .deEscalated, .cleared])
        #expect(pm.map(\.level) == ["poor", "very_poor", "extremely_poor", "very_poor", "poor", "poor"])
        #expect(pm.map(\.severity) == [.warning, .major, .critical, .major, .warning, .warning])
        #expect(pm.map(\.at) == [at(60), at(120), at(180), at(240), at(300), at(420)])
        #expect(pm.map(\.value) == [25.5, 60, 80, 48, 44, 22])
        #expect(pm.last?.peak == 80)
        #expect(Set(pm.map(\.alertID)).count == 1)
        #expect(pm.allSatisfy { $0.rule == .airQuality && $0.subject == .sensor(station) })

        let no2 = events.filter { $0.metric == .no2 }
        #expect(no2.map(\.transition) == [.raised])
        #expect(no2.first?.value == 125)
        #expect(no2.first?.alertID != pm.first?.alertID)
        // NO2 had no mean after 120 s: no value, so its alert stays.
        #expect(engine.activeAlerts.map(\.metric) == [.no2])
        #expect(engine.activeAlert(AlertKey(rule: .airQuality, subject: .sensor(station), metric: .no2))?.value == 125)
        #expect(engine.airQuality.index.version == "eea-2024")
    }

    @Test func zonesCanCarryAirAlertsToo() {
        var engine = AlertEngine()
        let zone = engine.registerZone(id: square)
        var events: [AlertEvent] = []
        engine.evaluateAirQuality(zone: zone, at: at(0), means: AirQualityMeans(o3: 381), into: &events)
        #expect(events.map(\.severity) == [.critical])
        #expect(events.first?.subject == .zone(square))
        #expect(events.first?.metric == .o3)
    }
}
