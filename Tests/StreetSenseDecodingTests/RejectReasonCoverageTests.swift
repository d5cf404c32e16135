import StreetSenseCore
import StreetSenseDecoding
import Testing

/// One example per reject reason the decoding module produces, so a reason that stops being reachable (or a new
/// reason nobody produces) shows up here.
@Suite("Every reject reason the decoders produce")
struct RejectReasonCoverageTests {
    /// Payloads (for PayloadDecoder) and how their reason is reported.
    static let examples: [(RejectReason, String, thrown: Bool)] = [
        (.malformedJSON, #"{"people": 1,}"#, true),
        (.identityMismatch, #"[{"bn": "cam-8/", "n": "people", "v": 1}]"#, true),
        (.unknownMetric, #"{"pm25": 1, "people": 1}"#, false),
        (.unitMismatch, #"[{"n": "people", "u": "Cel", "v": 1}]"#, false),
        (.notNumeric, #"{"people": "1"}"#, false),
        (.notFinite, #"{"people": NaN}"#, false),
        (.outOfRange, #"{"humidity": 101}"#, false),
        (.errorCode, #"{"pm10": 999.9}"#, false),
        (.badTimestamp, #"{"t": "2026-11-22 10:15", "people": 1}"#, true),
        (.futureTimestamp, #"[{"n": "people", "t": 3600, "v": 1}]"#, false),
        (.noReadings, "[]", true),
    ]

    @Test("each reason from its example, with a detail")
    func examples() {
        for (reason, payload, thrown) in RejectReasonCoverageTests.examples {
            let result = decode(payload)
            if thrown {
                #expect(result.thrown?.reason == reason, "\(payload)")
                #expect(result.thrown?.detail.isEmpty == false)
            } else {
                #expect(result.reasons == [reason], "\(payload)")
                #expect(result.rejects.first?.detail.isEmpty == false)
            }
        }
    }

    @Test("the remaining reasons: payload_too_large and bad_topic; kind_mismatch belongs to routing")
    func remainingReasons() throws {
        let covered = Set(RejectReasonCoverageTests.examples.map(\.0))
        #expect(decode(String(repeating: " ", count: 65_537)).thrown?.reason == .payloadTooLarge)
        #expect(throws: Reject(.badTopic, #"topic "streetsense/v1/readings/helsinki" has no sensor level"#)) {
            try ReadingTopic().parse(Array("streetsense/v1/readings/helsinki".utf8).span)
        }
        let all = Set(RejectReason.allCases)
        #expect(all.subtracting(covered) == [.payloadTooLarge, .badTopic, .kindMismatch])
    }
}
