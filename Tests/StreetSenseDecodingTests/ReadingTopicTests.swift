@testable import StreetSenseCore
@testable import StreetSenseDecoding
import Testing

@Suite("Reading topics")
struct ReadingTopicTests {
    let scheme = try! ReadingTopic()

    func parse(_ topic: String, with scheme: ReadingTopic? = nil) -> Result<(String, String), Reject> {
        let bytes = Array(topic.utf8)
        do throws(Reject) {
            let levels = try (scheme ?? self.scheme).parse(bytes.span)
            return .success((
                String(decoding: bytes[levels.pilot], as: UTF8.self), String(decoding: bytes[levels.sensor], as: UTF8.self)
            ))
        } catch {
            return .failure(error)
        }
    }

    @Test(
        "good topics give the pilot and sensor byte ranges",
        arguments: [
            ("streetsense/v1/readings/helsinki/cam-7", "helsinki", "cam-7"),
            ("streetsense/v1/readings/a/b", "a", "b"),
            ("streetsense/v1/readings/Pilot_1.x-y/Sensor.42_Z-", "Pilot_1.x-y", "Sensor.42_Z-"),
            ("streetsense/v1/readings/\(String(repeating: "p", count: 64))/\(String(repeating: "s", count: 64))",
             String(repeating: "p", count: 64), String(repeating: "s", count: 64)),
        ])
    func goodTopics(topic: String, pilot: String, sensor: String) throws {
        let (p, s) = try parse(topic).get()
        #expect(p == pilot)
        #expect(s == sensor)
        #expect(try scheme.address(Array(topic.utf8).span) == SensorAddress(pilot: pilot, sensor: sensor))
    }

    @Test(
        "bad topics throw bad_topic with the problem named",
        arguments: [
            ("streetsense/v2/readings/helsinki/cam-7", "does not start with streetsense/v1/readings/"),
            ("streetsense/v1/alerts/helsinki/cam-7", "does not start with streetsense/v1/readings/"),
            ("Streetsense/v1/readings/helsinki/cam-7", "does not start with streetsense/v1/readings/"),
            ("streetsense/v1/readings", "does not start with streetsense/v1/readings/"),
            ("", "does not start with streetsense/v1/readings/"),
            ("streetsense/v1/readings/helsinki", "has no sensor level"),
            ("streetsense/v1/readings/helsinki/cam-7/extra", "has levels after the sensor id"),
            ("streetsense/v1/readings/helsinki/cam-7/", "has levels after the sensor id"),
            ("streetsense/v1/readings//cam-7", "has an empty pilot id"),
            ("streetsense/v1/readings/helsinki/", "has an empty sensor id"),
            ("streetsense/v1/readings/", "has no sensor level"),
            ("streetsense/v1/readings/hel+sinki/cam-7", "has '+' in the pilot id"),
            ("streetsense/v1/readings/helsinki/#", "has '#' in the sensor id"),
            ("streetsense/v1/readings/helsinki/+", "has '+' in the sensor id"),
            ("streetsense/v1/readings/helsinki/cam 7", "has ' ' in the sensor id"),
            ("streetsense/v1/readings/helsinki/cam\u{0}7", "has byte 0x00 in the sensor id"),
            ("streetsense/v1/readings/helsinki/kamera-ä", "has byte 0xC3 in the sensor id"),
            ("streetsense/v1/readings/\(String(repeating: "p", count: 65))/cam-7", "has a pilot id longer than 64 bytes"),
            ("streetsense/v1/readings/helsinki/\(String(repeating: "s", count: 65))", "has a sensor id longer than 64 bytes"),
        ])
    func badTopics(topic: String, problem: String) {
        guard case .failure(let reject) = parse(topic) else {
            Issue.record("accepted \(topic)")
            return
        }
        #expect(reject.reason == .badTopic)
        #expect(reject.detail.hasSuffix(problem), "\(reject.detail)")
        #expect(reject.detail.utf8.count <= 64 + 3 + problem.utf8.count + 10)  // 64 bytes of topic, "…", quotes
    }

    @Test("the id bytes accepted are exactly Identifier's")
    func identifierBytes() {
        for byte in UInt8.min...UInt8.max {
            let topic = Array("streetsense/v1/readings/p/s".utf8) + [byte]
            let accepted = (try? scheme.parse(topic.span)) != nil
            #expect(accepted == Identifier.isValid([UInt8(ascii: "s"), byte]), "byte \(byte)")
        }
    }

    @Test("a configured prefix, the subscription filter and topics for an address")
    func configuredPrefix() throws {
        let custom = try ReadingTopic(prefix: "city/x")
        #expect(custom.subscriptionFilter == "city/x/readings/#")
        #expect(custom.topic(for: camera) == "city/x/readings/helsinki/cam-7")
        #expect(try parse("city/x/readings/helsinki/cam-7", with: custom).get() == ("helsinki", "cam-7"))
        #expect(throws: Reject.self) { try custom.parse(Array("streetsense/v1/readings/helsinki/cam-7".utf8).span) }
        #expect(scheme.prefix == "streetsense/v1")
    }

    @Test("unusable prefixes are refused", arguments: ["", "/a", "a/", "a//b", "a/+/b", "a/#", "a\u{0}b"])
    func badPrefixes(prefix: String) {
        #expect(throws: ReadingTopic.InvalidPrefix.self) { try ReadingTopic(prefix: prefix) }
    }

    @Test("the identifier byte test is [A-Za-z0-9_.-], for every byte")
    func identifierByteMasks() {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-".utf8)
        #expect(allowed.count == 65)
        for byte in UInt8.min...UInt8.max {
            #expect(Identifier.isIDByte(byte) == allowed.contains(byte), "byte \(byte)")
        }
    }

    @Test("where the one-pass parse gives levels, the level-by-level parse gives the same; it gives up on the rest")
    func onePassAgreesWithTheCheckedParse() {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("abcXYZ09_.-".utf8) + [ASCII.slash, UInt8(ascii: " "), UInt8(ascii: "+"), 0, 0xC3, 0xA4]
        let head = Array("streetsense/v1/readings/".utf8)
        var fast = 0, checked = 0
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...140, using: &rng)
            let slashes = Int.random(in: 0...2, using: &rng)
            var body = (0..<length).map { _ in
                Int.random(in: 0..<10, using: &rng) < 9 ? alphabet[Int.random(in: 0..<11, using: &rng)] : alphabet.randomElement(using: &rng)!
            }
            for _ in 0..<slashes where !body.isEmpty { body[Int.random(in: 0..<body.count, using: &rng)] = ASCII.slash }
            let topic = head + body
            let onePass = ReadingTopic.wellFormedLevels(topic.span, from: head.count)
            let levelByLevel = try? scheme.checkedLevels(topic.span)
            if let onePass {
                fast += 1
                #expect(onePass == levelByLevel)
            }
            if levelByLevel != nil { checked += 1 }
            #expect((try? scheme.parse(topic.span)) == levelByLevel)
        }
        // Every valid topic takes the one-pass way, and the random topics hold both kinds.
        #expect(fast == checked)
        #expect(fast > 1_000 && fast < 19_000)
    }
}
