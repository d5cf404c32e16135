import StreetSenseCore
import StreetSenseReplay
import Testing

@Suite("Trace format: JSON Lines reading and writing")
struct TraceFormatTests {
    let at = EventTime(milliseconds: 1_795_342_500_250)  // 2026-11-22T10:15:00.250Z

    @Test("a record is written canonically, key order fixed, escapes minimal")
    func canonicalLine() {
        let record = TraceRecord(at: at, topic: "streetsense/v1/readings/p/s", payload: "{\"people\":3,\"note\":\"a\\b\"}\n", qos: 1)
        #expect(TraceLineCodec.line(record)
            == #"{"at":"2026-11-22T10:15:00.250Z","topic":"streetsense/v1/readings/p/s","payload":"{\"people\":3,\"note\":\"a\\b\"}\n","qos":1}"#)
    }

    @Test("non-UTF-8 payloads round-trip through payload_b64")
    func binaryPayload() throws {
        let bytes: [UInt8] = [0xFF, 0x00, 0xC3, 0x28, 0x41]
        let record = TraceRecord(at: at, topic: "t/x", payload: bytes, qos: 0)
        let line = TraceLineCodec.line(record)
        // 0xFF 0x00 0xC3 → "/wDD", 0x28 0x41 → "KEE="
        #expect(line == #"{"at":"2026-11-22T10:15:00.250Z","topic":"t/x","payload_b64":"/wDDKEE=","qos":0}"#)
        let back = try TraceLineCodec.decode(Array(line.utf8), lineNumber: 1)
        #expect(back == record)
    }

    @Test("written records read back identically, and writing twice gives identical bytes")
    func roundTrip() throws {
        let records = (0..<50).map { i in
            TraceRecord(at: at + .milliseconds(i * 250), topic: "streetsense/v1/readings/p/s\(i % 3)",
                        payload: "{\"t\":\(1_795_342_500 + i),\"people\":\(i)} é ✓ \u{1F600}", qos: i % 3)
        }
        var first: [UInt8] = [], second: [UInt8] = []
        for record in records { TraceLineCodec.encode(record, into: &first) }
        for record in records { TraceLineCodec.encode(record, into: &second) }
        #expect(first == second)
        let reader = TraceReader(bytes: first)
        var read: [TraceRecord] = []
        while let record = try reader.next() { read.append(record) }
        #expect(read == records)
        #expect(reader.skippedLines == 0)
        #expect(reader.lineNumber == 50)
    }

    @Test("bad lines are reported with their line number and reason, skipped and counted")
    func badLines() throws {
        let text = """
            {"at":"2026-11-22T10:15:00.250Z","topic":"a/b","payload":"x","qos":1}
            not json at all
            {"at":"yesterday","topic":"a/b","payload":"x"}

            {"topic":"a/b","payload":"x"}
            {"at":"2026-11-22T10:15:01Z","topic":"a/b","payload":"y","qos":7}
            {"at":"2026-11-22T10:15:02Z","topic":"a/b","payload":"z"
            {"payload":"\\u00e9","topic":"a/c","at":"2026-11-22T11:15:02+01:00","extra":[1,{"k":null}]}
            """
        let reader = TraceReader(bytes: Array(text.utf8))
        var errors: [TraceLineError] = []
        reader.onBadLine = { errors.append($0) }
        var read: [TraceRecord] = []
        while let record = try reader.next() { read.append(record) }
        #expect(read.count == 2)
        #expect(read.last == TraceRecord(at: EventTime(milliseconds: 1_795_342_502_000), topic: "a/c", payload: "é", qos: 1))
        #expect(errors.map(\.line) == [2, 3, 5, 6, 7])
        #expect(reader.skippedLines == 5)
        #expect(errors[0].reason == "not a JSON object")
        #expect(errors[1].reason.hasPrefix("\"at\" is not an RFC 3339 time"))
        #expect(errors[2].reason == "no \"at\"")
        #expect(errors[3].reason == "\"qos\" is not 0, 1 or 2")
        #expect(errors[4].reason == "unterminated object")
    }

    @Test("CRLF line ends and a missing final newline are accepted")
    func lineEnds() throws {
        let text = "{\"at\":\"2026-11-22T10:15:00Z\",\"topic\":\"a/b\",\"payload\":\"1\"}\r\n{\"at\":\"2026-11-22T10:15:01Z\",\"topic\":\"a/b\",\"payload\":\"2\"}"
        let reader = TraceReader(bytes: Array(text.utf8))
        var payloads: [String] = []
        while let record = try reader.next() { payloads.append(String(decoding: record.payload, as: UTF8.self)) }
        #expect(payloads == ["1", "2"])
    }
}
