import StreetSenseCore
import StreetSenseDecoding
import Testing

@Suite("SenML payloads (RFC 8428)")
struct SenMLDecoderTests {
    @Test("base name, base time, base unit and relative record times")
    func baseFields() throws {
        let decoded = try decode(
            #"[{"bn": "cam-7/", "bt": 1795342500, "bu": "count", "n": "people", "v": 134},"#
                + #" {"n": "people", "t": 60, "v": 141}, {"n": "devices", "t": -30.5, "v": 410}]"#,
            arrival: tenFifteen + .seconds(90)
        ).get()
        #expect(decoded.readings == [
            DecodedReading(metric: .people, value: 134, time: tenFifteen),
            DecodedReading(metric: .people, value: 141, time: tenFifteen + .seconds(60)),
            DecodedReading(metric: .devices, value: 410, time: EventTime(milliseconds: 1_795_342_469_500)),
        ])
        #expect(decoded.rejects.isEmpty)
    }

    @Test("times below 2^28 are relative to arrival")
    func relativeTimes() throws {
        let arrival = EventTime(milliseconds: 1_795_342_500_000)
        let decoded = try decode(
            #"[{"bn": "cam-7/", "bt": -120, "n": "people", "v": 1}, {"n": "people", "t": 60, "v": 2},"#
                + #" {"n": "people", "bt": 0, "t": 0, "v": 3}, {"n": "people", "bt": 268435455, "v": 4}]"#,
            arrival: arrival
        ).get()
        // -120 s, -120 + 60 s, and a record whose own bt of 0 replaces the base time: arrival itself.
        #expect(decoded.readings.map(\.time) == [arrival - .seconds(120), arrival - .seconds(60), arrival])
        // bt = 2^28 − 1 is still relative: 268435455 s ahead of arrival, far in the future.
        #expect(decoded.reasons == [.futureTimestamp])
        #expect(decoded.readings.count == 3)
        // 2^28 itself is absolute: 1978-07-04T21:24:16Z.
        let absolute = try decode(#"[{"n": "people", "bt": 268435456, "v": 4}]"#).get()
        #expect(absolute.readings.map(\.time) == [EventTime(milliseconds: 268_435_456_000)])
    }

    @Test("records without any time have no time; bt alone applies")
    func noTime() throws {
        let decoded = try decode(#"[{"n": "pm10", "v": 12.5, "u": "ug/m3"}]"#).get()
        #expect(decoded.readings == [DecodedReading(metric: .pm10, value: 12.5, time: nil)])
    }

    @Test("base value is added to v")
    func baseValue() throws {
        let decoded = try decode(#"[{"bn": "cam-7/", "bv": 100, "n": "people", "v": 5}, {"n": "people", "v": -3}]"#).get()
        #expect(decoded.readings.map(\.value) == [105, 97])
    }

    @Test(
        "accepted name forms identify the topic's sensor",
        arguments: [
            #"[{"n": "pm10", "v": 1}]"#,
            #"[{"bn": "cam-7/", "n": "pm10", "v": 1}]"#,
            #"[{"bn": "cam-7:", "n": "pm10", "v": 1}]"#,
            #"[{"bn": "helsinki/cam-7/", "n": "pm10", "v": 1}]"#,
            #"[{"bn": "helsinki/cam-7:", "n": "pm10", "v": 1}]"#,
            #"[{"bn": "urn:dev:ow:10e2073a01080063:cam-7:", "n": "pm10", "v": 1}]"#,
            #"[{"bn": "urn:dev:cam-7:", "n": "pm10", "v": 1}]"#,
            #"[{"n": "cam-7/pm10", "v": 1}]"#,
            #"[{"bn": "cam-7", "n": "/pm10", "v": 1}]"#,
            #"[{"bn": "cam-7/pm10", "v": 1}]"#,
            #"[{"bn": "cam\u002D7/", "n": "pm\u0031\u0030", "v": 1}]"#,
        ])
    func acceptedNames(text: String) throws {
        #expect(try decode(text).get().readings == [DecodedReading(metric: .pm10, value: 1, time: nil)])
    }

    @Test(
        "a name that names another sensor throws identity_mismatch",
        arguments: [
            #"[{"bn": "cam-8/", "n": "pm10", "v": 1}]"#,
            #"[{"bn": "xcam-7/", "n": "pm10", "v": 1}]"#,
            #"[{"bn": "tampere/cam-7/", "n": "pm10", "v": 1}]"#,
            #"[{"bn": "urn:dev:ow:cam-8:", "n": "pm10", "v": 1}]"#,
            #"[{"bn": "urx:dev:ow:cam-7:", "n": "pm10", "v": 1}]"#,
            #"[{"n": "cam-8/pm10", "v": 1}]"#,
            #"[{"bn": "/", "n": "pm10", "v": 1}]"#,
            #"[{"bn": "cam-7/", "n": "pm10", "v": 1}, {"bn": "cam-9/", "n": "pm10", "v": 2}]"#,
        ])
    func identityMismatch(text: String) {
        let thrown = decode(text).thrown
        #expect(thrown?.reason == .identityMismatch)
        #expect(thrown?.detail.hasSuffix("does not name sensor cam-7") == true)
    }

    @Test("units are checked against the metric; a missing unit is fine")
    func units() throws {
        let decoded = try decode(
            #"[{"bn": "cam-7/", "n": "temperature", "u": "Cel", "v": 21.5}, {"n": "humidity", "u": "%RH", "v": 40},"#
                + #" {"n": "pm2_5", "u": "µg/m3", "v": 8}, {"n": "noise", "u": "dBA", "v": 61},"#
                + #" {"n": "co2", "u": "ppm", "v": 420}, {"n": "people", "u": "count", "v": 3}, {"n": "no2", "v": 30},"#
                + #" {"n": "pm10", "u": "Cel", "v": 9}, {"n": "people", "u": "/", "v": 3}]"#
        ).get()
        #expect(decoded.readings.map(\.metric) == [.temperature, .humidity, .pm2_5, .noise, .co2, .people, .no2])
        #expect(decoded.reasons == [.unitMismatch, .unitMismatch])
        #expect(decoded.rejects[0].detail == #"unit "Cel" does not fit pm10 (ug/m3)"#)
    }

    @Test("the base unit applies to records without u")
    func baseUnit() throws {
        let decoded = try decode(#"[{"bu": "Cel", "n": "temperature", "v": 3}, {"n": "humidity", "v": 50}, {"n": "humidity", "u": "%RH", "v": 51}]"#).get()
        #expect(decoded.readings.map(\.value) == [3, 51])
        #expect(decoded.reasons == [.unitMismatch])
    }

    @Test("vs, vb, vd and sums instead of v are not_numeric")
    func otherValueKinds() throws {
        let decoded = try decode(
            #"[{"n": "people", "vs": "12"}, {"n": "people", "vb": true}, {"n": "people", "vd": "AQI="},"#
                + #" {"n": "people", "s": 12}, {"n": "people"}, {"n": "people", "v": "12"}, {"n": "people", "v": null}]"#
        ).get()
        #expect(decoded.readings.isEmpty)
        #expect(decoded.reasons == Array(repeating: .notNumeric, count: 7))
        #expect(decoded.rejects[0].detail == "people has a string value (vs), not a number (v)")
    }

    @Test("value checks: not_finite, error_code, out_of_range, unknown_metric, bad and future times")
    func valueChecks() throws {
        let decoded = try decode(
            #"[{"bn": "cam-7/", "n": "pm10", "v": Infinity}, {"n": "pm10", "v": 1999.9}, {"n": "pm2_5", "v": 2400},"#
                + #" {"n": "pm25", "v": 1}, {"n": "pm10", "t": "now", "v": 1}, {"n": "pm10", "t": 61, "v": 1},"#
                + #" {"n": "pm10", "t": 1e300, "v": 1}, {"n": "pm10", "t": 60, "v": 1}, {"n": "", "bn": "", "v": 1}]"#
        ).get()
        #expect(decoded.reasons == [
            .notFinite, .errorCode, .outOfRange, .unknownMetric, .badTimestamp, .futureTimestamp, .badTimestamp,
            .unknownMetric,
        ])
        #expect(decoded.readings == [DecodedReading(metric: .pm10, value: 1, time: tenFifteen + .seconds(60))])
        #expect(decoded.rejects[3].detail == #"name "cam-7/pm25" is not a metric"#)
        #expect(decoded.rejects[7].detail == "SenML record without a name")
    }

    @Test("a record with only base fields is not a reading")
    func baseOnlyRecords() throws {
        let decoded = try decode(#"[{"bn": "cam-7/", "bt": 1795342500, "bver": 10}, {"n": "people", "v": 1}, {}]"#).get()
        #expect(decoded.readings == [DecodedReading(metric: .people, value: 1, time: tenFifteen)])
    }

    @Test("unknown fields are ignored, must-understand fields (ending in _) are refused")
    func extensions() throws {
        #expect(try decode(#"[{"n": "people", "v": 1, "foo": {"a": [1, 2]}, "ct": "60"}]"#).get().readings.count == 1)
        #expect(decode(#"[{"n": "people", "v": 1, "foo_": 1}]"#).thrown?.reason == .malformedJSON)
        #expect(decode(#"[{"n": "people", "v": 1, "foo\u005F": 1}]"#).thrown?.reason == .malformedJSON)
        #expect(decode(#"[{"n": "people", "v": 1, "_foo": 1}]"#).thrown == nil)
        let many = "[{" + (0..<33).map { #""x\#($0)": 0"# }.joined(separator: ", ") + #", "n": "people", "v": 1}]"#
        #expect(decode(many).thrown == Reject(.malformedJSON, "more than 32 unknown fields in a SenML record"))
    }

    @Test(
        "schema violations throw",
        arguments: [
            (#"[{"bn": 5, "n": "people", "v": 1}]"#, RejectReason.malformedJSON),
            (#"[{"bu": true, "n": "people", "v": 1}]"#, .malformedJSON),
            (#"[{"bv": "1", "n": "people", "v": 1}]"#, .malformedJSON),
            (#"[{"bver": 11, "n": "people", "v": 1}]"#, .malformedJSON),
            (#"[{"n": 5, "v": 1}]"#, .malformedJSON),
            (#"[{"n": "people", "u": 1, "v": 1}]"#, .malformedJSON),
            (#"[{"n": "people", "v": 1, "vs": "1"}]"#, .malformedJSON),
            (#"[{"n": "people", "v": 1, "ut": "x"}]"#, .malformedJSON),
            (#"[{"n": "people", "v": 1, "v": 2}]"#, .malformedJSON),
            (#"[{"n": "people", "v": 1, "x": 1, "x": 2}]"#, .malformedJSON),
            (#"[{"bt": "2026-11-22T10:15:00Z", "n": "people", "v": 1}]"#, .badTimestamp),
            (#"[1, 2]"#, .malformedJSON),
            (#"[[{"n": "people", "v": 1}]]"#, .malformedJSON),
            (#"[{"n": "people", "v": 1}"#, .malformedJSON),
            (#"{"n": "people", "v": 1}"#, .malformedJSON),
            ("[]", .noReadings),
            (#"[{}, {"bn": "cam-7/"}]"#, .noReadings),
        ])
    func schema(text: String, reason: RejectReason) {
        #expect(decode(text, with: SenMLDecoder()).thrown?.reason == reason)
    }

    @Test("the RFC 8428 example pack, with its own sensor as the topic")
    func rfcExample() throws {
        let sensor = SensorAddress(pilot: "lab", sensor: "10e2073a01080063")
        let text = #"[{"bn":"urn:dev:ow:10e2073a01080063:","bt":1.320067464e+09,"bu":"%RH","v":21.2},"#
            + #"{"n":"humidity","t":10,"v":21.3}]"#
        let decoded = try decode(text, sensor: sensor, arrival: EventTime(milliseconds: 1_320_067_500_000)).get()
        // The first record's name is the bare base name: no metric part ("urn:dev:ow:10e2073a01080063:").
        #expect(decoded.reasons == [.unknownMetric])
        #expect(decoded.readings == [DecodedReading(metric: .humidity, value: 21.3, time: EventTime(milliseconds: 1_320_067_474_000))])
    }
}
