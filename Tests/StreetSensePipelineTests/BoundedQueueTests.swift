import StreetSensePipeline
import Synchronization
import Testing

@Suite("BoundedQueue: FIFO hand-off whose producer waits when full")
struct BoundedQueueTests {
    @Test("capacity is respected: a producer waits until an element is taken")
    func capacityMakesProducerWait() {
        let queue = BoundedQueue<Int>(capacity: 2)
        #expect(queue.put(1))
        #expect(queue.put(2))
        let producer = TestThread { queue.put(3) }
        // Bounded wait: the producer is still blocked after 100 ms.
        #expect(!producer.wait(timeout: .milliseconds(100)))
        #expect(queue.count == 2)
        #expect(queue.take() == 1)
        #expect(producer.wait())
        #expect(queue.count == 2)
        #expect(queue.take() == 2)
        #expect(queue.take() == 3)
        #expect(queue.count == 0)
    }

    @Test("first in, first out through many wrap-arounds of the internal storage")
    func fifoOrder() {
        let queue = BoundedQueue<Int>(capacity: 100)
        var expected = 0
        for round in 0..<50 {
            for i in 0..<(70 + round % 30) { queue.put(round * 1000 + i) }
            var taken: [Int] = []
            while queue.count > 0 { taken.append(queue.take()!) }
            #expect(taken == Array((round * 1000)..<(round * 1000 + 70 + round % 30)))
            expected += taken.count
        }
        #expect(expected == (0..<50).reduce(0) { $0 + 70 + $1 % 30 })
    }

    @Test("several producers and one consumer: each producer's elements arrive once and in order")
    func concurrentProducers() {
        let queue = BoundedQueue<(Int, Int)>(capacity: 8)
        let producers = 3, perProducer = 5000
        let threads = (0..<producers).map { p in TestThread { for i in 0..<perProducer { queue.put((p, i)) } } }
        var received = Array(repeating: [Int](), count: producers)
        for _ in 0..<(producers * perProducer) {
            let (p, i) = queue.take()!
            received[p].append(i)
        }
        for thread in threads { #expect(thread.wait()) }
        for p in 0..<producers { #expect(received[p] == Array(0..<perProducer)) }
        #expect(queue.count == 0)
    }

    @Test("waitUntilEmpty returns once everything put so far was taken")
    func waitUntilEmpty() {
        let queue = BoundedQueue<String>(capacity: 4)
        queue.waitUntilEmpty()  // empty: returns at once
        queue.put("a")
        queue.put("b")
        let waiter = TestThread { queue.waitUntilEmpty() }
        #expect(!waiter.wait(timeout: .milliseconds(100)))
        #expect(queue.take() == "a")
        #expect(!waiter.wait(timeout: .milliseconds(50)))
        #expect(queue.take() == "b")
        #expect(waiter.wait())
    }

    @Test("close: put fails, take drains then returns nil, and blocked threads wake up")
    func closeSemantics() {
        let queue = BoundedQueue<Int>(capacity: 1)
        #expect(queue.put(7))
        let putResult = Mutex<Bool?>(nil)
        let producer = TestThread {
            let result = queue.put(8)
            putResult.withLock { $0 = result }
        }
        let waiter = TestThread { queue.waitUntilEmpty() }
        #expect(!producer.wait(timeout: .milliseconds(50)))
        queue.close()
        #expect(producer.wait())
        #expect(putResult.withLock { $0 } == false)
        #expect(waiter.wait())
        #expect(!queue.put(9))
        #expect(queue.take() == 7)
        #expect(queue.take() == nil)

        let empty = BoundedQueue<Int>(capacity: 1)
        let gotNil = Mutex(false)
        let consumer = TestThread {
            let result = empty.take()
            gotNil.withLock { $0 = result == nil }
        }
        #expect(!consumer.wait(timeout: .milliseconds(50)))
        empty.close()
        #expect(consumer.wait())
        #expect(gotNil.withLock { $0 })
    }
}
