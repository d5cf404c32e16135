import StreetSenseCore
import StreetSenseDecoding
import Testing

@Suite("Payload shape detection and JSON grammar")
struct PayloadDecoderTests {
    @Test("the first non-whitespace byte picks the decoder")
    func dispatch() throws {
        #expect(try decode(#" {"people": 1}"#).get().readings.map(\.metric) == [.people])
        #expect(try decode(#"\#n[{"n": "people", "v": 1}]"#).get().readings.map(\.metric) == [.people])
    }

    @Test("payloads over the limit throw payload_too_large before any byte is read")
    func sizeLimit() throws {
        let atLimit = Array(#"{"people": 1}"#.utf8) + Array(repeating: UInt8(ascii: " "), count: 65_536 - 13)
        #expect(atLimit.count == 65_536)
        #expect(try decode(bytes: atLimit).get().readings.count == 1)
        let over = atLimit + [UInt8(ascii: " ")]
        let thrown = decode(bytes: over).thrown
        #expect(thrown == Reject(.payloadTooLarge, "65537 bytes, limit 65536"))
        // Garbage over the limit is still payload_too_large: size is checked first.
        #expect(decode(bytes: [UInt8](repeating: 0xFF, count: 70_000)).thrown?.reason == .payloadTooLarge)
        let small = PayloadDecoder(maximumPayloadSize: 10)
        #expect(decode(#"{"people": 1}"#, with: small).thrown?.reason == .payloadTooLarge)
    }

    @Test(
        "empty and non-JSON payloads throw malformed_json",
        arguments: ["", "   \n", "people=1", "\u{FEFF}{\"people\": 1}", "\"people\"", "1", "null", "<xml/>"])
    func notJSON(text: String) {
        #expect(decode(text).thrown?.reason == .malformedJSON)
    }

    @Test(
        "grammar errors throw malformed_json",
        arguments: [
            #"{"people": 1"#, #"{"people": 1,}"#, #"{"people" 1}"#, #"{people: 1}"#, #"{'people': 1}"#,
            #"{"people": 1} x"#, #"{"people": 1}}"#, #"{"people": 1} {"people": 2}"#, #"{"people": +1}"#,
            #"{"people": 01}"#, #"{"people": 1.}"#, #"{"people": .5}"#, #"{"people": 1e}"#, #"{"people": 1e+}"#,
            #"{"people": -}"#, #"{"people": 0x10}"#, #"{"people": 1_000}"#, #"{"people": tru}"#,
            #"{"people": nul}"#, #"{"people": Nan}"#, #"{"people": -NaN}"#, #"{"people": inf}"#, #"{"people": }"#,
            #"{"people": 1 2}"#, #"{,"people": 1}"#, #"{"x": [1,]}"#, #"{"x": [1 2]}"#, #"{"x": {"a" 1}}"#,
            #"{"x": {"a": 1,}}"#, #"{"x": [NaN]}"#, #"{"x": "\x"}"#, #"{"x": "\u12"}"#, #"{"x": "\uD800"}"#,
            #"{"x": "\uDC00"}"#, #"{"x": "\uD800\u0041"}"#, #"{"x": "unterminated}"#, "{\"x\": \"tab\there\"}",
            "{\"x\": \"nul\u{0}\"}", #"{"t": "2026-11-22T10:15:00Z"#,
        ])
    func grammar(text: String) {
        let thrown = decode(text).thrown
        #expect(thrown?.reason == .malformedJSON, "\(text)")
    }

    @Test("valid JSON the decoders skip over is accepted, however it is nested (up to the limit)")
    func validSkippedValues() throws {
        let text = #"{"x": {"a": [1, -2.5e-3, "s\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", true, false, null, {}, []], "b": {}}, "people": 4}"#
        let decoded = try decode(text).get()
        #expect(decoded.readings.map(\.value) == [4])
        #expect(decoded.reasons == [.unknownMetric])
    }

    @Test("nesting deeper than 32 levels is refused, 32 is accepted")
    func depthLimit() throws {
        // The payload's own object is level 1, so 31 more levels fit.
        let deepest = #"{"x": "# + String(repeating: "[", count: 31) + String(repeating: "]", count: 31) + #", "people": 1}"#
        #expect(try decode(deepest).get().readings.count == 1)
        let tooDeep = #"{"x": "# + String(repeating: "[", count: 32) + String(repeating: "]", count: 32) + #", "people": 1}"#
        #expect(decode(tooDeep).thrown?.reason == .malformedJSON)
        #expect(decode(tooDeep).thrown?.detail.hasPrefix("nesting deeper than 32 levels") == true)
        // An unterminated deep nesting fails fast without recursion.
        let hostile = #"{"x": "# + String(repeating: "[", count: 60_000)
        #expect(decode(hostile).thrown?.reason == .malformedJSON)
        let senML = "[" + String(repeating: "{\"x\": ", count: 40) + "1" + String(repeating: "}", count: 40) + "]"
        #expect(decode(senML).thrown?.reason == .malformedJSON)
    }

    @Test(
        "invalid UTF-8 inside strings throws malformed_json",
        arguments: [
            [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF0, 0x80, 0x80, 0x80],
            [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xFF], [0x80], [0xC3], [0xE2, 0x82], [0xC3, 0x28],
        ] as [[UInt8]])
    func invalidUTF8(sequence: [UInt8]) {
        let payload = Array(#"{"people": 1, "x": ""#.utf8) + sequence + Array(#""}"#.utf8)
        #expect(decode(bytes: payload).thrown?.reason == .malformedJSON)
        let inKey = Array(#"{""#.utf8) + sequence + Array(#"": 1}"#.utf8)
        #expect(decode(bytes: inKey).thrown?.reason == .malformedJSON)
    }

    @Test("valid multi-byte UTF-8 is accepted in strings")
    func validUTF8() throws {
        let decoded = try decode("{\"people\": 1, \"x\": \"é € 😀 \u{10FFFF} \u{FFFD}\"}").get()
        #expect(decoded.readings.count == 1)
        #expect(decoded.reasons == [.unknownMetric])
    }

    @Test("reject details quote at most a short excerpt of the payload, without control characters")
    func shortDetails() throws {
        let longKey = String(repeating: "k", count: 5_000)
        let decoded = try decode(#"{"\#(longKey)": 1, "people": 1}"#).get()
        let detail = try #require(decoded.rejects.first?.detail)
        #expect(detail.utf8.count < 64)
        #expect(detail == #"key "kkkkkkkkkkkkkkkkkkkkkkkk…" is not a metric"#)
        let controls = try decode(#"{"a\nb\u0000c": 1}"#).get()
        #expect(controls.rejects.first?.detail == #"key "a\nb\u0000c" is not a metric"#)
        let badTime = decode(#"{"t": "\#(String(repeating: "9", count: 300))", "people": 1}"#).thrown
        #expect((badTime?.detail.utf8.count ?? 0) < 80)
        for text in [String(repeating: "[", count: 300), #"{"x": ""# + String(repeating: "\\q", count: 200)] {
            #expect((decode(text).thrown?.detail.utf8.count ?? 0) < 80)
        }
    }

    @Test("one output reused across messages: readings accumulate until reset")
    func reuse() throws {
        var output = DecodeOutput()
        let decoder = PayloadDecoder()
        for k in 0..<3 {
            try decoder.decode(Array(#"{"people": \#(k)}"#.utf8).span, sensor: camera, arrival: tenFifteen, into: &output)
        }
        #expect(output.readings.map(\.value) == [0, 1, 2])
        output.reset()
        try decoder.decode(Array(#"[{"n": "people", "v": 9}]"#.utf8).span, sensor: camera, arrival: tenFifteen, into: &output)
        #expect(output.readings.map(\.value) == [9])
    }
}
