import StreetSenseCore
import StreetSenseDecoding
import Testing

@Suite("Native JSON payloads")
struct NativeJSONDecoderTests {
    @Test("one metric with an RFC 3339 UTC time")
    func singleMetric() throws {
        let decoded = try decode(#"{"t": "2026-11-22T10:15:00.250Z", "people": 134}"#).get()
        #expect(decoded.readings == [DecodedReading(metric: .people, value: 134, time: EventTime(milliseconds: 1_795_342_500_250))])
        #expect(decoded.rejects.isEmpty)
    }

    @Test("several metrics with Unix seconds and a fraction")
    func severalMetrics() throws {
        let decoded = try decode(#"{"t": 1795342500.25, "pm2_5": 12.3, "pm10": 20.1, "no2": 31}"#).get()
        let t = EventTime(milliseconds: 1_795_342_500_250)
        #expect(decoded.readings == [
            DecodedReading(metric: .pm2_5, value: 12.3, time: t),
            DecodedReading(metric: .pm10, value: 20.1, time: t),
            DecodedReading(metric: .no2, value: 31, time: t),
        ])
    }

    @Test("every metric of the vocabulary decodes by its wire name")
    func wholeVocabulary() throws {
        for metric in Metric.allCases {
            let value = metric.validRange.lowerBound + 1
            let decoded = try decode(#"{"\#(metric.name)": \#(value)}"#).get()
            #expect(decoded.readings == [DecodedReading(metric: metric, value: value, time: nil)], "\(metric)")
        }
    }

    @Test("flow counters carry interval_s and seq as metadata")
    func flowCounters() throws {
        // 2025-08-20 00:03:00+02:00 is 1755640980 s (Python datetime with a +2 h tzinfo).
        let decoded = try decode(
            #"{"t": "2025-08-20 00:03:00+02:00", "people_in": 12, "people_out": 9, "interval_s": 60, "seq": 41}"#,
            arrival: EventTime(milliseconds: 1_755_641_000_000)
        ).get()
        let t = EventTime(milliseconds: 1_755_640_980_000)
        #expect(decoded.readings == [
            DecodedReading(metric: .peopleIn, value: 12, time: t), DecodedReading(metric: .peopleOut, value: 9, time: t),
        ])
        #expect(decoded.intervalSeconds == 60)
        #expect(decoded.sequence == 41)
        #expect(decoded.rejects.isEmpty)
    }

    @Test(
        "RFC 3339 forms: Z, z, offsets, a space or t separator, fractions",
        arguments: [
            ("2026-11-22T10:15:00Z", Int64(1_795_342_500_000)),
            ("2026-11-22t10:15:00z", 1_795_342_500_000),
            ("2026-11-22 12:15:00+02:00", 1_795_342_500_000),
            ("2026-11-22T04:45:00-05:30", 1_795_342_500_000),
            ("2026-11-22T10:15:00.5Z", 1_795_342_500_500),
            ("2026-11-22T10:15:00.123456Z", 1_795_342_500_123),
            ("2026-11-22T10:14:59.9996Z", 1_795_342_500_000),  // rounded half up to the millisecond
            ("2026-11-22T10:15:00,25Z", 1_795_342_500_250),
            ("2024-02-29T23:59:59-05:30", 1_709_270_999_000),  // a leap day, a half-hour offset
        ])
    func rfc3339Times(text: String, milliseconds: Int64) throws {
        let decoded = try decode(#"{"t": "\#(text)", "people": 1}"#).get()
        #expect(decoded.readings.map(\.time) == [EventTime(milliseconds: milliseconds)])
    }

    @Test("Unix seconds: integers, fractions, exponents")
    func unixSeconds() throws {
        #expect(try decode(#"{"t": 1795342500, "people": 1}"#).get().readings.first?.time == tenFifteen)
        #expect(
            try decode(#"{"t": 1795342499.999, "people": 1}"#).get().readings.first?.time
                == EventTime(milliseconds: 1_795_342_499_999))
        #expect(try decode(#"{"t": 1.7953425e9, "people": 1}"#).get().readings.first?.time == tenFifteen)
    }

    @Test("without t a reading has no time (the caller uses arrival)")
    func noTime() throws {
        #expect(try decode(#"{"people": 7}"#).get().readings == [DecodedReading(metric: .people, value: 7, time: nil)])
    }

    @Test("t may come after the values it applies to")
    func timeLast() throws {
        let decoded = try decode(#"{"people": 7, "devices": 9, "t": "2026-11-22T10:14:00Z"}"#).get()
        #expect(decoded.readings.map(\.time) == Array(repeating: tenFifteen - .seconds(60), count: 2))
    }

    @Test("whitespace and escapes are JSON's")
    func whitespaceAndEscapes() throws {
        let decoded = try decode(" \n\t{ \"peo\\u0070le\" :\r\n 5 , \"t\" : \"2026-11-22T10:15:00\\u005A\" } \n").get()
        #expect(decoded.readings == [DecodedReading(metric: .people, value: 5, time: tenFifteen)])
    }

    @Test("one bad value is rejected, the others are kept")
    func partialReject() throws {
        let decoded = try decode(#"{"pm2_5": 2400, "pm10": 20.5, "pm25": 3, "no2": "31", "o3": NaN}"#).get()
        #expect(decoded.readings == [DecodedReading(metric: .pm10, value: 20.5, time: nil)])
        #expect(decoded.reasons == [.outOfRange, .unknownMetric, .notNumeric, .notFinite])
        #expect(decoded.rejects[0].detail == "pm2_5 = 2400 outside 0…2000")
        #expect(decoded.rejects[1].detail == #"key "pm25" is not a metric"#)
        #expect(decoded.rejects[2].detail == "no2 is a string, not a number")
        #expect(decoded.rejects[3].detail == "o3 = NaN is not finite")
    }

    @Test(
        "values that are not numbers are not_numeric",
        arguments: [#""12""#, "true", "false", "null", "{}", #"{"v": 1}"#, "[]", "[1, 2]"])
    func notNumeric(value: String) throws {
        let decoded = try decode(#"{"people": \#(value)}"#).get()
        #expect(decoded.readings.isEmpty)
        #expect(decoded.reasons == [.notNumeric])
    }

    @Test("NaN, Infinity, -Infinity and overflowing literals are not_finite", arguments: ["NaN", "Infinity", "-Infinity", "1e400", "-2e308"])
    func notFinite(value: String) throws {
        let decoded = try decode(#"{"noise": \#(value)}"#).get()
        #expect(decoded.reasons == [.notFinite])
        #expect(decoded.rejects.first?.detail == "noise = \(value) is not finite")
    }

    @Test("SDS011 error values on pm2_5 and pm10 are error_code")
    func errorCodes() throws {
        let decoded = try decode(#"{"pm2_5": 999.9, "pm10": 1999.9}"#).get()
        #expect(decoded.reasons == [.errorCode, .errorCode])
        #expect(decoded.rejects[0].detail == "pm2_5 = 999.9 is an SDS011 error code")
        // The same numbers on other metrics are ordinary values (no2 allows 0…2000).
        #expect(try decode(#"{"no2": 999.9}"#).get().readings.map(\.value) == [999.9])
    }

    @Test("range edges are inclusive; one step past them is out_of_range")
    func rangeEdges() throws {
        #expect(try decode(#"{"temperature": -60, "humidity": 100}"#).get().readings.map(\.value) == [-60, 100])
        let decoded = try decode(#"{"temperature": -60.1, "humidity": 100.01, "people": -1, "devices": 1000001}"#).get()
        #expect(decoded.reasons == [.outOfRange, .outOfRange, .outOfRange, .outOfRange])
        #expect(decoded.rejects[0].detail == "temperature = -60.1 outside -60…70")
    }

    @Test("a t more than the skew ahead of arrival rejects every value future_timestamp")
    func futureTime() throws {
        let decoded = try decode(#"{"t": "2026-11-22T10:16:01Z", "people": 5, "devices": 8}"#).get()
        #expect(decoded.readings.isEmpty)
        #expect(decoded.reasons == [.futureTimestamp, .futureTimestamp])
        #expect(decoded.rejects[0].detail == "people at 2026-11-22T10:16:01.000Z is 61 s ahead of arrival (limit 60 s)")
        // Exactly at the limit is accepted.
        #expect(try decode(#"{"t": "2026-11-22T10:16:00Z", "people": 5}"#).get().readings.count == 1)
        // The limit is the decoder's property.
        let strict = NativeJSONDecoder(maximumFutureSkew: .seconds(1))
        #expect(try decode(#"{"t": "2026-11-22T10:15:02Z", "people": 5}"#, with: strict).get().reasons == [.futureTimestamp])
    }

    @Test(
        "a t that is not a time throws bad_timestamp",
        arguments: [
            #""2026-11-22T10:15:00""#,  // no offset
            #""2026-13-01T00:00:00Z""#, #""2026-02-30T00:00:00Z""#, #""2026-11-22T24:00:00Z""#,
            #""2026-11-22T10:15:00+24:00""#, #""yesterday""#, #""""#, #""2026-11-22T10:15:00.Z""#,
            "true", "null", "[]", "NaN", "1e300", "1795342500000000",
        ])
    func badTime(value: String) {
        #expect(decode(#"{"t": \#(value), "people": 1}"#).thrown?.reason == .badTimestamp)
    }

    @Test("bad interval_s and seq are per-value rejects; the counts are kept")
    func badMetadata() throws {
        let decoded = try decode(#"{"people_in": 3, "interval_s": 0, "seq": -1}"#).get()
        #expect(decoded.readings.map(\.value) == [3])
        #expect(decoded.reasons == [.outOfRange, .outOfRange])
        #expect(decoded.intervalSeconds == nil)
        #expect(try decode(#"{"people_in": 3, "interval_s": "60", "seq": 1.5}"#).get().reasons == [.notNumeric, .outOfRange])
        #expect(try decode(#"{"people_in": 3, "interval_s": Infinity}"#).get().reasons == [.notFinite])
        #expect(try decode(#"{"people_in": 3, "interval_s": 1e400, "seq": -1e999}"#).get().reasons == [.notFinite, .notFinite])
        #expect(try decode(#"{"people_in": 3, "interval_s": 0.5, "seq": 0}"#).get().intervalSeconds == 0.5)
    }

    @Test("every value rejected: the decode returns the rejects and no readings")
    func everyValueRejected() throws {
        let decoded = try decode(#"{"pm25": 1}"#).get()
        #expect(decoded.readings.isEmpty)
        #expect(decoded.reasons == [.unknownMetric])
    }

    @Test("an object with no metric throws no_readings", arguments: ["{}", " { } ", #"{"t": 1795342500}"#, #"{"interval_s": 60, "seq": 3}"#])
    func noReadings(text: String) {
        #expect(decode(text).thrown?.reason == .noReadings)
    }

    @Test(
        "a key given twice throws malformed_json",
        arguments: [
            #"{"people": 1, "people": 2}"#, #"{"t": 1, "people": 1, "t": 2}"#, #"{"people": 1, "peo\u0070le": 2}"#,
            #"{"x": 1, "x": 2}"#, #"{"x": 1, "\u0078": 2}"#, #"{"seq": 1, "seq": 1, "people": 1}"#,
            #"{"interval_s": 1, "interval_s": 1, "people": 1}"#,
        ])
    func duplicateKeys(text: String) {
        #expect(decode(text).thrown?.reason == .malformedJSON)
    }

    @Test("a thrown reject leaves earlier output untouched")
    func rollBack() throws {
        var output = DecodeOutput()
        let decoder = PayloadDecoder()
        try decoder.decode(Array(#"{"people": 1, "x": 2}"#.utf8).span, sensor: camera, arrival: tenFifteen, into: &output)
        #expect(throws: Reject.self) {
            try decoder.decode(
                Array(#"{"people": 2, "pm25": 1, "interval_s": 5, "people": 3}"#.utf8).span, sensor: camera,
                arrival: tenFifteen, into: &output)
        }
        #expect(output.readings == [DecodedReading(metric: .people, value: 1, time: nil)])
        #expect(output.rejects.map(\.reason) == [.unknownMetric])
        #expect(output.intervalSeconds == nil)
        output.reset()
        #expect(output.readings.isEmpty && output.rejects.isEmpty)
    }

    @Test("at most 32 keys that are not metrics: more throw malformed_json, whatever they are")
    func tooManyOtherKeys() throws {
        func payload(_ count: Int) -> String {
            "{" + (0..<count).map { #""x\#($0)": \#($0)"# }.joined(separator: ", ") + #", "people": 1}"#
        }
        let decoded = try decode(payload(32)).get()
        #expect(decoded.readings.count == 1)
        #expect(decoded.reasons == Array(repeating: .unknownMetric, count: 32))
        #expect(decode(payload(33)).thrown == Reject(.malformedJSON, "more than 32 keys that are not metrics"))
        // A 64 KiB payload of distinct unknown keys is refused quickly, not compared pairwise.
        var big = "{"
        var k = 0
        while big.utf8.count < 60_000 {
            big += #""k\#(k)": 0, "#
            k += 1
        }
        big += #""people": 1}"#
        let clock = ContinuousClock()
        let elapsed = clock.measure { #expect(decode(big).thrown?.reason == .malformedJSON) }
        #expect(elapsed < .seconds(1))
    }

    @Test("an array is not a native payload")
    func notAnObject() {
        #expect(decode("[]", with: NativeJSONDecoder()).thrown?.reason == .malformedJSON)
    }
}
