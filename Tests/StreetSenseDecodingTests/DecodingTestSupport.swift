import StreetSenseCore
import StreetSenseDecoding
import Testing

/// The sensor most tests decode for: topic `streetsense/v1/readings/helsinki/cam-7`.
let camera = SensorAddress(pilot: "helsinki", sensor: "cam-7")

/// 2026-11-22T10:15:00Z, computed outside the code under test (Python: `datetime(2026, 11, 22, 10, 15,
/// tzinfo=timezone.utc).timestamp()` = 1795342500).
let tenFifteen = EventTime(milliseconds: 1_795_342_500_000)

/// What one decode produced: the readings and per-value rejects, or the whole-message reject.
struct Decoded {
    var readings: [DecodedReading]
    var rejects: [Reject]
    var intervalSeconds: Double?
    var sequence: UInt64?
    var reasons: [RejectReason] { rejects.map(\.reason) }
}

/// Decodes `text` once with `decoder` into a fresh output.
func decode(
    _ text: String, with decoder: some ReadingDecoder = PayloadDecoder(), sensor: SensorAddress = camera,
    arrival: EventTime = tenFifteen
) -> Result<Decoded, Reject> {
    decode(bytes: Array(text.utf8), with: decoder, sensor: sensor, arrival: arrival)
}

func decode(
    bytes: [UInt8], with decoder: some ReadingDecoder = PayloadDecoder(), sensor: SensorAddress = camera,
    arrival: EventTime = tenFifteen
) -> Result<Decoded, Reject> {
    var output = DecodeOutput()
    do {
        try decoder.decode(bytes.span, sensor: sensor, arrival: arrival, into: &output)
        return .success(
            Decoded(
                readings: output.readings, rejects: output.rejects, intervalSeconds: output.intervalSeconds,
                sequence: output.sequence))
    } catch {
        #expect(output.readings.isEmpty && output.rejects.isEmpty, "a thrown reject must leave the output as it was")
        return .failure(error)
    }
}

extension Result where Success == Decoded, Failure == Reject {
    /// The readings of a successful decode, or [] (the test then fails on its own expectations).
    var readings: [DecodedReading] { (try? get())?.readings ?? [] }
    /// The per-value reject reasons of a successful decode.
    var reasons: [RejectReason] { (try? get())?.reasons ?? [] }
    /// The whole-message reject, if the decode threw.
    var thrown: Reject? {
        if case .failure(let reject) = self { return reject }
        return nil
    }
    var rejects: [Reject] { (try? get())?.rejects ?? [] }
}

/// A small seeded generator (SplitMix64), so random tests are the same on every run.
struct SeededGenerator: RandomNumberGenerator {
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
