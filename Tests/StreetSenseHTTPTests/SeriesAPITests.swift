import StreetSenseCore
import StreetSenseHTTP
import Testing

@Suite struct SeriesAPITests {
    static let points = [
        SeriesPoint(start: at(-120), count: 6, sum: 6 * 11.5, min: 10, max: 13.25),
        SeriesPoint(start: at(-60), count: 6, sum: 6 * 12, min: 12, max: 12),
    ]

    @Test func aSensorSeriesDefaultsToTheLastHourInMinutes() async throws {
        let history = InMemoryHistory(points: Self.points)
        try await withAPI(.testbed(history: history)) { api in
            let series = try await api.json("/api/v1/sensors/citizen-air/sds-5331/series?metric=pm2_5")
            // as_of is 10:01:00.000; the default range ends with the minute that holds it.
            let to = at(120)
            let from = to - .seconds(3600)
            #expect(history.calls == [.sensorSeries(Testbed.air.address, .pm2_5, from: from, to: to, step: .seconds(60))])
            #expect(series["metric"]?.string == "pm2_5")
            #expect(series["unit"]?.string == "ug/m3")
            #expect(series["step_s"]?.int == 60)
            #expect(series["from"]?.string == "2026-11-22T09:02:00.000Z")
            #expect(series["to"]?.string == "2026-11-22T10:02:00.000Z")
            #expect(series["points"] == .array([
                .object([
                    "t": .string("2026-11-22T09:58:00.000Z"), "count": .number(6), "mean": .number(11.5), "min": .number(10), "max": .number(13.25),
                ]),
                .object(["t": .string("2026-11-22T09:59:00.000Z"), "count": .number(6), "mean": .number(12), "min": .number(12), "max": .number(12)]),
            ]))
        }
    }

    @Test func explicitRangesAndStepsReachTheStore() async throws {
        let history = InMemoryHistory()
        try await withAPI(.testbed(history: history)) { api in
            // 10:00+02:00 is 08:00Z; 6 h in 5-minute steps is 72 points.
            let series = try await api.json(
                "/api/v1/sensors/helsinki-lab/cam-01/series?metric=people&from=2026-11-22T10:00:00%2B02:00&to=2026-11-22T14:00:00Z&step=5m"
            )
            let from = EventTime(rfc3339: "2026-11-22T08:00:00Z")!
            let to = EventTime(rfc3339: "2026-11-22T14:00:00Z")!
            #expect(history.calls == [.sensorSeries(Testbed.camera.address, .people, from: from, to: to, step: .seconds(300))])
            #expect(series["step_s"]?.int == 300)
            #expect(series["unit"]?.string == "count")
            #expect(series["points"] == .array([]))
            // Without a step, a 30-day range gets the smallest multiple of 60 s that keeps ≤ 1000 points:
            // 30 × 86 400 s / 1000 = 2592 s, rounded up to 44 minutes.
            let month = try await api.json(
                "/api/v1/sensors/helsinki-lab/cam-01/series?metric=people&from=2026-10-23T00:00:00Z&to=2026-11-22T00:00:00Z"
            )
            #expect(month["step_s"]?.int == 44 * 60)
        }
    }

    @Test func aZoneSeriesIsItsDensity() async throws {
        let history = InMemoryHistory(points: [SeriesPoint(start: at(0), count: 12, sum: 4.5, min: 0.25, max: 0.45)])
        try await withAPI(.testbed(history: history)) { api in
            let series = try await api.json("/api/v1/zones/kamppi-square/series?step=1h")
            #expect(series["metric"]?.string == "density")
            #expect(series["unit"]?.string == "p/m2")
            #expect(series["step_s"]?.int == 3600)
            #expect(series["points"]?[0]?["mean"]?.double == 4.5 / 12)
            #expect(history.calls == [.zoneDensitySeries("kamppi-square", from: at(120) - .seconds(3600), to: at(120), step: .seconds(3600))])
            _ = try await api.json("/api/v1/zones/kamppi-square/series?metric=density")
            let problem = try await api.json("/api/v1/zones/kamppi-square/series?metric=pm2_5", status: 400)
            #expect(problem["parameter"]?.string == "metric")
            _ = try await api.json("/api/v1/zones/nowhere/series", status: 404)
        }
    }

    @Test func badSeriesParametersAreNamed() async throws {
        let history = InMemoryHistory()
        try await withAPI(.testbed(history: history)) { api in
            let base = "/api/v1/sensors/helsinki-lab/cam-01/series"
            for (query, parameter) in [
                ("", "metric"), ("metric=pm25", "metric"), ("metric=people&step=90s", "step"), ("metric=people&step=0", "step"),
                ("metric=people&step=fast", "step"), ("metric=people&from=yesterday", "from"),
                ("metric=people&from=2026-11-22T10:00:00", "from"),  // no offset: ambiguous
                ("metric=people&from=2026-11-22T10:00:00Z&to=2026-11-22T09:00:00Z", "from"),
                ("metric=people&from=2026-11-21T00:00:00Z&to=2026-11-22T00:00:00Z&step=60s", "step"),  // 1440 points
                ("metric=people&limit=5", "limit"),
            ] {
                let problem = try await api.json("\(base)?\(query)", status: 400)
                #expect(problem["parameter"]?.string == parameter, "\(query)")
            }
            let tooMany = try await api.json("\(base)?metric=people&from=2026-11-21T00:00:00Z&to=2026-11-22T00:00:00Z&step=1m", status: 400)
            #expect(tooMany["detail"]?.string?.contains("gives 1440 points") == true)
            #expect(tooMany["detail"]?.string?.contains("at least 120 s") == true)
            #expect(history.calls.isEmpty)
            _ = try await api.json("/api/v1/sensors/helsinki-lab/nobody/series?metric=people", status: 404)
        }
    }

    @Test func aFailingStoreIsAnInternalErrorProblem() async throws {
        try await withAPI(.testbed(history: FailingHistory())) { api in
            let problem = try await api.json("/api/v1/sensors/citizen-air/sds-5331/series?metric=pm2_5", status: 500)
            #expect(problem["type"]?.string == "/api/v1/problems/internal-error")
            #expect(problem["detail"]?.string == "reading the stored pm2_5 series of citizen-air/sds-5331 failed")
            _ = try await api.json("/api/v1/zones/esplanadi/series", status: 500)
            _ = try await api.json("/api/v1/rejects", status: 500)
        }
    }
}
