import StreetSenseCore
import StreetSensePipeline
import Testing

extension TopicRoutes {
    func lookup(_ key: String) -> SensorIndex? { lookup(Array(key.utf8).span) }
    mutating func insert(_ key: String, _ value: Int32) { insert(Array(key.utf8).span, SensorIndex(value)) }
}

/// A random `{pilot}/{sensor}` key from the identifier alphabet.
private func randomKey(_ rng: inout SplitMix64) -> String {
    let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
    func id(_ length: Int) -> String { String((0..<length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }) }
    return id(1 + Int(rng.next() % 12)) + "/" + id(1 + Int(rng.next() % 20))
}

@Suite("TopicRoutes: byte-keyed open addressing")
struct TopicRoutesTests {
    @Test("thousands of random keys: every one found with its value, growing from a tiny table; others absent")
    func randomKeys() {
        var rng = SplitMix64(state: 0x5EED_2026)
        var keys: [String] = []
        var seen: Set<String> = []
        while keys.count < 6000 {
            let key = randomKey(&rng)
            if seen.insert(key).inserted { keys.append(key) }
        }
        var routes = TopicRoutes(capacity: 1)
        for (i, key) in keys.enumerated() {
            routes.insert(key, Int32(i))
            // Every key inserted so far is still found after each growth.
            if i.isMultiple(of: 997) {
                for (j, earlier) in keys[0...i].enumerated() where routes.lookup(earlier) != SensorIndex(Int32(j)) {
                    Issue.record("key \(earlier) lost after \(i + 1) inserts")
                }
            }
        }
        #expect(routes.count == keys.count)
        var wrong = 0
        for (i, key) in keys.enumerated() where routes.lookup(key) != SensorIndex(Int32(i)) { wrong += 1 }
        #expect(wrong == 0)

        var absent = 0, foundAbsent = 0
        while absent < 6000 {
            let key = randomKey(&rng)
            guard !seen.contains(key) else { continue }
            absent += 1
            if routes.lookup(key) != nil { foundAbsent += 1 }
        }
        #expect(foundAbsent == 0)
    }

    @Test("keys that share prefixes or differ only in their last byte are distinct")
    func sharedPrefixes() {
        let keys = ["p/s", "p/s1", "p/s12", "p/s123", "p/s124", "p/t", "pp/s", "p1/s", "helsinki-lab/cam-01", "helsinki-lab/cam-010", "helsinki-lab/cam-02"]
        var routes = TopicRoutes(capacity: 2)
        for (i, key) in keys.enumerated() { routes.insert(key, Int32(100 + i)) }
        for (i, key) in keys.enumerated() { #expect(routes.lookup(key) == SensorIndex(Int32(100 + i)), "\(key)") }
        for absent in ["p/", "p", "p/s12345", "p/s13", "helsinki-lab/cam-0", "helsinki-lab/cam-011", "q/s", "P/s", "/s"] {
            #expect(routes.lookup(absent) == nil, "\(absent)")
        }
    }

    @Test("an empty table finds nothing")
    func empty() {
        let routes = TopicRoutes()
        #expect(routes.count == 0)
        #expect(routes.lookup("helsinki-lab/cam-01") == nil)
    }

    @Test("keys of up to 64 + 1 + 64 bytes, values up to Int32.max")
    func longKeys() {
        let pilot = String(repeating: "p", count: 64), sensor = String(repeating: "s", count: 64)
        var routes = TopicRoutes()
        routes.insert("\(pilot)/\(sensor)", Int32.max)
        routes.insert("\(pilot)/\(sensor.dropLast())", 0)
        #expect(routes.lookup("\(pilot)/\(sensor)") == SensorIndex(Int32.max))
        #expect(routes.lookup("\(pilot)/\(sensor.dropLast())") == SensorIndex(0))
        #expect(routes.lookup("\(pilot)/\(sensor.dropLast(2))") == nil)
    }
}
