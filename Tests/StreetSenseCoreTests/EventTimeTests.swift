import Testing
@testable import StreetSenseCore

@Suite struct EventTimeTests {
    @Test func formatsUTCWithMilliseconds() {
        // 2026-11-22T10:15:00.250Z = 1795342500.25 s (days from 1970 computed by `date -u -d ... +%s`).
        #expect(EventTime(milliseconds: 1_795_342_500_250).rfc3339 == "2026-11-22T10:15:00.250Z")
        #expect(EventTime(milliseconds: 0).rfc3339 == "1970-01-01T00:00:00.000Z")
        #expect(EventTime(milliseconds: -1).rfc3339 == "1969-12-31T23:59:59.999Z")
        #expect(EventTime(milliseconds: 951_782_400_000).rfc3339 == "2000-02-29T00:00:00.000Z")
    }

    @Test func parsesOffsetsAndFractions() throws {
        #expect(EventTime(rfc3339: "2026-11-22T10:15:00.250Z")?.milliseconds == 1_795_342_500_250)
        #expect(EventTime(rfc3339: "2026-11-22T12:15:00.250+02:00")?.milliseconds == 1_795_342_500_250)
        #expect(EventTime(rfc3339: "2026-11-22T05:15:00.25-05:00")?.milliseconds == 1_795_342_500_250)
        #expect(EventTime(rfc3339: "2025-08-20 00:03:00+02:00")?.rfc3339 == "2025-08-19T22:03:00.000Z")
        #expect(EventTime(rfc3339: "2026-11-22t10:15:00z")?.milliseconds == 1_795_342_500_000)
        // Sub-millisecond digits round half up.
        #expect(EventTime(rfc3339: "2026-11-22T10:15:00.2504Z")?.milliseconds == 1_795_342_500_250)
        #expect(EventTime(rfc3339: "2026-11-22T10:15:00.2505Z")?.milliseconds == 1_795_342_500_251)
        #expect(EventTime(rfc3339: "2026-11-22T10:15:00.1Z")?.milliseconds == 1_795_342_500_100)
    }

    @Test(arguments: [
        "2026-11-22T10:15:00", "2026-11-22", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-11-22T24:00:00Z",
        "2026-11-22T10:15:00.Z", "2026-11-22T10:15:00+2:00", "2026-11-22T10:15:00Z ", "", "yesterday",
    ])
    func rejectsInvalidOrAmbiguousText(_ text: String) {
        #expect(EventTime(rfc3339: text) == nil)
    }

    @Test func parsesSensorCommunityTimesAsUTC() {
        #expect(EventTime(utcDateTimeWithoutOffset: "2017-10-31T00:00:16")?.rfc3339 == "2017-10-31T00:00:16.000Z")
        #expect(EventTime(utcDateTimeWithoutOffset: "2017-10-31T00:00:16Z") == nil)
    }

    @Test func roundTripsAcrossCenturies() {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<2_000 {
            let ms = Int64(generator.next() % 8_000_000_000_000) - 2_000_000_000_000
            let time = EventTime(milliseconds: ms)
            #expect(EventTime(rfc3339: time.rfc3339) == time)
        }
    }

    @Test func unixSeconds() {
        #expect(EventTime(unixSeconds: 1_795_342_500.25)?.milliseconds == 1_795_342_500_250)
        #expect(EventTime(unixSeconds: .nan) == nil)
        #expect(EventTime(unixSeconds: .infinity) == nil)
    }

    @Test func wholeUnitsOfDurations() {
        #expect(Duration.microseconds(50).wholeNanoseconds == 50_000)
        #expect((Duration.seconds(3) + .nanoseconds(7)).wholeNanoseconds == 3_000_000_007)
        #expect(Duration.seconds(-2).wholeNanoseconds == -2_000_000_000)
        #expect((Duration.milliseconds(1) + .nanoseconds(999_999)).wholeMilliseconds == 1)
        #expect(Duration.zero.wholeNanoseconds == 0)
    }
}

/// A small seeded generator so property tests are deterministic.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
