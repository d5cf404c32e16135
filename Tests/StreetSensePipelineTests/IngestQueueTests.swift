import Foundation
import StreetSenseCore
import StreetSensePipeline
import Synchronization
import Testing

/// The messages of a batch as (topic, payload) strings, in order.
private func messages(_ batch: MessageBatch) -> [(topic: String, payload: String)] {
    batch.entries.map { entry in
        (String(decoding: batch.bytes[entry.topicStart..<(entry.topicStart + entry.topicCount)], as: UTF8.self),
         String(decoding: batch.bytes[entry.payloadStart..<(entry.payloadStart + entry.payloadCount)], as: UTF8.self))
    }
}

extension IngestQueue {
    @discardableResult
    func append(_ topic: String, _ payload: String, arrival: EventTime = t0) -> Bool {
        let topicBytes = Array(topic.utf8), payloadBytes = Array(payload.utf8)
        return append(topic: topicBytes.span, payload: payloadBytes.span, arrival: arrival)
    }

    func take(timeout: Duration) -> MessageBatch? {
        var recycled: MessageBatch?
        return take(recycling: &recycled, timeout: timeout)
    }
}

@Suite("IngestQueue: batched hand-off that waits and never drops")
struct IngestQueueTests {
    @Test("a producer facing a full batch waits, and resumes when the consumer takes the batch")
    func producerWaitsForRoomByMessages() throws {
        let queue = IngestQueue(maximumMessages: 2)
        #expect(queue.append("a/0", "m0"))
        #expect(queue.append("a/1", "m1"))
        let returned = Mutex<Bool?>(nil)
        let producer = TestThread {
            let result = queue.append("a/2", "m2")
            returned.withLock { $0 = result }
        }
        #expect(eventually { queue.producerWaits == 1 })
        #expect(queue.depth == 2)
        #expect(returned.withLock { $0 } == nil)

        let first = try #require(queue.take(timeout: .seconds(1)))
        #expect(messages(first).map(\.payload) == ["m0", "m1"])
        #expect(producer.wait())
        #expect(returned.withLock { $0 } == true)
        let second = try #require(queue.take(timeout: .seconds(1)))
        #expect(messages(second).map(\.topic) == ["a/2"])
        #expect(messages(second).map(\.payload) == ["m2"])
        #expect(queue.producerWaits == 1)
    }

    @Test("a batch is also full at its byte limit; one message larger than the limit still fits an empty batch")
    func producerWaitsForRoomByBytes() throws {
        let queue = IngestQueue(maximumMessages: 1000, maximumBytes: 16)
        // 4 + 20 bytes: more than the limit, but the batch was empty, so it is taken whole.
        #expect(queue.append("t/ab", String(repeating: "x", count: 20)))
        let producer = TestThread { queue.append("t/cd", "y") }
        #expect(eventually { queue.producerWaits == 1 })
        let first = try #require(queue.take(timeout: .seconds(1)))
        #expect(first.count == 1)
        #expect(first.byteCount == 24)
        #expect(messages(first)[0].payload.count == 20)
        #expect(producer.wait())
        #expect(messages(try #require(queue.take(timeout: .seconds(1)))).map(\.payload) == ["y"])
    }

    @Test("many producers, small batches: every message arrives once, in each producer's order")
    func manyProducersLoseNothing() throws {
        let producers = 4, perProducer = 3000
        let queue = IngestQueue(maximumMessages: 16, maximumBytes: 1 << 20)
        let threads = (0..<producers).map { p in
            TestThread {
                for i in 0..<perProducer {
                    queue.append("p/\(p)", "\(i)", arrival: EventTime(milliseconds: Int64(p * 1_000_000 + i)))
                }
            }
        }
        var received = Array(repeating: [Int](), count: producers)
        var arrivalsMatch = true
        var recycled: MessageBatch?
        var total = 0
        let deadline = ContinuousClock.now + .seconds(10)
        while total < producers * perProducer, ContinuousClock.now < deadline {
            guard let batch = queue.take(recycling: &recycled, timeout: .milliseconds(500)) else { continue }
            #expect(batch.count <= 16)
            for (entry, message) in zip(batch.entries, messages(batch)) {
                let p = Int(message.topic.dropFirst(2))!, i = Int(message.payload)!
                received[p].append(i)
                arrivalsMatch = arrivalsMatch && entry.arrival.milliseconds == Int64(p * 1_000_000 + i)
                #expect(entry.payloadSize == entry.payloadCount)
            }
            total += batch.count
            recycled = batch
        }
        for thread in threads { #expect(thread.wait()) }
        #expect(total == producers * perProducer)
        for p in 0..<producers { #expect(received[p] == Array(0..<perProducer)) }
        #expect(arrivalsMatch)
        #expect(queue.depth == 0)
        // With batches of 16 and four eager producers, some of them had to wait.
        #expect(queue.producerWaits > 0)
    }

    @Test("an oversize payload keeps a 1024-byte excerpt and its real size; one at the limit is kept whole")
    func oversizePayloadKeepsAnExcerpt() throws {
        let queue = IngestQueue(payloadLimit: 2048)
        let big = (0..<5000).map { UInt8(truncatingIfNeeded: $0 % 251) }
        let atLimit = [UInt8](repeating: 0x41, count: 2048)
        let topic = Array("streetsense/v1/readings/p/s".utf8)
        queue.append(topic: topic.span, payload: big.span, arrival: at(1))
        queue.append(topic: topic.span, payload: atLimit.span, arrival: at(2))
        let batch = try #require(queue.take(timeout: .seconds(1)))
        #expect(batch.count == 2)
        let oversize = batch.entries[0], whole = batch.entries[1]
        #expect(oversize.payloadCount == MessageBatch.excerptBytes)
        #expect(MessageBatch.excerptBytes == 1024)
        #expect(oversize.payloadSize == 5000)
        #expect(Array(batch.bytes[oversize.payloadStart..<(oversize.payloadStart + oversize.payloadCount)]) == Array(big.prefix(1024)))
        #expect(Array(batch.bytes[oversize.topicStart..<(oversize.topicStart + oversize.topicCount)]) == topic)
        #expect(oversize.arrival == at(1))
        #expect(whole.payloadCount == 2048)
        #expect(whole.payloadSize == 2048)
        #expect(batch.byteCount == 2 * topic.count + 1024 + 2048)
    }

    @Test("close() wakes a waiting producer (which gets false); take drains what was queued, then returns nil")
    func closeWakesProducerAndDrains() throws {
        let queue = IngestQueue(maximumMessages: 2)
        queue.append("a/0", "m0")
        queue.append("a/1", "m1")
        let returned = Mutex<Bool?>(nil)
        let producer = TestThread {
            let result = queue.append("a/2", "m2")
            returned.withLock { $0 = result }
        }
        #expect(eventually { queue.producerWaits == 1 })
        queue.close()
        #expect(producer.wait())
        #expect(returned.withLock { $0 } == false)
        #expect(!queue.append("a/3", "m3"))
        #expect(!queue.isClosedAndEmpty)

        let start = ContinuousClock.now
        let drained = try #require(queue.take(timeout: .seconds(5)))
        #expect(messages(drained).map(\.payload) == ["m0", "m1"])
        #expect(queue.isClosedAndEmpty)
        #expect(queue.take(timeout: .seconds(5)) == nil)
        // Closed and empty: nil at once, not after the timeout.
        #expect(start.duration(to: .now) < .seconds(2))
    }

    @Test("close() wakes a consumer waiting on an empty queue")
    func closeWakesConsumer() {
        let queue = IngestQueue()
        let gotNil = Mutex(false)
        let consumer = TestThread {
            let result = queue.take(timeout: .seconds(30))
            gotNil.withLock { $0 = result == nil }
        }
        queue.close()
        #expect(consumer.wait())
        #expect(gotNil.withLock { $0 })
    }

    @Test("take returns nil after its timeout when nothing arrives, and at once when something does")
    func takeTimesOut() throws {
        let queue = IngestQueue()
        let start = ContinuousClock.now
        #expect(queue.take(timeout: .milliseconds(60)) == nil)
        let waited = start.duration(to: .now)
        #expect(waited >= .milliseconds(55))
        #expect(waited < .seconds(1))

        let taken = Mutex<[String]?>(nil)
        let consumer = TestThread {
            let result = queue.take(timeout: .seconds(30)).map { messages($0).map(\.payload) }
            taken.withLock { $0 = result }
        }
        queue.append("a/b", "late arrival")
        #expect(consumer.wait())
        #expect(taken.withLock { $0 } == ["late arrival"])
    }

    @Test("a recycled batch comes back empty as the next filling batch")
    func recycling() throws {
        let queue = IngestQueue()
        queue.append("a/b", "1")
        let first = try #require(queue.take(timeout: .seconds(1)))
        #expect(messages(first).map(\.payload) == ["1"])
        var recycled: MessageBatch? = first
        queue.append("a/c", "2")
        let next = try #require(queue.take(recycling: &recycled, timeout: .seconds(1)))
        #expect(recycled == nil)
        #expect(messages(next).map(\.topic) == ["a/c"])
        queue.append("a/d", "3")
        #expect(messages(try #require(queue.take(timeout: .seconds(1)))).map(\.payload) == ["3"])
    }

    @Test("MessageBatch.removeAll empties it; appends after that start from zero")
    func batchRemoveAll() {
        var batch = MessageBatch()
        batch.append(topic: Array("x/y".utf8), payload: Array("{}".utf8), arrival: t0, payloadLimit: 10)
        #expect(batch.count == 1)
        batch.removeAll()
        #expect(batch.isEmpty)
        #expect(batch.byteCount == 0)
        batch.append(topic: Array("x/z".utf8), payload: Array("[1]".utf8), arrival: t0, payloadLimit: 10)
        #expect(batch.entries[0].topicStart == 0)
        #expect(batch.entries[0].payloadStart == 3)
        #expect(messages(batch).map(\.payload) == ["[1]"])
    }

    @Test("under a fast producer the consumer naps instead of being woken per message, and takes every message in order")
    func napsUnderLoad() throws {
        let queue = IngestQueue()
        let count = 20_000
        let producer = TestThread {
            for i in 0..<count {
                queue.append("load/s", String(i))
                // About 5 µs apart: far below the 50 µs busy gap, slower than the consumer.
                let start = DispatchTime.now().uptimeNanoseconds
                while DispatchTime.now().uptimeNanoseconds &- start < 5_000 {}
            }
        }
        var received: [Int] = []
        var takes = 0
        while received.count < count {
            let batch = try #require(queue.take(timeout: .seconds(30)), "stalled after \(received.count) messages")
            takes += 1
            received += messages(batch).map { Int($0.payload)! }
        }
        #expect(producer.wait())
        #expect(received == Array(0..<count))
        #expect(queue.consumerNaps > 0)
        #expect(takes < count)
    }

    @Test("a napping consumer is not woken by a message, and takes it when the nap ends, before its timeout")
    func napEndsByItself() throws {
        // A busy gap of 1 s makes any two appends "busy"; naps of 1.5 s make the difference from a wake-up plain.
        let queue = IngestQueue(busyGap: .seconds(1), napLength: .milliseconds(1_500))
        queue.append("a/b", "0")
        queue.append("a/b", "1")
        #expect(messages(try #require(queue.take(timeout: .seconds(1)))).map(\.payload) == ["0", "1"])
        let producer = TestThread {
            Thread.sleep(forTimeInterval: 0.05)
            queue.append("a/b", "2")
        }
        let started = ContinuousClock.now
        let batch = try #require(queue.take(timeout: .seconds(30)))
        let waited = started.duration(to: .now)
        #expect(messages(batch).map(\.payload) == ["2"])
        #expect(queue.consumerNaps == 1)
        #expect(waited >= .milliseconds(1_400), "woken after \(waited): the message must not wake a napping consumer")
        #expect(producer.wait())

        // The take's own timeout still ends a nap that is longer than it.
        queue.append("a/b", "3")
        _ = try #require(queue.take(timeout: .seconds(1)))
        #expect(queue.take(timeout: .milliseconds(100)) == nil)
    }

    @Test("after a pause a message wakes the consumer at once, without napping")
    func quietMessageWakesAtOnce() throws {
        let queue = IngestQueue(busyGap: .microseconds(50), napLength: .seconds(20))
        let producer = TestThread {
            Thread.sleep(forTimeInterval: 0.05)
            queue.append("a/b", "quiet")
        }
        let started = ContinuousClock.now
        let batch = try #require(queue.take(timeout: .seconds(60)))
        #expect(messages(batch).map(\.payload) == ["quiet"])
        #expect(queue.consumerNaps == 0)
        #expect(started.duration(to: .now) < .seconds(15))
        #expect(producer.wait())
    }
}
