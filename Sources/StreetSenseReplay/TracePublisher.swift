import Mosquitto
import StreetSenseCore

/// Publishes trace records to an MQTT broker on the trace's own schedule: at real time, ×N, or as fast as the
/// broker takes them, and measures how far behind schedule it fell.
///
/// At `max`, at most ``maximumInFlight`` QoS 1/2 messages wait for their acknowledgement at any time, so a slow
/// broker slows the publisher down instead of filling memory. QoS 0 messages are never acknowledged: they
/// wait in libmosquitto's queue until its network thread has written them, so ``publish(speed:next:progress:)``
/// ends with a barrier (see ``waitUntilSent(timeout:)``) and returns only once the broker has read them all.
public final class TracePublisher {
    /// What a publishing run did.
    public struct Statistics: Sendable, Hashable {
        public var messages = 0
        /// Wall time from the first publish to the last acknowledgement.
        public var elapsed: Duration = .zero
        /// The largest lateness of a publish against its scheduled wall time (zero at `max`).
        public var maximumBehind: Duration = .zero
        /// Lateness of the last message.
        public var behind: Duration = .zero

        public var messagesPerSecond: Double {
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return seconds > 0 ? Double(messages) / seconds : 0
        }
    }

    public let client: MosquittoClient
    public var maximumInFlight = 10_000

    /// QoS 1/2 messages libmosquitto keeps sent but unacknowledged; the rest of ``maximumInFlight`` waits in its
    /// queue. Kept small on purpose: on every PUBACK libmosquitto 2.0 walks its list of in-flight messages from
    /// the head to find the next queued one (`message__release_to_inflight`), so each acknowledgement costs this
    /// many list steps. At 1000, a `perf` profile of `streetsense-bench end-to-end` put 6.7 % of the machine's
    /// samples in that walk; 200 in flight still covers several milliseconds of broker round trip at 40 000 msg/s.
    public static let libraryInFlight = 200

    public init(host: String, port: Int, clientID: String) throws {
        client = try MosquittoClient(configuration: .init(
            host: host, port: port, clientID: clientID, cleanSession: true, maxInflightMessages: Self.libraryInFlight))
    }

    /// Connects (waits at most `timeout`).
    public func connect(timeout: Duration = .seconds(10)) async throws {
        try client.start()
        try await client.waitUntilConnected(timeout: timeout)
    }

    /// Publishes every record `next` yields, in order. `speed` nil means `max`; otherwise a record at `at` is
    /// published `(at − first.at) / speed` after the first. `progress` is called now and then.
    public func publish(
        speed: Double?, next: () throws -> TraceRecord?, progress: (Statistics) -> Void = { _ in }
    ) async throws -> Statistics {
        var statistics = Statistics()
        let clock = ContinuousClock()
        let start = clock.now
        var first: EventTime?
        var sentAtMostOnce = false
        while let record = try next() {
            if let speed {
                let origin = first ?? record.at
                first = origin
                let offsetMs = Double(record.at.milliseconds - origin.milliseconds) / speed
                let due = start.advanced(by: .microseconds(Int64(offsetMs * 1000)))
                let now = clock.now
                if due > now {
                    try await Task.sleep(until: due, clock: clock)
                    statistics.behind = .zero
                } else {
                    statistics.behind = due.duration(to: now)
                    if statistics.behind > statistics.maximumBehind { statistics.maximumBehind = statistics.behind }
                }
            }
            while client.unacknowledgedPublishCount >= maximumInFlight {
                try await Task.sleep(for: .microseconds(200))
            }
            let qos: QualityOfService = record.qos == 0 ? .atMostOnce : (record.qos == 2 ? .exactlyOnce : .atLeastOnce)
            try client.publish(topic: record.topic, payload: record.payload, qos: qos)
            if qos == .atMostOnce { sentAtMostOnce = true }
            statistics.messages += 1
            if statistics.messages % 1024 == 0 {
                statistics.elapsed = start.duration(to: clock.now)
                progress(statistics)
                await Task.yield()
            }
        }
        try await client.waitForAcknowledgements(timeout: .seconds(60))
        if sentAtMostOnce { try await waitUntilSent(timeout: .seconds(600)) }
        statistics.elapsed = start.duration(to: clock.now)
        return statistics
    }

    /// Waits until the broker has read every message published so far, QoS 0 ones included.
    ///
    /// QoS 0 messages are never acknowledged, so without this a run at `max` would end (and its elapsed time be
    /// taken) while many of them still wait in libmosquitto's outgoing queue; a client stopped then may lose
    /// them (eclipse-mosquitto/mosquitto#722; the 2.0.11 library flushed them in `TracePublisherTests`, and an
    /// early `streetsense-bench end-to-end` counted a 20 % shortfall at QoS 0 without the barrier). The barrier
    /// is a SUBSCRIBE to a filter nobody publishes on: libmosquitto sends packets in order, and the broker reads
    /// them in order, so its SUBACK comes after it has read everything published before.
    public func waitUntilSent(timeout: Duration) async throws {
        barriers += 1
        try client.subscribe("streetsense-replay/barrier/\(barriers)", qos: .atMostOnce)
        try await client.waitForSubscriptions(timeout: timeout)
    }

    private var barriers = 0

    /// Waits for outstanding acknowledgements and disconnects.
    public func close() async {
        try? await client.waitForAcknowledgements(timeout: .seconds(10))
        client.stop()
    }
}
