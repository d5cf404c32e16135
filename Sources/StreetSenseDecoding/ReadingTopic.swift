import StreetSenseCore

/// The topic scheme for readings, `{prefix}/readings/{pilot}/{sensor}` (DESIGN §2), parsed in place.
///
/// Invariant: ``prefix`` is non-empty, has no empty level, and contains no `+`, `#` or NUL; pilot and sensor
/// levels of an accepted topic are valid ``Identifier``s (`[A-Za-z0-9_.-]{1,64}`).
public struct ReadingTopic: Sendable, Hashable {
    /// The prefix StreetSense uses unless configured otherwise.
    public static let defaultPrefix = "streetsense/v1"

    /// The configured prefix, e.g. `streetsense/v1`.
    public let prefix: String
    /// `{prefix}/readings/`, the bytes every reading topic starts with.
    private let head: [UInt8]

    /// Why a configured prefix cannot be used.
    public struct InvalidPrefix: Error, Sendable, Hashable, CustomStringConvertible {
        public var prefix: String
        public var reason: String
        public var description: String { "topic prefix \"\(prefix)\": \(reason)" }
    }

    /// A scheme with `prefix` as its first levels. Throws for an empty prefix, an empty level (`a//b`, a leading
    /// or trailing `/`), or a wildcard or NUL in it.
    public init(prefix: String = ReadingTopic.defaultPrefix) throws(InvalidPrefix) {
        let bytes = Array(prefix.utf8)
        guard !bytes.isEmpty else { throw InvalidPrefix(prefix: prefix, reason: "is empty") }
        if let bad = bytes.first(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "#") || $0 == 0 }) {
            throw InvalidPrefix(prefix: prefix, reason: "contains \(RejectText.describe(byte: bad))")
        }
        guard bytes.first != ASCII.slash, bytes.last != ASCII.slash,
            !zip(bytes, bytes.dropFirst()).contains(where: { $0 == ASCII.slash && $1 == ASCII.slash })
        else { throw InvalidPrefix(prefix: prefix, reason: "has an empty level") }
        self.prefix = prefix
        self.head = bytes + Array("/readings/".utf8)
    }

    /// The MQTT subscription that receives every reading topic: `{prefix}/readings/#`. Wider than the valid
    /// shape (`+/+`) on purpose: a message on a topic with too few or too many levels still arrives and is
    /// rejected `bad_topic` where its pilot can see it, instead of vanishing at the broker.
    public var subscriptionFilter: String { prefix + "/readings/#" }

    /// The topic of one sensor's readings.
    public func topic(for address: SensorAddress) -> String {
        "\(prefix)/readings/\(address.pilot)/\(address.sensor)"
    }

    /// Where the ids are in a topic: byte offsets into the topic passed to ``parse(_:)``.
    public struct Levels: Sendable, Hashable {
        public var pilot: Range<Int>
        public var sensor: Range<Int>

        /// The `{pilot}/{sensor}` bytes: what a sensor is routed by.
        public var route: Range<Int> { pilot.lowerBound..<sensor.upperBound }
    }

    /// Finds the pilot and sensor levels of `topic` without allocating, or throws `bad_topic`.
    public func parse(_ topic: Span<UInt8>) throws(Reject) -> Levels {
        guard MetricVocabulary.equal(topic, 0, head) else {
            throw badTopic(topic, "does not start with \(prefix)/readings/")
        }
        if let levels = Self.wellFormedLevels(topic, from: head.count) { return levels }
        return try checkedLevels(topic)
    }

    /// The levels of a valid topic after its head, in one pass over its bytes (every message's topic comes here);
    /// nil for anything else, which ``checkedLevels(_:)`` then names. Where both give levels, they are the same.
    @inline(__always)
    static func wellFormedLevels(_ topic: Span<UInt8>, from pilotStart: Int) -> Levels? {
        topic.withUnsafeBufferPointer { bytes -> Levels? in
            var slash = -1
            var i = pilotStart
            while i < bytes.count {
                let byte = bytes[i]
                if !Identifier.isIDByte(byte) {
                    guard byte == ASCII.slash, slash < 0 else { return nil }
                    slash = i
                }
                i &+= 1
            }
            guard slash > pilotStart, slash &+ 1 < bytes.count, slash &- pilotStart <= Identifier.maximumLength,
                bytes.count &- slash &- 1 <= Identifier.maximumLength
            else { return nil }
            return Levels(pilot: pilotStart..<slash, sensor: (slash &+ 1)..<bytes.count)
        }
    }

    /// ``parse(_:)`` level by level, each problem named: every topic that is not well formed comes here.
    func checkedLevels(_ topic: Span<UInt8>) throws(Reject) -> Levels {
        let count = topic.count
        guard MetricVocabulary.equal(topic, 0, head) else {
            throw badTopic(topic, "does not start with \(prefix)/readings/")
        }
        let pilotStart = head.count
        var i = pilotStart
        while i < count, topic[i] != ASCII.slash { i += 1 }
        guard i < count else { throw badTopic(topic, "has no sensor level") }
        let pilot = pilotStart..<i
        let sensorStart = i + 1
        i = sensorStart
        while i < count, topic[i] != ASCII.slash { i += 1 }
        guard i == count else { throw badTopic(topic, "has levels after the sensor id") }
        let sensor = sensorStart..<count
        try checkIdentifier(topic, pilot, "pilot")
        try checkIdentifier(topic, sensor, "sensor")
        return Levels(pilot: pilot, sensor: sensor)
    }

    /// The sensor a topic names. Ids of up to 15 bytes are stored inline in their Strings, so this does not
    /// allocate for typical ids.
    public func address(_ topic: Span<UInt8>) throws(Reject) -> SensorAddress {
        let levels = try parse(topic)
        return SensorAddress(pilot: string(topic, levels.pilot), sensor: string(topic, levels.sensor))
    }

    private func string(_ topic: Span<UInt8>, _ range: Range<Int>) -> String {
        // The buffer pointer does not leave the closure; a String of up to 15 bytes is stored inline.
        topic.extracting(range).withUnsafeBufferPointer { String(decoding: $0, as: UTF8.self) }
    }

    private func checkIdentifier(_ topic: Span<UInt8>, _ range: Range<Int>, _ level: String) throws(Reject) {
        guard !range.isEmpty else { throw badTopic(topic, "has an empty \(level) id") }
        guard range.count <= Identifier.maximumLength else {
            throw badTopic(topic, "has a \(level) id longer than \(Identifier.maximumLength) bytes")
        }
        for i in range {
            let byte = topic[i]
            guard Identifier.isIDByte(byte) else { throw badTopic(topic, "has \(RejectText.describe(byte: byte)) in the \(level) id") }
        }
    }

    private func badTopic(_ topic: Span<UInt8>, _ problem: String) -> Reject {
        // A topic is short and names the sender, so more of it is quoted than of a payload.
        Reject(.badTopic, "topic \"\(RejectText.excerpt(topic, 0..<topic.count, limit: 64))\" \(problem)")
    }
}
