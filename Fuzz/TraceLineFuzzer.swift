// libFuzzer harness for the trace-line codec (Sources/StreetSenseReplay/TraceLineCodec.swift), the hand-written
// JSON Lines parser that reads every trace testers replay. Built by run.sh, not by SwiftPM.
//
// For every input: the canonical fast path, when it accepts the line, gives the general parser's record;
// decoding never crashes and either gives a record or a reason that names the line; a decoded
// record encodes to one canonical line that decodes to the same record, and encoding that record again gives the
// same bytes (the determinism the trace format promises).
import StreetSenseCore

func violated(_ what: String, _ bytes: [UInt8]) -> Never {
    fatalError("\(what); input: \(String(decoding: bytes.prefix(200), as: UTF8.self).debugDescription)")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // The canonical fast path must agree with the general parser on every line it accepts.
    if let fast = bytes.withUnsafeBufferPointer({ CanonicalTraceLine.decode($0) }) {
        guard let general = try? TraceLineCodec.decodeGeneral(bytes, lineNumber: 7), general == fast else {
            violated("the fast path read \(fast), the general parser did not agree", bytes)
        }
    }
    let record: TraceRecord
    do {
        record = try TraceLineCodec.decode(bytes, lineNumber: 7)
    } catch {
        if error.line != 7 || error.reason.isEmpty { violated("a reject without its line or reason: \(error)", bytes) }
        return 0
    }
    guard (0...2).contains(record.qos), !record.topic.isEmpty else { violated("accepted \(record)", bytes) }
    var line: [UInt8] = []
    TraceLineCodec.encode(record, into: &line)
    guard line.last == UInt8(ascii: "\n"), line.dropLast().allSatisfy({ $0 != UInt8(ascii: "\n") }) else {
        violated("an encoded record is not exactly one line", bytes)
    }
    let again: TraceRecord
    do {
        again = try TraceLineCodec.decode(line.dropLast(), lineNumber: 1)
    } catch {
        violated("the canonical line of a decoded record does not decode: \(error)", bytes)
    }
    guard again == record else { violated("round trip changed the record: \(record) → \(again)", bytes) }
    var second: [UInt8] = []
    TraceLineCodec.encode(again, into: &second)
    guard second == line else { violated("encoding is not canonical", bytes) }
    return 0
}
