import StreetSenseCore
@testable import StreetSenseDecoding
import Testing

@Suite("Number and time scanning against the standard library and the core")
struct ScannerInternalsTests {
    /// The scanner's value of `text`, which must be one whole JSON number.
    func scan(_ text: String) throws -> Double {
        let bytes = Array(text.utf8)
        var scanner = JSONScanner()
        let value = try scanner.scanNumber(bytes.span)
        #expect(scanner.position == bytes.count, "\(text)")
        return value
    }

    @Test(
        "hard cases round exactly as Double(String) does",
        arguments: [
            "0", "-0", "0.0", "-0.0", "1", "-1", "134", "12.3", "20.1", "999.9", "1999.9", "0.1", "0.30000000000000004",
            "1e23", "8.98846567431158e307", "9007199254740992", "9007199254740993", "9007199254740995",
            "123456789012345678901234567890", "0.000000000000000000000000000001", "2.2250738585072011e-308",
            "2.2250738585072014e-308", "4.9e-324", "2.4703282292062327e-324", "2.4703282292062328e-324",
            "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308", "1e-400", "-1e400",
            "1E5", "1e+5", "1e-5", "12345678901234567890e-20", "0.00000000000000000000000000000000000000000001e45",
            "1e99999999999999999999", "0e99999999999", "100000000000000000000000", "1.00000000000000011102230246251565404236316680908203125",
            "7.2057594037927933e16", "1795342500.25", "1795342499.999",
        ])
    func hardNumbers(text: String) throws {
        let expected = try #require(Double(text))
        let value = try scan(text)
        #expect(value.bitPattern == expected.bitPattern, "\(text): \(value) vs \(expected)")
    }

    @Test("20 000 random JSON numbers convert exactly as Double(String)")
    func randomNumbers() throws {
        var random = SeededGenerator(seed: 0x5EED_0001)
        for _ in 0..<20_000 {
            var text = Bool.random(using: &random) ? "-" : ""
            let integerDigits = Int.random(in: 1...20, using: &random)
            text += Int.random(in: 0..<4, using: &random) == 0 ? "0" : String(Int.random(in: 1...9, using: &random))
            if !text.hasSuffix("0") {
                for _ in 1..<integerDigits { text += String(Int.random(in: 0...9, using: &random)) }
            }
            if Bool.random(using: &random) {
                text += "."
                for _ in 0..<Int.random(in: 1...20, using: &random) { text += String(Int.random(in: 0...9, using: &random)) }
            }
            if Int.random(in: 0..<3, using: &random) == 0 {
                text += ["e", "E", "e+", "e-", "E-"].randomElement(using: &random)!
                text += String(Int.random(in: 0...330, using: &random))
            }
            let expected = try #require(Double(text))
            let value = try scan(text)
            #expect(value.bitPattern == expected.bitPattern, "\(text)")
        }
    }

    /// Random, mostly plausible time texts: valid ones, and ones with a field pushed out of range or a byte changed.
    static func timeTexts(count: Int, seed: UInt64) -> [String] {
        var random = SeededGenerator(seed: seed)
        func two(_ range: ClosedRange<Int>) -> String {
            let v = Int.random(in: range, using: &random)
            return v < 10 ? "0\(v)" : "\(v)"
        }
        var texts: [String] = []
        for _ in 0..<count {
            let year = String(Int.random(in: 0...9999, using: &random))
            var text = String(repeating: "0", count: 4 - year.count) + year
            text += "-" + two(0...13) + "-" + two(0...32)
            text += ["T", "t", " ", "_"].randomElement(using: &random)!
            text += two(0...24) + ":" + two(0...60) + ":" + two(0...61)
            switch Int.random(in: 0..<4, using: &random) {
            case 0: break
            case 1: text += "." + String(Int.random(in: 0...999_999, using: &random))
            case 2: text += "," + String(Int.random(in: 0...9, using: &random))
            default: text += "."
            }
            switch Int.random(in: 0..<5, using: &random) {
            case 0: text += "Z"
            case 1: text += "z"
            case 2: text += "+" + two(0...24) + ":" + two(0...60)
            case 3: text += "-" + two(0...23) + ":" + two(0...59)
            default: break
            }
            if Int.random(in: 0..<6, using: &random) == 0, !text.isEmpty {
                var bytes = Array(text.utf8)
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0x20...0x7E, using: &random)
                text = String(decoding: bytes, as: UTF8.self)
            }
            texts.append(text)
        }
        return texts
    }

    @Test("the in-place RFC 3339 scanner agrees with EventTime(rfc3339Bytes:) on 20 000 texts")
    func rfc3339AgreesWithCore() {
        var accepted = 0
        for text in ScannerInternalsTests.timeTexts(count: 20_000, seed: 0x5EED_0002) {
            let bytes = Array(text.utf8)
            let core = EventTime(rfc3339Bytes: bytes)
            let scanned = RFC3339Scanner.parse(bytes.span, 0..<bytes.count)
            #expect(core == scanned, "\(text)")
            if core != nil { accepted += 1 }
        }
        // The generator must exercise both outcomes substantially.
        #expect(accepted > 2_000 && accepted < 18_000)
    }

    @Test("the byte-table metric lookup agrees with Metric(name:)")
    func vocabularyAgreesWithCore() {
        let candidates = Metric.allCases.map(\.name) + [
            "", "p", "pm", "pm2", "pm2_", "pm2_6", "pm25", "pm1", "PM10", "people_", "people_i", "temperatur", "no3",
            "co", "o", "devicess", "interval_s", "t", "seq", "humidity ", " humidity", "people\u{0}", "o3\u{0}\u{0}",
            "temperature_x", "people_outpeople_out", String(repeating: "x", count: 17),
        ]
        for name in candidates {
            let bytes = Array(name.utf8)
            #expect(MetricVocabulary.shared.metric(named: bytes.span, 0..<bytes.count) == Metric(name: name), "\(name)")
        }
    }
}
