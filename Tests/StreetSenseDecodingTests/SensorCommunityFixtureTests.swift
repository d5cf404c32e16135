import Foundation  // only to read the fixture files from the test bundle
import StreetSenseCore
import StreetSenseDecoding
import Testing

/// Real rows from a Sensor.Community station (see Fixtures/README.md), turned into native JSON and SenML payloads
/// and decoded; values and times are computed from the CSV text independently of the decoders.
@Suite("Real Sensor.Community data")
struct SensorCommunityFixtureTests {
    struct Row {
        var timestamp: String  // 2017-10-31T04:45:56, UTC without an offset
        var first: String  // P1 (PM10) or temperature, as written in the file
        var second: String  // P2 (PM2.5) or humidity

        /// Milliseconds since the epoch: 2017-10-31T00:00:00Z is 1509408000 s (Python datetime), plus the time of day.
        var milliseconds: Int64 {
            #expect(timestamp.hasPrefix("2017-10-31T"))
            let clock = timestamp.split(separator: "T")[1].split(separator: ":").map { Int64($0)! }
            return (1_509_408_000 + clock[0] * 3600 + clock[1] * 60 + clock[2]) * 1000
        }
        var unixSeconds: Int64 { milliseconds / 1000 }
    }

    /// The data rows of a fixture, with the two value columns picked by header name.
    static func rows(_ file: String, _ firstColumn: String, _ secondColumn: String) throws -> [Row] {
        let url = try #require(Bundle.module.url(forResource: file, withExtension: "csv", subdirectory: "Fixtures"))
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ";", omittingEmptySubsequences: false) }
        let header = lines[0].map(String.init)
        let time = try #require(header.firstIndex(of: "timestamp"))
        let first = try #require(header.firstIndex(of: firstColumn))
        let second = try #require(header.firstIndex(of: secondColumn))
        return lines.dropFirst().map { Row(timestamp: String($0[time]), first: String($0[first]), second: String($0[second])) }
    }

    let particulates = SensorAddress(pilot: "aberdeen", sensor: "5331")
    let climate = SensorAddress(pilot: "aberdeen", sensor: "5332")

    @Test("SDS011 rows as native JSON (RFC 3339 and Unix seconds) and as SenML")
    func sds011() throws {
        let rows = try SensorCommunityFixtureTests.rows("2017-10-31_sds011_sensor_5331_excerpt", "P1", "P2")
        #expect(rows.count == 20)
        var pm10: [Double] = []
        for row in rows {
            let time = EventTime(milliseconds: row.milliseconds)
            let arrival = time + .seconds(145)
            let expected = [
                DecodedReading(metric: .pm10, value: Double(row.first)!, time: time),
                DecodedReading(metric: .pm2_5, value: Double(row.second)!, time: time),
            ]
            let payloads = [
                #"{"t": "\#(row.timestamp)Z", "pm10": \#(row.first), "pm2_5": \#(row.second)}"#,
                #"{"pm10":\#(row.first),"pm2_5":\#(row.second),"t":\#(row.unixSeconds)}"#,
                #"[{"bn": "5331/", "bt": \#(row.unixSeconds), "bu": "ug/m3", "n": "pm10", "v": \#(row.first)},"#
                    + #" {"n": "pm2_5", "v": \#(row.second)}]"#,
                #"[{"bn": "urn:dev:sds011:5331:", "bt": -145, "n": "pm10", "u": "ug/m3", "v": \#(row.first)},"#
                    + #" {"n": "pm2_5", "u": "µg/m3", "v": \#(row.second)}]"#,
            ]
            for payload in payloads {
                let decoded = try decode(payload, sensor: particulates, arrival: arrival).get()
                #expect(decoded.readings == expected, "\(payload)")
                #expect(decoded.rejects.isEmpty)
            }
            pm10.append(expected[0].value)
        }
        // The spike: PM10 peaks at 55.5 µg/m³ at 04:45:56.
        let peak = try #require(pm10.indices.max { pm10[$0] < pm10[$1] })
        #expect(pm10[peak] == 55.5)
        #expect(rows[peak].timestamp == "2017-10-31T04:45:56")
    }

    @Test("DHT22 rows as native JSON and as SenML with Cel and %RH")
    func dht22() throws {
        let rows = try SensorCommunityFixtureTests.rows("2017-10-31_dht22_sensor_5332_excerpt", "temperature", "humidity")
        #expect(rows.count == 20)
        for row in rows {
            let time = EventTime(milliseconds: row.milliseconds)
            let expected = [
                DecodedReading(metric: .temperature, value: Double(row.first)!, time: time),
                DecodedReading(metric: .humidity, value: Double(row.second)!, time: time),
            ]
            let payloads = [
                #"{"t": "\#(row.timestamp)Z", "temperature": \#(row.first), "humidity": \#(row.second)}"#,
                #"[{"bn": "aberdeen/5332/", "bt": \#(row.unixSeconds), "n": "temperature", "u": "Cel", "v": \#(row.first)},"#
                    + #" {"n": "humidity", "u": "%RH", "v": \#(row.second)}]"#,
            ]
            for payload in payloads {
                let decoded = try decode(payload, sensor: climate, arrival: time + .seconds(2)).get()
                #expect(decoded.readings == expected, "\(payload)")
                #expect(decoded.rejects.isEmpty)
            }
        }
    }

    @Test("a SenML pack from the SDS011 sensor names another sensor than the DHT22's topic")
    func wrongTopic() throws {
        let row = try #require(try SensorCommunityFixtureTests.rows("2017-10-31_sds011_sensor_5331_excerpt", "P1", "P2").first)
        let payload = #"[{"bn": "5331/", "n": "pm10", "v": \#(row.first)}]"#
        #expect(decode(payload, sensor: climate).thrown?.reason == .identityMismatch)
    }
}
