/// One message from the broker, lent to the message handler for the duration of the call.
///
/// It is a view into libmosquitto's own buffers: creating it allocates nothing, and it is `~Copyable` and
/// only ever passed `borrowing`, so it cannot outlive the callback (libmosquitto frees the buffers when the
/// callback returns). Copy what you need inside the handler, through `withTopic` and `withPayload`.
///
/// For QoS 1 and 2, libmosquitto has already queued the PUBACK (or PUBCOMP) when the handler runs
/// (`lib/handle_publish.c`; eclipse/mosquitto issue 2884): the broker will not send this message again,
/// so whatever the handler does not keep is lost.
public struct IncomingMessage: ~Copyable {
    private let topicStart: UnsafePointer<UInt8>?
    private let topicCount: Int
    private let payloadStart: UnsafePointer<UInt8>?
    private let payloadCount: Int

    /// The delivery level the broker used (the lower of the publish's and the subscription's).
    public let qos: QualityOfService
    /// Whether this is the retained message of the topic, sent because of a new subscription.
    public let retain: Bool

    init(
        topic: UnsafePointer<UInt8>?, topicCount: Int, payload: UnsafePointer<UInt8>?, payloadCount: Int, qos: QualityOfService,
        retain: Bool
    ) {
        self.topicStart = topic
        self.topicCount = topicCount
        self.payloadStart = payload
        self.payloadCount = payloadCount
        self.qos = qos
        self.retain = retain
    }

    /// The topic length in bytes.
    public var topicByteCount: Int { topicCount }
    /// The payload length in bytes.
    public var payloadByteCount: Int { payloadCount }

    /// Calls `body` with the topic's UTF-8 bytes (no trailing NUL). The span is valid only inside `body`.
    public func withTopic<Result, Failure: Error>(_ body: (Span<UInt8>) throws(Failure) -> Result) throws(Failure) -> Result {
        try withBytes(topic: true, body)
    }

    /// Calls `body` with the payload bytes, which may be empty. The span is valid only inside `body`.
    public func withPayload<Result, Failure: Error>(_ body: (Span<UInt8>) throws(Failure) -> Result) throws(Failure) -> Result {
        try withBytes(topic: false, body)
    }

    private func withBytes<Result, Failure: Error>(topic useTopic: Bool, _ body: (Span<UInt8>) throws(Failure) -> Result) throws(Failure)
        -> Result
    {
        let buffer =
            useTopic
            ? UnsafeBufferPointer(start: topicCount == 0 ? nil : topicStart, count: topicCount)
            : UnsafeBufferPointer(start: payloadCount == 0 ? nil : payloadStart, count: payloadCount)
        return try body(buffer.span)
    }

    /// A copy of the topic as a `String` (allocates; for tests and logs, not the ingest path).
    public func topicString() -> String {
        withTopic { span in
            span.withUnsafeBufferPointer { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// A copy of the payload (allocates; for tests and logs, not the ingest path).
    public func payloadBytes() -> [UInt8] {
        withPayload { span in
            span.withUnsafeBufferPointer { Array($0) }
        }
    }
}
