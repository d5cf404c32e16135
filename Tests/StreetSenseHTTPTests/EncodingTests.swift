import StreetSenseCore
import Testing

@testable import StreetSenseHTTP

@Suite struct EncodingTests {
    @Test func theWriterEscapesStringsAndSeparatesMembers() throws {
        let awkward = "quote \" backslash \\ newline \n tab \t bell \u{07} delete \u{7F} é 🚶"
        var json = JSONWriter()
        json.object { json in
            json.member("text", awkward)
            json.member("nothing", nil as Double?)
            json.member("nan", Double.nan)
            json.member("tiny", 0.00001)
            json.member("count", 3)
            json.key("list")
            json.array { json in
                json.int(1)
                json.bool(false)
                json.object { _ in }
                json.array { _ in }
            }
            json.member("at", time: EventTime(milliseconds: 1_795_342_500_250))
        }
        let text = String(decoding: json.bytes, as: UTF8.self)
        #expect(text.hasSuffix(#""count":3,"list":[1,false,{},[]],"at":"2026-11-22T10:15:00.250Z"}"#))
        #expect(text.contains(#"\u0007"#) && text.contains(#"\u007f"#) && text.contains(#"\n"#))
        let parsed = try JSONValue.parse(json.bytes)
        #expect(parsed["text"]?.string == awkward)
        #expect(parsed["nothing"] == .null)
        #expect(parsed["nan"] == .null)  // JSON has no NaN
        #expect(parsed["tiny"]?.double == 0.00001)
    }

    @Test func seriesStepsAndDefaultRanges() {
        // The smallest multiple of 60 s giving at most 1000 points.
        #expect(SeriesRequest.smallestStep(range: 3_600_000) == 60)
        #expect(SeriesRequest.smallestStep(range: 60_000_000) == 60)
        #expect(SeriesRequest.smallestStep(range: 60_000_001) == 120)
        #expect(SeriesRequest.smallestStep(range: 7 * 86_400_000) == 11 * 60)  // 604.8 s → 11 minutes
        #expect(SeriesRequest.pointCount(range: 3_600_000, stepSeconds: 60) == 60)
        #expect(SeriesRequest.pointCount(range: 3_600_001, stepSeconds: 60) == 61)
        #expect(SeriesRequest.endOfMinute(EventTime(milliseconds: 0)) == EventTime(milliseconds: 60_000))
        #expect(SeriesRequest.endOfMinute(EventTime(milliseconds: 59_999)) == EventTime(milliseconds: 60_000))
        #expect(SeriesRequest.endOfMinute(EventTime(milliseconds: -1)) == EventTime(milliseconds: 0))
        #expect(QueryParameters.parseSeconds("5m") == 300)
        #expect(QueryParameters.parseSeconds("1h") == 3600)
        #expect(QueryParameters.parseSeconds("120") == 120)
        #expect(QueryParameters.parseSeconds("m") == nil)
        #expect(QueryParameters.parseSeconds("-5m") == nil)
        #expect(QueryParameters.parseSeconds("1.5h") == nil)
    }

    @Test func sensorCursorsRoundTripAndRefuseForgeries() {
        let address = SensorAddress(pilot: "helsinki-lab", sensor: "cam-01.v2_b")
        let cursor = SensorCursor.encode(address)
        #expect(!cursor.contains("/") && !cursor.contains("+") && !cursor.contains("="))
        #expect(SensorCursor.decode(cursor) == address)
        #expect(SensorCursor.decode("not a cursor") == nil)
        #expect(SensorCursor.decode(SensorCursor.encode(SensorAddress(pilot: "a b", sensor: "c"))) == nil)
    }

    @Test func zoneCursorsRoundTripAndRefuseForgeries() {
        let cursor = ZoneCursor.encode("kamppi-square")
        #expect(!cursor.contains("/") && !cursor.contains("+") && !cursor.contains("="))
        #expect(ZoneCursor.decode(cursor) == "kamppi-square")
        #expect(ZoneCursor.decode("not a cursor") == nil)
        #expect(ZoneCursor.decode(ZoneCursor.encode("a b")) == nil)
        // A sensor cursor is not a zone cursor, and the other way round.
        #expect(ZoneCursor.decode(SensorCursor.encode(SensorAddress(pilot: "zone", sensor: "x"))) == nil)
        #expect(SensorCursor.decode(ZoneCursor.encode("x")) == nil)
        #expect(ZoneCursor.decode(String(repeating: "A", count: 201)) == nil)
    }
}
