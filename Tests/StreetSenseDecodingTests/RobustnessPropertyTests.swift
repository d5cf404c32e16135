import StreetSenseCore
import StreetSenseDecoding
import Testing

/// Random and mutated payloads (seeded, so every run tries the same inputs) must never crash the decoders and
/// must always end as readings and named per-value rejects, or as one thrown reject, with the invariants of
/// `ReadingDecoder` holding.
@Suite("Robustness on random and mutated payloads")
struct RobustnessPropertyTests {
    static let seeds: [String] = [
        #"{"t": "2026-11-22T10:15:00.250Z", "people": 134}"#,
        #"{"t": 1795342500.25, "pm2_5": 12.3, "pm10": 20.1, "no2": 31, "o3": 40, "co2": 420}"#,
        #"{"t": "2025-08-20 00:03:00+02:00", "people_in": 12, "people_out": 9, "interval_s": 60, "seq": 7}"#,
        #"{"temperature": -3.5e0, "humidity": 81.4, "noise": 61, "devices": 1200, "x": [1, {"y": null}]}"#,
        #"[{"bn": "cam-7/", "bt": 1795342500, "bu": "count", "n": "people", "v": 134}, {"n": "people", "t": 60, "v": 141}]"#,
        #"[{"bn": "urn:dev:ow:cam-7:", "bt": -10, "n": "pm10", "u": "ug/m3", "v": 999.9, "ut": 5}, {"n": "pm2_5", "vs": "x"}]"#,
        #"[{"bn": "helsinki/cam-7/", "bv": 10, "n": "temperature", "u": "Cel", "v": -1, "s": 2, "bver": 10}]"#,
        #"{"people": "1", "pm10": true, "pm2_5": null, "no2": NaN, "o3": -Infinity, "peo\u0070le_in": 1e400}"#,
    ]

    static let fragments: [[UInt8]] = [
        "{", "}", "[", "]", "\"", ":", ",", "\\", "\\u", "\\uD800", "NaN", "Infinity", "-", "1e999", "0.", "00",
        "true", "null", "\"t\":", "\"bn\":\"cam-8/\"", "\"v\":", "\"n\":\"pm10\"", " ", "\n",
    ].map { Array($0.utf8) } + [[0x00], [0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98, 0x80], [0xFF], [0xED, 0xA0, 0x80]]

    static func mutate(_ input: [UInt8], _ random: inout SeededGenerator) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<7, using: &random) {
            case 0 where !bytes.isEmpty:
                bytes[position] = UInt8.random(in: 0...255, using: &random)
            case 1:
                bytes.insert(UInt8.random(in: 0...255, using: &random), at: position)
            case 2 where !bytes.isEmpty:
                bytes.remove(at: position)
            case 3:
                bytes.insert(contentsOf: fragments.randomElement(using: &random)!, at: position)
            case 4 where !bytes.isEmpty:
                bytes.removeSubrange(position...)
            case 5 where bytes.count > 4:
                let end = Int.random(in: position...bytes.count, using: &random)
                bytes.insert(contentsOf: bytes[position..<end], at: Int.random(in: 0...bytes.count, using: &random))
            default:
                let other = Array(seeds.randomElement(using: &random)!.utf8)
                bytes = Array(bytes[..<position]) + other[Int.random(in: 0..<other.count, using: &random)...]
            }
        }
        return bytes
    }

    /// Checks the decoder contract on one input and returns what happened.
    @discardableResult
    static func check(_ bytes: [UInt8], decoder: PayloadDecoder, arrival: EventTime) -> RejectReason? {
        var output = DecodeOutput()
        output.readings.append(DecodedReading(metric: .noise, value: 1, time: nil))  // earlier content must survive
        do {
            try decoder.decode(bytes.span, sensor: camera, arrival: arrival, into: &output)
        } catch {
            #expect(output.readings == [DecodedReading(metric: .noise, value: 1, time: nil)])
            #expect(output.rejects.isEmpty)
            checkDetail(error)
            return error.reason
        }
        for reading in output.readings.dropFirst() {
            #expect(reading.value.isFinite && reading.metric.validRange.contains(reading.value))
            if let time = reading.time {
                #expect(time.milliseconds - arrival.milliseconds <= 60_000)
            }
        }
        for reject in output.rejects { checkDetail(reject) }
        return nil
    }

    static func checkDetail(_ reject: Reject) {
        #expect(!reject.detail.isEmpty)
        #expect(reject.detail.utf8.count <= 160, "\(reject.detail)")
        #expect(!reject.detail.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F })
    }

    @Test("20 000 mutations of valid payloads")
    func mutatedPayloads() {
        var random = SeededGenerator(seed: 0xDEC0DE)
        let decoder = PayloadDecoder()
        var outcomes: [RejectReason?: Int] = [:]
        for k in 0..<20_000 {
            let seed = Array(RobustnessPropertyTests.seeds[k % RobustnessPropertyTests.seeds.count].utf8)
            let input = RobustnessPropertyTests.mutate(seed, &random)
            outcomes[RobustnessPropertyTests.check(input, decoder: decoder, arrival: tenFifteen), default: 0] += 1
        }
        // The mutations reach both acceptance and the main whole-message rejects.
        #expect(outcomes[nil, default: 0] > 1_000)
        #expect(outcomes[.malformedJSON, default: 0] > 1_000)
        #expect(outcomes[.identityMismatch, default: 0] > 0)
        #expect(outcomes[.badTimestamp, default: 0] > 0)
    }

    @Test("10 000 random byte strings, from plain noise to JSON-ish alphabets")
    func randomBytes() {
        var random = SeededGenerator(seed: 0xB17E5)
        let decoder = PayloadDecoder(maximumPayloadSize: 512)
        let alphabet = Array(#"{}[]":,.-+eE0123456789 \ntfnulrasNIy"#.utf8)
        for k in 0..<10_000 {
            let count = Int.random(in: 0...600, using: &random)
            var bytes: [UInt8]
            if k % 2 == 0 {
                bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
            } else {
                bytes = (0..<count).map { _ in alphabet.randomElement(using: &random)! }
            }
            if k % 3 == 0, !bytes.isEmpty { bytes[0] = k % 2 == 0 ? UInt8(ascii: "{") : UInt8(ascii: "[") }
            let reason = RobustnessPropertyTests.check(bytes, decoder: decoder, arrival: tenFifteen)
            if count > 512 { #expect(reason == .payloadTooLarge) }
        }
    }
}
