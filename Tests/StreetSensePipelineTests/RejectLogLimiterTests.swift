import Testing

@testable import StreetSensePipeline

@Suite("RejectLogLimiter: at most one log line per key and interval")
struct RejectLogLimiterTests {
    @Test("the first reject of a key is logged, the rest of the interval is counted, and the count is reported")
    func oncePerInterval() {
        var limiter = RejectLogLimiter(interval: .seconds(60))
        let start = ContinuousClock.now
        func at(_ seconds: Double) -> ContinuousClock.Instant { start + .milliseconds(Int64(seconds * 1000)) }

        #expect(limiter.shouldLog(key: "helsinki-lab/cam-01", at: at(0)) == 0)
        #expect(limiter.shouldLog(key: "helsinki-lab/cam-01", at: at(1)) == nil)
        #expect(limiter.shouldLog(key: "helsinki-lab/cam-01", at: at(30)) == nil)
        #expect(limiter.shouldLog(key: "helsinki-lab/cam-01", at: at(59.999)) == nil)
        // Another key has its own interval.
        #expect(limiter.shouldLog(key: "citizen-air/sds-5331", at: at(10)) == 0)
        #expect(limiter.shouldLog(key: "citizen-air/sds-5331", at: at(20)) == nil)
        // A full interval after the last logged line: logged, with the three suppressed since.
        #expect(limiter.shouldLog(key: "helsinki-lab/cam-01", at: at(60)) == 3)
        #expect(limiter.shouldLog(key: "helsinki-lab/cam-01", at: at(61)) == nil)
        // The interval counts from the last logged line (60 s), not from the last suppressed one.
        #expect(limiter.shouldLog(key: "helsinki-lab/cam-01", at: at(119.5)) == nil)
        #expect(limiter.shouldLog(key: "helsinki-lab/cam-01", at: at(120)) == 2)
        #expect(limiter.shouldLog(key: "citizen-air/sds-5331", at: at(500)) == 1)
        #expect(limiter.shouldLog(key: "citizen-air/sds-5331", at: at(1000)) == 0)
    }

    @Test("a zero interval logs everything")
    func zeroInterval() {
        var limiter = RejectLogLimiter(interval: .zero)
        let now = ContinuousClock.now
        #expect((0..<5).map { _ in limiter.shouldLog(key: "k", at: now) } == [0, 0, 0, 0, 0])
    }
}
