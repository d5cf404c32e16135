// libFuzzer harness for the StreetSense payload decoders (see README.md). Built by run.sh, not by SwiftPM.
import StreetSenseCore
@testable import StreetSenseDecoding

/// The decoder under test, with the production limits, and a topic scheme.
let decoder = PayloadDecoder()
let topics = try! ReadingTopic()
let sensor = SensorAddress(pilot: "helsinki", sensor: "cam-7")
let arrival = EventTime(milliseconds: 1_795_342_500_000)

/// Stops the run with a message libFuzzer records next to the crashing input.
func violated(_ what: String, _ bytes: [UInt8]) -> Never {
    fatalError("\(what); input: \(String(decoding: bytes.prefix(200), as: UTF8.self).debugDescription)")
}

func checkDetail(_ reject: Reject, _ bytes: [UInt8]) {
    if reject.detail.isEmpty || reject.detail.utf8.count > 160 { violated("reject detail length", bytes) }
    if reject.detail.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
        violated("control character in a reject detail", bytes)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))

    // 1. The decoder contract: readings in range and not too far ahead, or a thrown reject that leaves the output alone.
    var output = DecodeOutput()
    let sentinel = DecodedReading(metric: .noise, value: 1, time: nil)
    output.readings.append(sentinel)
    do {
        try decoder.decode(bytes.span, sensor: sensor, arrival: arrival, into: &output)
        for reading in output.readings.dropFirst() {
            guard reading.value.isFinite, reading.metric.validRange.contains(reading.value) else {
                violated("accepted an invalid value \(reading)", bytes)
            }
            if let time = reading.time, time.milliseconds - arrival.milliseconds > 60_000 {
                violated("accepted a future time \(reading)", bytes)
            }
        }
        for reject in output.rejects { checkDetail(reject, bytes) }
    } catch {
        if output.readings != [sentinel] || !output.rejects.isEmpty || output.intervalSeconds != nil {
            violated("a thrown reject changed the output", bytes)
        }
        checkDetail(error, bytes)
    }

    // 2. Topic parsing of the same bytes: accepted levels are valid ids, and the one-pass way agrees with the
    // level-by-level one (also after the head, as the bytes themselves).
    let parsed = try? topics.parse(bytes.span)
    if let levels = parsed {
        if !Identifier.isValid(bytes[levels.pilot]) || !Identifier.isValid(bytes[levels.sensor]) {
            violated("accepted an invalid id", bytes)
        }
    }
    if parsed != (try? topics.checkedLevels(bytes.span)) { violated("topic parses disagree", bytes) }
    let topic = Array("streetsense/v1/readings/".utf8) + bytes.prefix(140)
    if let onePass = ReadingTopic.wellFormedLevels(topic.span, from: 24), onePass != (try? topics.checkedLevels(topic.span)) {
        violated("one-pass topic levels differ", bytes)
    }

    // 3. The in-place RFC 3339 scanner agrees with the core's parser.
    let text = Array(bytes.prefix(48))
    if RFC3339Scanner.parse(text.span, 0..<text.count) != EventTime(rfc3339Bytes: text) {
        violated("RFC 3339 scanners disagree", bytes)
    }

    // 4. Numbers convert exactly as the standard library does.
    if let first = text.first, first == UInt8(ascii: "-") || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) {
        var scanner = JSONScanner()
        if let value = try? scanner.scanNumber(text.span), scanner.position == text.count {
            guard let expected = Double(String(decoding: text, as: UTF8.self)), expected.bitPattern == value.bitPattern
            else { violated("number conversion differs from Double(String)", bytes) }
        }
    }
    return 0
}
