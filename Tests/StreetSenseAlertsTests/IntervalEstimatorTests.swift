import StreetSenseAlerts
import StreetSenseCore
import Testing

@Suite struct IntervalEstimatorTests {
    @Test func medianOfTheLastNineIntervals() {
        var e = IntervalEstimator()
        #expect(e.median == nil)
        e.add(60_000)
        #expect(e.median == 60_000)
        e.add(120_000)
        #expect(e.median == 90_000)  // mean of the two middle values
        e.add(30_000)
        #expect(e.median == 60_000)
        // Twelve more: only the last nine count.
        for interval: Int64 in [1, 2, 3, 10, 20, 30, 40, 50, 60, 70, 80, 90] { e.add(interval) }
        #expect(e.count == 9)
        // Last nine: 10 … 90; middle is 50.
        #expect(e.median == 50)
    }

    @Test func oneOutageDoesNotMoveTheMedian() {
        var e = IntervalEstimator()
        for _ in 0..<8 { e.add(60_000) }
        e.add(3_600_000)
        #expect(e.median == 60_000)
    }

    @Test func nonPositiveIntervalsAreIgnored() {
        var e = IntervalEstimator()
        e.add(0)
        e.add(-5)
        #expect(e.count == 0)
        #expect(e.median == nil)
    }

    @Test func evenCountRoundsDown() {
        var e = IntervalEstimator()
        e.add(3)
        e.add(4)
        #expect(e.median == 3)
        e.add(5)
        e.add(6)
        #expect(e.median == 4)  // (4 + 5) / 2 = 4.5 → 4
    }

    @Test func offlineLimitIsThreeMediansButAtLeastFiveMinutes() {
        let rule = OfflineAlertRule.default
        #expect(rule.limit(medianInterval: 150_000) == 450_000)
        #expect(rule.limit(medianInterval: 30_000) == 300_000)
        #expect(rule.limit(medianInterval: nil) == 900_000)  // 3 × the assumed 5 minutes
        #expect(rule.limit(medianInterval: .max) == 9_000_000_000_000_000_000)
        let odd = OfflineAlertRule(factor: .nan, minimum: .seconds(300), assumedInterval: .seconds(300))
        #expect(odd.limit(medianInterval: 1000) == 300_000)
    }
}
