import StreetSenseCore
import StreetSenseHTTP
import Testing

@Suite struct RejectsAPITests {
    static let records: [RejectRecord] = (1...5).map { id in
        let pilot = id % 2 == 0 ? "citizen-air" : "helsinki-lab"
        return RejectRecord(
            id: Int64(id), received: at(Double(id)), pilot: pilot, sensor: "s\(id)", topic: "streetsense/v1/readings/\(pilot)/s\(id)",
            reason: id == 5 ? .outOfRange : .malformedJSON, detail: "detail \(id)", payloadExcerpt: id == 3 ? "{\"t\": \\xff\n" : "{}"
        )
    } + [
        RejectRecord(
            id: 6, received: at(6), pilot: nil, sensor: nil, topic: "streetsense/v1/oops", reason: .badTopic, detail: "not a readings topic",
            payloadExcerpt: ""
        )
    ]

    @Test func pagesNewestFirstWithTheIdAsCursor() async throws {
        let history = InMemoryHistory(records: Self.records)
        try await withAPI(.testbed(history: history)) { api in
            var ids: [Int] = []
            var uri = "/api/v1/rejects?limit=4"
            var cursors: [String] = []
            for _ in 0..<5 {
                let page = try await api.json(uri)
                ids += (page["rejects"]?.array ?? []).compactMap { $0["id"]?.int }
                guard let cursor = page["next_cursor"]?.string else { break }
                cursors.append(cursor)
                uri = "/api/v1/rejects?limit=4&cursor=\(cursor)"
            }
            #expect(ids == [6, 5, 4, 3, 2, 1])
            #expect(cursors == ["3"])
            // One more than the page is asked for, to know whether another page follows.
            #expect(history.calls == [
                .rejects(pilot: nil, reason: nil, before: nil, limit: 5), .rejects(pilot: nil, reason: nil, before: 3, limit: 5),
            ])
        }
    }

    @Test func recordsAndTotalsAreShownAsStored() async throws {
        let history = InMemoryHistory(records: Self.records)
        try await withAPI(.testbed(history: history)) { api in
            let all = try await api.json("/api/v1/rejects")
            let third = try #require(all["rejects"]?.array?.first { $0["id"]?.int == 3 })
            #expect(third == .object([
                "id": .number(3), "received_at": .string("2026-11-22T10:00:03.000Z"), "pilot": .string("helsinki-lab"), "sensor": .string("s3"),
                "topic": .string("streetsense/v1/readings/helsinki-lab/s3"), "reason": .string("malformed_json"), "detail": .string("detail 3"),
                "payload_excerpt": .string("{\"t\": \\xff\n"),
            ]))
            let topicless = try #require(all["rejects"]?[0])
            #expect(topicless["pilot"] == .null)
            #expect(topicless["sensor"] == .null)
            // Whole-pipeline totals: 9 messages (camera 2, gate 1, stranger 1, air 3, Wi-Fi 1, bad topic 1);
            // rejected: the air station's kind_mismatch reading and malformed message, and the bad topic.
            let totals = try #require(all["totals"])
            #expect(totals["messages"]?.int == 9)
            #expect(totals["rejected"]?.int == 3)
            #expect(totals["rejects_by_reason"]?["bad_topic"]?.int == 1)
            #expect(totals["rejects_by_reason"]?["kind_mismatch"]?.int == 1)
            #expect(totals["rejects_by_reason"]?["malformed_json"]?.int == 1)

            let air = try await api.json("/api/v1/rejects?pilot=citizen-air&reason=malformed_json")
            #expect((air["rejects"]?.array ?? []).compactMap { $0["id"]?.int } == [4, 2])
            #expect(air["totals"]?["messages"]?.int == 3)
            #expect(air["totals"]?["rejected"]?.int == 2)
            #expect(air["totals"]?["rejects_by_reason"]?["bad_topic"]?.int == 0)
            #expect(history.calls.last == .rejects(pilot: "citizen-air", reason: .malformedJSON, before: nil, limit: 101))
        }
    }

    @Test func badRejectParametersAreNamed() async throws {
        try await withAPI(.testbed()) { api in
            for (query, parameter) in [
                ("reason=bogus", "reason"), ("cursor=abc", "cursor"), ("cursor=-4", "cursor"), ("cursor=0", "cursor"), ("limit=0", "limit"),
                ("pilot=a/b", "pilot"), ("since=2026-11-22T00:00:00Z", "since"),
            ] {
                let problem = try await api.json("/api/v1/rejects?\(query)", status: 400)
                #expect(problem["parameter"]?.string == parameter, "\(query)")
            }
        }
    }
}
