import StreetSenseAlerts
import Testing

@Suite struct LevelDebouncerTests {
    /// Still's bands with 10 % hysteresis: clear lines 2.25, 3.15, 4.5.
    let thresholds = LevelThresholds(2.5, 3.5, 5.0, hysteresis: 0.1)
    let hold: Int64 = 30_000
    let clear: Int64 = 60_000

    /// Observes `value` at every 5 s from `from` to `to` (exclusive) seconds; returns the level after each.
    func run(_ d: inout LevelDebouncer, _ value: Double?, from: Int, to: Int) -> [Int] {
        stride(from: from, to: to, by: 5).map { d.observe(value, at: Int64($0) * 1000, thresholds: thresholds, hold: hold, clear: clear) }
    }

    @Test func aLevelIsConfirmedAfterExactlyTheHold() {
        var d = LevelDebouncer()
        // Samples at 0, 5, …, 25 s: the run has lasted 25 s, not 30.
        #expect(run(&d, 2.5, from: 0, to: 30) == [0, 0, 0, 0, 0, 0])
        // The sample at 30 s completes the hold.
        #expect(run(&d, 2.5, from: 30, to: 35) == [1])
    }

    @Test func oneMissingValueRestartsTheHold() {
        var d = LevelDebouncer()
        _ = run(&d, 2.6, from: 0, to: 25)
        _ = run(&d, nil, from: 25, to: 30)
        #expect(run(&d, 2.6, from: 30, to: 60) == [0, 0, 0, 0, 0, 0])
        #expect(run(&d, 2.6, from: 60, to: 65) == [1])
    }

    @Test func clearingNeedsTheValueBelowTheHysteresisLineForTheClearTime() {
        var d = LevelDebouncer(level: 1)
        let line = 2.5 * (1 - 0.1)
        // At the line is not below it: never clears.
        #expect(run(&d, line, from: 0, to: 300).allSatisfy { $0 == 1 })
        // Just below it: clears once 60 s have passed (samples 300 … 360).
        #expect(run(&d, line.nextDown, from: 300, to: 360).allSatisfy { $0 == 1 })
        #expect(run(&d, line.nextDown, from: 360, to: 365) == [0])
    }

    @Test func severalLevelsFallInOneStepWhenTheirClearTimesEndTogether() {
        var d = LevelDebouncer(level: 3)
        // 3.0 is below critical's line (4.5) and high's (3.15) but not elevated's (2.25).
        _ = run(&d, 3.0, from: 0, to: 60)
        #expect(d.level == 3)
        #expect(run(&d, 3.0, from: 60, to: 65) == [1])
    }

    @Test func theHighestQualifiedLevelWinsAndLowerOnesAreNotVisitedOnTheWay() {
        var d = LevelDebouncer()
        // 5.5 reaches every level; all three runs start together, so the first confirmation is critical.
        #expect(run(&d, 5.5, from: 0, to: 35) == [0, 0, 0, 0, 0, 0, 3])
    }

    @Test func anOlderObservationIsIgnored() {
        var d = LevelDebouncer()
        _ = run(&d, 2.6, from: 0, to: 30)
        #expect(d.observe(1.0, at: 10_000, thresholds: thresholds, hold: hold, clear: clear) == 0)
        // The run from 0 s is intact: 30 s confirms it.
        #expect(d.observe(2.6, at: 30_000, thresholds: thresholds, hold: hold, clear: clear) == 1)
    }

    @Test func strictComparisonForBandEdges() {
        let edges = LevelThresholds(25, 50, 75, comparison: .above, hysteresis: 0)
        #expect(edges.level(of: 25) == 0)
        #expect(edges.level(of: 25.0.nextUp) == 1)
        #expect(edges.level(of: 75) == 2)
        #expect(edges.level(of: 75.0.nextUp) == 3)
        #expect(thresholds.level(of: 2.5) == 1)
        #expect(thresholds.level(of: 2.5.nextDown) == 0)
        #expect(thresholds.clearLine(3) == 5.0 * (1 - 0.1))
        let single = LevelThresholds(1.0, hysteresis: 0.1)
        #expect(single.count == 1)
        #expect(single.level(of: 100) == 1)
        #expect(single.threshold(2) == .infinity)
    }
}
