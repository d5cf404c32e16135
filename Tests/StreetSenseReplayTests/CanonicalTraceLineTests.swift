import StreetSenseCore
import StreetSenseSimulation
import Testing

@testable import StreetSenseReplay

/// The fast path of trace-line decoding (``CanonicalTraceLine``) against the general parser: on every line the
/// fast path accepts it must give the general parser's record, and it must accept the lines `encode` writes
/// whenever their text is ASCII (otherwise offline replay would silently lose its speed).
@Suite("Trace lines: the canonical fast path agrees with the general parser")
struct CanonicalTraceLineTests {
    static let at = EventTime(milliseconds: 1_795_342_500_250)

    static func fast(_ line: [UInt8]) -> TraceRecord? {
        line.withUnsafeBufferPointer { CanonicalTraceLine.decode($0) }
    }

    static func general(_ line: [UInt8]) -> TraceRecord? {
        try? TraceLineCodec.decodeGeneral(line, lineNumber: 1)
    }

    /// A random record: ASCII-only text (printable, quotes, backslashes, control characters, DEL) or, in a
    /// quarter of the cases, a payload with UTF-8 or invalid bytes.
    static func record(_ random: inout SeededGenerator) -> TraceRecord {
        let alphabet = Array("abcXYZ019/+#-_.:{}[],\" \\\t\n\r".utf8) + [0x00, 0x01, 0x1F, 0x7F]
        func text(_ count: Int) -> [UInt8] { (0..<count).map { _ in alphabet[random.next(below: alphabet.count)] } }
        var payload = text(random.next(below: 60))
        switch random.next(below: 8) {
        case 0: payload += Array("é€😀".utf8)
        case 1: payload += [0xC3]  // invalid UTF-8: written as payload_b64
        default: break
        }
        let topic = "streetsense/v1/readings/" + String(decoding: text(1 + random.next(below: 20)).filter { $0 >= 0x20 && $0 < 0x7F }, as: UTF8.self)
        return TraceRecord(at: EventTime(milliseconds: at.milliseconds + Int64(random.next(below: 1_000_000_000))), topic: topic, payload: payload,
                           qos: random.next(below: 3))
    }

    @Test("every line encode writes decodes the same by both paths, and ASCII lines take the fast path")
    func encodedLinesAgree() throws {
        var random = SeededGenerator(seed: 1)
        var fastHits = 0
        for _ in 0..<5_000 {
            let record = Self.record(&random)
            var line: [UInt8] = []
            TraceLineCodec.encode(record, into: &line)
            line.removeLast()
            let general = try #require(Self.general(line))
            #expect(general == record)
            if let fast = Self.fast(line) {
                fastHits += 1
                #expect(fast == general)
            } else {
                // Only non-ASCII payloads (UTF-8 or payload_b64) may leave the fast path.
                #expect(record.payload.contains { $0 >= 0x80 }, "declined: \(String(decoding: line, as: UTF8.self))")
            }
            #expect(try TraceLineCodec.decode(line, lineNumber: 1) == record)
        }
        #expect(fastHits > 3_000)
    }

    @Test("mutated lines: whatever the fast path accepts, the general parser reads the same")
    func mutatedLinesAgree() {
        var random = SeededGenerator(seed: 2)
        var accepted = 0
        for _ in 0..<20_000 {
            var line: [UInt8] = []
            TraceLineCodec.encode(Self.record(&random), into: &line)
            line.removeLast()
            for _ in 0..<(1 + random.next(below: 3)) {
                let position = random.next(below: line.count + 1)
                let byte = UInt8(truncatingIfNeeded: random.next())
                switch random.next(below: 3) {
                case 0 where position < line.count: line[position] = byte
                case 1 where position < line.count: line.remove(at: position)
                default: line.insert(byte, at: position)
                }
            }
            guard let fast = Self.fast(line) else { continue }
            accepted += 1
            #expect(Self.general(line) == fast, "\(String(decoding: line, as: UTF8.self).debugDescription)")
        }
        #expect(accepted > 1_000)
    }

    @Test("lines in any other form are left to the general parser, which reads them")
    func otherFormsFallBack() throws {
        let lines = [
            #"{"at": "2026-11-22T10:15:00.250Z", "topic": "t/a", "payload": "{}", "qos": 1}"#,
            #"{"topic":"t/a","at":"2026-11-22T10:15:00.250Z","payload":"{}","qos":1}"#,
            #"{"at":"2026-11-22T10:15:00.250Z","topic":"t/a","payload":"caf\u00e9","qos":1}"#,
            #"{"at":"2026-11-22T12:15:00.250+02:00","topic":"t/a","payload":"{}","qos":0} "#,
            #"{"at":"2026-11-22T10:15:00.250Z","topic":"t/a","payload_b64":"e30=","qos":1}"#,
            #"{"at":"2026-11-22T10:15:00.250Z","topic":"t/a","payload":"{}","qos":1,"note":"x"}"#,
            #"{"at":"2026-11-22T10:15:00.250Z","topic":"t\/a","payload":"{}","qos":1.0}"#,
        ]
        for text in lines {
            let line = Array(text.utf8)
            #expect(Self.fast(line) == nil, "\(text)")
            let record = try TraceLineCodec.decode(line, lineNumber: 1)
            #expect(record.at == Self.at)
            #expect(record.topic == "t/a")
        }
        // Lines the general parser rejects are rejected, whatever path they start on.
        for text in [#"{"at":"2026-11-22T10:15:00.250Z","topic":"","payload":"{}","qos":1}"#,
                     #"{"at":"2026-11-22T10:15:00.250Z","topic":"t/a","payload":"{}","qos":3}"#,
                     #"{"at":"2026-11-22T10:15:00.250","topic":"t/a","payload":"{}","qos":1}"#,
                     "{\"at\":\"2026-11-22T10:15:00.250Z\",\"topic\":\"t/a\",\"payload\":\"a\u{01}\",\"qos\":1}"] {
            #expect(throws: TraceLineError.self, "\(text)") { try TraceLineCodec.decode(Array(text.utf8), lineNumber: 3) }
        }
    }
}

extension SeededGenerator {
    /// A uniform integer in 0..<bound (bound > 0); modulo bias is irrelevant for test inputs.
    mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
