import StreetSenseAlerts
import StreetSenseCore

/// 2026-11-22T09:20:00Z, aligned to the hour.
let t0 = EventTime(milliseconds: 1_795_341_600_000)

/// The event time `seconds` after ``t0``.
func at(_ seconds: Double) -> EventTime { t0 + .milliseconds(Int64((seconds * 1000).rounded())) }

let square = "kamppi-square"
let camera = SensorAddress(pilot: "helsinki-lab", sensor: "cam-01")
let station = SensorAddress(pilot: "citizen-air", sensor: "sds-5331")

extension AlertEngine {
    /// Evaluates `zone` with density `value` at every 5 s sample instant from `from` (inclusive) to `to`
    /// (exclusive), in seconds after ``t0``, with no build-up value.
    mutating func feed(_ zone: ZoneHandle, density value: Double?, from: Int, to: Int, into events: inout [AlertEvent]) {
        for s in stride(from: from, to: to, by: 5) {
            evaluateZone(zone, at: at(Double(s)), density1m: value, buildUpPer5Min: nil, into: &events)
        }
    }
}

/// A small deterministic generator (SplitMix64), so property tests replay the same traces every run.
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
